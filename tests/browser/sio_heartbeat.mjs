// tests/browser/sio_heartbeat.mjs -- the time-based part of emitcgi's
// Engine.IO v4 conformance, with the settings of the protocol's own test
// suites (pingInterval 300 ms, pingTimeout 200 ms): the handshake
// announces them, the server pings every pingInterval and takes the
// client's pong, three rounds; a GET held after an unanswered ping gets
// the close packet at the pong deadline; and a session whose pong does not
// come within pingTimeout is closed.  Written from
// docs/engine.io-protocol/v4-current.md of the socket.io repository (the
// rest is sio_protocol.mjs and sio_pingpong.mjs, at longer timings).
//
// run-node: needs socket.io-client
// run-node: env EMITCGI_SIO_PING_INTERVAL=300 EMITCGI_SIO_PING_TIMEOUT=200
//
// These cases wait for the very intervals they check (sleep is the
// behaviour under test here).  In the cases where the client itself must
// act within pingTimeout, a server may close the session only when the
// client's request comes more than pingInterval + pingTimeout after the
// request that set the server's ping timer (the handshake, or the last
// pong): the ping is due pingInterval after that request reached the
// server, and the window closes pingTimeout after the ping left.  When a
// step fails and the client's own clock shows it was that late (a loaded
// machine descheduled it), the server was right: the case is run again on
// a new session, at most three times in all.  A failure in time is a
// failure at once.
import { BASE, test, done, assert, assertEq, sleep, signIn, skipAll, Failure } from './lib/tap.mjs';
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

// Runs attempt(late) on new sessions until it passes; late(since) says
// whether the client is now past the last moment the server had to take a
// request from it, counted from the client's `since` (Date.now() when it
// sent the request that set the ping timer).
class Late extends Error {}
async function inTime(what, attempt) {
  const late = (since) => Date.now() - since > PING_INTERVAL + PING_TIMEOUT;
  for (let n = 1; ; n++) {
    try {
      return await attempt((since, ok, msg) => {
        if (ok)
          return;
        if (late(since))
          throw new Late(`${msg} (the client was ${Date.now() - since} ms after its last request)`);
        throw new Failure(`${msg} (in time: ${Date.now() - since} ms after its last request)`);
      });
    } catch (e) {
      if (!(e instanceof Late) || n === 3)
        throw e;
      console.log(`# ${what}: attempt ${n} lost to a late client, again: ${e.message}`);
    }
  }
}

test('heartbeat: the server pings, the client pongs, three rounds', () =>
  inTime('three rounds', async (check) => {
    let since = Date.now();
    const sid = await open();
    for (let i = 0; i < 3; i++) {
      const r = await get(sid);
      check(since, r.status === 200 && r.text === '2', `round ${i}: ping: ${r.status} ${r.text}`);
      const sent = Date.now();
      const p = await post(sid, '3');
      check(since, p.status === 200 && p.text === 'ok', `round ${i}: pong: ${p.status} ${p.text}`);
      since = sent;
    }
  }));

test('heartbeat: a held GET gets the close packet at the pong deadline', () =>
  inTime('close at the deadline', async (check) => {
    const since = Date.now();
    const sid = await open();
    const first = await get(sid);
    check(since, first.status === 200 && first.text === '2', `the ping: ${first.status} ${first.text}`);
    const r = await get(sid); // no pong: held until the deadline
    check(since, r.status === 200 && r.text === '1', `close packet: ${r.status} ${r.text}`);
    expectError(await get(sid), 400, 1, 'then unknown');
  }));

test('heartbeat: no pong within pingTimeout closes the session', async () => {
  const sid = await open();
  await sleep(PING_INTERVAL + PING_TIMEOUT + 100); // the behaviour under test
  expectError(await get(sid), 400, 1, 'GET after the deadline');
});

await done();
