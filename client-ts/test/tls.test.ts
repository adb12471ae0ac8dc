// The SDK over wss against a real server run with `--tls-cert`/`--tls-key`: Node (the `ws`
// package, trusting the test's certificate through its `ca` option) and headless Chromium
// (trusting the certificate's public key by its SPKI hash) loading the demo over https.
//
// The certificate is self-signed, made by the `openssl` command for 127.0.0.1 and localhost.

import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { PROTOCOL } from '../src/generated/index.js';
import { connect, websocketTransport, type WebSocketConstructor } from '../src/index.js';
import { startServer, within, type RunningServer } from './support/server.js';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

let dir: string;
let certPem: string;
let server: RunningServer;
let context: BrowserContext | undefined;

function makeCertificate(into: string): { cert: string; key: string } {
  const cert = join(into, 'server.crt');
  const key = join(into, 'server.key');
  try {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=tickwire test',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (e) {
    throw new Error(`this test makes its certificate with the openssl command (apt-get install -y openssl): ${String(e)}`);
  }
  return { cert, key };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tickwire-tls-'));
  const { cert, key } = makeCertificate(dir);
  certPem = readFileSync(cert, 'utf8');
  server = await startServer(['--tls-cert', cert, '--tls-key', key]);
});

afterAll(async () => {
  try {
    await context?.close();
    await server?.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('over TLS', () => {
  it('plays from Node over wss, trusting the certificate', async () => {
    const ca = certPem;
    const Trusting = class extends WebSocket {
      constructor(url: string) {
        super(url, { ca });
      }
    } as unknown as WebSocketConstructor;
    const conn = await within(
      'a wss connect',
      connect(`wss://127.0.0.1:${server.addr.split(':')[1]}/ws`, {
        protocol: PROTOCOL,
        room: 'tls-node',
        transport: websocketTransport(Trusting),
        webrtc: false,
      }),
    );
    const ticks: number[] = [];
    await within(
      'three snapshots',
      new Promise<void>((resolve) => {
        conn.on('snapshot', (s) => {
          ticks.push(s.tick);
          if (ticks.length === 3) resolve();
        });
      }),
    );
    expect(ticks[2]).toBeGreaterThan(ticks[0]!);
    expect(conn.session.stats.decodeErrors).toBe(0);
    conn.close();
  });

  it('refuses a plain ws:// client on the TLS port', async () => {
    const failed = await within(
      'the refusal',
      connect(`ws://${server.addr}/ws`, { protocol: PROTOCOL, room: 'tls-plain', webrtc: false, reconnect: false }).then(
        (c) => {
          c.close();
          return false;
        },
        () => true,
      ),
    );
    expect(failed).toBe(true);
  });

  it('plays in Chromium from the demo served over https', async () => {
    const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
    const hash = createHash('sha256').update(spki).digest('base64');
    const profile = mkdtempSync(join(dir, 'chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        `--ignore-certificate-errors-spki-list=${hash}`,
      ],
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    // Loopback gives Chromium no ICE candidate: the demo plays on the WebSocket (wss here).
    await page.addInitScript(() => {
      Reflect.deleteProperty(globalThis, 'RTCPeerConnection');
    });
    await page.goto(`https://${server.addr}/play?room=tls-browser`);
    const tickOf = () =>
      page.$eval('#hud', (el) => {
        const d = (el as HTMLElement).dataset;
        return d.state === 'connected' && d.transport === 'websocket' ? Number(d.tick) : -1;
      });
    await page.waitForFunction(
      () => {
        const d = (document.getElementById('hud') as HTMLElement).dataset;
        return d.state === 'connected' && d.transport === 'websocket' && d.x !== undefined;
      },
      undefined,
      { timeout: 20_000 },
    );
    const t0 = await tickOf();
    await page.waitForFunction(
      (t) => Number((document.getElementById('hud') as HTMLElement).dataset.tick) >= t + 15,
      t0,
      { timeout: 15_000 },
    );
    expect(await tickOf()).toBeGreaterThanOrEqual(t0 + 15);
    expect(await page.evaluate(() => location.protocol)).toBe('https:');
    expect(await page.textContent('#hud')).toMatch(/transport websocket · RTT \d+\.\d ms · in \d/);
    expect(errors).toEqual([]);
    await page.close();
  });
});
