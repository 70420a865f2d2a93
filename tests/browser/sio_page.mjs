// tests/browser/sio_page.mjs -- the lesson's page with the real socket.io
// client bundle (www/socketio.html, /socket.io/socket.io.js from npm's
// socket.io-client) in headless Debian Chromium, through lighttpd.
//
//   the page, signed in by the emitcgi_sid cookie, shows the count and the
//     lesson's console.log(data) prints it; a second login raises it
//   a chat message sent from the page reaches an SSE stream and a
//     long-poll; one POSTed to /api/emit shows up in the page
//   the transport dropped: the page reconnects recovered and shows the
//     missed messages once, in order
//   without a session: connect_error, the page asks to sign in
//   the lesson's hint (freeCodeCamp's check of the client code) passes on
//     the page's script and on the main page's client.js
//
// Output: TAP (run through run-node.sh, which serves the bundle).

import fs from 'node:fs';
import path from 'node:path';
import { BASE, test, done, assert, assertEq, waitFor, api, signIn, skipAll } from './lib/tap.mjs';
import { NODE_MODULES, launchChromium } from './lib/chromium.mjs';

if (!BASE)
  skipAll('BASE_URL not set (run through tests/browser/run-node.sh)');
if (!fs.existsSync(path.join(NODE_MODULES, 'socket.io-client/dist/socket.io.min.js')))
  skipAll('socket.io-client not installed (cd tests/browser && npm ci)');
const browser = await launchChromium(skipAll);

// A context signed in as user (its cookie), and the page open in it.
async function openPage(user) {
  const ctx = await browser.newContext();
  ctx.setDefaultTimeout(20000);
  if (user) {
    const [name, value] = user.cookie.split('=');
    await ctx.addCookies([{ name, value, url: BASE }]);
  }
  const page = await ctx.newPage();
  page.logs = [];
  page.errors = [];
  page.on('console', (m) => { if (m.type() === 'log') page.logs.push(m.text()); });
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto(`${BASE}/socketio.html`);
  return page;
}

const shownCount = (page) => page.$eval('#count', (e) => e.dataset.count);
const messages = (page) => page.$$eval('#messages li', (l) => l.map((e) => e.textContent));

let alice, page;

test('signed in: the count, and the lesson\'s console.log(data)', async () => {
  alice = await signIn('pa');
  page = await openPage(alice);
  await page.waitForSelector('#state[data-state="connected"]');
  const count = (await api('GET', '/api/count')).body.currentUsers;
  await waitFor('the count in the page', async () => (await shownCount(page)) === String(count));
  assertEq(page.logs[0], String(count), 'console.log(data)');
  assertEq(await page.evaluate(() => socket.io.engine.transport.name), 'polling', 'transport');
});

test('a second login raises the count', async () => {
  const before = Number(await shownCount(page));
  await signIn('pb');
  await waitFor('the count + 1', async () => (await shownCount(page)) === String(before + 1));
  assert(page.logs.includes(String(before + 1)), `console: ${page.logs}`);
});

test('a chat message from the page reaches SSE and long-poll; /api/emit reaches the page', async () => {
  const carol = await signIn('pc');
  const since = (await api('GET', '/api/count')).body.lastEventId;
  const ctl = new AbortController();
  const sse = [];
  fetch(`${BASE}/api/events`, { headers: { cookie: carol.cookie }, signal: ctl.signal })
    .then(async (res) => {
      const dec = new TextDecoder();
      for await (const chunk of res.body)
        sse.push(dec.decode(chunk, { stream: true }));
    }).catch(() => {});
  await waitFor('the SSE stream', () => sse.join('').includes('event: user count'));
  await page.fill('#chat-input', 'hi from the socket.io page');
  await page.click('#chat-form button');
  await waitFor('the message on SSE', () => sse.join('').includes('hi from the socket.io page'));
  const poll = await api('GET', `/api/poll?since=${since}&timeout=5`, undefined, carol.cookie);
  assert(poll.body.events.some((e) => e.event === 'chat message' &&
    e.data.username === alice.name && e.data.message === 'hi from the socket.io page'), 'long-poll');
  ctl.abort();
  const r = await api('POST', '/api/emit', { event: 'chat message', data: 'hi from curl' }, carol.cookie);
  assertEq(r.status, 200, 'emit');
  await waitFor('the message in the page', async () => (await messages(page)).includes(`${carol.name}: hi from curl`));
});

test('the transport dropped: recovered, the missed messages once and in order', async () => {
  await page.evaluate(() => { socket.io.reconnection(false); socket.io.engine.close(); });
  await page.waitForSelector('#state[data-state="disconnected"]');
  for (const t of ['gone 1', 'gone 2'])
    assertEq((await api('POST', '/api/emit', { event: 'chat message', data: t }, alice.cookie)).status, 200, 'emit');
  await page.evaluate(() => { socket.io.reconnection(true); socket.connect(); });
  await page.waitForSelector('#state[data-state="connected"]');
  assertEq(await page.textContent('#state'), 'Connected (recovered)', 'recovered');
  await waitFor('the missed messages', async () => (await messages(page)).filter((m) => m.includes('gone')).length >= 2);
  const gone = (await messages(page)).filter((m) => m.includes('gone'));
  assertEq(gone, [`${alice.name}: gone 1`, `${alice.name}: gone 2`], 'once, in order');
});

test('without a session: connect_error, the page asks to sign in', async () => {
  const anon = await openPage(null);
  await anon.waitForSelector('#signin:not([hidden])');
  assertEq(await anon.textContent('#state'), 'Not connected: unauthorized', 'state');
  await anon.context().close();
});

test('the lesson\'s hint: the client listens for "user count"', async () => {
  for (const file of ['/public/socketio-client.js', '/public/client.js']) {
    const text = await (await fetch(`${BASE}${file}`)).text();
    assert(/socket.on.*('|")user count('|")/gi.test(text), `${file}`);
  }
  assertEq(page.errors, [], 'no page errors');
});

test('close the browser', async () => {
  await browser.close();
});

await done();
