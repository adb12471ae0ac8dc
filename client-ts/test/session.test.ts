// The sans-IO session on a manual clock, fed golden frames; and the generated arena files
// agree with the TypeScript compiler.

import { describe, expect, it } from 'vitest';

import { Kind, LAYOUT_TABLE, PlayerField, PROTOCOL_HASH, SCHEMA } from '../src/generated/index.js';
import { CloseCode } from '../src/index.js';
import { ClientSession, decodeInputPacket, encodeServerMessage, Layout, type SessionEvent } from '../src/wire.js';
import { goldenBin, goldenJson, schemaFromJson } from './golden-util.js';

const goldenLayout = new Layout(schemaFromJson(goldenJson('schema')));

function drain(s: ClientSession): SessionEvent[] {
  const out: SessionEvent[] = [];
  for (let e = s.pollEvent(); e !== null; e = s.pollEvent()) out.push(e);
  return out;
}

describe('generated arena files', () => {
  it('match what the TypeScript compiler makes of the schema', () => {
    const layout = new Layout(SCHEMA);
    expect(layout.toTable()).toEqual(LAYOUT_TABLE);
    expect(layout.protocolHash).toBe(PROTOCOL_HASH);
    expect(layout.kindId('player')).toBe(Kind.player);
    expect(layout.kinds[Kind.player]!.index.get('heading')).toBe(PlayerField.heading);
  });
});

describe('client session', () => {
  it('lets an ack wait for an input only until it would reach the server a tick later, at most ackDelayUs', () => {
    const s = new ClientSession({ protocolHash: goldenLayout.protocolHash });
    expect(s.config.ackDelayUs).toBe(33_000);
    s.connect(1000);
    s.pollTransmit();
    s.handleFrame(2000, goldenBin('server_welcome'));
    drain(s);
    s.handleTimeout(2000);
    s.pollTransmit();
    // A pong: 4 ms round trip, the server 0.5 tick into tick 90 when it answered.
    s.handleFrame(6000, encodeServerMessage({ type: 'pong', clientTimeUs: 2000n, tick: 90, tickFraction: 32768 }));
    const waits: number[] = [];
    let now = 7000;
    for (const name of ['snapshot_full_basic', 'snapshot_delta_mask', 'snapshot_delta_mixed', 'snapshot_delta_unchanged']) {
      s.handleFrame(now, goldenBin(name));
      drain(s);
      const slack = s.clock.slackUs(now, 0.1)!;
      expect(s.pollTimeout()).toBe(now + Math.min(slack, 33_000));
      waits.push(s.pollTimeout()! - now);
      // An input in time carries the ack: no ack-only packet afterwards.
      if (name === 'snapshot_delta_mixed') {
        s.sendInput(now + 1000, new Uint32Array(goldenLayout.input.words));
        expect(decodeInputPacket(goldenLayout, s.pollTransmit()!.frame).ack).toBe(goldenJson(name).tick);
        expect(s.pollTransmit()).toBeNull();
      } else {
        s.handleTimeout(s.pollTimeout()!);
        expect(decodeInputPacket(goldenLayout, s.pollTransmit()!.frame).inputs).toEqual([]);
      }
      now += 10_000;
    }
    // 10 ms apart at 30 Hz, the snapshots fall at different points of a tick: the waits differ,
    // all under a tick.
    expect(new Set(waits).size).toBeGreaterThan(1);
    expect(Math.max(...waits)).toBeLessThan(33_334);
  });

  it('handshakes, decodes deltas against its ring, acks after the delay, and sends redundant inputs', () => {
    const s = new ClientSession({ room: 'lobby', protocolHash: goldenLayout.protocolHash, ackDelayUs: 8000 });
    s.connect(1000);
    const hello = s.pollTransmit();
    expect(hello?.channel).toBe('reliable');
    expect(hello?.frame.subarray(0, 2)).toEqual(new Uint8Array([1, 0]));
    expect(s.pollTransmit()).toBeNull();

    s.handleFrame(2000, goldenBin('server_welcome'));
    expect(drain(s)).toEqual([{ type: 'connected', clientId: 7, player: 3, resumed: false }]);
    expect(s.isEstablished()).toBe(true);
    // A ping goes out at once after the welcome.
    s.handleTimeout(2000);
    expect(s.pollTransmit()?.frame.subarray(0, 2)).toEqual(new Uint8Array([1, 1]));

    let now = 3000;
    for (const name of ['snapshot_full_basic', 'snapshot_delta_mask', 'snapshot_delta_mixed', 'snapshot_delta_unchanged']) {
      s.handleFrame(now, goldenBin(name));
      const events = drain(s);
      expect(events.map((e) => e.type)).toEqual(['snapshot']);
      // No ack before the delay, one ack-only packet after it.
      expect(s.pollTransmit()).toBeNull();
      expect(s.pollTimeout()).toBe(now + 8000);
      s.handleTimeout(now + 8000);
      const ack = s.pollTransmit();
      expect(ack?.channel).toBe('unreliable');
      const packet = decodeInputPacket(goldenLayout, ack!.frame);
      expect(packet.ack).toBe(goldenJson(name).tick);
      expect(packet.inputs).toEqual([]);
      now += 33_000;
    }
    expect(s.world()?.tick).toBe(108);
    expect(s.lastInputApplied()).toBe(47);
    expect(s.stats.fullSnapshots).toBe(1);
    expect(s.stats.snapshots).toBe(4);

    // An old frame again is stale, not an error.
    s.handleFrame(now, goldenBin('snapshot_delta_mask'));
    expect(drain(s)).toEqual([]);
    expect(s.stats.staleSnapshots).toBe(1);

    // Inputs: each packet repeats up to 4, newest first, carrying the ack.
    const words = new Uint32Array(goldenLayout.input.words);
    for (let i = 0; i < 6; i++) {
      const { seq } = s.sendInput(now + i, words);
      expect(seq).toBe(i);
    }
    let last = null;
    for (let t = s.pollTransmit(); t !== null; t = s.pollTransmit()) last = t;
    const packet = decodeInputPacket(goldenLayout, last!.frame);
    expect(packet.ack).toBe(108);
    expect(packet.inputs.map((i) => i.seq)).toEqual([5, 4, 3, 2]);
  });

  it('drops a delta whose baseline it does not hold and reports it', () => {
    const s = new ClientSession({ protocolHash: null });
    s.connect(0);
    s.pollTransmit();
    s.handleFrame(0, goldenBin('server_welcome'));
    drain(s);
    s.handleFrame(1, goldenBin('snapshot_delta_sparse'));
    const [e] = drain(s);
    expect(e?.type).toBe('decodeFailed');
    expect(e?.type === 'decodeFailed' && e.error.code).toBe('MissingBaseline');
    expect(s.world()).toBeUndefined();
  });

  it('closes with protocol_mismatch when the schema hash differs from the one it was built for', () => {
    const s = new ClientSession({ protocolHash: PROTOCOL_HASH });
    s.connect(0);
    s.pollTransmit();
    expect(() => s.handleFrame(0, goldenBin('server_welcome'))).toThrow(/hashes to/);
    const [e] = drain(s);
    expect(e).toMatchObject({ type: 'closed', byServer: false, reason: { code: CloseCode.PROTOCOL_MISMATCH } });
    expect(s.isClosed()).toBe(true);
  });

  it('resumes: keeps baselines after a resumed welcome, forgets them after a fresh one', () => {
    const s = new ClientSession({});
    s.connect(0);
    s.pollTransmit();
    s.handleFrame(0, goldenBin('server_welcome'));
    s.handleFrame(1, goldenBin('snapshot_full_basic'));
    drain(s);
    s.connectionLost();
    s.connect(10);
    const hello = s.pollTransmit()!.frame;
    // The hello carries resume = Some { token, last_tick: Some(100) }: ends 01 <16 bytes> 01 64.
    const token = [0, 17, 34, 51, 68, 85, 102, 119, 136, 153, 170, 187, 204, 221, 238, 255];
    expect(Array.from(hello.subarray(hello.length - 19))).toEqual([1, ...token, 1, 100]);
    s.handleFrame(11, goldenBin('server_welcome_resumed'));
    drain(s);
    s.handleFrame(12, goldenBin('snapshot_delta_mask'));
    expect(drain(s).map((e) => e.type)).toEqual(['snapshot']);

    s.connectionLost();
    s.connect(20);
    s.pollTransmit();
    s.handleFrame(21, goldenBin('server_welcome'));
    drain(s);
    expect(s.world()).toBeUndefined();
  });

  it('turns a server close into a closed event and forgets the token on resume_failed', () => {
    const s = new ClientSession({});
    s.connect(0);
    s.pollTransmit();
    s.handleFrame(0, goldenBin('server_welcome'));
    drain(s);
    expect(s.canResume()).toBe(true);
    s.handleFrame(1, encodeServerMessage({ type: 'close', code: CloseCode.RESUME_FAILED, message: 'gone' }));
    expect(drain(s)).toEqual([{ type: 'closed', byServer: true, reason: { code: 12, message: 'gone' } }]);
    expect(s.canResume()).toBe(false);
  });
});
