// tests/bench/sio_bench.mjs -- the socket.io rows of `make bench`
// (tests/bench/sio.sh runs it): N real socket.io-client 4.x sockets, all on
// HTTP long-polling, against one server, then K events, each timed from
// the emit to the moment the last of the N sockets has it.
//
//   node sio_bench.mjs server PORT
//       Node's socket.io 4.x (npm, the lockfile's version), polling only,
//       the lesson's server: 'user count' at each connection; POST /emit
//       broadcasts {"event","data"} with io.emit().  Prints "listening".
//   node sio_bench.mjs clients URL N K COOKIE EMIT_URL
//       connects N sockets to URL (cookie: "" for none; 100 at a time),
//       waits for every one's first 'user count', then K times POSTs {"event":"chat
//       message","data":i} to EMIT_URL (with the cookie) and waits until
//       all N have event i.  Prints one "result:" line.
//   node sio_bench.mjs peer URL N K EMIT_URL TRANSPORT SERVER_PID MODE
//       a row of tests/bench/peers.sh, beside http_load's rows: N sockets
//       on TRANSPORT (websocket: the push row beside SSE; polling: beside
//       long-poll) to Node's socket.io, then K broadcasts 300 ms apart,
//       each awaited until every socket has it (15 s at most); prints one
//       JSON line in http_load's schema: per-receipt p50/p99/max from the
//       POST, the smallest share delivered, failures, and the CPU seconds
//       (during the broadcasts) and RSS of SERVER_PID from /proc.
//
// The server takes its transports from BENCH_SIO_TRANSPORTS (default
// "polling": the rows of sio.sh; peers.sh adds websocket), and
// BENCH_SIO_SNAPSHOT=socket (peers.sh) sends the count to each new socket
// only.
//
// Node modules from $NODE_MODULES (default: tests/browser/node_modules).
// Every wait is bounded; only 127.0.0.1.

import { createRequire } from 'node:module';
import http from 'node:http';
import path from 'node:path';

const require = createRequire(import.meta.url);
const NODE_MODULES = process.env.NODE_MODULES ||
  path.join(path.dirname(new URL(import.meta.url).pathname), '../browser/node_modules');
const WAIT_MS = 120000;
const WAVE = 100;

function fail(msg) {
  console.error(`sio_bench: ${msg}`);
  process.exit(1);
}

async function server(port) {
  const { Server } = require(path.join(NODE_MODULES, 'socket.io'));
  let users = 0;
  const httpServer = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/emit') {
      res.writeHead(404).end();
      return;
    }
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const { event, data } = JSON.parse(body);
      io.emit(event, { username: 'bench', message: data });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const transports = (process.env.BENCH_SIO_TRANSPORTS || 'polling').split(',');
  const io = new Server(httpServer, { transports, maxHttpBufferSize: 1e6 });
  // BENCH_SIO_SNAPSHOT=socket: the count goes to the new socket only.
  // peers.sh sets it: its emitcgi rows log in once for all their clients,
  // so each client gets the count once, as its snapshot; the lesson's
  // io.emit() at every connection would cost N² messages to connect N.
  const toSocket = process.env.BENCH_SIO_SNAPSHOT === 'socket';
  io.on('connection', (socket) => {
    users++;
    (toSocket ? socket : io).emit('user count', users);
    socket.on('disconnect', () => { users--; if (!toSocket) io.emit('user count', users); });
  });
  httpServer.listen(Number(port), '127.0.0.1', () => console.log('listening'));
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function clients(url, n, k, cookie, emitUrl) {
  const { io } = require(path.join(NODE_MODULES, 'socket.io-client'));
  const sockets = [];
  const t0 = Date.now();
  let ready = 0;
  const got = new Array(k).fill(0);
  const waiters = new Map();
  for (let i = 0; i < n; i++) {
    // Waves of WAVE below every listen backlog (Node's 511), as the C
    // bench does with its streams.
    if (i > 0 && i % WAVE === 0) {
      while (ready < i) {
        if (Date.now() - t0 > WAIT_MS)
          fail(`only ${ready} of ${i} sockets connected`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const s = io(url, {
      transports: ['polling'], forceNew: true, reconnection: false,
      extraHeaders: cookie ? { cookie } : {},
    });
    s.once('user count', () => { ready++; });
    s.on('chat message', (d) => {
      const j = d && d.message;
      if (Number.isInteger(j) && j >= 0 && j < k && ++got[j] === n && waiters.has(j))
        waiters.get(j)();
    });
    s.on('connect_error', (e) => fail(`connect_error: ${e.message}`));
    sockets.push(s);
  }
  while (ready < n) {
    if (Date.now() - t0 > WAIT_MS)
      fail(`only ${ready} of ${n} sockets connected`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const connectMs = Date.now() - t0;
  const lat = [];
  for (let j = 0; j < k; j++) {
    const all = new Promise((resolve, reject) => {
      waiters.set(j, resolve);
      setTimeout(() => reject(new Error(`event ${j}: ${got[j]} of ${n}`)), WAIT_MS);
    });
    const s0 = process.hrtime.bigint();
    const res = await fetch(emitUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
      body: JSON.stringify({ event: 'chat message', data: j }),
    });
    if (res.status !== 200)
      fail(`emit: ${res.status} ${await res.text()}`);
    if (got[j] < n)
      await all.catch((e) => fail(e.message));
    lat.push(Number(process.hrtime.bigint() - s0) / 1e6);
  }
  lat.sort((a, b) => a - b);
  const missed = got.filter((g) => g !== n).length;
  console.log(`result: mode=sio n=${n} k=${k} connect_ms=${connectMs} ` +
    `p50_ms=${pct(lat, 0.5).toFixed(1)} p99_ms=${pct(lat, 0.99).toFixed(1)} ` +
    `max_ms=${lat[lat.length - 1].toFixed(1)} missed=${missed}`);
  for (const s of sockets)
    s.close();
  process.exit(0);
}

// CPU seconds (utime + stime) and RSS in KiB of pid, from /proc.
function procStat(pid) {
  const fs = require('node:fs');
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rss = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpu: (Number(f[11]) + Number(f[12])) / 100, rssKb: rss ? Number(rss[1]) : 0 };
}

async function peer(url, n, k, emitUrl, transport, serverPid, rowMode) {
  const { io } = require(path.join(NODE_MODULES, 'socket.io-client'));
  // Connecting takes long with many polling sockets: 30 ms a socket.
  const WAIT_MS = Math.max(120000, 30 * n);
  const sockets = [];
  const t0 = Date.now();
  let ready = 0, failed = 0;
  const got = new Array(k).fill(0);
  const sent = new Array(k).fill(0n);
  const lat = [];
  for (let i = 0; i < n; i++) {
    if (i > 0 && i % WAVE === 0) {
      while (ready + failed < i) {
        if (Date.now() - t0 > WAIT_MS)
          fail(`only ${ready} of ${i} sockets connected`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const s = io(url, { transports: [transport], forceNew: true, reconnection: false });
    s.once('user count', () => { ready++; });
    s.on('chat message', (d) => {
      const j = d && d.message;
      if (Number.isInteger(j) && j >= 0 && j < k && sent[j]) {
        got[j]++;
        lat.push(Number(process.hrtime.bigint() - sent[j]) / 1e6);
      }
    });
    s.on('connect_error', () => { failed++; });
    sockets.push(s);
  }
  while (ready + failed < n) {
    if (Date.now() - t0 > WAIT_MS)
      fail(`only ${ready} of ${n} sockets connected`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const connectMs = Date.now() - t0;
  const before = procStat(serverPid);
  let minShare = 1;
  for (let j = 0; j < k; j++) {
    sent[j] = process.hrtime.bigint();
    const res = await fetch(emitUrl, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'chat message', data: j }),
    });
    if (res.status !== 200)
      failed++;
    const end = Date.now() + 15000;
    while (got[j] < ready && Date.now() < end)
      await new Promise((r) => setTimeout(r, 5));
    minShare = Math.min(minShare, got[j] / n);
    await new Promise((r) => setTimeout(r, 300));
  }
  const after = procStat(serverPid);
  lat.sort((a, b) => a - b);
  const r1 = (v) => Math.round(v * 10) / 10;
  console.log(JSON.stringify({
    label: 'socket.io', peer: 'socketio', mode: rowMode, n, k, ready,
    delivered_min_share: minShare, p50_ms: r1(pct(lat, 0.5) || 0),
    p99_ms: r1(pct(lat, 0.99) || 0), max_ms: r1(lat[lat.length - 1] || 0),
    polls: 0, failed, failures: {}, server_cpu_s: after.cpu - before.cpu,
    server_rss_kb: after.rssKb, front_cpu_s: 0, front_rss_kb: 0,
    client_cpu_s: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
    transport, connect_ms: connectMs,
  }));
  for (const s of sockets)
    s.close();
  process.exit(0);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'server')
  await server(args[0]);
else if (mode === 'clients')
  await clients(args[0], Number(args[1]), Number(args[2]), args[3], args[4]);
else if (mode === 'peer')
  await peer(args[0], Number(args[1]), Number(args[2]), args[3], args[4], Number(args[5]), args[6]);
else
  fail('usage: sio_bench.mjs server PORT | clients URL N K COOKIE EMIT_URL | ' +
    'peer URL N K EMIT_URL TRANSPORT SERVER_PID MODE');
