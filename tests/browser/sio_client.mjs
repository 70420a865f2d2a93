// tests/browser/sio_client.mjs -- the real socket.io-client 4.x (npm, the
// lockfile's version) in Node against emitcgi at /socket.io/, with the
// lesson's code:  socket.on('user count', function (data) { ... })
//
//   connect with the emitcgi_sid cookie: the "user count" snapshot first
//   a second user logs in: "user count" rises
//   a chat message emitted by the client (with an ack) reaches an SSE
//     stream and a long-poll, and one POSTed to /api/emit reaches the client
//   the transport dropped: the client reconnects, socket.recovered, and
//     the events it missed arrive once, in order, each with its offset
//   no session: connect_error "unauthorized", and no reconnection loop
//   logout: the server disconnects the socket ("io server disconnect")
//
// run-node: needs socket.io-client

import { createRequire } from 'node:module';
import path from 'node:path';
import { BASE, test, done, assert, assertEq, waitFor, api, signIn, skipAll } from './lib/tap.mjs';

if (!BASE)
  skipAll('BASE_URL not set (run through tests/browser/run-node.sh)');
const require = createRequire(import.meta.url);
const NODE_MODULES = process.env.NODE_MODULES ||
  path.join(path.dirname(new URL(import.meta.url).pathname), 'node_modules');
const { io } = require(path.join(NODE_MODULES, 'socket.io-client'));

// A socket with the lesson's handler, recording what it is sent.
function lessonSocket(cookie, opts = {}) {
  const socket = io(BASE, { extraHeaders: cookie ? { cookie } : {}, ...opts });
  socket.counts = [];
  socket.chats = [];
  socket.errors = [];
  socket.on('user count', function (data) {
    socket.counts.push(data);
  });
  socket.on('chat message', (data, offset) => socket.chats.push({ data, offset }));
  socket.on('connect_error', (e) => socket.errors.push(e));
  return socket;
}

// An SSE stream read with fetch; events collected as { id, event, data }.
function sseOpen(cookie) {
  const ctl = new AbortController();
  const s = { events: [], close: () => ctl.abort() };
  fetch(`${BASE}/api/events`, { headers: { cookie }, signal: ctl.signal })
    .then(async (res) => {
      const dec = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body) {
        buf += dec.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = {};
          for (const line of frame.split('\n')) {
            const m = /^(id|event|data): ?(.*)$/.exec(line);
            if (m)
              ev[m[1]] = m[2];
          }
          if (ev.event)
            s.events.push(ev);
        }
      }
    }).catch(() => {});
  return s;
}

const users = [];
let alice;

test('connect with the cookie: the "user count" snapshot first', async () => {
  alice = await signIn('al');
  const socket = lessonSocket(alice.cookie);
  users.push(socket);
  await waitFor('connect', () => socket.connected);
  await waitFor('the snapshot', () => socket.counts.length >= 1);
  const count = (await api('GET', '/api/count')).body.currentUsers;
  assertEq(socket.counts[0], count, 'snapshot = the count');
  assertEq(socket.io.engine.transport.name, 'polling', 'transport');
  assertEq(socket.recovered, false, 'a fresh connection');
});

test('a second user logs in: "user count" rises', async () => {
  const socket = users[0];
  const before = socket.counts[socket.counts.length - 1];
  const bob = await signIn('bo');
  await waitFor('user count ' + (before + 1), () => socket.counts.includes(before + 1));
  assertEq(bob.currentUsers, before + 1, 'the login saw the same count');
});

test('a chat message from the client reaches SSE and long-poll, and the other way', async () => {
  const carol = await signIn('ca');
  const sse = sseOpen(carol.cookie);
  await waitFor('the SSE snapshot', () => sse.events.length >= 1);
  const since = (await api('GET', '/api/count')).body.lastEventId;
  const socket = users[0];
  const ack = await socket.timeout(10000).emitWithAck('chat message', 'hello from socket.io');
  assert(ack && Number.isInteger(ack.id), `ack: ${JSON.stringify(ack)}`);
  await waitFor('the SSE event', () => sse.events.some((e) => e.event === 'chat message'));
  const ev = sse.events.find((e) => e.event === 'chat message');
  assertEq([Number(ev.id), JSON.parse(ev.data)], [ack.id, { username: alice.name, message: 'hello from socket.io' }], 'SSE');
  const poll = await api('GET', `/api/poll?since=${since}&timeout=5`, undefined, carol.cookie);
  const pe = poll.body.events.find((e) => e.event === 'chat message');
  assertEq(pe && pe.id, ack.id, 'long-poll');
  // and back: POST /api/emit reaches the socket, with the id as offset
  const r = await api('POST', '/api/emit', { event: 'chat message', data: 'hello from curl' }, carol.cookie);
  assertEq(r.status, 200, 'emit');
  await waitFor('the chat at the socket', () => socket.chats.some((c) => c.data.message === 'hello from curl'));
  const c = socket.chats.find((x) => x.data.message === 'hello from curl');
  assertEq([c.data.username, c.offset], [carol.name, String(r.body.id)], 'data and offset');
  assertEq(socket.chats.filter((x) => x.data.message === 'hello from socket.io').length, 1, 'own message once');
  sse.close();
});

test('an emit the rules refuse gets an error ack and stores nothing', async () => {
  const before = (await api('GET', '/api/count')).body.lastEventId;
  const ack = await users[0].timeout(10000).emitWithAck('user', 'spoof');
  assertEq(ack.error, 'reserved_event', 'error');
  assertEq((await api('GET', '/api/count')).body.lastEventId, before, 'nothing stored');
});

test('the transport dropped: recovered, the missed events once and in order', async () => {
  const dave = await signIn('da');
  const socket = lessonSocket(dave.cookie, { reconnection: false });
  users.push(socket);
  await waitFor('connect', () => socket.connected);
  await waitFor('the snapshot', () => socket.counts.length >= 1);
  socket.io.engine.close(); // the Engine.IO session ends under the socket
  await waitFor('disconnect', () => !socket.connected);
  const ids = [];
  for (const text of ['missed 1', 'missed 2', 'missed 3']) {
    const r = await api('POST', '/api/emit', { event: 'chat message', data: text }, dave.cookie);
    ids.push(String(r.body.id));
  }
  const countsBefore = socket.counts.length;
  socket.connect();
  await waitFor('reconnect', () => socket.connected);
  assertEq(socket.recovered, true, 'socket.recovered');
  await waitFor('the missed events', () => socket.chats.filter((c) => c.data.message.startsWith('missed')).length >= 3);
  const missed = socket.chats.filter((c) => c.data.message.startsWith('missed'));
  assertEq(missed.map((c) => [c.data.message, c.offset]),
    [['missed 1', ids[0]], ['missed 2', ids[1]], ['missed 3', ids[2]]], 'once, in order, with offsets');
  // one more live event proves nothing was queued twice
  const r = await api('POST', '/api/emit', { event: 'chat message', data: 'after' }, dave.cookie);
  await waitFor('the live event', () => socket.chats.some((c) => c.data.message === 'after'));
  assertEq(socket.chats.filter((c) => c.data.message.startsWith('missed')).length, 3, 'no duplicate');
  assertEq(socket.counts.length, countsBefore, 'no snapshot on recovery');
  assert(r.status === 200, 'emit');
});

test('no session: connect_error "unauthorized", no reconnection loop', async () => {
  const socket = lessonSocket(null);
  await waitFor('connect_error', () => socket.errors.length >= 1);
  assertEq(socket.errors[0].message, 'unauthorized', 'message');
  assertEq(socket.active, false, 'the client gives up (no reconnection)');
  assertEq(socket.connected, false, 'not connected');
  socket.close();
});

test('logout: the server disconnects the socket, which stays disconnected', async () => {
  const erin = await signIn('er');
  const socket = lessonSocket(erin.cookie);
  const reasons = [];
  socket.on('disconnect', (reason) => reasons.push(reason));
  await waitFor('connect', () => socket.connected);
  const r = await api('POST', '/api/logout', undefined, erin.cookie);
  assertEq(r.status, 204, 'logout');
  await waitFor('the disconnect', () => reasons.length > 0);
  assertEq(reasons, ['io server disconnect'], 'reason');
  assertEq(socket.active, false, 'no reconnection');
  socket.close();
});

test('close every socket', async () => {
  for (const s of users)
    s.close();
  assert(users.every((s) => !s.connected), 'closed');
});

await done();
