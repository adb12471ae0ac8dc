// The protocol's golden vectors (protocol/golden/, written by the Rust crate) decode to their
// expected values, and the SDK's encoders write the same bytes.

import { describe, expect, it } from 'vitest';

import { DecodeError } from '../src/index.js';
import {
  decodeInputPacket,
  decodeSchema,
  decodeServerMessage,
  encodeClientMessage,
  encodeInputPacket,
  encodeSchema,
  encodeServerMessage,
  encodeSnapshot,
  Layout,
  type LayoutTable,
  peekSnapshotHeader,
  readFields,
  Snapshot,
  SnapshotDecoder,
  toPlain,
  writeFields,
} from '../src/wire.js';
import {
  clientMessageFromJson,
  goldenBin,
  goldenJson,
  plainToJson,
  schemaFromJson,
  serverMessageFromJson,
  valueToJson,
  valuesFromJson,
  type Json,
} from './golden-util.js';

const manifest = goldenJson('manifest');
const cases = manifest.cases as { name: string; frame: string; baseline_case?: string; direction?: string }[];
const schema = schemaFromJson(JSON.parse(JSON.stringify(goldenJson('schema'))) as Json);
const layout = new Layout(schema);

/** The manifest's layout description in the generated table's shape. */
function manifestLayout(): LayoutTable {
  type M = { name: string; fields: { name: string; codec: { type: string; bits?: number; max?: number; components?: number; delta_bits?: number; max_len?: number; len_bits?: number } }[] };
  const m = manifest.layout as unknown as { kind_bits: number; kinds: M[]; room: M; input: M };
  const kind = (k: M) => {
    let offset = 0;
    const fields = k.fields.map((f) => {
      const c = f.codec;
      const codec =
        c.type === 'numeric'
          ? { type: 'numeric' as const, bits: c.bits!, max: c.max!, comps: c.components!, deltaBits: c.delta_bits! }
          : c.type === 'quat'
            ? { type: 'quat' as const, bits: c.bits! }
            : { type: 'str' as const, maxLen: c.max_len!, lenBits: c.len_bits! };
      const words = codec.type === 'numeric' ? codec.comps : codec.type === 'quat' ? 4 : 1 + Math.ceil(codec.maxLen / 4);
      const out = { name: f.name, offset, words, codec };
      offset += words;
      return out;
    });
    return { name: k.name, words: offset, fields };
  };
  return { kindBits: m.kind_bits, kinds: m.kinds.map(kind), room: kind(m.room), input: kind(m.input) };
}

describe('golden schema', () => {
  it('encodes to schema.bin and decodes back', () => {
    expect(encodeSchema(schema)).toEqual(goldenBin('schema'));
    expect(decodeSchema(goldenBin('schema'))).toEqual(schema);
  });

  it('hashes to the manifest protocol hash', () => {
    expect(layout.protocolHash.toString(16).padStart(16, '0')).toBe(manifest.protocol_hash);
    expect(layout.protocolHash).toBe(BigInt(manifest.protocol_hash_decimal as string));
  });

  it('compiles to the layout the Rust compiler reports', () => {
    expect(layout.toTable()).toEqual(manifestLayout());
  });
});

describe('golden snapshots', () => {
  const decoded = new Map<string, Snapshot>();
  const decoder = new SnapshotDecoder(layout);
  const snapshotCases = cases.filter((c) => c.frame === 'snapshot');

  it('has the six snapshot cases and more', () => {
    expect(snapshotCases.length).toBeGreaterThanOrEqual(7);
  });

  for (const c of snapshotCases) {
    it(`${c.name} decodes to its JSON`, () => {
      const frame = goldenBin(c.name);
      const want = goldenJson(c.name);
      const out = new Snapshot();
      const base = c.baseline_case === undefined ? undefined : decoded.get(c.baseline_case);
      if (c.baseline_case !== undefined) expect(base, `baseline ${c.baseline_case} decoded first`).toBeDefined();
      const header = decoder.decode(frame, (t) => (base !== undefined && base.tick === t ? base : undefined), out);
      expect(header.flags).toBe(want.flags);
      expect(header.tick).toBe(want.tick);
      expect(header.baseline).toBe(want.baseline);
      expect(header.lastInputSeq).toBe(want.last_input_seq);
      expect(peekSnapshotHeader(frame)).toEqual(header);
      expect(plainToJson(schema, toPlain(layout, out))).toEqual(want.world);
      decoded.set(c.name, out);
    });

    it(`${c.name} re-encodes to the same bytes`, () => {
      const cur = decoded.get(c.name);
      expect(cur).toBeDefined();
      const base = c.baseline_case === undefined ? null : decoded.get(c.baseline_case)!;
      const want = goldenJson(c.name);
      const seq = want.last_input_seq as number | null;
      expect(encodeSnapshot(layout, cur!, base, seq)).toEqual(goldenBin(c.name));
    });
  }

  it('refuses a delta whose baseline is not held', () => {
    const frame = goldenBin('snapshot_delta_sparse');
    expect(() => decoder.decode(frame, () => undefined, new Snapshot())).toThrow(DecodeError);
    try {
      decoder.decode(frame, () => undefined, new Snapshot());
    } catch (e) {
      expect((e as DecodeError).code).toBe('MissingBaseline');
      expect((e as DecodeError).detail).toBe(5000);
    }
  });
});

describe('golden inputs', () => {
  for (const c of cases.filter((x) => x.frame === 'input')) {
    it(`${c.name} decodes, and encodes from its values to the same bytes`, () => {
      const frame = goldenBin(c.name);
      const want = goldenJson(c.name);
      const packet = decodeInputPacket(layout, frame);
      expect(packet.ack).toBe(want.ack);
      const inputs = want.inputs as { seq: number; tick: number; fields: Json }[];
      expect(packet.inputs.map((i) => i.seq)).toEqual(inputs.map((i) => i.seq));
      expect(packet.inputs.map((i) => i.tick)).toEqual(inputs.map((i) => i.tick));
      packet.inputs.forEach((input, k) => {
        const values = readFields(layout.input, input.words, 0);
        const json = layout.input.fields.map((f) => [f.name, valueToJson(values[f.name]!, f.def.ty)]);
        expect(json).toEqual(inputs[k]!.fields);
      });
      expect(encodeInputPacket(layout, packet)).toEqual(frame);
      // From plain values, quantized by the SDK.
      const fromValues = inputs.map((i) => {
        const words = new Uint32Array(layout.input.words);
        writeFields(layout.input, words, 0, valuesFromJson(i.fields));
        return { seq: i.seq, tick: i.tick, words };
      });
      expect(encodeInputPacket(layout, { ack: packet.ack, inputs: fromValues })).toEqual(frame);
    });
  }
});

describe('golden control messages', () => {
  for (const c of cases.filter((x) => x.frame === 'control')) {
    const want = goldenJson(c.name);
    if (c.direction === 'client_to_server') {
      it(`${c.name} encodes to its bytes`, () => {
        const frame = goldenBin(c.name);
        expect(frame[1]).toBe(want.variant_index);
        expect(encodeClientMessage(clientMessageFromJson(want.message))).toEqual(frame);
      });
    } else {
      it(`${c.name} decodes to its JSON and encodes back`, () => {
        const frame = goldenBin(c.name);
        const msg = decodeServerMessage(frame);
        expect(msg).toEqual(serverMessageFromJson(want.message));
        expect(encodeServerMessage(msg)).toEqual(frame);
      });
    }
  }
});
