// The SDK's WebRTC upgrade in Node (werift) against a real `tickwire` server: snapshots on the
// data channel, inputs there too, fallback to the WebSocket without losing the session, and
// the upgrade again after a reconnect.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PROTOCOL, type Types } from '../src/generated/index.js';
import { Connection, type Traffic } from '../src/index.js';
import { nextSnapshot, playerPos, webrtcStatus, type Snap } from './support/play.js';
import { startProxy, startServer, until, within, type RunningServer } from './support/server.js';
import { weriftPeers } from './support/werift.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

interface RtcStatus {
  peers: number;
  opened: number;
  closed_after_open: number;
  frames_in: number;
  frames_out: number;
}

const rtcStatus = (s: RunningServer) => webrtcStatus<RtcStatus>(s);

/** Sends one input moving towards the middle and returns how far the player went in `ticks` ticks after it applied. */
async function moveFor(conn: Connection<Types>, ticks: number): Promise<{ moved: number; snaps: Snap[] }> {
  const snaps: Snap[] = [];
  const off = conn.on('snapshot', (s) => snaps.push(s));
  try {
    const start = playerPos(conn, await nextSnapshot(conn, 'a snapshot'))[0];
    const dx = start < 2000 ? 1 : -1;
    const seq = conn.sendInput({ dx, dy: 0 });
    const applied = await nextSnapshot(conn, 'the input applied', (s) => s.lastInputSeq !== null && s.lastInputSeq >= seq);
    const later = await nextSnapshot(conn, `${ticks} ticks later`, (s) => s.tick >= applied.tick + ticks);
    conn.sendInput({ dx: 0, dy: 0 });
    return { moved: (playerPos(conn, later)[0] - playerPos(conn, applied)[0]) * dx, snaps };
  } finally {
    off();
  }
}

const copy = (t: Traffic): Traffic => ({ ...t });

function transportLog(conn: Connection<Types>): string[] {
  const log: string[] = [];
  conn.on('transport', (t) => log.push(`${t.kind} ${t.state}`));
  return log;
}

describe('WebRTC in Node (werift) against a real server', () => {
  it('upgrades after the welcome: snapshots arrive on the data channel, inputs go there, the player moves', async () => {
    const before = (await rtcStatus(server))!;
    const w = weriftPeers();
    // Pings every 100 ms, so some fall in the window below: they must take the data channel too.
    const conn = new Connection<Types>(server.wsUrl, {
      protocol: PROTOCOL,
      room: 'rtc-move',
      webrtc: w.webrtc,
      session: { pingIntervalUs: 100_000 },
    });
    const log = transportLog(conn);
    const opened = within('webrtc open', conn.once('transport', (t) => t.kind === 'webrtc'));
    conn.start();
    await opened;
    expect(conn.webrtcState).toBe('open');
    const first = await nextSnapshot(conn, 'a snapshot over webrtc', (s) => s.via === 'webrtc');
    expect(conn.transportKind).toBe('webrtc');
    // A frame the server sent on the WebSocket just before it switched may still be on its way.
    await nextSnapshot(conn, 'three ticks later', (s) => s.tick >= first.tick + 3);

    const ws0 = copy(conn.trafficOver.websocket);
    const rtc0 = copy(conn.trafficOver.webrtc);
    const { moved, snaps } = await moveFor(conn, 10);
    // 200 units/s at 30 Hz: 10 ticks are about 66 units.
    expect(moved).toBeGreaterThan(40);
    expect(snaps.length).toBeGreaterThanOrEqual(11);
    expect(snaps.every((s) => s.via === 'webrtc' && s.baseline !== null)).toBe(true);
    // Everything went on the data channel: snapshots and pongs in, inputs, acks and pings out.
    const ws = conn.trafficOver.websocket;
    const rtc = conn.trafficOver.webrtc;
    expect(ws.framesIn - ws0.framesIn).toBe(0);
    expect(ws.framesOut - ws0.framesOut).toBe(0);
    expect(rtc.framesIn - rtc0.framesIn).toBeGreaterThanOrEqual(snaps.length);
    expect(rtc.bytesIn - rtc0.bytesIn).toBeGreaterThanOrEqual(snaps.reduce((n, s) => n + s.bytes, 0));
    expect(rtc.framesOut - rtc0.framesOut).toBeGreaterThanOrEqual(2 + 3);
    expect(conn.webrtcStats).toMatchObject({ attempts: 1, opened: 1, failedAttempts: 0, fallbacks: 0 });
    expect(conn.webrtcStats.framesSent).toBe(rtc.framesOut);
    expect(conn.rttMs).not.toBeNull();
    expect(conn.session.stats.decodeErrors).toBe(0);

    // The server saw the same: one more peer opened, and data-channel traffic both ways.
    const during = (await rtcStatus(server))!;
    expect(during.opened - before.opened).toBe(1);
    expect(during.frames_in - before.frames_in).toBeGreaterThanOrEqual(rtc.framesOut - 2);
    expect(during.frames_out - before.frames_out).toBeGreaterThanOrEqual(rtc.framesIn);

    // close() tears the peer down, on both ends.
    conn.close();
    expect(log).toEqual(['websocket open', 'webrtc open', 'webrtc closed']);
    expect(conn.webrtcState).toBe('off');
    await until('the werift peer closed', () => (w.peers[0]!.connectionState === 'closed' ? true : undefined));
    await until('no peer left on the server', async () => ((await rtcStatus(server))!.peers === 0 ? true : undefined));
    expect(w.peers).toHaveLength(1);
  });

  it('falls back when nothing arrives on the data channels, and goes on with deltas (no full snapshot)', async () => {
    const w = weriftPeers();
    const conn = new Connection<Types>(server.wsUrl, { protocol: PROTOCOL, room: 'rtc-blackhole', webrtc: w.webrtc });
    const log = transportLog(conn);
    const disconnects: unknown[] = [];
    conn.on('disconnect', (d) => disconnects.push(d));
    conn.start();
    await nextSnapshot(conn, 'a snapshot over webrtc', (s) => s.via === 'webrtc');
    const id = conn.welcome!.clientId;
    const full = conn.session.stats.fullSnapshots;
    const lastTick = conn.world()!.tick;

    const closed = within('webrtc closed', conn.once('transport', (t) => t.kind === 'webrtc' && t.state === 'closed'));
    // Only what arrives is lost: the client notices first (the server still hears its acks).
    w.blackhole('in');
    const c = await closed;
    expect(c.reason).toBe('nothing received on the data channels');
    expect(conn.transportKind).toBe('websocket');
    const first = await nextSnapshot(conn, 'a snapshot over the websocket', (s) => s.via === 'websocket');
    expect(first.tick).toBeGreaterThan(lastTick);
    expect(first.baseline).not.toBeNull();
    expect(conn.session.stats.fullSnapshots).toBe(full);
    // Still one session: same client, inputs still move the player (now on the WebSocket).
    expect(conn.welcome!.clientId).toBe(id);
    const { moved, snaps } = await moveFor(conn, 10);
    expect(moved).toBeGreaterThan(40);
    expect(snaps.every((s) => s.via === 'websocket')).toBe(true);
    expect(disconnects).toEqual([]);
    expect(conn.webrtcStats).toMatchObject({ opened: 1, fallbacks: 1 });
    expect(log).toEqual(['websocket open', 'webrtc open', 'webrtc closed']);
    conn.close();
  });

  it('falls back when the peer closes, then upgrades again after the backoff', async () => {
    const w = weriftPeers();
    const conn = new Connection<Types>(server.wsUrl, { protocol: PROTOCOL, room: 'rtc-close', webrtc: w.webrtc });
    const log = transportLog(conn);
    conn.start();
    await nextSnapshot(conn, 'a snapshot over webrtc', (s) => s.via === 'webrtc');
    const full = conn.session.stats.fullSnapshots;

    const closed = within('webrtc closed', conn.once('transport', (t) => t.kind === 'webrtc' && t.state === 'closed'));
    const t0 = performance.now();
    void w.peers[0]!.close();
    await closed;
    const back = await nextSnapshot(conn, 'a snapshot over the websocket', (s) => s.via === 'websocket');
    expect(back.baseline).not.toBeNull();

    // The retry comes 1 s later, on a new peer.
    await within('webrtc open again', conn.once('transport', (t) => t.kind === 'webrtc' && t.state === 'open'), 10_000);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(w.peers).toHaveLength(2);
    await nextSnapshot(conn, 'a snapshot over the new peer', (s) => s.via === 'webrtc');
    expect(conn.transportKind).toBe('webrtc');
    expect(conn.session.stats.fullSnapshots).toBe(full);
    expect(conn.webrtcStats).toMatchObject({ attempts: 2, opened: 2, fallbacks: 1, failedAttempts: 0 });
    expect(log).toEqual(['websocket open', 'webrtc open', 'webrtc closed', 'webrtc open']);
    conn.close();
  });

  it('upgrades again after a reconnect that resumes the session', async () => {
    const proxy = await startProxy(server.addr);
    try {
      const w = weriftPeers();
      const conn = new Connection<Types>(`ws://127.0.0.1:${proxy.port}/ws`, {
        protocol: PROTOCOL,
        room: 'rtc-resume',
        webrtc: w.webrtc,
        reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      });
      conn.start();
      await nextSnapshot(conn, 'a snapshot over webrtc', (s) => s.via === 'webrtc');
      const id = conn.welcome!.clientId;
      const full = conn.session.stats.fullSnapshots;
      const log = transportLog(conn);

      const back = within('resumed', conn.once('connected'));
      proxy.cutAll();
      expect((await back).resumed).toBe(true);
      expect(conn.welcome!.clientId).toBe(id);
      await nextSnapshot(conn, 'a snapshot over the new peer', (s) => s.via === 'webrtc');
      expect(w.peers).toHaveLength(2);
      expect(w.peers[0]!.connectionState).not.toBe('connected');
      expect(conn.session.stats.fullSnapshots).toBe(full);
      expect(conn.webrtcStats).toMatchObject({ attempts: 2, opened: 2 });
      expect(log).toEqual(['webrtc closed', 'websocket closed', 'websocket open', 'webrtc open']);
      conn.close();
    } finally {
      await proxy.close();
    }
  });

  it('stays on the WebSocket when the server has WebRTC off, and still plays', async () => {
    const off = await startServer(['--webrtc-udp', 'off']);
    try {
      expect(await rtcStatus(off)).toBeNull();
      const w = weriftPeers();
      const conn = new Connection<Types>(off.wsUrl, { protocol: PROTOCOL, room: 'rtc-off', webrtc: w.webrtc });
      const log = transportLog(conn);
      const refused = within('abandon from the server', conn.once('signal', (s) => s.signal.type === 'abandon'));
      conn.start();
      await refused;
      expect(conn.webrtcState).toBe('waiting');
      expect(conn.webrtcStats).toMatchObject({ attempts: 1, opened: 0, failedAttempts: 1 });
      const { moved, snaps } = await moveFor(conn, 10);
      expect(moved).toBeGreaterThan(40);
      expect(snaps.every((s) => s.via === 'websocket')).toBe(true);
      expect(conn.transportKind).toBe('websocket');
      expect(conn.trafficOver.webrtc).toEqual({ bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0 });
      expect(log).toEqual(['websocket open']);
      conn.close();
    } finally {
      await off.stop();
    }
  });

  it('never offers with `webrtc: false`', async () => {
    const w = weriftPeers();
    const conn = new Connection<Types>(server.wsUrl, { protocol: PROTOCOL, room: 'rtc-disabled', webrtc: false });
    conn.start();
    await nextSnapshot(conn, 'a delta', (s) => s.baseline !== null);
    expect(conn.webrtcState).toBe('off');
    expect(conn.webrtcStats.attempts).toBe(0);
    expect(w.peers).toHaveLength(0);
    conn.close();
  });
});
