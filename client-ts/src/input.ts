/**
 * Input packets (PROTOCOL.md section 6): an ack plus up to 8 inputs, newest first, the older
 * ones repeated so one lost packet costs nothing.
 */

import { BitReader, BitWriter } from './bits.js';
import { readKindFull, writeKindFull } from './codec.js';
import { DecodeError } from './errors.js';
import { FRAME_INPUT, MAX_FRAME_LEN } from './messages.js';
import type { Layout } from './schema.js';

/** Most inputs one packet carries. */
export const MAX_INPUTS_PER_PACKET = 8;

/** One input: its sequence number, target tick and quantized words. */
export interface StampedInput {
  readonly seq: number;
  readonly tick: number;
  readonly words: Uint32Array;
}

/** A decoded or to-be-encoded input packet. */
export interface InputPacket {
  /** Newest snapshot tick the client decoded, `null` for none. */
  readonly ack: number | null;
  /** Inputs, newest first; sequence numbers decrease by one. */
  readonly inputs: readonly StampedInput[];
}

/** Encodes an input frame. Inputs must be newest first with consecutive sequence numbers. */
export function encodeInputPacket(layout: Layout, packet: InputPacket): Uint8Array {
  const { ack, inputs } = packet;
  if (inputs.length > MAX_INPUTS_PER_PACKET) throw new RangeError('at most 8 inputs per packet');
  const w = new BitWriter([FRAME_INPUT], 16 + inputs.length * layout.input.words * 4);
  w.writeUvar(ack === null ? 0 : Math.min(ack + 1, 0xffffffff));
  w.write(inputs.length, 4);
  const newest = inputs[0];
  if (newest !== undefined) {
    w.writeUvar(newest.seq);
    w.writeUvar(newest.tick);
    let prevTick = newest.tick;
    inputs.forEach((input, k) => {
      if (k > 0) {
        w.writeUvar(Math.max(prevTick - input.tick, 0));
        prevTick = input.tick;
      }
      writeKindFull(w, layout.input, input.words, 0);
    });
  }
  return w.finish();
}

/** Decodes an input frame (what the server does; for tests and tools). */
export function decodeInputPacket(layout: Layout, frame: Uint8Array): InputPacket {
  const first = frame[0];
  if (first === undefined) throw new DecodeError('UnexpectedEnd');
  if (first !== FRAME_INPUT) throw new DecodeError('UnknownFrame', first);
  if (frame.length > MAX_FRAME_LEN) throw new DecodeError('LimitExceeded');
  const r = new BitReader(frame, 1);
  const ackPlus1 = r.readUvar();
  const count = r.read(4);
  if (count > MAX_INPUTS_PER_PACKET) throw new DecodeError('LimitExceeded');
  const inputs: StampedInput[] = [];
  if (count > 0) {
    const newestSeq = r.readUvar();
    if (newestSeq + 1 < count) throw new DecodeError('BadTick');
    let tick = r.readUvar();
    for (let k = 0; k < count; k++) {
      if (k > 0) {
        tick -= r.readUvar();
        if (tick < 0) throw new DecodeError('BadTick');
      }
      const words = new Uint32Array(layout.input.words);
      // Input fields go on the wire as snapshot fields sent in full.
      readKindFull(r, layout.input, words, 0);
      inputs.push({ seq: newestSeq - k, tick, words });
    }
  }
  r.expectEnd();
  return { ack: ackPlus1 === 0 ? null : ackPlus1 - 1, inputs };
}
