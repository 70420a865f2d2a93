// tests/browser/sio_protocol.mjs -- Engine.IO v4 (long-polling) and
// Socket.IO v5 conformance of emitcgi at /socket.io/, written from the
// protocol documents of the socket.io repository
// (docs/engine.io-protocol/v4-current.md, docs/socket.io-protocol/
// v5-current.md): errors, framing, one GET at a time, cancel, close,
// maxPayload, Origin, connect, namespaces, acks, recovery that must be
// fresh.  Plain fetch: every byte on the wire is checked.  The default
// timings (pings every 25 s), so no case races a ping; the time-based
// cases, with the test suites' 300/200 ms, are sio_heartbeat.mjs.
//
// run-node: needs socket.io-client
//
// Every wait is on a condition: a case that needs a GET held first waits
// until the session's row in the store says so (sqlite3 on the test's
// database, $T/emitcgi.db): a fixed pause lost that race on loaded CI
// cores.

import { execFileSync } from 'node:child_process';
import { BASE, test, done, assert, assertEq, sleep, signIn, skipAll, waitFor } from './lib/tap.mjs';
import { EIO, SEP, req, open, get, post, expectError } from './lib/eio.mjs';

// The GET of sid is held: its claim (get_ms) is in the store.
async function heldGet(sid) {
  const db = `${process.env.T}/emitcgi.db`;
  await waitFor(`a held GET of ${sid}`, () => {
    const out = execFileSync('sqlite3', [db, `SELECT get_ms FROM sio_sessions WHERE sid = '${sid}'`])
      .toString().trim();
    return out !== '' && out !== '0';
  });
}

if (!BASE)
  skipAll('BASE_URL not set (run through tests/browser/run-node.sh)');

// ---- handshake ----

test('handshake: the open packet, no upgrades, the default timings', async () => {
  const r = await req('EIO=4&transport=polling');
  assertEq(r.status, 200, 'status');
  assert(r.type.startsWith('text/plain'), `content type ${r.type}`);
  const v = JSON.parse(r.text.slice(1));
  assertEq([v.upgrades, v.pingInterval, v.pingTimeout, v.maxPayload], [[], 25000, 20000, 1000000], 'values');
});

test('handshake: missing, EIO=3 (socket.io 2.x) and bad EIO: 400 code 5', async () => {
  expectError(await req('transport=polling'), 400, 5, 'no EIO');
  expectError(await req('EIO=3&transport=polling'), 400, 5, 'EIO=3');
  expectError(await req('EIO=abc&transport=polling'), 400, 5, 'EIO=abc');
});

test('handshake: missing, unknown and websocket transport: 400 code 0', async () => {
  expectError(await req('EIO=4'), 400, 0, 'no transport');
  expectError(await req('EIO=4&transport=abc'), 400, 0, 'transport=abc');
  expectError(await req('EIO=4&transport=websocket'), 400, 0, 'transport=websocket');
});

test('handshake: POST and PUT: 400 code 2', async () => {
  expectError(await req('EIO=4&transport=polling', { method: 'POST', body: '' }), 400, 2, 'POST');
  expectError(await req('EIO=4&transport=polling', { method: 'PUT', body: '' }), 400, 2, 'PUT');
});

test('unknown sid: GET and POST get 400 code 1', async () => {
  expectError(await get('nosuchsession0000000'), 400, 1, 'GET');
  expectError(await post('nosuchsession0000000', '3'), 400, 1, 'POST');
  expectError(await get('bad%20sid'), 400, 1, 'malformed sid');
});

// ---- heartbeat ----

test('a malformed payload is 400 code 3 and closes the session', async () => {
  const sid = await open();
  expectError(await post(sid, 'abc'), 400, 3, 'bad packet type');
  expectError(await get(sid), 400, 1, 'closed');
  const sid2 = await open();
  expectError(await post(sid2, `3${SEP}`), 400, 3, 'empty packet');
  const sid3 = await open();
  expectError(await post(sid3, '4x'), 400, 3, 'unknown Socket.IO packet type');
  const sid4 = await open();
  expectError(await post(sid4, '42999999999999["x"]'), 400, 3, 'ack id too large');
});

test('maxPayload: a POST past it is 413', async () => {
  const sid = await open();
  const r = await post(sid, '4' + 'x'.repeat(1000000));
  assertEq(r.status, 413, 'status');
  assertEq((await post(sid, '3')).text, 'ok', 'the session goes on');
});

// ---- one GET at a time, cancel, close ----

test('a second GET while one is held: 400, the first gets close, the session ends', async () => {
  const sid = await open();
  const first = get(sid);
  await heldGet(sid);
  const second = await get(sid);
  const r1 = await first;
  assertEq(second.status, 400, 'second GET');
  assertEq([r1.status, r1.text], [200, '1'], 'first GET: close packet');
  expectError(await get(sid), 400, 1, 'then unknown');
});

test('a cancelled GET closes the session', async () => {
  const sid = await open();
  const ctl = new AbortController();
  const held = get(sid, undefined, ctl.signal).catch(() => null);
  await heldGet(sid);
  ctl.abort();
  await held;
  const r = await get(sid);
  assertEq(r.status, 400, 'GET after the cancel');
});

test('a close packet from the client: the held GET gets a noop, then 400', async () => {
  const sid = await open();
  const held = get(sid);
  await heldGet(sid);
  const p = await post(sid, '1');
  assertEq([p.status, p.text], [200, 'ok'], 'close POST');
  const r = await held;
  assertEq([r.status, r.text], [200, '6'], 'held GET: noop');
  expectError(await get(sid), 400, 1, 'then unknown');
});

// ---- Socket.IO ----

test('socket.io: 40 without a session: 44 unauthorized', async () => {
  const sid = await open();
  await post(sid, '40');
  const r = await get(sid);
  assertEq(r.text, '44{"message":"unauthorized"}', 'connect error');
});

test('socket.io: another namespace: 44/x Invalid namespace', async () => {
  const u = await signIn('ns');
  const sid = await open(u.cookie);
  await post(sid, '40/x,', u.cookie);
  const r = await get(sid, u.cookie);
  assertEq(r.text, '44/x,{"message":"Invalid namespace"}', 'connect error');
});

test('socket.io: a namespace without its comma, as the reference parser reads it', async () => {
  const sid = await open();
  await post(sid, '40/random');
  const r = await get(sid);
  assertEq(r.text, '44/random,{"message":"Invalid namespace"}', 'connect error');
});

test('a POST from another Origin: 403 code 4, nothing done', async () => {
  const sid = await open();
  const res = await fetch(`${EIO}?EIO=4&transport=polling&sid=${sid}`, {
    method: 'POST', body: '1', headers: { origin: 'http://evil.example' },
  });
  expectError({ status: res.status, text: await res.text() }, 403, 4, 'foreign Origin');
  assertEq((await post(sid, '3')).text, 'ok', 'the session is still open');
});

test('socket.io: after logout the server disconnects the socket (41)', async () => {
  const u = await signIn('lo');
  const sid = await open(u.cookie);
  await post(sid, '40', u.cookie);
  const r = await get(sid, u.cookie);
  assert(r.text.startsWith('40{'), `connected: ${r.text}`);
  const out = await fetch(`${BASE}/api/logout`, { method: 'POST', headers: { cookie: u.cookie } });
  assertEq(out.status, 204, 'logout');
  const after = await get(sid, u.cookie);
  assertEq(after.text.split(SEP).filter((p) => p !== '2'), ['41'], 'server disconnect');
});

test('socket.io: recovery with an unknown pid or an offset the log never had is a fresh connection', async () => {
  const u = await signIn('rc');
  for (const data of ['{"pid":"nosuchpid00000000000","offset":"1"}', null]) {
    const sid = await open(u.cookie);
    let body = data;
    if (!body) {
      // a real pid, but an offset past the newest event
      const s0 = await open(u.cookie);
      await post(s0, '40', u.cookie);
      const first = (await get(s0, u.cookie)).text.split(SEP)[0];
      const pid = JSON.parse(first.slice(2)).pid;
      body = JSON.stringify({ pid, offset: '99999999' });
    }
    await post(sid, `40${body}`, u.cookie);
    const packets = (await get(sid, u.cookie)).text.split(SEP);
    const hs = JSON.parse(packets[0].slice(2));
    assert(!body.includes(`"pid":"${hs.pid}"`), `a new pid: ${packets[0]}`);
    assert(/^42\["user count",\d+,"\d+"\]$/.test(packets[1]), `the snapshot: ${packets[1]}`);
  }
});

test('socket.io: an event with an ack is stored and acked with its id; errors too', async () => {
  const u = await signIn('ev');
  const sid = await open(u.cookie);
  await post(sid, '40', u.cookie);
  let r = await get(sid, u.cookie);
  assert(r.text.startsWith('40{'), `connected: ${r.text}`);
  const p = await post(sid, `421["chat message","hello"]${SEP}422["user count",5]`, u.cookie);
  assertEq(p.text, 'ok', 'POST');
  r = await get(sid, u.cookie);
  const packets = r.text.split(SEP);
  const ack = packets.find((x) => x.startsWith('431'));
  const err = packets.find((x) => x.startsWith('432'));
  assert(ack && /^431\[\{"id":\d+\}\]$/.test(ack), `ack: ${r.text}`);
  assert(err && JSON.parse(err.slice(3))[0].error === 'reserved_event', `error ack: ${r.text}`);
  const id = JSON.parse(ack.slice(3))[0].id;
  const ev = packets.find((x) => x.startsWith('42["chat message"'));
  let seen = ev;
  if (!seen)
    seen = (await get(sid, u.cookie)).text.split(SEP).find((x) => x.startsWith('42["chat message"'));
  assertEq(JSON.parse(seen.slice(2)), ['chat message', { username: u.name, message: 'hello' }, String(id)], 'the event, with its offset');
});
// The official suites' message echo cases do not apply: messages here are
// Socket.IO packets, not an echo server's.

await done();
