// Renders media/icon.svg to media/icon.png (128×128, the Marketplace icon) with the Chromium the e2e tests
// use. Run after changing the SVG: node --import=tsx scripts/render-icon.ts
import * as fs from 'node:fs';
import * as path from 'node:path';
import { launchBrowser } from '../test/e2e/harness';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..');
  const svg = fs.readFileSync(path.join(root, 'media/icon.svg'), 'utf8');
  const browser = await launchBrowser(true);
  try {
    const page = await browser.newPage({ viewport: { width: 128, height: 128 }, deviceScaleFactor: 1 });
    await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
    await page.locator('svg').screenshot({ path: path.join(root, 'media/icon.png'), omitBackground: true });
  } finally {
    await browser.close();
  }
  console.log('wrote media/icon.png');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
