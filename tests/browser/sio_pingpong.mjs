// tests/browser/sio_pingpong.mjs -- Engine.IO v4 cases that need a ping
// due soon but must not race its pong window: a due ping comes first in
// an answer (pingInterval 300 ms, as in the protocol's own test suites,
// and pingTimeout 3000 ms so that the steps after it have time on a
// loaded machine); and a client's socket.io events are held to the rate
// limit of POST /api/emit (EMITCGI_RATE_EMIT=2 a minute per session here):
// the same path, the same rules (issue 11 on top of issue 9).  Written from
// docs/engine.io-protocol/v4-current.md of the socket.io repository.  The
// heartbeat itself, at the suites' 200 ms, is sio_heartbeat.mjs.
//
// run-node: needs socket.io-client
// run-node: env EMITCGI_SIO_PING_INTERVAL=300 EMITCGI_SIO_PING_TIMEOUT=3000 EMITCGI_RATE_EMIT=2

import { BASE, test, done, assert, assertEq, sleep, signIn, skipAll } from './lib/tap.mjs';
import { SEP, open, get, post, expectError } from './lib/eio.mjs';

if (!BASE)
  skipAll('BASE_URL not set (run through tests/browser/run-node.sh)');

const PING_INTERVAL = 300;

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

// ---- client events and the rate limit of POST /emit ----

test('socket.io: client events beyond EMITCGI_RATE_EMIT are acked rate_limited', async () => {
  const u = await signIn('rl');
  const sid = await open(u.cookie);
  await post(sid, '40', u.cookie);
  const c = await get(sid, u.cookie);
  assert(c.text.split(SEP).some((x) => x.startsWith('40{')), `connected: ${c.text}`);
  const msgs = [1, 2, 3].map((n) => `42${n}["chat message","m${n}"]`).join(SEP);
  assertEq((await post(sid, msgs, u.cookie)).text, 'ok', 'three events in one POST');
  const acks = {};
  for (let i = 0; i < 5 && Object.keys(acks).length < 3; i++)
    for (const x of (await get(sid, u.cookie)).text.split(SEP))
      if (/^43[123]\[/.test(x)) acks[x[2]] = JSON.parse(x.slice(3))[0];
  assert(acks[1] && typeof acks[1].id === 'number', `first acked with its id: ${JSON.stringify(acks)}`);
  assert(acks[2] && typeof acks[2].id === 'number', `second acked with its id: ${JSON.stringify(acks)}`);
  assertEq(acks[3] && acks[3].error, 'rate_limited', 'the third: rate_limited');
});

await done();
