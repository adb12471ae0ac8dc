// End to end in a real browser: headless Debian Chromium (driven by playwright-core) opens the
// demo served by a real server, connects over WebSocket, and moves the player with the keyboard.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServer, type RunningServer } from './support/server.js';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const RESULTS = fileURLToPath(new URL('../test-results/', import.meta.url));

let server: RunningServer;
let context: BrowserContext;
let profile: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium) or set CHROMIUM_BIN`);
  }
  server = await startServer();
  profile = mkdtempSync(join(tmpdir(), 'tickwire-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1000, height: 760 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});

afterAll(async () => {
  await context?.close();
  await server?.stop();
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
});

interface Hud {
  state: string;
  transport: string;
  tick: number;
  x: number;
  y: number;
}

async function hud(page: Page): Promise<Hud> {
  return page.$eval('#hud', (el) => {
    const d = (el as HTMLElement).dataset;
    return { state: d.state ?? '', transport: d.transport ?? '', tick: Number(d.tick), x: Number(d.x), y: Number(d.y) };
  });
}

describe('the browser demo', () => {
  it('connects over WebSocket, renders the arena, and moves the player with the keyboard', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${server.httpUrl}/play?room=browser`);
    await page.waitForFunction(
      () => {
        const d = (document.getElementById('hud') as HTMLElement).dataset;
        return d.state === 'connected' && d.transport === 'websocket' && d.x !== undefined;
      },
      undefined,
      { timeout: 15_000 },
    );
    const start = await hud(page);
    const right = start.x < 2000;
    const key = right ? 'd' : 'a';
    await page.keyboard.down(key);
    // 200 units/s at 30 Hz: 15 ticks move the player about 100 units.
    await page.waitForFunction(
      ({ x0, t0, right }) => {
        const d = (document.getElementById('hud') as HTMLElement).dataset;
        const moved = (Number(d.x) - x0) * (right ? 1 : -1);
        return Number(d.tick) >= t0 + 15 && moved > 50;
      },
      { x0: start.x, t0: start.tick, right },
      { timeout: 15_000 },
    );
    await page.keyboard.up(key);
    const end = await hud(page);
    expect((end.x - start.x) * (right ? 1 : -1)).toBeGreaterThan(50);
    expect(end.y).toBe(start.y);
    expect(end.tick).toBeGreaterThan(start.tick);

    // The canvas shows the player: pixels of the own player's colour (#ffcc33) are drawn.
    const mine = await page.$eval('#world', (c) => {
      const canvas = c as HTMLCanvasElement;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] === 0xff && data[i + 1] === 0xcc && data[i + 2] === 0x33) n++;
      return n;
    });
    expect(mine).toBeGreaterThan(20);
    const text = await page.textContent('#hud');
    expect(text).toMatch(/transport websocket · RTT \d+\.\d ms · in \d/);

    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'demo.png') });
    expect(errors).toEqual([]);
    await page.close();
  });
});
