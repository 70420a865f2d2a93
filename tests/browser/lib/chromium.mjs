// tests/browser/lib/chromium.mjs -- Debian's Chromium, headless, through
// playwright-core from npm, as every page test starts it (never a
// downloaded browser): page.mjs, sio_page.mjs.
//
//   const browser = await launchChromium(skipAll);   // skipAll(reason) when
//                                                    // either is missing
//
// Environment: NODE_MODULES (default tests/browser/node_modules), CHROMIUM
// (default /usr/bin/chromium).

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
export const NODE_MODULES = process.env.NODE_MODULES ||
  path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'node_modules');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export async function launchChromium(skipAll) {
  let chromium;
  try {
    ({ chromium } = require(path.join(NODE_MODULES, 'playwright-core')));
  } catch (e) {
    skipAll(`playwright-core not found in ${NODE_MODULES}`);
  }
  if (!fs.existsSync(CHROMIUM))
    skipAll(`chromium not installed (${CHROMIUM})`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
      '--disable-dev-shm-usage'],
  });
}
