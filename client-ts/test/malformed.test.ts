// Malformed bytes: every decoder throws a DecodeError (never another error, never hangs).

import { describe, expect, it } from 'vitest';

import { DecodeError } from '../src/index.js';
import { BitReader, BitWriter, decodeInputPacket, decodeServerMessage, Layout, Snapshot, SnapshotDecoder } from '../src/wire.js';
import { goldenBin, goldenJson, schemaFromJson } from './golden-util.js';

const layout = new Layout(schemaFromJson(goldenJson('schema')));

/** Deterministic xorshift32. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function decodeError(f: () => unknown): DecodeError | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw new Error(`expected a DecodeError, got ${String(e)}`);
  }
}

const decoder = new SnapshotDecoder(layout);
const baselines = new Map<number, Snapshot>();
for (const name of ['snapshot_full_basic', 'snapshot_delta_mask', 'snapshot_delta_mixed', 'snapshot_full_crowd']) {
  const s = new Snapshot();
  decoder.decode(goldenBin(name), (t) => baselines.get(t), s);
  baselines.set(s.tick, s);
}
const snapshotCases = [
  'snapshot_full_basic',
  'snapshot_delta_mask',
  'snapshot_delta_mixed',
  'snapshot_delta_unchanged',
  'snapshot_full_crowd',
  'snapshot_delta_sparse',
  'snapshot_full_empty',
];
const decodeSnapshot = (frame: Uint8Array) => decoder.decode(frame, (t) => baselines.get(t), new Snapshot());

describe('snapshot decoder on malformed frames', () => {
  it('throws UnexpectedEnd or another DecodeError for every truncation', () => {
    for (const name of snapshotCases) {
      const frame = goldenBin(name);
      for (let n = 0; n < frame.length; n++) {
        const err = decodeError(() => decodeSnapshot(frame.subarray(0, n)));
        expect(err, `${name} cut to ${n} bytes`).not.toBeNull();
      }
    }
  });

  it('throws TrailingBytes for an extra byte', () => {
    for (const name of snapshotCases) {
      const frame = goldenBin(name);
      const longer = new Uint8Array(frame.length + 1);
      longer.set(frame);
      expect(decodeError(() => decodeSnapshot(longer))?.code).toBe('TrailingBytes');
    }
  });

  it('decodes or throws a DecodeError for 20,000 random bit flips', () => {
    const next = rng(7);
    let errors = 0;
    for (const name of snapshotCases) {
      const frame = goldenBin(name);
      for (let k = 0; k < 3000; k++) {
        const m = frame.slice();
        const flips = 1 + (next() % 3);
        for (let f = 0; f < flips; f++) {
          const bit = next() % (m.length * 8);
          m[bit >>> 3] = m[bit >>> 3]! ^ (1 << (bit & 7));
        }
        if (decodeError(() => decodeSnapshot(m)) !== null) errors++;
      }
    }
    expect(errors).toBeGreaterThan(1000);
  });

  it('decodes or throws a DecodeError for random frames', () => {
    const next = rng(11);
    for (let k = 0; k < 5000; k++) {
      const m = new Uint8Array(1 + (next() % 64));
      for (let i = 0; i < m.length; i++) m[i] = next() & 0xff;
      m[0] = 0x02;
      decodeError(() => decodeSnapshot(m));
    }
  });

  it('names the error: unknown frame, bad tick, varint overflow, huge creation count', () => {
    expect(decodeError(() => decodeSnapshot(new Uint8Array([0x07])))?.code).toBe('UnknownFrame');
    expect(decodeError(() => decodeSnapshot(new Uint8Array([])))?.code).toBe('UnexpectedEnd');
    // Delta with back = 0.
    let w = new BitWriter([0x02]);
    w.write(0, 4);
    w.writeUvar(10);
    w.writeUvar(0);
    w.writeUvar(0);
    expect(decodeError(() => decodeSnapshot(w.finish()))?.code).toBe('BadTick');
    // A full snapshot claiming a million entities in a few bytes.
    w = new BitWriter([0x02]);
    w.write(1 | 8, 4);
    w.writeUvar(1);
    w.writeUvar(0);
    expect(decodeError(() => decodeSnapshot(new Uint8Array([...w.finish(), 0xff, 0xff, 0xff, 0xff])))).not.toBeNull();
    // Twelve uvar groups.
    const r = new BitReader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    expect(decodeError(() => r.readUvar())?.code).toBe('VarintOverflow');
    // 2^32 in 11 groups: 4 groups of 0 (continued) ... value above u32.
    const big = new BitWriter();
    for (let g = 0; g < 10; g++) big.write(8, 4);
    big.write(4, 4);
    expect(decodeError(() => new BitReader(big.finish()).readUvar())?.code).toBe('VarintOverflow');
  });
});

describe('input and control decoders on malformed frames', () => {
  const inputs = ['input_first', 'input_redundant', 'input_ack_only', 'input_full_packet'];
  const controls = ['server_welcome', 'server_pong', 'server_close', 'server_event', 'server_signal_answer'];

  it('throw a DecodeError for every truncation', () => {
    for (const name of inputs) {
      const frame = goldenBin(name);
      for (let n = 0; n < frame.length; n++) {
        expect(decodeError(() => decodeInputPacket(layout, frame.subarray(0, n))), `${name} cut to ${n}`).not.toBeNull();
      }
    }
    for (const name of controls) {
      const frame = goldenBin(name);
      for (let n = 0; n < frame.length; n++) {
        expect(decodeError(() => decodeServerMessage(frame.subarray(0, n))), `${name} cut to ${n}`).not.toBeNull();
      }
    }
  });

  it('decode or throw a DecodeError for random bit flips', () => {
    const next = rng(3);
    for (const name of [...inputs, ...controls]) {
      const frame = goldenBin(name);
      for (let k = 0; k < 1000; k++) {
        const m = frame.slice();
        const bit = next() % (m.length * 8);
        m[bit >>> 3] = m[bit >>> 3]! ^ (1 << (bit & 7));
        decodeError(() => (name.startsWith('input') ? decodeInputPacket(layout, m) : decodeServerMessage(m)));
      }
    }
  });

  it('reject postcard varints that overflow, bad tags and oversized frames', () => {
    // Pong with a 6-byte u32 tick.
    expect(decodeError(() => decodeServerMessage(new Uint8Array([1, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0])))?.code).toBe('BadMessage');
    // Pong with a u32 tick whose fifth byte overflows.
    expect(decodeError(() => decodeServerMessage(new Uint8Array([1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x10, 0])))?.code).toBe('BadMessage');
    // Unknown variant.
    expect(decodeError(() => decodeServerMessage(new Uint8Array([1, 9])))?.code).toBe('BadMessage');
    // Trailing byte after a close.
    expect(decodeError(() => decodeServerMessage(new Uint8Array([1, 4, 0, 0, 0])))?.code).toBe('TrailingBytes');
    // A close message over 256 bytes.
    const long = new Uint8Array(3 + 2 + 300);
    long.set([1, 4, 1, 0xac, 0x02]);
    long.fill(0x61, 5);
    expect(decodeError(() => decodeServerMessage(long))?.code).toBe('LimitExceeded');
    const huge = new Uint8Array(64 * 1024 + 1);
    huge[0] = 1;
    expect(decodeError(() => decodeServerMessage(huge))?.code).toBe('LimitExceeded');
    // Input packet with 9 inputs.
    expect(decodeError(() => decodeInputPacket(layout, new Uint8Array([3, 0x90])))?.code).toBe('LimitExceeded');
  });
});
