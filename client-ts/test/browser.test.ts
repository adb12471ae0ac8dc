// End to end in a real browser: headless Debian Chromium (driven by playwright-core) opens the
// demo served by a real server, upgrades to WebRTC data channels, and moves the player with the
// keyboard; upgrades again with Chromium's default mDNS-hidden candidates; then plays with
// WebRTC taken away from the page, over the WebSocket.
//
// Chromium gathers no ICE candidate when loopback is the only way to the server, so the server
// runs in a network namespace of its own, bound to one end of a veth pair, and the browser
// reaches it over the other end (see support/netns.ts; needs root).

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createNetns, type Netns } from './support/netns.js';
import { webrtcStatus } from './support/play.js';
import { startServer, type RunningServer } from './support/server.js';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const RESULTS = fileURLToPath(new URL('../test-results/', import.meta.url));
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

let netns: Netns | undefined;
let server: RunningServer | undefined;
let context: BrowserContext | undefined;
let profile: string | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium) or set CHROMIUM_BIN`);
  }
  netns = createNetns();
  server = await startServer([], { host: netns.nsAddr, prefix: [...netns.exec] });
  profile = mkdtempSync(join(tmpdir(), 'tickwire-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1000, height: 760 },
    args: [
      ...ARGS,
      // Host candidates with their real address, not an mDNS name the server cannot resolve.
      '--disable-features=WebRtcHideLocalIpsWithMdns',
    ],
  });
});

afterAll(async () => {
  try {
    await context?.close();
    await server?.stop();
  } finally {
    netns?.remove();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  }
});

interface Hud {
  state: string;
  transport: string;
  webrtc: string;
  tick: number;
  x: number;
  y: number;
  webrtcBytesIn: number;
  websocketBytesIn: number;
}

async function hud(page: Page): Promise<Hud> {
  return page.$eval('#hud', (el) => {
    const d = (el as HTMLElement).dataset;
    return {
      state: d.state ?? '',
      transport: d.transport ?? '',
      webrtc: d.webrtc ?? '',
      tick: Number(d.tick),
      x: Number(d.x),
      y: Number(d.y),
      webrtcBytesIn: Number(d.webrtcBytesIn),
      websocketBytesIn: Number(d.websocketBytesIn),
    };
  });
}

interface RtcStatus {
  peers: number;
  opened: number;
}

async function rtcStatus(): Promise<RtcStatus> {
  return (await webrtcStatus<RtcStatus>(server!))!;
}

/** Opens the demo and waits until it is connected and its snapshots come over `transport`. */
async function openDemo(
  room: string,
  transport: 'webrtc' | 'websocket',
  init?: () => void,
  ctx: BrowserContext = context!,
): Promise<{ page: Page; errors: string[] }> {
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  if (init !== undefined) await page.addInitScript(init);
  await page.goto(`${server!.httpUrl}/play?room=${room}`);
  await page.waitForFunction(
    (want) => {
      const d = (document.getElementById('hud') as HTMLElement).dataset;
      return d.state === 'connected' && d.transport === want && d.x !== undefined;
    },
    transport,
    { timeout: 20_000 },
  );
  return { page, errors };
}

/** Holds the key towards the middle until the player moved about 100 units, and returns the HUD before and after. */
async function walk(page: Page): Promise<{ start: Hud; end: Hud; right: boolean }> {
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
  return { start, end: await hud(page), right };
}

/** Pixels of the own player's colour (#ffcc33) on the canvas. */
function ownPixels(page: Page): Promise<number> {
  return page.$eval('#world', (c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] === 0xff && data[i + 1] === 0xcc && data[i + 2] === 0x33) n++;
    return n;
  });
}

describe('the browser demo', () => {
  it('upgrades to WebRTC, renders the arena, and moves the player with the keyboard', async () => {
    const before = await rtcStatus();
    const { page, errors } = await openDemo('browser-webrtc', 'webrtc');
    const status = await rtcStatus();
    expect(status.opened - before.opened).toBe(1);
    expect(status.peers).toBe(1);

    const { start, end, right } = await walk(page);
    expect((end.x - start.x) * (right ? 1 : -1)).toBeGreaterThan(50);
    expect(end.y).toBe(start.y);
    expect(end.tick).toBeGreaterThan(start.tick);
    // The moving snapshots came on the data channel, not on the WebSocket.
    expect(end.transport).toBe('webrtc');
    expect(end.webrtc).toBe('open');
    expect(end.webrtcBytesIn - start.webrtcBytesIn).toBeGreaterThan(15 * 4);
    expect(end.websocketBytesIn - start.websocketBytesIn).toBeLessThan(end.webrtcBytesIn - start.webrtcBytesIn);

    expect(await ownPixels(page)).toBeGreaterThan(20);
    expect(await page.textContent('#hud')).toMatch(/transport webrtc · RTT \d+\.\d ms · in \d/);
    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'demo.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('upgrades too with the browser hiding its addresses behind mDNS names (its default)', async () => {
    // The server cannot resolve `<uuid>.local` candidates; it learns the browser's address
    // from the browser's connectivity checks instead (a peer-reflexive candidate).
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    try {
      const before = await rtcStatus();
      const ctx = await browser.newContext();
      const { page, errors } = await openDemo('browser-mdns', 'webrtc', undefined, ctx);
      expect((await rtcStatus()).opened - before.opened).toBe(1);
      expect((await hud(page)).webrtc).toBe('open');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('plays over the WebSocket when the browser has no WebRTC', async () => {
    const before = await rtcStatus();
    const { page, errors } = await openDemo('browser-websocket', 'websocket', () => {
      Reflect.deleteProperty(globalThis, 'RTCPeerConnection');
    });
    expect(await page.evaluate(() => typeof (globalThis as { RTCPeerConnection?: unknown }).RTCPeerConnection)).toBe('undefined');

    const { start, end, right } = await walk(page);
    expect((end.x - start.x) * (right ? 1 : -1)).toBeGreaterThan(50);
    expect(end.transport).toBe('websocket');
    expect(end.webrtc).toBe('off');
    expect(end.webrtcBytesIn).toBe(0);
    expect(end.websocketBytesIn).toBeGreaterThan(start.websocketBytesIn);
    expect((await rtcStatus()).opened).toBe(before.opened);

    expect(await ownPixels(page)).toBeGreaterThan(20);
    expect(await page.textContent('#hud')).toMatch(/transport websocket · RTT \d+\.\d ms · in \d/);
    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'demo-websocket.png') });
    expect(errors).toEqual([]);
    await page.close();
  });
});
