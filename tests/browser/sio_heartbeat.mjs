// tests/browser/sio_heartbeat.mjs -- the time-based part of emitcgi's
// Engine.IO v4 conformance that depends on the server's clock only, with
// the settings of the protocol's own test suites (pingInterval 300 ms,
// pingTimeout 200 ms): the handshake announces them, and a session whose
// pong does not come within pingTimeout is closed.  Written from
// docs/engine.io-protocol/v4-current.md of the socket.io repository (the
// rest is sio_protocol.mjs, at the default timings).  The cases where the
// client itself must act within pingTimeout (a pong after each ping, a
// second GET after a ping, a POST right after a ping is due) are in
// sio_pingpong.mjs, with a longer pong window: a client slowed by a loaded
// machine must not fail them.
//
// run-node: needs socket.io-client
// run-node: env EMITCGI_SIO_PING_INTERVAL=300 EMITCGI_SIO_PING_TIMEOUT=200
//
// These cases wait for the very intervals they check (sleep is the
// behaviour under test here).

import { BASE, test, done, assert, assertEq, sleep, signIn, skipAll } from './lib/tap.mjs';
import { SEP, req, open, get, post, expectError } from './lib/eio.mjs';

if (!BASE)
  skipAll('BASE_URL not set (run through tests/browser/run-node.sh)');

const PING_INTERVAL = 300, PING_TIMEOUT = 200;

test('handshake: the open packet, no upgrades, the configured timings', async () => {
  const r = await req('EIO=4&transport=polling');
  assertEq(r.status, 200, 'status');
  assert(r.type.startsWith('text/plain'), `content type ${r.type}`);
  assert(r.text[0] === '0', 'open packet type');
  const v = JSON.parse(r.text.slice(1));
  assertEq(Object.keys(v).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades'], 'keys');
  assert(typeof v.sid === 'string' && v.sid.length > 0, 'sid');
  assertEq(v.upgrades, [], 'upgrades (FastCGI cannot upgrade)');
  assertEq([v.pingInterval, v.pingTimeout, v.maxPayload], [PING_INTERVAL, PING_TIMEOUT, 1000000], 'timings');
  const sid2 = await open();
  assert(sid2 !== v.sid, 'each handshake a new sid');
});

test('heartbeat: no pong within pingTimeout closes the session', async () => {
  const sid = await open();
  await sleep(PING_INTERVAL + PING_TIMEOUT + 100); // the behaviour under test
  expectError(await get(sid), 400, 1, 'GET after the deadline');
});

await done();
