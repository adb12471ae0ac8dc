// The SDK in Node against a real `tickwire` server process, over WebSocket (the `ws` package).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PROTOCOL, PROTOCOL_HASH, type Types } from '../src/generated/index.js';
import { CloseCode, connect, ConnectError, Connection, type ConnectionEvents } from '../src/index.js';
import { nextSnapshot, playerPos } from './support/play.js';
import { startProxy, startServer, within, type RunningServer } from './support/server.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

describe('against a real server', () => {
  it('connects, gets a full snapshot then deltas, and sees its own player enter', async () => {
    const entered: number[] = [];
    const conn = new Connection<Types>(server.wsUrl, { protocol: PROTOCOL, room: 'node-basic' });
    conn.on('entityEnter', (e) => entered.push(e.id));
    const connected = within('welcome', conn.once('connected'));
    const firstSnapshot = within('first snapshot', conn.once('snapshot'));
    conn.start();
    const welcome = await connected;
    expect(welcome.resumed).toBe(false);
    expect(welcome.transport).toBe('websocket');
    expect(welcome.player).not.toBeNull();

    const first = await firstSnapshot;
    expect(first.baseline).toBeNull();
    expect(entered).toContain(welcome.player);
    expect(first.world.room().players).toBeGreaterThanOrEqual(1);
    const delta = await nextSnapshot(conn, 'a delta', (s) => s.baseline !== null);
    expect(delta.baseline).toBeLessThan(delta.tick);
    expect(delta.bytes).toBeLessThan(first.bytes);
    expect(conn.session.stats.decodeErrors).toBe(0);
    conn.close();
    expect(conn.isEnded).toBe(true);
  });

  it('sees another client enter and, when it leaves, leave', async () => {
    const a = await within('connect a', connect(server.wsUrl, { protocol: PROTOCOL, room: 'node-pair' }));
    const entered = within('b enters', a.once('entityEnter', (e) => e.id !== a.player));
    const b = await within('connect b', connect(server.wsUrl, { protocol: PROTOCOL, room: 'node-pair' }));
    const e = await entered;
    expect(e.id).toBe(b.player);
    expect(e.kind).toBe('player');
    expect(e.entity.kind === 'player' && e.entity.values.hp).toBe(100);
    const left = within('b leaves', a.once('entityLeave', (l) => l.id === b.player));
    b.close();
    expect((await left).kind).toBe('player');
    a.close();
  });

  it('sends inputs and sees its player move in the next snapshots', async () => {
    const reconciled: { lastInputSeq: number | null; pending: number[] }[] = [];
    const sent: number[] = [];
    const conn = await within(
      'connect',
      connect(server.wsUrl, {
        protocol: PROTOCOL,
        room: 'node-move',
        prediction: {
          onInput: (p) => sent.push(p.seq),
          reconcile: (c) => reconciled.push({ lastInputSeq: c.lastInputSeq, pending: c.pending.map((p) => p.seq) }),
        },
      }),
    );
    const start = playerPos(conn, await nextSnapshot(conn, 'snapshot'));
    // Move towards the middle, so the world's edge cannot stop the player.
    const dx = start[0] < 2000 ? 1 : -1;
    const seq = conn.sendInput({ dx, dy: 0 });
    expect(conn.pendingInputs().map((p) => p.seq)).toContain(seq);
    const applied = await nextSnapshot(conn, 'the input applied', (s) => s.lastInputSeq !== null && s.lastInputSeq >= seq);
    expect(conn.pendingInputs()).toEqual([]);
    expect(sent).toEqual([seq]);
    // Reconciliation only ever replays inputs the server has not applied.
    expect(reconciled.length).toBeGreaterThan(0);
    expect(reconciled.every((r) => r.pending.every((p) => p > (r.lastInputSeq ?? -1)))).toBe(true);
    expect(reconciled.at(-1)).toEqual({ lastInputSeq: seq, pending: [] });
    const a = playerPos(conn, applied);
    const later = await nextSnapshot(conn, 'ten ticks later', (s) => s.tick >= applied.tick + 10);
    const b = playerPos(conn, later);
    // 200 units/s at 30 Hz: 10 ticks are about 66 units.
    expect((b[0] - a[0]) * dx).toBeGreaterThan(40);
    expect(b[1]).toBe(start[1]);
    expect(conn.rttMs).not.toBeNull();
    const interp = conn.interpolated();
    expect(interp?.entities.some((e) => e.id === conn.player)).toBe(true);
    conn.close();
  });

  it('reconnects after the link is cut and resumes with a delta, not a full snapshot', async () => {
    const proxy = await startProxy(server.addr);
    try {
      const conn = await within(
        'connect',
        connect(`ws://127.0.0.1:${proxy.port}/ws`, {
          protocol: PROTOCOL,
          room: 'node-resume',
          reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
        }),
      );
      const id = conn.welcome!.clientId;
      await nextSnapshot(conn, 'a delta', (s) => s.baseline !== null);
      const fullBefore = conn.session.stats.fullSnapshots;
      const lastTick = conn.world()!.tick;

      const transport: string[] = [];
      conn.on('transport', (t) => transport.push(`${t.kind} ${t.state}`));
      const dropped = within('disconnect', conn.once('disconnect'));
      const back = within('reconnect', conn.once('connected'));
      proxy.cutAll();
      const d = await dropped;
      expect(d.code).toBe(-1);
      expect(d.willReconnect).toBe(true);
      const w = await back;
      expect(w.resumed).toBe(true);
      expect(conn.welcome!.clientId).toBe(id);
      expect(proxy.accepted).toBe(2);
      expect(transport).toEqual(['websocket closed', 'websocket open']);

      const first = await nextSnapshot(conn, 'first snapshot after resume');
      expect(first.baseline).not.toBeNull();
      expect(first.tick).toBeGreaterThan(lastTick);
      expect(conn.session.stats.fullSnapshots).toBe(fullBefore);
      conn.close();
    } finally {
      await proxy.close();
    }
  });

  it('is refused with protocol_mismatch when its protocol hash is wrong', async () => {
    const conn = new Connection<Types>(server.wsUrl, { protocol: PROTOCOL, protocolHash: PROTOCOL_HASH ^ 1n, room: 'node-hash' });
    const disconnect = within('disconnect', conn.once('disconnect'));
    conn.start();
    const d = await disconnect;
    expect(d.code).toBe(CloseCode.PROTOCOL_MISMATCH);
    expect(d.name).toBe('protocol_mismatch');
    expect(d.byServer).toBe(true);
    expect(d.willReconnect).toBe(false);
    expect(conn.isEnded).toBe(true);

    const err = await connect(server.wsUrl, { protocolHash: 42n, room: 'node-hash' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(CloseCode.PROTOCOL_MISMATCH);
  });

  it('works as a generic client without generated types', async () => {
    const conn = await within('connect', connect(server.wsUrl, { room: 'node-generic' }));
    expect(conn.session.layout!.protocolHash).toBe(PROTOCOL_HASH);
    const s = await within('snapshot', conn.once('snapshot'));
    const me = s.world.entity(conn.player!);
    expect(me?.kind).toBe('player');
    expect(s.world.field(conn.player!, 'hp')).toBe(100);
    conn.close();
  });
});

describe('reconnect policy', () => {
  it('retries a refused address with growing delays, then gives up', async () => {
    // A port nothing listens on: bind one, note it, close it.
    const { createServer } = await import('node:net');
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));

    const conn = new Connection<Types>(`ws://127.0.0.1:${port}/ws`, {
      protocol: PROTOCOL,
      reconnect: { initialDelayMs: 20, multiplier: 2, jitter: 0, maxAttempts: 3 },
    });
    const times: number[] = [];
    const events: ConnectionEvents<Types>['disconnect'][] = [];
    conn.on('disconnect', (d) => {
      times.push(performance.now());
      events.push(d);
    });
    const gaveUp = within('giving up', conn.once('disconnect', (d) => !d.willReconnect));
    conn.start();
    await gaveUp;
    expect(events.map((e) => e.willReconnect)).toEqual([true, true, true, false]);
    expect(events.every((e) => e.code === -1 && e.name === 'transport_lost')).toBe(true);
    // Delays of 20, 40 and 80 ms between the attempts.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(19);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(39);
    expect(times[3]! - times[2]!).toBeGreaterThanOrEqual(79);
    expect(conn.isEnded).toBe(true);
  });
});
