/*
 * socketio-client.js -- the lesson's client code, unchanged, with the real
 * socket.io client 4.x (www/socketio.html loads /socket.io/socket.io.js):
 *
 *   let socket = io();
 *   socket.on('user count', function (data) { console.log(data); });
 *
 * emitcgi answers at /socket.io/ (EMITCGI_SIO_PATH) over Engine.IO
 * long-polling; the emitcgi_sid cookie of the main page's login is the
 * connection's identity.  Around the lesson's lines: the count in the
 * page, a chat (socket.emit with an ack) and the connection state.  Text
 * from the server only ever goes in with textContent.
 */
/* global io */
'use strict';

let socket = io();

socket.on('user count', function (data) {
  console.log(data);
});

socket.on('user count', function (data) {
  const el = document.getElementById('count');
  el.textContent = String(data);
  el.dataset.count = String(data);
});

socket.on('chat message', function (data) {
  const li = document.createElement('li');
  li.textContent = data && typeof data === 'object'
    ? `${data.username}: ${typeof data.message === 'string' ? data.message : JSON.stringify(data.message)}`
    : String(data);
  document.getElementById('messages').appendChild(li);
});

function setState(state, text) {
  const el = document.getElementById('state');
  el.dataset.state = state;
  el.textContent = text;
}

socket.on('connect', function () {
  setState('connected', socket.recovered ? 'Connected (recovered)' : 'Connected');
  document.getElementById('signin').hidden = true;
});

socket.on('disconnect', function () {
  setState('disconnected', 'Disconnected, reconnecting…');
});

socket.on('connect_error', function (err) {
  setState('error', `Not connected: ${err.message}`);
  if (!socket.active) /* the server refused: sign in first */
    document.getElementById('signin').hidden = false;
});

document.getElementById('chat-form').addEventListener('submit', function (e) {
  e.preventDefault();
  const input = document.getElementById('chat-input');
  const text = input.value.trim();
  if (!text)
    return;
  socket.emit('chat message', text, function (ack) {
    if (ack && !ack.error)
      input.value = '';
  });
});
