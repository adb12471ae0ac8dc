/**
 * The world at one tick as quantized words (PROTOCOL.md section 3.3): room words, then entities
 * sorted by id, each a run of `u32` words laid out by its kind. Deltas apply to these words;
 * values are dequantized only when read.
 *
 * Buffers are kept across {@link Snapshot.clear}, so a snapshot reused every tick allocates only
 * while it grows.
 */

import { DecodeError, ValueError } from './errors.js';
import {
  CODEC_NUMERIC,
  CODEC_STR,
  VALUE_BOOL,
  VALUE_ENUM,
  VALUE_FLOAT,
  VALUE_INT,
  VALUE_QUAT,
  type CompiledField,
  type CompiledKind,
  type Layout,
} from './schema.js';
import type { Fields, Value } from './values.js';

/** Quantized world state at one tick. */
export class Snapshot {
  /** Tick this state belongs to. */
  tick = 0;
  /** Room field words. */
  room: Uint32Array;
  /** Number of entities. */
  count = 0;
  /** Entity ids, increasing; `count` are valid. */
  ids: Uint32Array;
  /** Kind ids. */
  kinds: Uint16Array;
  /** `starts[i]..starts[i + 1]` are entity `i`'s words; `count + 1` are valid. */
  starts: Uint32Array;
  /** Entity words; `starts[count]` are valid. */
  words: Uint32Array;

  constructor(roomWords = 0, capacity = 16) {
    this.room = new Uint32Array(roomWords);
    this.ids = new Uint32Array(capacity);
    this.kinds = new Uint16Array(capacity);
    this.starts = new Uint32Array(capacity + 1);
    this.words = new Uint32Array(capacity * 4);
  }

  /** Empties the snapshot for `tick` with zeroed room words. */
  clear(roomWords: number, tick: number): void {
    this.tick = tick;
    if (this.room.length !== roomWords) this.room = new Uint32Array(roomWords);
    else this.room.fill(0);
    this.count = 0;
    this.starts[0] = 0;
  }

  private growEntities(): void {
    const cap = this.ids.length * 2 || 16;
    const ids = new Uint32Array(cap);
    ids.set(this.ids);
    const kinds = new Uint16Array(cap);
    kinds.set(this.kinds);
    const starts = new Uint32Array(cap + 1);
    starts.set(this.starts);
    this.ids = ids;
    this.kinds = kinds;
    this.starts = starts;
  }

  private growWords(need: number): void {
    const words = new Uint32Array(Math.max(need, this.words.length * 2));
    words.set(this.words);
    this.words = words;
  }

  /**
   * Appends an entity of `n` zeroed words and returns the offset of its first word in
   * {@link Snapshot.words}. Ids must increase: an id at or below the last one throws
   * `DuplicateEntity`.
   */
  push(id: number, kind: number, n: number): number {
    const c = this.count;
    if (c > 0 && id <= this.ids[c - 1]!) throw new DecodeError('DuplicateEntity', id);
    if (c === this.ids.length) this.growEntities();
    const start = this.starts[c]!;
    if (start + n > this.words.length) this.growWords(start + n);
    this.words.fill(0, start, start + n);
    this.ids[c] = id;
    this.kinds[c] = kind;
    this.starts[c + 1] = start + n;
    this.count = c + 1;
    return start;
  }

  /** Appends a copy of entity `i` of `other`, keeping id order; returns its first word's offset. */
  pushFrom(other: Snapshot, i: number): number {
    const c = this.count;
    const id = other.ids[i]!;
    if (c > 0 && id <= this.ids[c - 1]!) throw new DecodeError('DuplicateEntity', id);
    if (c === this.ids.length) this.growEntities();
    const s = other.starts[i]!;
    const e = other.starts[i + 1]!;
    const start = this.starts[c]!;
    const end = start + (e - s);
    if (end > this.words.length) this.growWords(end);
    // Entities are a few words: a loop beats creating a subarray view per entity.
    const src = other.words;
    const dst = this.words;
    for (let k = 0; k < e - s; k++) dst[start + k] = src[s + k]!;
    this.ids[c] = id;
    this.kinds[c] = other.kinds[i]!;
    this.starts[c + 1] = end;
    this.count = c + 1;
    return start;
  }

  /** Makes `this` a copy of `other`, reusing buffers. */
  copyFrom(other: Snapshot): void {
    this.tick = other.tick;
    if (this.room.length !== other.room.length) this.room = new Uint32Array(other.room.length);
    this.room.set(other.room);
    const n = other.count;
    while (this.ids.length < n) this.growEntities();
    const nw = other.starts[n]!;
    if (this.words.length < nw) this.growWords(nw);
    this.ids.set(other.ids.subarray(0, n));
    this.kinds.set(other.kinds.subarray(0, n));
    this.starts.set(other.starts.subarray(0, n + 1));
    this.words.set(other.words.subarray(0, nw));
    this.count = n;
  }

  /** Index of entity `id`, or -1. */
  indexOf(id: number): number {
    let lo = 0;
    let hi = this.count - 1;
    const ids = this.ids;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = ids[mid]!;
      if (v === id) return mid;
      if (v < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

// ---------------------------------------------------------------------------------------------
// Values: dequantize (PROTOCOL.md section 3.2) and quantize
// ---------------------------------------------------------------------------------------------

const QUAT_R = Math.SQRT1_2;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/**
 * Stores a string field's first `len` bytes of `bytes` at word `o`: the length, then the bytes
 * four to a word, little-endian, the rest of the field's words zero.
 */
export function storeStr(f: CompiledField, words: Uint32Array, o: number, bytes: Uint8Array, len: number): void {
  words.fill(0, o, o + f.words);
  words[o] = len;
  for (let i = 0; i < len; i++) {
    const w = o + 1 + (i >>> 2);
    words[w] = (words[w]! | (bytes[i]! << (8 * (i & 3)))) >>> 0;
  }
}

/** Byte `i` of the string stored at word `o` (see {@link storeStr}). */
export function strByte(words: Uint32Array, o: number, i: number): number {
  return (words[o + 1 + (i >>> 2)]! >>> (8 * (i & 3))) & 0xff;
}

/** `min + q · (max − min) / steps` in f64, rounded to f32. */
export function dequantizeFloat(f: CompiledField, q: number): number {
  return Math.fround(f.min + (q * f.range) / f.steps);
}

/** Reads a field's value from `words`, the field's entity starting at `base`. */
export function readValue(f: CompiledField, words: Uint32Array, base: number): Value {
  const o = base + f.offset;
  switch (f.value) {
    case VALUE_FLOAT:
      if (f.comps === 1) return dequantizeFloat(f, words[o]!);
      if (f.comps === 2) return [dequantizeFloat(f, words[o]!), dequantizeFloat(f, words[o + 1]!)];
      return [dequantizeFloat(f, words[o]!), dequantizeFloat(f, words[o + 1]!), dequantizeFloat(f, words[o + 2]!)];
    case VALUE_INT:
      return f.min + words[o]!;
    case VALUE_BOOL:
      return words[o] !== 0;
    case VALUE_ENUM:
      return f.variants[words[o]!] ?? '';
    case VALUE_QUAT: {
      const top = 2 ** f.bits - 1;
      const largest = words[o]! & 3;
      const a = [0, 0, 0, 0];
      let sum = 0;
      let j = 1;
      for (let i = 0; i < 4; i++) {
        if (i !== largest) {
          const c = (words[o + j]! / top) * 2 * QUAT_R - QUAT_R;
          a[i] = c;
          sum += c * c;
          j++;
        }
      }
      a[largest] = Math.sqrt(Math.max(1 - sum, 0));
      return [Math.fround(a[0]!), Math.fround(a[1]!), Math.fround(a[2]!), Math.fround(a[3]!)];
    }
    default: {
      const len = words[o]!;
      const bytes = new Uint8Array(len);
      for (let i = 0; i < len; i++) bytes[i] = strByte(words, o, i);
      return utf8.decode(bytes);
    }
  }
}

/** Reads a float field (`F32`) without allocating; vector components by index. */
export function readFloat(f: CompiledField, words: Uint32Array, base: number, comp = 0): number {
  return dequantizeFloat(f, words[base + f.offset + comp]!);
}

function quantizeFloat(f: CompiledField, v: unknown): number {
  if (typeof v !== 'number') throw new ValueError(`field \`${f.name}\`: expected a number`);
  const x = Math.fround(v);
  if (!Number.isFinite(x)) throw new ValueError(`field \`${f.name}\`: value is not finite`);
  const t = (x - f.min) / f.range;
  const q = Math.round(t * f.steps);
  return q < 0 ? 0 : q > f.steps ? f.steps : q;
}

/** Stores `value` into a field's words (clamping numbers to the range). Throws {@link ValueError}. */
export function writeValue(f: CompiledField, words: Uint32Array, base: number, value: Value): void {
  const o = base + f.offset;
  switch (f.value) {
    case VALUE_FLOAT: {
      if (f.comps === 1) {
        words[o] = quantizeFloat(f, value);
        return;
      }
      if (!Array.isArray(value) || value.length !== f.comps) {
        throw new ValueError(`field \`${f.name}\`: expected ${f.comps} numbers`);
      }
      for (let k = 0; k < f.comps; k++) words[o + k] = quantizeFloat(f, value[k]);
      return;
    }
    case VALUE_INT: {
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        throw new ValueError(`field \`${f.name}\`: expected an integer`);
      }
      const q = value - f.min;
      words[o] = q < 0 ? 0 : q > f.max ? f.max : q;
      return;
    }
    case VALUE_BOOL:
      if (typeof value !== 'boolean') throw new ValueError(`field \`${f.name}\`: expected a boolean`);
      words[o] = value ? 1 : 0;
      return;
    case VALUE_ENUM: {
      const q = typeof value === 'string' ? f.variants.indexOf(value) : typeof value === 'number' ? value : -1;
      if (!Number.isInteger(q) || q < 0 || q > f.max) {
        throw new ValueError(`field \`${f.name}\`: no variant ${String(value)}`);
      }
      words[o] = q;
      return;
    }
    case VALUE_QUAT: {
      if (!Array.isArray(value) || value.length !== 4 || !value.every((c) => typeof c === 'number')) {
        throw new ValueError(`field \`${f.name}\`: expected [x, y, z, w]`);
      }
      const v = value as readonly number[];
      // Normalized in f32, like the reference.
      const dot = Math.fround(
        Math.fround(Math.fround(v[0]! * v[0]!) + Math.fround(v[1]! * v[1]!)) +
          Math.fround(Math.fround(v[2]! * v[2]!) + Math.fround(v[3]! * v[3]!)),
      );
      const inv = Math.fround(1 / Math.fround(Math.sqrt(dot)));
      const a = v.map((c) => Math.fround(c * inv));
      if (!a.every(Number.isFinite)) throw new ValueError(`field \`${f.name}\`: value is not finite`);
      let largest = 0;
      for (let i = 1; i < 4; i++) if (Math.abs(a[i]!) > Math.abs(a[largest]!)) largest = i;
      const sign = a[largest]! < 0 ? -1 : 1;
      const top = 2 ** f.bits - 1;
      words[o] = largest;
      let j = 1;
      for (let i = 0; i < 4; i++) {
        if (i === largest) continue;
        const t = (a[i]! * sign + QUAT_R) / (2 * QUAT_R);
        const q = Math.round(t * top);
        words[o + j++] = q < 0 ? 0 : q > top ? top : q;
      }
      return;
    }
    default: {
      if (typeof value !== 'string') throw new ValueError(`field \`${f.name}\`: expected a string`);
      const bytes = utf8Encoder.encode(value);
      if (bytes.length > f.maxLen) throw new ValueError(`field \`${f.name}\`: longer than ${f.maxLen} bytes`);
      storeStr(f, words, o, bytes, bytes.length);
    }
  }
}

/** Reads every field of a kind into a plain object. */
export function readFields(kind: CompiledKind, words: Uint32Array, base: number): Fields {
  const out: Fields = {};
  for (const f of kind.fields) out[f.name] = readValue(f, words, base);
  return out;
}

/** Writes the fields present in `values` (others keep their words). */
export function writeFields(kind: CompiledKind, words: Uint32Array, base: number, values: Readonly<Fields>): void {
  for (const f of kind.fields) {
    const v = values[f.name];
    if (v !== undefined) writeValue(f, words, base, v);
  }
}

/** A snapshot as names and values, for tooling and tests. */
export interface PlainSnapshot {
  tick: number;
  room: Fields;
  entities: { id: number; kind: string; fields: Fields }[];
}

/** The snapshot as names and values. */
export function toPlain(layout: Layout, s: Snapshot): PlainSnapshot {
  const entities = [];
  for (let i = 0; i < s.count; i++) {
    const kind = layout.kinds[s.kinds[i]!]!;
    entities.push({ id: s.ids[i]!, kind: kind.name, fields: readFields(kind, s.words, s.starts[i]!) });
  }
  return { tick: s.tick, room: readFields(layout.room, s.room, 0), entities };
}

/** Whether the field is sent as numeric components (for delta coding). */
export function isNumeric(f: CompiledField): boolean {
  return f.codec === CODEC_NUMERIC;
}

/** Whether the field is a string. */
export function isStr(f: CompiledField): boolean {
  return f.codec === CODEC_STR;
}
