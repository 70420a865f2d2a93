// tests/browser/sio_pingpong.mjs -- the Engine.IO v4 heartbeat cases in
// which the client must answer in time: the server pings every
// pingInterval (300 ms, as in the protocol's own test suites), the client
// pongs, three rounds; and a due ping comes first in an answer.  Written
// from docs/engine.io-protocol/v4-current.md of the socket.io repository.
// pingTimeout is 3000 ms here, not the suites' 200 ms: on a loaded
// machine (CI runs the suites in parallel on two cores) a client can be
// descheduled for longer than 200 ms between the ping and its pong, and
// then the server rightly closes the session; what these cases check is
// that the server pings and takes the pong, not how fast the client is.
// sio_heartbeat.mjs checks the 200 ms deadline itself.
//
// run-node: needs socket.io-client
// run-node: env EMITCGI_SIO_PING_INTERVAL=300 EMITCGI_SIO_PING_TIMEOUT=3000

import { BASE, test, done, assert, assertEq, sleep, signIn, skipAll } from './lib/tap.mjs';
import { SEP, open, get, post } from './lib/eio.mjs';

if (!BASE)
  skipAll('BASE_URL not set (run through tests/browser/run-node.sh)');

const PING_INTERVAL = 300;

test('heartbeat: the server pings, the client pongs, three rounds', async () => {
  const sid = await open();
  for (let i = 0; i < 3; i++) {
    const r = await get(sid);
    assertEq([r.status, r.text], [200, '2'], `round ${i}: ping`);
    const p = await post(sid, '3');
    assertEq([p.status, p.text], [200, 'ok'], `round ${i}: pong`);
  }
});

// ---- framing, POST ----

test('framing: packets of one answer joined by 0x1e, ping first', async () => {
  const u = await signIn('fr');
  const sid = await open(u.cookie);
  await sleep(PING_INTERVAL + 20); // a ping is due and owed
  const p = await post(sid, '40', u.cookie);
  assertEq([p.status, p.text], [200, 'ok'], 'connect POST');
  const r = await get(sid, u.cookie);
  const packets = r.text.split(SEP);
  assertEq(packets[0], '2', 'ping');
  assert(/^40\{"sid":"[^"]+","pid":"[^"]+"\}$/.test(packets[1]), `connect answer: ${packets[1]}`);
  assert(/^42\["user count",\d+,"\d+"\]$/.test(packets[2]), `snapshot: ${packets[2]}`);
  assertEq(packets.length, 3, 'three packets');
  assertEq((await post(sid, `3${SEP}3`, u.cookie)).text, 'ok', 'two packets in one POST');
});

await done();
