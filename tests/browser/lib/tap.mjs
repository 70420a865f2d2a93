// tests/browser/lib/tap.mjs -- TAP output and small helpers shared by the
// Node-only tests (sio_protocol.mjs, sio_client.mjs), run through
// run-node.sh: BASE_URL is the lighttpd in front of emitcgi.
//
//   import { test, done, assert, assertEq, waitFor, api, signIn } from './lib/tap.mjs';
//   test('desc', async () => { ... });   // in order; a throw fails it
//   await done();                        // plan/count, exit status

import fs from 'node:fs';

export const BASE = process.env.BASE_URL;
const tests = [];

export function skipAll(reason) {
  if (process.env.BROWSER_TAP_COUNT) {
    // run-node.sh prints the plan: one skipped test here.
    console.log(`ok 1 # SKIP ${reason}`);
    fs.writeFileSync(process.env.BROWSER_TAP_COUNT, '1');
  } else {
    console.log(`1..0 # SKIP ${reason}`);
  }
  process.exit(0);
}

export class Failure extends Error {}
export function assert(cond, msg) {
  if (!cond)
    throw new Failure(msg);
}
export function assertEq(actual, expected, msg) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e)
    throw new Failure(`${msg}: expected ${e}, got ${a}`);
}

export function test(desc, fn) {
  tests.push({ desc, fn });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls cond() every 25 ms until it is truthy; fails after ms.
export async function waitFor(desc, cond, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v)
      return v;
    if (Date.now() > end)
      throw new Failure(`timed out waiting for ${desc}`);
    await sleep(25);
  }
}

export async function done() {
  let n = 0, failed = 0;
  for (const t of tests) {
    n++;
    try {
      await Promise.race([
        t.fn(),
        sleep(60000).then(() => { throw new Failure('test took over 60 s'); }),
      ]);
      console.log(`ok ${n} - ${t.desc}`);
    } catch (e) {
      failed++;
      console.log(`not ok ${n} - ${t.desc}`);
      String(e && e.stack ? e.stack : e).split('\n')
        .forEach((l) => console.log(`# ${l}`));
    }
  }
  if (process.env.BROWSER_TAP_COUNT)
    fs.writeFileSync(process.env.BROWSER_TAP_COUNT, String(n));
  else
    console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
}

// JSON API call; returns { status, body, cookie }.
export async function api(method, path, body, cookie) {
  const headers = {};
  if (body !== undefined)
    headers['content-type'] = 'application/json';
  if (cookie)
    headers.cookie = cookie;
  const res = await fetch(`${BASE}${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
  const set = res.headers.get('set-cookie');
  return { status: res.status, body: json, text, cookie: set ? set.split(';')[0] : null };
}

let userN = 0;
// Registers and signs in a fresh user; returns { name, cookie }.
export async function signIn(prefix = 'u') {
  const name = `${prefix}${process.pid}x${++userN}`;
  const password = 'password-' + name;
  let r = await api('POST', '/api/register', { username: name, password });
  assert(r.status === 201, `register ${name}: ${r.status} ${r.text}`);
  r = await api('POST', '/api/login', { username: name, password });
  assert(r.status === 200 && r.cookie, `login ${name}: ${r.status} ${r.text}`);
  return { name, cookie: r.cookie, currentUsers: r.body.currentUsers };
}
