/*
 * client.js -- the emitcgi page: sign up, log in, log out, the live
 * "N users online", who came and went, and a small chat.
 *
 * It mirrors the socket.io lesson it is built on:
 *
 *   const socket = io();
 *   socket.on('user count', function (data) { console.log(data); ... });
 *
 * The socket (www/public/emit.js) connects at once; a signed-in visitor is
 * connected by the session cookie alone (GET /api/me says who).  A visitor
 * who is not signed in gets connect_error 401 and the log-in form; after
 * logging in the page calls socket.connect().
 *
 * Page state lives in a few variables below; every change goes through one
 * render function per region (renderConn, setCount, showApp/showAuth).
 * The only console output is the number in the 'user count' handler, as
 * in the lesson (the browser tests read it).  Text from the server is only
 * ever put in the page with textContent.
 */
'use strict';

const socket = io();

socket.on('user count', function (data) {
  console.log(data);
  setCount(data);
});

socket.on('user', function (data) {
  addActivity(data);
});

socket.on('chat message', function (data) {
  addMessage(data);
});

socket.on('reset', function () {
  /* The server could not resume from our last id: what we show may be
   * stale, and the snapshot that follows brings the count. */
  note('Reconnected after a long gap: some activity was skipped.');
});

socket.on('connect', function () {
  conn.state = 'connected';
  conn.error = null;
  renderConn();
  if (!me)
    checkMe();  /* another tab may have logged in */
});

socket.on('disconnect', function (reason) {
  conn.state = reason === 'io client disconnect' ? 'offline' : 'reconnecting';
  renderConn();
});

socket.on('reconnect_attempt', function (attempt, delay) {
  conn.state = 'reconnecting';
  conn.retryAt = Date.now() + delay;
  renderConn();
});

socket.on('connect_error', function (err) {
  conn.error = err;
  if (err.status === 401 || err.fatal) {
    conn.state = 'offline';
    if (me)
      confirmSession();
  } else {
    conn.state = 'reconnecting';
  }
  renderConn();
});

/* ---- state ---- */

/* The API's prefix (EMITCGI_BASE): the page's <meta name="emitcgi-base">,
 * as io() reads it; "" when emitcgi answers at the root. */
const API = (function () {
  const m = document.querySelector('meta[name="emitcgi-base"]');
  const b = m && m.getAttribute('content');
  return (b !== null && b !== undefined ? b : '/api').replace(/\/+$/, '');
}());
const USERNAME_RE = /^[A-Za-z0-9_.-]{1,32}$/;
const LIST_MAX = 200;

let me = null;            /* the signed-in username, or null */
let countEvents = 0;      /* 'user count' events seen: GET /count must not
                             overwrite a newer number */
const conn = { state: 'connecting', retryAt: 0, error: null };
const $ = function (id) { return document.getElementById(id); };

const appChannel = typeof BroadcastChannel === 'function'
  ? new BroadcastChannel('emitcgi-app') : null;
if (appChannel) {
  appChannel.onmessage = function (e) {
    const m = e.data || {};
    if (m.type === 'login' && !me)
      checkMe();
    else if (m.type === 'logout' && me)
      signedOut('You logged out in another tab.');
  };
}

/* ---- HTTP ---- */

/* POST or GET BASE+path; resolves {status, body} (body: parsed JSON or
 * null), rejects only when the server cannot be reached. */
function api(method, path, body) {
  const init = {
    method: method,
    credentials: 'same-origin',
    cache: 'no-store',
    headers: { Accept: 'application/json' }
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return fetch(API + path, init).then(function (res) {
    return res.text().then(function (t) {
      let b = null;
      try { b = t ? JSON.parse(t) : null; } catch (e) { b = null; }
      return { status: res.status, body: b, res: res };
    });
  });
}

function serverMessage(r, fallback) {
  return (r.body && r.body.message) || fallback || ('Something went wrong (HTTP ' + r.status + ').');
}

/* ---- signed in / out ---- */

function checkMe() {
  return api('GET', '/me').then(function (r) {
    if (r.status === 200 && r.body && r.body.username) {
      showApp(r.body.username);
      socket.connect();
    } else {
      showAuth();
    }
  }, function () {
    showAuth();
    authError('Cannot reach the server. Check your connection and try again.');
  });
}

/* The stream said 401 while the page thinks it is signed in: the session
 * ended (logout elsewhere, expiry), or the answer is older than a login
 * that just happened.  GET /me decides. */
function confirmSession() {
  api('GET', '/me').then(function (r) {
    if (r.status === 200 && r.body && r.body.username)
      socket.connect();
    else if (r.status === 401 && me)
      signedOut('Your session has ended. Please log in again.');
  }, function () {});
}

function showApp(username) {
  const first = me === null;
  me = username;
  $('loading').hidden = true;
  $('auth').hidden = true;
  $('app').hidden = false;
  $('account').hidden = false;
  $('me').textContent = username;
  document.body.dataset.signedIn = 'true';
  if (first)
    refreshCount();
  renderConn();
}

function showAuth() {
  me = null;
  $('loading').hidden = true;
  $('app').hidden = true;
  $('account').hidden = true;
  $('auth').hidden = false;
  document.body.dataset.signedIn = 'false';
  document.title = "emitcgi · who's online";
  publicCount();
  renderConn();
}

function signedOut(message) {
  socket.disconnect();
  clearList('messages');
  clearList('activity');
  showAuth();
  if (message)
    authError(message, 'info');
}

/* The number for the page before the first event: the socket resumes from
 * its last id after a reload and brings no snapshot then. */
function refreshCount() {
  const seen = countEvents;
  api('GET', '/count').then(function (r) {
    if (r.status === 200 && r.body && seen === countEvents && me)
      showCount(r.body.currentUsers);
  }, function () {});
}

function publicCount() {
  api('GET', '/count').then(function (r) {
    const el = $('auth-online');
    if (r.status !== 200 || !r.body || typeof r.body.currentUsers !== 'number')
      return;
    const n = r.body.currentUsers;
    el.textContent = n === 0 ? 'Nobody is online right now. Be the first!'
      : n + (n === 1 ? ' person is' : ' people are') + ' online right now.';
    el.hidden = false;
  }, function () {});
}

/* ---- count ---- */

function setCount(n) {
  countEvents++;
  showCount(n);
}

function showCount(n) {
  if (typeof n !== 'number' || !isFinite(n))
    return;
  $('count').textContent = String(n);
  $('count').dataset.count = String(n);
  $('count-text').textContent = n === 1 ? 'user online' : 'users online';
  if (me)
    document.title = n + ' online · emitcgi';
}

/* ---- activity and chat ---- */

function timeNow() {
  return new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function clearList(id) {
  const list = $(id);
  list.querySelectorAll('li:not(.empty)').forEach(function (li) { li.remove(); });
  $(id + '-empty').hidden = false;
}

function pushItem(listId, li, newestFirst) {
  const list = $(listId);
  $(listId + '-empty').hidden = true;
  if (newestFirst)
    list.insertBefore(li, $(listId + '-empty').nextSibling);
  else
    list.appendChild(li);
  const items = list.querySelectorAll('li:not(.empty)');
  if (items.length > LIST_MAX)
    items[newestFirst ? items.length - 1 : 0].remove();
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls)
    e.className = cls;
  if (text !== undefined)
    e.textContent = text;
  return e;
}

function addActivity(d) {
  if (!d || typeof d.username !== 'string')
    return;
  const li = el('li', d.connected ? 'came' : 'went');
  li.dataset.username = d.username;
  li.appendChild(el('span', 'activity-dot'));
  const text = el('span', 'activity-text');
  text.appendChild(el('strong', '', d.username));
  text.appendChild(document.createTextNode(d.connected ? ' came online' : ' went offline'));
  li.appendChild(text);
  const meta = el('span', 'activity-meta', timeNow() +
    (typeof d.currentUsers === 'number' ? ' · ' + d.currentUsers + ' online' : ''));
  li.appendChild(meta);
  pushItem('activity', li, true);
}

function note(text) {
  const li = el('li', 'note');
  li.appendChild(el('span', 'activity-text', text));
  li.appendChild(el('span', 'activity-meta', timeNow()));
  pushItem('activity', li, true);
}

function addMessage(d) {
  if (!d || typeof d !== 'object')
    return;
  const name = typeof d.username === 'string' ? d.username : '?';
  const msg = typeof d.message === 'string' ? d.message : JSON.stringify(d.message);
  const li = el('li', name === me ? 'msg mine' : 'msg');
  li.dataset.username = name;
  const head = el('div', 'msg-head');
  head.appendChild(el('span', 'msg-name', name));
  head.appendChild(el('span', 'msg-time', timeNow()));
  li.appendChild(head);
  li.appendChild(el('div', 'msg-text', msg));
  const list = $('messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  pushItem('messages', li, false);
  if (atBottom || name === me)
    list.scrollTop = list.scrollHeight;
}

/* ---- connection pill ---- */

let connTimer = null;

function renderConn() {
  const pill = $('conn');
  let state = conn.state;
  let text;
  if (!me && !socket.connected) {
    state = 'offline';
    text = 'Offline';
  } else if (socket.connected) {
    state = socket.transport === 'polling' ? 'polling' : 'connected';
    text = state === 'polling' ? 'Live · long-poll' : 'Live';
  } else if (state === 'reconnecting') {
    const s = Math.max(0, Math.ceil((conn.retryAt - Date.now()) / 1000));
    text = s > 0 ? 'Reconnecting in ' + s + ' s…' : 'Reconnecting…';
  } else if (state === 'offline') {
    text = 'Offline';
  } else {
    state = 'connecting';
    text = 'Connecting…';
  }
  pill.dataset.state = state;
  pill.dataset.transport = socket.transport || '';
  pill.title = conn.error && !socket.connected
    ? 'Connection problem: ' + conn.error.message : 'Connection to the server';
  $('conn-text').textContent = text;
  clearTimeout(connTimer);
  if (state === 'reconnecting' && conn.retryAt > Date.now())
    connTimer = setTimeout(renderConn, 1000);
}

/* ---- forms ---- */

function authMode() {
  return $('auth-form').dataset.mode;
}

function setAuthMode(mode) {
  const form = $('auth-form');
  form.dataset.mode = mode;
  $('tab-login').setAttribute('aria-selected', String(mode === 'login'));
  $('tab-signup').setAttribute('aria-selected', String(mode === 'signup'));
  $('auth-submit').textContent = mode === 'login' ? 'Log in' : 'Create account';
  $('password').setAttribute('autocomplete', mode === 'login' ? 'current-password' : 'new-password');
  authError(null);
}

function authError(message, kind, field) {
  const p = $('auth-error');
  ['username', 'password'].forEach(function (id) {
    $(id).removeAttribute('aria-invalid');
  });
  if (!message) {
    p.hidden = true;
    p.textContent = '';
    return;
  }
  p.textContent = message;
  p.dataset.kind = kind || 'error';
  p.hidden = false;
  if (field) {
    $(field).setAttribute('aria-invalid', 'true');
    $(field).focus();
  }
}

function validate(mode, username, password) {
  if (!username)
    return ['Please enter a username.', 'username'];
  if (!USERNAME_RE.test(username))
    return ['Usernames are 1–32 letters, digits, “_”, “.” or “-”.', 'username'];
  if (!password)
    return ['Please enter a password.', 'password'];
  if (mode === 'signup' && password.length < 8)
    return ['Passwords need at least 8 characters.', 'password'];
  if (new TextEncoder().encode(password).length > 256)
    return ['Passwords are at most 256 bytes.', 'password'];
  return null;
}

function loginError(r) {
  if (r.status === 401)
    return ['Wrong username or password.', 'password'];
  if (r.status === 429) {
    const s = Number(r.res.headers.get('Retry-After'));
    return ['Too many attempts. Try again ' +
      (s > 0 ? 'in ' + s + (s === 1 ? ' second.' : ' seconds.') : 'in a moment.'), null];
  }
  return [serverMessage(r), null];
}

function submitAuth(ev) {
  ev.preventDefault();
  const mode = authMode();
  const username = $('username').value.trim();
  const password = $('password').value;
  const bad = validate(mode, username, password);
  if (bad) {
    authError(bad[0], 'error', bad[1]);
    return;
  }
  authError(null);
  const button = $('auth-submit');
  button.disabled = true;
  button.textContent = mode === 'login' ? 'Logging in…' : 'Creating account…';
  const creds = { username: username, password: password };
  const first = mode === 'signup'
    ? api('POST', '/register', creds).then(function (r) {
      if (r.status === 201)
        return api('POST', '/login', creds);
      if (r.status === 409)
        throw ['That username is taken. Pick another, or log in.', 'username'];
      throw [serverMessage(r), null];
    })
    : api('POST', '/login', creds);
  first.then(function (r) {
    if (r.status !== 200 || !r.body)
      throw loginError(r);
    $('password').value = '';
    showApp(r.body.username || username);
    if (typeof r.body.currentUsers === 'number' && countEvents === 0)
      showCount(r.body.currentUsers);
    conn.state = 'connecting';
    socket.connect();
    renderConn();
    if (appChannel)
      appChannel.postMessage({ type: 'login' });
  }).catch(function (e) {
    if (Array.isArray(e))
      authError(e[0], 'error', e[1]);
    else
      authError('Cannot reach the server. Check your connection and try again.');
  }).finally(function () {
    button.disabled = false;
    button.textContent = mode === 'login' ? 'Log in' : 'Create account';
  });
}

function logout() {
  const button = $('logout');
  button.disabled = true;
  api('POST', '/logout').catch(function () {}).then(function () {
    button.disabled = false;
    signedOut(null);
    if (appChannel)
      appChannel.postMessage({ type: 'logout' });
    $('username').focus();
  });
}

function sendChat(ev) {
  ev.preventDefault();
  const input = $('chat-input');
  const text = input.value.trim();
  const err = $('chat-error');
  if (!text)
    return;
  const button = $('chat-send');
  button.disabled = true;
  socket.emit('chat message', text).then(function () {
    input.value = '';
    err.hidden = true;
  }, function (e) {
    err.textContent = e.status === 413 ? 'That message is too long.'
      : e.status === 401 ? 'You are signed out; log in to chat.'
        : e.status === 0 ? 'Cannot reach the server; your message was not sent.'
          : 'Not sent: ' + e.message;
    err.hidden = false;
  }).finally(function () {
    button.disabled = false;
    input.focus();
  });
}

$('tab-login').addEventListener('click', function () { setAuthMode('login'); });
$('tab-signup').addEventListener('click', function () { setAuthMode('signup'); });
$('auth-form').addEventListener('submit', submitAuth);
$('logout').addEventListener('click', logout);
$('chat-form').addEventListener('submit', sendChat);
['username', 'password'].forEach(function (id) {
  $(id).addEventListener('input', function () {
    if ($(id).getAttribute('aria-invalid'))
      authError(null);
  });
});

checkMe();
