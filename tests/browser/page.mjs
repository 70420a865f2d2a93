// tests/browser/page.mjs -- the page and emit.js in a real browser.
//
// Headless Debian Chromium (never a downloaded browser) driven by
// playwright-core, against the real stack that run-node.sh starts: lighttpd
// serving www/ with /api -> emitcgi.  Every case runs twice: with
// EventSource (SSE), then with EventSource deleted by an init script, so the
// client falls back to long-poll.
//
//   two users: both pages show 2, the first page's console logged 1 then 2
//   logout in one page brings the other to 1; logging in again brings 2
//   the chat reaches the other page, once
//   emitcgi killed (lighttpd starts new processes): the pages reconnect,
//     catch up with what happened meanwhile, and no event comes twice
//   a reload resumes from the last id; nothing is delivered twice
//   a last id the server never had: reset, the snapshot, the id replaced
//   (SSE) a stream that never opens, as behind a buffering proxy: long-poll
//   eight tabs of one browser share one connection: all show the live
//     count and the chat, a tab that leaves and comes back gets what it
//     missed, a ninth request to the site still completes, and closing the
//     leading tab hands the connection to another
//   screenshots (desktop and phone width) in $BROWSER_ARTIFACTS
// and once: the sign-in form's inline errors.
//
// Output: TAP on stdout.  Environment: BASE_URL (required), LIGHTTPD_PID,
// NODE_MODULES, CHROMIUM, BROWSER_ARTIFACTS, BROWSER_TAP_COUNT (see
// run-node.sh), BROWSER_ROUNDS ("sse poll", the default, or one of them).
// Waits are on conditions, each with a bound; no sleeps as synchronisation.
//
// To add a case: add(desc, async () => {...}) in round(), throwing a
// Failure (assert, assertEq) when it fails; a case leaves the round's two
// users signed in and nobody else (use `finally`).

import fs from 'node:fs';
import path from 'node:path';
import { launchChromium } from './lib/chromium.mjs';

const env = process.env;
const BASE = env.BASE_URL;
const ARTIFACTS = env.BROWSER_ARTIFACTS || path.join(env.T || '/tmp', 'artifacts');
const WAIT_MS = 20000;

function skipAll(reason) {
  console.log(`1..0 # SKIP ${reason}`);
  process.exit(0);
}

if (!BASE)
  skipAll('BASE_URL not set (run through tests/browser/run-node.sh)');
const browser = await launchChromium(skipAll);

// ---- TAP ----

let tapN = 0;
let failed = 0;
const diag = (s) => String(s).split('\n').forEach((l) => console.log(`# ${l}`));

function tapResult(ok, desc, err) {
  tapN++;
  console.log(`${ok ? 'ok' : 'not ok'} ${tapN} - ${desc}`);
  if (!ok) {
    failed++;
    diag(err && err.stack ? err.stack : String(err));
  }
}

class Failure extends Error {}
function assert(cond, msg) {
  if (!cond)
    throw new Failure(msg);
}
function assertEq(actual, expected, msg) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e)
    throw new Failure(`${msg}: expected ${e}, got ${a}`);
}

// ---- browser ----

let userSeq = 0;
const runTag = Date.now().toString(36).slice(-5);
function newUser(prefix) {
  userSeq++;
  return { name: `${prefix}${userSeq}_${runTag}`, password: `pw-${runTag}-${userSeq}-secret` };
}

// A browser context (one "browser profile": cookies, sessionStorage, locks,
// BroadcastChannel) in the transport mode of the current round.
async function newContext(mode, options = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  ctx.setDefaultTimeout(WAIT_MS);
  if (mode === 'poll')
    await ctx.addInitScript(() => { delete window.EventSource; });
  return ctx;
}

// A page that records its console 'log' lines and its errors.
async function openPage(ctx) {
  const page = await ctx.newPage();
  page.logs = [];
  page.errors = [];
  page.on('console', (m) => { if (m.type() === 'log') page.logs.push(m.text()); });
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#auth:not([hidden]), #app:not([hidden])');
  return page;
}

async function fillAuth(page, mode, user) {
  await page.waitForSelector('#auth:not([hidden])');
  await page.click(mode === 'signup' ? '#tab-signup' : '#tab-login');
  await page.fill('#username', user.name);
  await page.fill('#password', user.password);
  await page.click('#auth-submit');
  await page.waitForSelector('#app:not([hidden]), #auth-error:not([hidden])');
  const err = await page.$eval('#auth-error', (e) => (e.hidden ? '' : e.textContent));
  assert(!err, `${mode} as ${user.name}: the page says "${err}"`);
  assertEq(await page.textContent('#me'), user.name, 'the page names the signed-in user');
}
const signUp = (page, user) => fillAuth(page, 'signup', user);
const logIn = (page, user) => fillAuth(page, 'login', user);

async function logOut(page) {
  await page.click('#logout');
  await page.waitForSelector('#auth:not([hidden])');
}

// The live count the page shows, waited for.
async function waitCount(page, n, what = 'the page') {
  try {
    await page.waitForFunction(
      (want) => document.getElementById('count').dataset.count === String(want),
      n, { timeout: WAIT_MS });
  } catch (e) {
    const shown = await page.$eval('#count', (el) => el.dataset.count).catch(() => '?');
    throw new Failure(`${what} should show ${n} users online, shows "${shown}"`);
  }
}

// Connected over the round's transport, as the page's pill shows it.
async function waitConnected(page, mode, what = 'the page') {
  const want = mode === 'poll' ? 'polling' : 'connected';
  try {
    await page.waitForSelector(`#conn[data-state="${want}"]`, { timeout: WAIT_MS });
  } catch (e) {
    const st = await page.$eval('#conn', (el) => `${el.dataset.state} "${el.textContent.trim()}" ${el.title}`)
      .catch(() => '?');
    throw new Failure(`${what} should be connected (${want}); its state: ${st}`);
  }
  const t = await page.evaluate(() => socket.transport);
  assertEq(t, mode === 'poll' ? 'polling' : 'sse', `${what}: socket.transport`);
}

const numbers = (page) => page.logs.filter((l) => /^-?\d+$/.test(l)).map(Number);

// Signs out whoever this context's cookie belongs to, without the page.
async function apiLogout(ctx) {
  await ctx.request.post(`${BASE}/api/logout`, { failOnStatusCode: false }).catch(() => {});
}

async function apiCount() {
  const r = await fetch(`${BASE}/api/count`);
  assertEq(r.status, 200, 'GET /api/count');
  return (await r.json()).currentUsers;
}

// A signed-in user outside any browser: cookie jar by hand.
async function apiUser(user) {
  const hdr = { 'Content-Type': 'application/json' };
  const body = JSON.stringify({ username: user.name, password: user.password });
  let r = await fetch(`${BASE}/api/register`, { method: 'POST', headers: hdr, body });
  assert(r.status === 201 || r.status === 409, `register ${user.name}: ${r.status}`);
  r = await fetch(`${BASE}/api/login`, { method: 'POST', headers: hdr, body });
  assertEq(r.status, 200, `login ${user.name}`);
  const cookie = (r.headers.get('set-cookie') || '').split(';')[0];
  return {
    cookie,
    logout: () => fetch(`${BASE}/api/logout`, { method: 'POST', headers: { Cookie: cookie } }),
    say: async (text) => {
      const res = await fetch(`${BASE}/api/emit`, {
        method: 'POST',
        headers: { ...hdr, Cookie: cookie },
        body: JSON.stringify({ event: 'chat message', data: text }),
      });
      assertEq(res.status, 200, `POST /api/emit as ${user.name}`);
    },
  };
}

async function until(desc, fn, ms = WAIT_MS) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last)
        return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Failure(`timed out waiting for ${desc} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Records, in the page, every server event with its id and every change of
// connection, so that a case can check "no event twice".
async function recordEvents(page) {
  await page.evaluate(() => {
    window.__events = [];
    window.__conn = [];
    socket.onAny((name) => window.__events.push({ id: socket.lastEventId, name }));
    socket.on('connect', () => window.__conn.push('connect'));
    socket.on('disconnect', () => window.__conn.push('disconnect'));
  });
}

async function checkNoRepeats(page, what) {
  const evs = await page.evaluate(() => window.__events);
  let last = -1;
  for (const ev of evs) {
    if (ev.name === 'reset') {
      last = -1;
      continue;
    }
    assert(ev.id !== null, `${what}: event ${ev.name} without id`);
    assert(ev.id > last, `${what}: event ${ev.name} id ${ev.id} after id ${last} (repeated or out of order): ${JSON.stringify(evs)}`);
    last = ev.id;
  }
  return evs;
}

async function messagesFrom(page, name, text) {
  return page.$$eval('#messages li.msg', (lis, [n, t]) => lis.filter((li) =>
    li.dataset.username === n && li.querySelector('.msg-text').textContent === t).length,
  [name, text]);
}

async function sendChat(page, text) {
  await page.fill('#chat-input', text);
  await page.click('#chat-send');
  await page.waitForFunction(() => document.getElementById('chat-input').value === '');
}

async function waitMessage(page, name, text, what) {
  try {
    await page.waitForFunction(([n, t]) => [...document.querySelectorAll('#messages li.msg')]
      .some((li) => li.dataset.username === n && li.querySelector('.msg-text').textContent === t),
    [name, text], { timeout: WAIT_MS });
  } catch (e) {
    throw new Failure(`${what} did not show ${name}'s message "${text}"`);
  }
}

// emitcgi processes that lighttpd started (its direct children).
function backendPids() {
  const pid = env.LIGHTTPD_PID;
  if (!pid)
    return [];
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d))
      continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
      if (ppid === pid)
        out.push(Number(d));
    } catch (e) { /* gone */ }
  }
  return out;
}

// ---- the cases ----

// State shared by the cases of one round (one transport mode).
function round(mode) {
  const st = { mode, a: null, b: null, ua: null, ub: null, broken: null };
  const tag = mode === 'poll' ? 'long-poll' : 'SSE';

  // The cases of a round build on each other (the same two pages): after a
  // failure the dependent ones fail at once instead of timing out.
  const cases = [];
  const add = (desc, fn, { independent = false } = {}) => cases.push({
    desc: `${tag}: ${desc}`,
    fn: async () => {
      if (!independent && st.broken)
        throw new Failure(`not run: "${st.broken}" failed`);
      try {
        await fn();
      } catch (e) {
        if (!independent)
          st.broken = st.broken || desc;
        throw e;
      }
    },
  });

  add('two users sign up; both pages show 2; the first console logged 1 then 2', async () => {
    const base = await apiCount();
    assertEq(base, 0, 'nobody online before the first case');
    st.ctxA = await newContext(mode);
    st.ctxB = await newContext(mode);
    st.a = await openPage(st.ctxA);
    st.b = await openPage(st.ctxB);
    st.ua = newUser('alice');
    st.ub = newUser('bob');
    await signUp(st.a, st.ua);
    await waitConnected(st.a, mode, 'page A');
    await waitCount(st.a, 1, 'page A');
    await signUp(st.b, st.ub);
    await waitConnected(st.b, mode, 'page B');
    await waitCount(st.a, 2, 'page A');
    await waitCount(st.b, 2, 'page B');
    assertEq(numbers(st.a), [1, 2], "page A's console.log of 'user count'");
    assertEq((await st.a.textContent('#count-line')).replace(/\s+/g, ' ').trim(), '2 users online', 'the count line reads');
    const who = await st.a.$$eval('#activity li.came', (l) => l.map((li) => li.dataset.username));
    assert(who.includes(st.ub.name), `page A lists ${st.ub.name} as come: ${who}`);
  });

  add('a logout in one page brings the other to 1; logging in again brings 2', async () => {
    await logOut(st.a);
    await waitCount(st.b, 1, 'page B');
    const went = await st.b.$$eval('#activity li.went', (l) => l.map((li) => li.dataset.username));
    assert(went.includes(st.ua.name), `page B lists ${st.ua.name} as gone: ${went}`);
    assertEq(await st.a.$eval('#conn', (e) => e.dataset.state), 'offline', 'page A after logout');
    assertEq(await st.a.evaluate(() => socket.connected), false, 'socket.connected after logout');
    await logIn(st.a, st.ua);
    await waitConnected(st.a, mode, 'page A');
    await waitCount(st.a, 2, 'page A');
    await waitCount(st.b, 2, 'page B');
  });

  add('the chat reaches the other page, once', async () => {
    const text = `hello from ${st.ub.name} <b>not bold</b>`;
    await sendChat(st.b, text);
    await waitMessage(st.a, st.ub.name, text, 'page A');
    await waitMessage(st.b, st.ub.name, text, 'page B');
    assertEq(await messagesFrom(st.a, st.ub.name, text), 1, 'copies on page A');
    assertEq(await st.a.$$eval('#messages b', (l) => l.length), 0, 'markup in a message stays text');
    const reply = `hi ${st.ub.name}, ${st.ua.name} here`;
    await sendChat(st.a, reply);
    await waitMessage(st.b, st.ua.name, reply, 'page B');
    assertEq(await st.a.$$eval('#messages li.mine', (l) => l.length), 1, "page A's own messages");
  });

  add('emitcgi killed: the pages reconnect, catch up, and see no event twice', async () => {
    if (!env.LIGHTTPD_PID)
      throw new Failure('LIGHTTPD_PID not set');
    await recordEvents(st.a);
    await recordEvents(st.b);
    const before = `before the restart (${mode})`;
    await sendChat(st.a, before);
    await waitMessage(st.b, st.ua.name, before, 'page B');
    const old = backendPids();
    assert(old.length > 0, `no emitcgi process under lighttpd ${env.LIGHTTPD_PID}`);
    for (const p of old)
      process.kill(p, 'SIGKILL');
    // While the pages are cut off, a third user logs in (retrying while
    // lighttpd brings emitcgi back): they must catch up with it.
    const uc = newUser('carol');
    const carol = await until('a login through the restarted emitcgi',
      () => apiUser(uc).catch((e) => { throw e; }));
    for (const [p, w] of [[st.a, 'page A'], [st.b, 'page B']]) {
      await until(`${w} to see the connection drop and come back`, () => p.evaluate(() =>
        window.__conn.includes('disconnect') && window.__conn.at(-1) === 'connect'));
      await waitConnected(p, mode, w);
      await waitCount(p, 3, w);
    }
    const now = backendPids();
    assert(now.length > 0 && now.every((p) => !old.includes(p)),
      `new emitcgi processes: before ${old}, after ${now}`);
    const after = `after the restart (${mode})`;
    await sendChat(st.b, after);
    await waitMessage(st.a, st.ub.name, after, 'page A');
    await carol.logout();
    await waitCount(st.a, 2, 'page A');
    await waitCount(st.b, 2, 'page B');
    for (const [p, w] of [[st.a, 'page A'], [st.b, 'page B']]) {
      const evs = await checkNoRepeats(p, w);
      assert(evs.some((e) => e.name === 'user'), `${w} recorded user events: ${JSON.stringify(evs)}`);
      assertEq(await messagesFrom(p, st.ua.name, before), 1, `${w}: copies of the message before`);
      assertEq(await messagesFrom(p, st.ub.name, after), 1, `${w}: copies of the message after`);
    }
    const na = numbers(st.a);
    for (let i = 1; i < na.length; i++)
      assert(na[i] !== na[i - 1], `page A logged the same count twice in a row: ${na}`);
  });

  add('a reload resumes from the last id: connected at once, nothing repeated', async () => {
    const lastBefore = await st.a.evaluate(() => socket.lastEventId);
    assert(lastBefore !== null, 'page A has a last event id');
    st.a.logs = [];
    await st.a.reload();
    await st.a.waitForSelector('#app:not([hidden])');
    await waitConnected(st.a, mode, 'page A after reload');
    await waitCount(st.a, 2, 'page A after reload');
    const stored = await st.a.evaluate(() => socket.lastEventId);
    assert(stored >= lastBefore, `resumed from ${lastBefore}, now at ${stored}`);
    await recordEvents(st.a);
    const text = `after a reload (${mode})`;
    await sendChat(st.b, text);
    await waitMessage(st.a, st.ub.name, text, 'page A');
    await checkNoRepeats(st.a, 'page A');
    // No event before the reload comes again: nothing was logged since.
    assertEq(numbers(st.a), [], "page A's console after the reload");
  });

  add('a last id the server never had (database replaced): reset, then the snapshot', async () => {
    const ctx = await newContext(mode);
    try {
      await ctx.addCookies(await st.ctxB.cookies());
      await ctx.addInitScript(() => {
        if (!sessionStorage.getItem('test:seeded')) {
          sessionStorage.setItem('test:seeded', '1');
          sessionStorage.setItem('emitcgi:/api', JSON.stringify({ id: 987654321, count: null }));
        }
      });
      const p = await openPage(ctx);
      await p.waitForSelector('#app:not([hidden])');
      await waitConnected(p, mode, 'the page');
      await waitCount(p, 2, 'the page');
      await p.waitForSelector('#activity li.note');
      const last = await p.evaluate(() => socket.lastEventId);
      const r = await (await fetch(`${BASE}/api/count`)).json();
      assert(last !== null && last <= r.lastEventId, `last id after the reset: ${last}, server's: ${r.lastEventId}`);
      assertEq(numbers(p), [2], "the page's console: the snapshot's count");
      const stored = await p.evaluate(() => JSON.parse(sessionStorage.getItem('emitcgi:/api')).id);
      assertEq(stored, last, 'the id kept in sessionStorage');
    } finally {
      await ctx.close();
    }
  });

  if (mode === 'sse') {
    add('a stream that never opens (a buffering proxy): long-poll within seconds', async () => {
      const ctx = await newContext(mode);
      try {
        await ctx.addCookies(await st.ctxB.cookies());
        const held = [];
        await ctx.route(/\/api\/events/, (route) => { held.push(route); }); // never answered
        const p = await openPage(ctx);
        await p.waitForSelector('#app:not([hidden])');
        await waitConnected(p, 'poll', 'the page');
        await waitCount(p, 2, 'the page');
        assert(held.length >= 1, 'the page tried SSE first');
        const text = 'reaches a page that fell back to long-poll';
        await sendChat(st.a, text);
        await waitMessage(p, st.ua.name, text, 'the page');
      } finally {
        await ctx.close();
      }
    });
  }

  add('eight tabs share one connection: all show the live count, a ninth request completes', async () => {
    const ctx = await newContext(mode);
    const streams = { open: 0, max: 0, total: 0 };
    const isStream = (r) => /\/api\/(events|poll)(\?|$)/.test(r.url());
    ctx.on('request', (r) => {
      if (!isStream(r))
        return;
      streams.total++;
      streams.open++;
      streams.max = Math.max(streams.max, streams.open);
    });
    const done = (r) => { if (isStream(r)) streams.open--; };
    ctx.on('requestfinished', done);
    ctx.on('requestfailed', done);
    const u = newUser('tabs');
    let other = null;
    try {
      const before = await apiCount();
      const tabs = [await openPage(ctx)];
      await signUp(tabs[0], u);
      const base = before + 1;
      for (let i = 1; i < 8; i++)
        tabs.push(await openPage(ctx));
      for (const [i, t] of tabs.entries()) {
        await t.waitForSelector('#app:not([hidden])');
        await waitConnected(t, mode, `tab ${i + 1}`);
        await waitCount(t, base, `tab ${i + 1}`);
      }
      const ud = newUser('dave');
      other = await apiUser(ud);
      for (const [i, t] of tabs.entries())
        await waitCount(t, base + 1, `tab ${i + 1}`);
      // Every tab gets the chat too: the leader listens for the names the
      // other tabs subscribed to.
      const hello = `hello, all eight tabs (${mode})`;
      await other.say(hello);
      for (const [i, t] of tabs.entries()) {
        await waitMessage(t, ud.name, hello, `tab ${i + 1}`);
        assertEq(await messagesFrom(t, ud.name, hello), 1, `copies in tab ${i + 1}`);
      }
      // A tab that goes away and comes back gets what it missed from the
      // leading tab (its last id is in its sessionStorage), once.
      const away = tabs[3];
      await away.goto('about:blank');
      const missed = `while tab 4 was away (${mode})`;
      await other.say(missed);
      await waitMessage(tabs[0], ud.name, missed, 'tab 1');
      await away.goto(`${BASE}/`);
      await waitMessage(away, ud.name, missed, 'tab 4, back');
      await waitConnected(away, mode, 'tab 4, back');
      assertEq(await messagesFrom(away, ud.name, missed), 1, 'copies in tab 4');
      assertEq(await messagesFrom(away, ud.name, hello), 0, 'tab 4 gets no event from before it left');
      const t0 = Date.now();
      const status = await tabs[7].evaluate(() => Promise.race([
        fetch('/api/count', { cache: 'no-store' }).then((r) => r.status),
        new Promise((r) => setTimeout(() => r('no answer in 10 s'), 10000)),
      ]));
      assertEq(status, 200, 'a ninth request from a tab');
      const ninth = await openPage(ctx);
      await ninth.waitForSelector('#app:not([hidden])');
      await waitCount(ninth, base + 1, 'a ninth tab');
      diag(`ninth request: ${Date.now() - t0} ms; stream requests: ${streams.total}, at most ${streams.max} at once`);
      assert(streams.max <= 1, `at most one event stream or poll at a time in the browser, saw ${streams.max}`);
      // The leading tab (the first) closes: another takes over.
      await tabs[0].close();
      await other.logout();
      other = null;
      for (const [i, t] of tabs.slice(1).entries())
        await waitCount(t, base, `tab ${i + 2} after the first tab closed`);
      await waitCount(ninth, base, 'the ninth tab');
    } finally {
      if (other)
        await other.logout();
      await apiLogout(ctx);
      await ctx.close();
    }
  }, { independent: true });

  add('screenshots: desktop and phone width', async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const shots = [];
    await sendChat(st.b, 'Anyone around? The count says two of us.');
    await sendChat(st.a, 'Yes! I see you came online a moment ago.');
    await waitMessage(st.a, st.ua.name, 'Yes! I see you came online a moment ago.', 'page A');
    const desk = path.join(ARTIFACTS, `page-${mode}-desktop.png`);
    await st.a.screenshot({ path: desk, fullPage: true, animations: 'disabled' });
    shots.push(desk);
    const phoneCtx = await newContext(mode, {
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    });
    try {
      await phoneCtx.addCookies(await st.ctxB.cookies());
      const p = await openPage(phoneCtx);
      await p.waitForSelector('#app:not([hidden])');
      await waitConnected(p, mode, 'the phone page');
      await waitCount(p, 2, 'the phone page');
      await sendChat(st.a, 'how does this look on a phone?');
      await waitMessage(p, st.ua.name, 'how does this look on a phone?', 'the phone page');
      const phone = path.join(ARTIFACTS, `page-${mode}-phone.png`);
      await p.screenshot({ path: phone, fullPage: true, animations: 'disabled' });
      shots.push(phone);
      // Nothing wider than the screen.
      const over = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert(over <= 0, `the phone page scrolls sideways by ${over}px`);
      const login = await openPage(await newContext(mode, {
        viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true,
      }));
      const lpath = path.join(ARTIFACTS, `login-${mode}-phone.png`);
      await login.screenshot({ path: lpath, animations: 'disabled' });
      shots.push(lpath);
      await login.context().close();
    } finally {
      await phoneCtx.close();
    }
    for (const s of shots)
      assert(fs.statSync(s).size > 10000, `${s} looks empty`);
    diag(`screenshots: ${shots.join(' ')}`);
  });

  add('both users log out: nobody online, no page errors', async () => {
    await logOut(st.b);
    await waitCount(st.a, 1, 'page A');
    await logOut(st.a);
    assertEq(await apiCount(), 0, 'users online at the end');
    const errs = [...st.a.errors, ...st.b.errors];
    assertEq(errs, [], 'uncaught errors in the pages');
  });

  const cleanup = async () => {
    for (const c of [st.ctxA, st.ctxB]) {
      if (c) {
        await apiLogout(c);
        await c.close().catch(() => {});
      }
    }
  };
  return { cases, cleanup };
}

// Bad input on the sign-in form: inline errors, nothing sent.
async function formErrors() {
  const ctx = await newContext('sse');
  try {
    const p = await openPage(ctx);
    await p.click('#tab-signup');
    await p.fill('#username', 'no spaces allowed');
    await p.fill('#password', 'longenough');
    await p.click('#auth-submit');
    await p.waitForSelector('#auth-error:not([hidden])');
    assert(/letters, digits/.test(await p.textContent('#auth-error')), 'username rule shown');
    assertEq(await p.getAttribute('#username', 'aria-invalid'), 'true', 'username marked invalid');
    await p.fill('#username', `shorty_${runTag}`);
    await p.fill('#password', 'short');
    await p.click('#auth-submit');
    await p.waitForFunction(() => /8 characters/.test(document.getElementById('auth-error').textContent));
    await p.click('#tab-login');
    await p.fill('#username', `nobody_${runTag}`);
    await p.fill('#password', 'wrong-password');
    await p.click('#auth-submit');
    await p.waitForFunction(() => /Wrong username or password/.test(document.getElementById('auth-error').textContent));
    assertEq(await p.isVisible('#app'), false, 'still signed out');
    const u = newUser('taken');
    await p.click('#tab-signup');
    await p.fill('#username', u.name);
    await p.fill('#password', u.password);
    await p.click('#auth-submit');
    await p.waitForSelector('#app:not([hidden])');
    await logOut(p);
    await p.click('#tab-signup');
    await p.fill('#username', u.name);
    await p.fill('#password', u.password);
    await p.click('#auth-submit');
    await p.waitForFunction(() => /taken/.test(document.getElementById('auth-error').textContent));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await p.screenshot({ path: path.join(ARTIFACTS, 'login-error-desktop.png'), animations: 'disabled' });
    assertEq(p.errors, [], 'uncaught errors in the page');
  } finally {
    await apiLogout(ctx);
    await ctx.close();
  }
}

const plan = [{ desc: 'sign-in form: inline errors for a bad name, a short password, wrong credentials, a taken name', fn: formErrors }];
// BROWSER_ROUNDS=sse (or poll) runs one round only, for work on the client.
const rounds = (env.BROWSER_ROUNDS || 'sse poll').split(/[\s,]+/).filter(Boolean).map(round);
for (const r of rounds)
  plan.push(...r.cases, { cleanup: r.cleanup });

const countTests = plan.filter((c) => c.fn).length;
if (!env.BROWSER_TAP_COUNT)
  console.log(`1..${countTests}`);

for (const c of plan) {
  if (c.cleanup) {
    await c.cleanup().catch((e) => diag(`cleanup: ${e.message}`));
    continue;
  }
  const t0 = Date.now();
  try {
    await c.fn();
    tapResult(true, c.desc);
  } catch (e) {
    tapResult(false, c.desc, e instanceof Failure ? e.message : e);
  }
  diag(`${Date.now() - t0} ms`);
}

await browser.close();
if (env.BROWSER_TAP_COUNT)
  fs.writeFileSync(env.BROWSER_TAP_COUNT, String(tapN));
process.exit(failed ? 1 : 0);
