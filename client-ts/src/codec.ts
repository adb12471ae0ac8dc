/**
 * The snapshot codec (PROTOCOL.md section 5): full snapshots and deltas against a baseline the
 * client holds. The decoder is the SDK's hot path: it reads into reused {@link Snapshot}s and
 * allocates nothing per entity. The encoder mirrors the reference's choices bit for bit (used
 * by tests and benchmarks).
 */

import { BitReader, BitWriter, uvarBits } from './bits.js';
import { DecodeError } from './errors.js';
import { FRAME_SNAPSHOT } from './messages.js';
import { CODEC_NUMERIC, CODEC_QUAT, type CompiledField, type CompiledKind, type Layout } from './schema.js';
import { Snapshot, storeStr, strByte } from './snapshot.js';

/** Header flag: a full snapshot, no baseline. */
export const FLAG_FULL = 1;
/** Header flag: room fields changed (deltas only). */
export const FLAG_ROOM = 2;
/** Header flag: an update section follows. */
export const FLAG_UPDATES = 4;
/** Header flag: a creation section follows. */
export const FLAG_CREATES = 8;
/** Most entities one creation section may hold. */
export const MAX_ENTITIES = 1 << 20;

/** What a snapshot frame says about itself. */
export interface SnapshotHeader {
  /** The 4 flag bits. */
  readonly flags: number;
  /** Tick of the state carried. */
  readonly tick: number;
  /** Tick of the baseline a delta applies to; `null` for a full snapshot. */
  readonly baseline: number | null;
  /** Newest input sequence number the server applied for this client; `null` for none yet. */
  readonly lastInputSeq: number | null;
}

function readHeader(r: BitReader, frame: Uint8Array): SnapshotHeader {
  const first = frame[0];
  if (first === undefined) throw new DecodeError('UnexpectedEnd');
  if (first !== FRAME_SNAPSHOT) throw new DecodeError('UnknownFrame', first);
  r.reset(frame, 1);
  const flags = r.read(4);
  const tick = r.readUvar();
  let baseline: number | null = null;
  if ((flags & FLAG_FULL) === 0) {
    const back = r.readUvar();
    if (back === 0 || back > tick) throw new DecodeError('BadTick');
    baseline = tick - back;
  } else if ((flags & (FLAG_ROOM | FLAG_UPDATES)) !== 0) {
    throw new DecodeError('BadMessage');
  }
  const seq = r.readUvar();
  return { flags, tick, baseline, lastInputSeq: seq === 0 ? null : seq - 1 };
}

/** Reads a snapshot frame's header without decoding the body, to find its baseline. */
export function peekSnapshotHeader(frame: Uint8Array): SnapshotHeader {
  return readHeader(new BitReader(frame), frame);
}

// Reused by validUtf8: strings are at most 255 bytes.
const strBytes = new Uint8Array(255);

/** Whether `bytes[0..len)` is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
function validUtf8(bytes: Uint8Array, len: number): boolean {
  let i = 0;
  while (i < len) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return false;
    if (i + need >= len) return false;
    const c1 = bytes[i + 1]!;
    if (c1 < lo || c1 > hi) return false;
    for (let k = 2; k <= need; k++) {
      const c = bytes[i + k]!;
      if (c < 0x80 || c > 0xbf) return false;
    }
    i += need + 1;
  }
  return true;
}

function readFieldFull(r: BitReader, f: CompiledField, out: Uint32Array, base: number): void {
  const o = base + f.offset;
  if (f.codec === CODEC_NUMERIC) {
    const bits = f.bits;
    const max = f.max;
    for (let k = 0; k < f.comps; k++) {
      const q = r.read(bits);
      if (q > max) throw new DecodeError('OutOfRange');
      out[o + k] = q;
    }
  } else if (f.codec === CODEC_QUAT) {
    out[o] = r.read(2);
    out[o + 1] = r.read(f.bits);
    out[o + 2] = r.read(f.bits);
    out[o + 3] = r.read(f.bits);
  } else {
    const len = r.read(f.lenBits);
    if (len > f.maxLen) throw new DecodeError('OutOfRange');
    for (let i = 0; i < len; i++) strBytes[i] = r.read(8);
    if (!validUtf8(strBytes, len)) throw new DecodeError('InvalidUtf8');
    storeStr(f, out, o, strBytes, len);
  }
}

/** Reads every field of `kind` in full (creations, full snapshots, inputs). */
export function readKindFull(r: BitReader, kind: CompiledKind, out: Uint32Array, base: number): void {
  for (const f of kind.fields) readFieldFull(r, f, out, base);
}

function readFieldDelta(r: BitReader, f: CompiledField, baseWords: Uint32Array, bBase: number, out: Uint32Array, oBase: number): void {
  if (f.deltaBits > 0 && r.readBool()) {
    const db = f.deltaBits;
    const max = f.max;
    const bo = bBase + f.offset;
    const oo = oBase + f.offset;
    for (let k = 0; k < f.comps; k++) {
      const z = r.read(db);
      const v = baseWords[bo + k]! + ((z >>> 1) ^ -(z & 1));
      if (v < 0 || v > max) throw new DecodeError('OutOfRange');
      out[oo + k] = v;
    }
    return;
  }
  readFieldFull(r, f, out, oBase);
}

function readChangedFields(
  r: BitReader,
  kind: CompiledKind,
  lo: number,
  hi: number,
  baseWords: Uint32Array,
  bBase: number,
  out: Uint32Array,
  oBase: number,
): void {
  const fields = kind.fields;
  const n = fields.length;
  for (let i = 0; i < n; i++) {
    const set = i < 32 ? (lo >>> i) & 1 : (hi >>> (i - 32)) & 1;
    if (set !== 0) readFieldDelta(r, fields[i]!, baseWords, bBase, out, oBase);
  }
}

/** Reads an `n`-bit mask as two 32-bit halves into `mask`. */
function readMask(r: BitReader, n: number, mask: Uint32Array): void {
  if (n > 32) {
    mask[0] = r.read(32);
    mask[1] = r.read(n - 32);
  } else {
    mask[0] = r.read(n);
    mask[1] = 0;
  }
}

/** Whether a mask has a bit at or above `n` fields. */
function maskTooWide(lo: number, hi: number, n: number): boolean {
  if (n >= 64) return false;
  if (n >= 32) return n === 32 ? hi !== 0 : hi >>> (n - 32) !== 0;
  return hi !== 0 || lo >>> n !== 0;
}

/**
 * Decodes snapshot frames for one layout. Keep one per connection: it owns scratch buffers.
 */
export class SnapshotDecoder {
  readonly layout: Layout;
  private readonly r = new BitReader(new Uint8Array(0));
  private readonly updated = new Snapshot();
  private readonly created = new Snapshot();
  private readonly mask = new Uint32Array(2);

  constructor(layout: Layout) {
    this.layout = layout;
  }

  /**
   * Decodes `frame` into `out`. A delta needs the snapshot it names: `baseline(tick)` returns
   * the snapshot this client decoded for that tick, or `undefined` (then `MissingBaseline`).
   * Throws {@link DecodeError}; on error `out` holds unspecified content and must not become a
   * baseline.
   */
  decode(frame: Uint8Array, baseline: (tick: number) => Snapshot | undefined, out: Snapshot): SnapshotHeader {
    const layout = this.layout;
    const r = this.r;
    const header = readHeader(r, frame);
    const flags = header.flags;
    if (header.baseline === null) {
      out.clear(layout.room.words, header.tick);
      readKindFull(r, layout.room, out.room, 0);
      if ((flags & FLAG_CREATES) !== 0) this.readCreations(r, out);
    } else {
      const base = baseline(header.baseline);
      if (base === undefined || base.tick !== header.baseline) {
        throw new DecodeError('MissingBaseline', header.baseline);
      }
      const updated = (flags & FLAG_CREATES) !== 0 ? this.updated : out;
      if ((flags & FLAG_UPDATES) === 0) {
        updated.copyFrom(base);
        updated.tick = header.tick;
      } else {
        updated.clear(layout.room.words, header.tick);
        updated.room.set(base.room);
      }
      if ((flags & FLAG_ROOM) !== 0) {
        const n = layout.room.fields.length;
        readMask(r, n, this.mask);
        const lo = this.mask[0]!;
        const hi = this.mask[1]!;
        if ((lo === 0 && hi === 0) || maskTooWide(lo, hi, n)) throw new DecodeError('BadFieldMask');
        readChangedFields(r, layout.room, lo, hi, base.room, 0, updated.room, 0);
      }
      if ((flags & FLAG_UPDATES) !== 0) this.readUpdates(r, base, updated);
      if ((flags & FLAG_CREATES) !== 0) {
        const created = this.created;
        created.clear(0, header.tick);
        this.readCreations(r, created);
        merge(updated, created, out);
        out.tick = header.tick;
      }
    }
    r.expectEnd();
    return header;
  }

  private readUpdates(r: BitReader, base: Snapshot, out: Snapshot): void {
    const kinds = this.layout.kinds;
    const n = base.count;
    const sparse = r.readBool();
    let remaining = 0;
    if (sparse) {
      remaining = r.readUvar();
      if (remaining === 0 || remaining > n) throw new DecodeError('BadEntityIndex');
    }
    let next = 0;
    let prevLo = 0;
    let prevHi = 0;
    const mask = this.mask;
    const bWords = base.words;
    for (;;) {
      let touched: boolean;
      if (sparse) {
        if (remaining === 0) break;
        remaining--;
        const idx = next + r.readUvar();
        if (idx >= n) throw new DecodeError('BadEntityIndex');
        for (let i = next; i < idx; i++) out.pushFrom(base, i);
        next = idx;
        touched = true;
      } else {
        if (next === n) break;
        touched = r.readBool();
      }
      const bi = next++;
      if (!touched) {
        out.pushFrom(base, bi);
        continue;
      }
      const kind = kinds[base.kinds[bi]!]!;
      const nf = kind.fields.length;
      if (!r.readBool()) {
        readMask(r, nf, mask);
        prevLo = mask[0]!;
        prevHi = mask[1]!;
      }
      if (maskTooWide(prevLo, prevHi, nf)) throw new DecodeError('BadFieldMask');
      if (prevLo === 0 && prevHi === 0) continue;
      const o = out.pushFrom(base, bi);
      readChangedFields(r, kind, prevLo, prevHi, bWords, base.starts[bi]!, out.words, o);
    }
    for (let i = next; i < n; i++) out.pushFrom(base, i);
  }

  private readCreations(r: BitReader, out: Snapshot): void {
    const count = r.readUvar();
    if (count === 0 || count > MAX_ENTITIES || count > r.remainingBits() / 4) {
      throw new DecodeError('BadEntityIndex');
    }
    const kinds = this.layout.kinds;
    const kindBits = this.layout.kindBits;
    let nextId = 0;
    for (let c = 0; c < count; c++) {
      const id = nextId + r.readUvar();
      if (id > 0xffffffff) throw new DecodeError('BadEntityIndex');
      nextId = id + 1;
      const k = r.read(kindBits);
      const kind = kinds[k];
      if (kind === undefined) throw new DecodeError('UnknownKind', k);
      const o = out.push(id, k, kind.words);
      readKindFull(r, kind, out.words, o);
    }
  }
}

function merge(a: Snapshot, b: Snapshot, out: Snapshot): void {
  out.clear(a.room.length, a.tick);
  out.room.set(a.room);
  let i = 0;
  let j = 0;
  while (i < a.count && j < b.count) {
    if (a.ids[i]! < b.ids[j]!) out.pushFrom(a, i++);
    else out.pushFrom(b, j++);
  }
  while (i < a.count) out.pushFrom(a, i++);
  while (j < b.count) out.pushFrom(b, j++);
}

// ---------------------------------------------------------------------------------------------
// Encoder
// ---------------------------------------------------------------------------------------------

function writeFieldFull(w: BitWriter, f: CompiledField, words: Uint32Array, base: number): void {
  const o = base + f.offset;
  if (f.codec === CODEC_NUMERIC) {
    for (let k = 0; k < f.comps; k++) w.write(words[o + k]!, f.bits);
  } else if (f.codec === CODEC_QUAT) {
    w.write(words[o]!, 2);
    for (let k = 1; k < 4; k++) w.write(words[o + k]!, f.bits);
  } else {
    const len = words[o]!;
    w.write(len, f.lenBits);
    for (let i = 0; i < len; i++) w.write(strByte(words, o, i), 8);
  }
}

/** Writes every field of `kind` in full (creations, full snapshots, inputs). */
export function writeKindFull(w: BitWriter, kind: CompiledKind, words: Uint32Array, base: number): void {
  for (const f of kind.fields) writeFieldFull(w, f, words, base);
}

const zigzag = (d: number): number => (d < 0 ? -2 * d - 1 : 2 * d);

function writeFieldDelta(w: BitWriter, f: CompiledField, cur: Uint32Array, cBase: number, base: Uint32Array, bBase: number): void {
  if (f.codec === CODEC_NUMERIC && f.deltaBits > 0) {
    const limit = 2 ** f.deltaBits;
    let fits = true;
    for (let k = 0; k < f.comps; k++) {
      if (zigzag(cur[cBase + f.offset + k]! - base[bBase + f.offset + k]!) >= limit) fits = false;
    }
    w.writeBool(fits);
    if (fits) {
      for (let k = 0; k < f.comps; k++) {
        w.write(zigzag(cur[cBase + f.offset + k]! - base[bBase + f.offset + k]!), f.deltaBits);
      }
      return;
    }
  }
  writeFieldFull(w, f, cur, cBase);
}

/** Field change mask of one entity as `[lo, hi]`. */
function changedMask(kind: CompiledKind, cur: Uint32Array, cBase: number, base: Uint32Array, bBase: number): [number, number] {
  let lo = 0;
  let hi = 0;
  kind.fields.forEach((f, i) => {
    let diff = false;
    for (let k = 0; k < f.words; k++) {
      if (cur[cBase + f.offset + k] !== base[bBase + f.offset + k]) diff = true;
    }
    if (diff) {
      if (i < 32) lo = (lo | (1 << i)) >>> 0;
      else hi = (hi | (1 << (i - 32))) >>> 0;
    }
  });
  return [lo, hi];
}

function writeMask(w: BitWriter, lo: number, hi: number, n: number): void {
  if (n > 32) {
    w.write(lo, 32);
    w.write(hi, n - 32);
  } else {
    w.write(lo, n);
  }
}

function writeChanged(w: BitWriter, kind: CompiledKind, lo: number, hi: number, cur: Uint32Array, cBase: number, base: Uint32Array, bBase: number): void {
  kind.fields.forEach((f, i) => {
    const set = i < 32 ? (lo >>> i) & 1 : (hi >>> (i - 32)) & 1;
    if (set) writeFieldDelta(w, f, cur, cBase, base, bBase);
  });
}

const REMOVED = -1;

/**
 * Encodes `cur` as a snapshot frame: a delta against `base` when given (and older), else a full
 * snapshot. Makes the same choices as the reference encoder, so frames match it byte for byte.
 */
export function encodeSnapshot(layout: Layout, cur: Snapshot, base: Snapshot | null, lastInputSeq: number | null): Uint8Array {
  const b = base !== null && base.tick < cur.tick ? base : null;
  const touched: [number, number][] = [];
  const created: number[] = [];
  let roomLo = 0;
  let roomHi = 0;
  let flags: number;
  if (b === null) {
    for (let i = 0; i < cur.count; i++) created.push(i);
    flags = FLAG_FULL | (cur.count > 0 ? FLAG_CREATES : 0);
  } else {
    let bi = 0;
    let ci = 0;
    while (bi < b.count && ci < cur.count) {
      const bid = b.ids[bi]!;
      const cid = cur.ids[ci]!;
      if (bid === cid) {
        if (b.kinds[bi] !== cur.kinds[ci]) {
          touched.push([bi, REMOVED]);
          created.push(ci);
        } else {
          const bs = b.starts[bi]!;
          const cs = cur.starts[ci]!;
          const n = cur.starts[ci + 1]! - cs;
          let same = n === b.starts[bi + 1]! - bs;
          for (let k = 0; same && k < n; k++) if (cur.words[cs + k] !== b.words[bs + k]) same = false;
          if (!same) touched.push([bi, ci]);
        }
        bi++;
        ci++;
      } else if (bid < cid) {
        touched.push([bi++, REMOVED]);
      } else {
        created.push(ci++);
      }
    }
    while (bi < b.count) touched.push([bi++, REMOVED]);
    while (ci < cur.count) created.push(ci++);
    [roomLo, roomHi] = changedMask(layout.room, cur.room, 0, b.room, 0);
    flags = (roomLo !== 0 || roomHi !== 0 ? FLAG_ROOM : 0) | (touched.length > 0 ? FLAG_UPDATES : 0) | (created.length > 0 ? FLAG_CREATES : 0);
  }
  const w = new BitWriter([FRAME_SNAPSHOT], 256);
  w.write(flags, 4);
  w.writeUvar(cur.tick);
  if (b !== null) w.writeUvar(cur.tick - b.tick);
  w.writeUvar(lastInputSeq === null ? 0 : Math.min(lastInputSeq + 1, 0xffffffff));
  if (b === null) {
    writeKindFull(w, layout.room, cur.room, 0);
  } else {
    if (flags & FLAG_ROOM) {
      writeMask(w, roomLo, roomHi, layout.room.fields.length);
      writeChanged(w, layout.room, roomLo, roomHi, cur.room, 0, b.room, 0);
    }
    if (touched.length > 0) writeUpdates(w, layout, cur, b, touched);
  }
  if (created.length > 0) {
    w.writeUvar(created.length);
    let nextId = 0;
    for (const ci of created) {
      const id = cur.ids[ci]!;
      w.writeUvar(id - nextId);
      nextId = id + 1;
      const k = cur.kinds[ci]!;
      w.write(k, layout.kindBits);
      writeKindFull(w, layout.kinds[k]!, cur.words, cur.starts[ci]!);
    }
  }
  return w.finish();
}

function writeUpdates(w: BitWriter, layout: Layout, cur: Snapshot, base: Snapshot, touched: [number, number][]): void {
  const n = base.count;
  let sparse = false;
  if (4 * (touched.length + 1) < n) {
    let bits = uvarBits(touched.length);
    let prev = -1;
    for (const [bi] of touched) {
      bits += uvarBits(bi - prev - 1);
      prev = bi;
    }
    sparse = bits < n;
  }
  w.writeBool(sparse);
  if (sparse) w.writeUvar(touched.length);
  let prevLo = 0;
  let prevHi = 0;
  let next = 0;
  for (const [bi, ci] of touched) {
    if (sparse) w.writeUvar(bi - next);
    else {
      for (let k = next; k < bi; k++) w.writeBool(false);
      w.writeBool(true);
    }
    next = bi + 1;
    const kind = layout.kinds[base.kinds[bi]!]!;
    const bs = base.starts[bi]!;
    let lo = 0;
    let hi = 0;
    if (ci !== REMOVED) [lo, hi] = changedMask(kind, cur.words, cur.starts[ci]!, base.words, bs);
    if (lo === prevLo && hi === prevHi) w.writeBool(true);
    else {
      w.writeBool(false);
      writeMask(w, lo, hi, kind.fields.length);
      prevLo = lo;
      prevHi = hi;
    }
    if (ci !== REMOVED) writeChanged(w, kind, lo, hi, cur.words, cur.starts[ci]!, base.words, bs);
  }
  if (!sparse) for (let k = next; k < n; k++) w.writeBool(false);
}
