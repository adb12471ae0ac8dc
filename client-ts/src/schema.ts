/**
 * The schema IR (PROTOCOL.md section 3) as TypeScript data, its postcard form and protocol
 * hash (section 10), and its compilation into a {@link Layout} that drives the codecs.
 *
 * The compiler follows the Rust `Layout::new` rules exactly; the generated `LAYOUT_TABLE`
 * records what the Rust compiler produced, and the tests compare the two.
 */

import { bitlen } from './bits.js';
import { DecodeError, SchemaError } from './errors.js';
import { PostcardReader, PostcardWriter } from './postcard.js';
import type { Fields } from './values.js';

/** Version of the wire format; part of the protocol hash. */
export const WIRE_VERSION = 1;

/** A field's type and quantization (the Rust `FieldType`). Floats are f32 values. */
export type FieldType =
  | { readonly type: 'f32' | 'vec2' | 'vec3'; readonly min: number; readonly max: number; readonly precision: number; readonly deltaBits: number }
  | { readonly type: 'int'; readonly min: bigint; readonly max: bigint; readonly deltaBits: number }
  | { readonly type: 'bool' }
  | { readonly type: 'enum'; readonly variants: readonly string[] }
  | { readonly type: 'quat'; readonly bits: number }
  | { readonly type: 'str'; readonly maxLen: number };

/** One named, typed field. */
export interface FieldDef {
  readonly name: string;
  readonly ty: FieldType;
}

/** One entity kind. */
export interface KindDef {
  readonly name: string;
  readonly fields: readonly FieldDef[];
}

/** A game's replicated state and input. */
export interface Schema {
  readonly name: string;
  readonly kinds: readonly KindDef[];
  readonly room: readonly FieldDef[];
  readonly input: readonly FieldDef[];
}

/** How one field is put on the wire. */
export type FieldCodecTable =
  | { readonly type: 'numeric'; readonly bits: number; readonly max: number; readonly comps: number; readonly deltaBits: number }
  | { readonly type: 'quat'; readonly bits: number }
  | { readonly type: 'str'; readonly maxLen: number; readonly lenBits: number };

/** One compiled field, as data. */
export interface FieldTable {
  readonly name: string;
  readonly offset: number;
  readonly words: number;
  readonly codec: FieldCodecTable;
}

/** A compiled kind (or the room, or the input), as data. */
export interface KindTable {
  readonly name: string;
  readonly words: number;
  readonly fields: readonly FieldTable[];
}

/** A compiled schema, as data (what the generator writes as `LAYOUT_TABLE`). */
export interface LayoutTable {
  readonly kindBits: number;
  readonly kinds: readonly KindTable[];
  readonly room: KindTable;
  readonly input: KindTable;
}

/** The value types a schema decodes to; the generated `Types` interface is one. */
export interface SchemaTypes {
  kinds: object;
  room: object;
  input: object;
}

/** The value types of a client that decodes whatever schema the server sends. */
export interface GenericTypes {
  kinds: Record<string, Fields>;
  room: Fields;
  input: Fields;
}

/** What a client built for one schema needs: generated as `PROTOCOL`. */
export interface Protocol<T extends SchemaTypes = GenericTypes> {
  readonly schema: Schema;
  readonly protocolHash: bigint;
  readonly layout: LayoutTable;
  /** Carries the value types only; never set. */
  readonly types?: T;
}

/** Codec kind codes of {@link CompiledField.codec}. */
export const CODEC_NUMERIC = 0;
export const CODEC_QUAT = 1;
export const CODEC_STR = 2;

/** What a numeric field's quantized value means. */
export const VALUE_FLOAT = 0;
export const VALUE_INT = 1;
export const VALUE_BOOL = 2;
export const VALUE_ENUM = 3;
export const VALUE_QUAT = 4;
export const VALUE_STR = 5;

/**
 * One compiled field. Every field has the same shape (unused parts are 0), which keeps the
 * decoder's property accesses monomorphic.
 */
export interface CompiledField {
  readonly name: string;
  readonly def: FieldDef;
  readonly offset: number;
  readonly words: number;
  /** {@link CODEC_NUMERIC}, {@link CODEC_QUAT} or {@link CODEC_STR}. */
  readonly codec: number;
  /** Bits per component (numeric, quat). */
  readonly bits: number;
  /** Largest valid quantized value (numeric). */
  readonly max: number;
  /** Components (numeric: 1 to 3). */
  readonly comps: number;
  /** Delta width per component, 0 for none (numeric). */
  readonly deltaBits: number;
  /** Longest string (str). */
  readonly maxLen: number;
  /** Bits of the length prefix (str). */
  readonly lenBits: number;
  /** {@link VALUE_FLOAT} ... {@link VALUE_STR}. */
  readonly value: number;
  /** Float: the f32 minimum, and `max - min` in f64. Int: the minimum as a number. */
  readonly min: number;
  readonly range: number;
  /** Float: number of steps. */
  readonly steps: number;
  /** Enum: variant names. */
  readonly variants: readonly string[];
}

/** A compiled kind (or the room, or the input). */
export interface CompiledKind {
  readonly name: string;
  readonly id: number;
  readonly words: number;
  readonly fields: readonly CompiledField[];
  /** Field index by name. */
  readonly index: ReadonlyMap<string, number>;
}

/** Most fields per kind, room or input. */
export const MAX_FIELDS = 64;
const U32_MAX = 4294967295;

function floatSteps(name: string, min: number, max: number, precision: number): number {
  const ok = Number.isFinite(min) && Number.isFinite(max) && Number.isFinite(precision);
  if (!ok || min >= max || precision <= 0) {
    throw new SchemaError(`field \`${name}\`: range must be finite with min < max and precision > 0`);
  }
  const steps = Math.ceil((max - min) / precision);
  if (steps > U32_MAX) throw new SchemaError(`field \`${name}\`: more than 32 bits per component`);
  return steps;
}

function checkDelta(name: string, deltaBits: number, bits: number): number {
  if (deltaBits !== 0 && deltaBits >= bits) {
    throw new SchemaError(`field \`${name}\`: delta bits must be below the value's bits`);
  }
  return deltaBits;
}

function compileField(def: FieldDef, offset: number): CompiledField {
  const name = def.name;
  const base = {
    name,
    def,
    offset,
    codec: CODEC_NUMERIC,
    bits: 0,
    max: 0,
    comps: 1,
    deltaBits: 0,
    maxLen: 0,
    lenBits: 0,
    value: VALUE_FLOAT,
    min: 0,
    range: 0,
    steps: 0,
    variants: [] as readonly string[],
  };
  const ty = def.ty;
  switch (ty.type) {
    case 'f32':
    case 'vec2':
    case 'vec3': {
      const comps = ty.type === 'vec2' ? 2 : ty.type === 'vec3' ? 3 : 1;
      const min = Math.fround(ty.min);
      const max = Math.fround(ty.max);
      const steps = floatSteps(name, min, max, Math.fround(ty.precision));
      const bits = bitlen(steps);
      const deltaBits = checkDelta(name, ty.deltaBits, bits);
      return { ...base, words: comps, comps, bits, max: steps, deltaBits, min, range: max - min, steps };
    }
    case 'int': {
      const span = ty.max - ty.min;
      if (span < 0n) throw new SchemaError(`field \`${name}\`: range must be finite with min < max and precision > 0`);
      if (span > BigInt(U32_MAX)) throw new SchemaError(`field \`${name}\`: more than 32 bits per component`);
      const max = Number(span);
      const bits = bitlen(max);
      const deltaBits = checkDelta(name, ty.deltaBits, bits);
      return { ...base, words: 1, bits, max, deltaBits, value: VALUE_INT, min: Number(ty.min) };
    }
    case 'bool':
      return { ...base, words: 1, bits: 1, max: 1, value: VALUE_BOOL };
    case 'enum': {
      const n = ty.variants.length;
      if (n === 0 || n > 65536) throw new SchemaError(`field \`${name}\`: enum needs 1 to 65536 variants`);
      return { ...base, words: 1, bits: bitlen(n - 1), max: n - 1, value: VALUE_ENUM, variants: ty.variants };
    }
    case 'quat': {
      if (!(ty.bits >= 2 && ty.bits <= 16)) {
        throw new SchemaError(`field \`${name}\`: quaternion components need 2..=16 bits`);
      }
      return { ...base, words: 4, codec: CODEC_QUAT, bits: ty.bits, comps: 3, value: VALUE_QUAT };
    }
    case 'str': {
      if (!(ty.maxLen >= 1 && ty.maxLen <= 255)) {
        throw new SchemaError(`field \`${name}\`: string max length must be 1..=255`);
      }
      return {
        ...base,
        words: 1 + Math.ceil(ty.maxLen / 4),
        codec: CODEC_STR,
        maxLen: ty.maxLen,
        lenBits: bitlen(ty.maxLen),
        value: VALUE_STR,
      };
    }
  }
}

function compileKind(name: string, id: number, fields: readonly FieldDef[]): CompiledKind {
  if (fields.length > MAX_FIELDS) throw new SchemaError(`\`${name}\` has more than 64 fields`);
  const index = new Map<string, number>();
  const out: CompiledField[] = [];
  let offset = 0;
  for (const f of fields) {
    if (index.has(f.name)) throw new SchemaError(`duplicate name \`${f.name}\``);
    index.set(f.name, out.length);
    const c = compileField(f, offset);
    offset += c.words;
    out.push(c);
  }
  return { name, id, words: offset, fields: out, index };
}

/** A schema compiled for encoding and decoding. Build once per schema, share. */
export class Layout {
  readonly schema: Schema;
  /** Protocol hash of the schema. */
  readonly protocolHash: bigint;
  /** Entity kinds, by kind id. */
  readonly kinds: readonly CompiledKind[];
  readonly room: CompiledKind;
  readonly input: CompiledKind;
  /** Bits of a kind id on the wire. */
  readonly kindBits: number;
  private readonly kindIndex: ReadonlyMap<string, number>;

  /** Compiles `schema`, checking every limit; throws {@link SchemaError}. */
  constructor(schema: Schema) {
    if (schema.kinds.length > 65536) throw new SchemaError('more than 65536 entity kinds');
    const names = new Map<string, number>();
    const kinds: CompiledKind[] = [];
    for (const k of schema.kinds) {
      if (names.has(k.name)) throw new SchemaError(`duplicate name \`${k.name}\``);
      names.set(k.name, kinds.length);
      kinds.push(compileKind(k.name, kinds.length, k.fields));
    }
    this.schema = schema;
    this.kinds = kinds;
    this.kindIndex = names;
    this.room = compileKind('room', -1, schema.room);
    this.input = compileKind('input', -1, schema.input);
    this.kindBits = bitlen(Math.max(schema.kinds.length - 1, 0));
    this.protocolHash = protocolHash(schema);
  }

  /** Kind id by name. */
  kindId(name: string): number | undefined {
    return this.kindIndex.get(name);
  }

  /** The compiled layout as data, comparable with a generated `LAYOUT_TABLE`. */
  toTable(): LayoutTable {
    const kind = (k: CompiledKind): KindTable => ({
      name: k.name,
      words: k.words,
      fields: k.fields.map((f) => ({
        name: f.name,
        offset: f.offset,
        words: f.words,
        codec:
          f.codec === CODEC_NUMERIC
            ? { type: 'numeric', bits: f.bits, max: f.max, comps: f.comps, deltaBits: f.deltaBits }
            : f.codec === CODEC_QUAT
              ? { type: 'quat', bits: f.bits }
              : { type: 'str', maxLen: f.maxLen, lenBits: f.lenBits },
      })),
    });
    return { kindBits: this.kindBits, kinds: this.kinds.map(kind), room: kind(this.room), input: kind(this.input) };
  }
}

// ---------------------------------------------------------------------------------------------
// Postcard form (PROTOCOL.md section 7.5) and protocol hash (section 10)
// ---------------------------------------------------------------------------------------------

/** Variant numbers of the Rust `FieldType` in postcard. */
const FIELD_TAG = { f32: 0, int: 1, bool: 2, enum: 3, vec2: 4, vec3: 5, quat: 6, str: 7 } as const;

function writeFields(w: PostcardWriter, fields: readonly FieldDef[]): void {
  w.uvar(fields.length);
  for (const f of fields) {
    w.string(f.name);
    const ty = f.ty;
    w.uvar(FIELD_TAG[ty.type]);
    switch (ty.type) {
      case 'f32':
      case 'vec2':
      case 'vec3':
        w.f32(ty.min);
        w.f32(ty.max);
        w.f32(ty.precision);
        w.u8(ty.deltaBits);
        break;
      case 'int':
        w.i64(ty.min);
        w.i64(ty.max);
        w.u8(ty.deltaBits);
        break;
      case 'bool':
        break;
      case 'enum':
        w.uvar(ty.variants.length);
        for (const v of ty.variants) w.string(v);
        break;
      case 'quat':
        w.u8(ty.bits);
        break;
      case 'str':
        w.u8(ty.maxLen);
        break;
    }
  }
}

/** Appends the schema's postcard bytes to `w`. */
export function writeSchema(w: PostcardWriter, schema: Schema): void {
  w.string(schema.name);
  w.uvar(schema.kinds.length);
  for (const k of schema.kinds) {
    w.string(k.name);
    writeFields(w, k.fields);
  }
  writeFields(w, schema.room);
  writeFields(w, schema.input);
}

/** The schema in postcard, as inside a welcome. */
export function encodeSchema(schema: Schema): Uint8Array {
  const w = new PostcardWriter([], 256);
  writeSchema(w, schema);
  return w.finish();
}

function readFields(r: PostcardReader): FieldDef[] {
  const n = r.seqLen();
  const out: FieldDef[] = [];
  for (let i = 0; i < n; i++) {
    const name = r.string();
    const variant = r.u32();
    let ty: FieldType;
    switch (variant) {
      case FIELD_TAG.f32:
      case FIELD_TAG.vec2:
      case FIELD_TAG.vec3: {
        const type = variant === FIELD_TAG.f32 ? 'f32' : variant === FIELD_TAG.vec2 ? 'vec2' : 'vec3';
        ty = { type, min: r.f32(), max: r.f32(), precision: r.f32(), deltaBits: r.u8() };
        break;
      }
      case FIELD_TAG.int:
        ty = { type: 'int', min: r.i64(), max: r.i64(), deltaBits: r.u8() };
        break;
      case FIELD_TAG.bool:
        ty = { type: 'bool' };
        break;
      case FIELD_TAG.enum: {
        const count = r.seqLen();
        const variants: string[] = [];
        for (let k = 0; k < count; k++) variants.push(r.string());
        ty = { type: 'enum', variants };
        break;
      }
      case FIELD_TAG.quat:
        ty = { type: 'quat', bits: r.u8() };
        break;
      case FIELD_TAG.str:
        ty = { type: 'str', maxLen: r.u8() };
        break;
      default:
        throw new DecodeError('BadMessage');
    }
    out.push({ name, ty });
  }
  return out;
}

/** Reads a schema's postcard form. */
export function readSchema(r: PostcardReader): Schema {
  const name = r.string();
  const n = r.seqLen();
  const kinds: KindDef[] = [];
  for (let i = 0; i < n; i++) {
    const kname = r.string();
    kinds.push({ name: kname, fields: readFields(r) });
  }
  const room = readFields(r);
  const input = readFields(r);
  return { name, kinds, room, input };
}

/** Decodes a schema's postcard bytes (all of them). */
export function decodeSchema(bytes: Uint8Array): Schema {
  const r = new PostcardReader(bytes);
  const s = readSchema(r);
  if (r.remaining() !== 0) throw new DecodeError('TrailingBytes');
  return s;
}

const FNV_OFFSET = 0xcbf29ce484222325n;

/** FNV-1a 64 over `bytes`. */
export function fnv1a64(bytes: Uint8Array, seed: bigint = FNV_OFFSET): bigint {
  // h · 0x0000_0100_0000_01b3 mod 2⁶⁴ on four 16-bit limbs in plain numbers (the prime's limbs
  // are 0x01b3, 0, 0x0100, 0): much faster than a BigInt per byte.
  let h0 = Number(seed & 0xffffn);
  let h1 = Number((seed >> 16n) & 0xffffn);
  let h2 = Number((seed >> 32n) & 0xffffn);
  let h3 = Number((seed >> 48n) & 0xffffn);
  for (let i = 0; i < bytes.length; i++) {
    h0 ^= bytes[i]!;
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3;
    const t2 = h2 * 0x1b3 + h0 * 0x100;
    const t3 = h3 * 0x1b3 + h1 * 0x100;
    const c0 = t0;
    const c1 = t1 + Math.floor(c0 / 65536);
    const c2 = t2 + Math.floor(c1 / 65536);
    const c3 = t3 + Math.floor(c2 / 65536);
    h0 = c0 & 0xffff;
    h1 = c1 & 0xffff;
    h2 = c2 & 0xffff;
    h3 = c3 & 0xffff;
  }
  return (BigInt(h3) << 48n) | (BigInt(h2) << 32n) | (BigInt(h1) << 16n) | BigInt(h0);
}

/** The protocol hash: FNV-1a 64 of the wire version (`u16` little-endian) and the schema. */
export function protocolHash(schema: Schema): bigint {
  const h = fnv1a64(new Uint8Array([WIRE_VERSION & 0xff, WIRE_VERSION >> 8]));
  return fnv1a64(encodeSchema(schema), h);
}

/** Plain values by field name, for building inputs and reading entities generically. */
export type FieldValues = Fields;
