// tests/browser/lib/eio.mjs -- raw Engine.IO long-polling requests for the
// conformance tests (sio_protocol.mjs, sio_heartbeat.mjs): plain fetch, so
// every byte on the wire is the test's to check.
//
//   const sid = await open(cookie);       // handshake, the sid
//   await get(sid, cookie, signal);       // { status, text, type }
//   await post(sid, body, cookie);
//   expectError(r, 400, 1, 'what');       // {"code","message"}

import { BASE, assert, assertEq } from './tap.mjs';

export const EIO = `${BASE}/socket.io/`;
export const SEP = '\x1e';

export async function req(query, opts = {}) {
  const headers = {};
  if (opts.cookie)
    headers.cookie = opts.cookie;
  const res = await fetch(`${EIO}?${query}`, {
    method: opts.method || 'GET', headers, body: opts.body, signal: opts.signal,
  });
  const text = await res.text();
  return { status: res.status, text, type: res.headers.get('content-type') || '' };
}

export async function open(cookie) {
  const r = await req('EIO=4&transport=polling', { cookie });
  assertEq(r.status, 200, 'handshake status');
  assert(r.text.startsWith('0'), `open packet: ${r.text}`);
  return JSON.parse(r.text.slice(1)).sid;
}
export const get = (sid, cookie, signal) =>
  req(`EIO=4&transport=polling&sid=${sid}`, { cookie, signal });
export const post = (sid, body, cookie) =>
  req(`EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body, cookie });

export function expectError(r, status, code, what) {
  assertEq(r.status, status, `${what}: status`);
  let body;
  try { body = JSON.parse(r.text); } catch (e) { throw new Error(`${what}: not JSON: ${r.text}`); }
  assertEq(body.code, code, `${what}: code`);
  assert(typeof body.message === 'string' && body.message, `${what}: message`);
}
