// Reads protocol/golden/: the serde JSON forms of schemas, values and messages, converted to
// the SDK's types.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { Value } from '../src/index.js';
import type { ClientMessage, FieldDef, FieldType, PlainSnapshot, Schema, ServerMessage, Signal } from '../src/wire.js';

export const GOLDEN = fileURLToPath(new URL('../../protocol/golden/', import.meta.url));

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

export function goldenBin(name: string): Uint8Array {
  return new Uint8Array(readFileSync(`${GOLDEN}${name}.bin`));
}

export function goldenJson(name: string): Obj {
  return JSON.parse(readFileSync(`${GOLDEN}${name}.json`, 'utf8')) as Obj;
}

function obj(v: Json | undefined): Obj {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) throw new Error(`not an object: ${JSON.stringify(v)}`);
  return v;
}
function num(v: Json | undefined): number {
  if (typeof v !== 'number') throw new Error(`not a number: ${JSON.stringify(v)}`);
  return v;
}
function str(v: Json | undefined): string {
  if (typeof v !== 'string') throw new Error(`not a string: ${JSON.stringify(v)}`);
  return v;
}
function arr(v: Json | undefined): Json[] {
  if (!Array.isArray(v)) throw new Error(`not an array: ${JSON.stringify(v)}`);
  return v;
}
function bytes(v: Json | undefined): Uint8Array {
  return new Uint8Array(arr(v).map(num));
}

/** The single key of an externally tagged enum value. */
function tag(v: Json | undefined): [string, Json] {
  if (typeof v === 'string') return [v, null];
  const o = obj(v);
  const keys = Object.keys(o);
  if (keys.length !== 1) throw new Error(`not a tagged value: ${JSON.stringify(v)}`);
  return [keys[0]!, o[keys[0]!]!];
}

function fieldType(v: Json | undefined): FieldType {
  const [t, c] = tag(v);
  switch (t) {
    case 'F32':
    case 'Vec2':
    case 'Vec3': {
      const o = obj(c);
      const type = t === 'F32' ? 'f32' : t === 'Vec2' ? 'vec2' : 'vec3';
      return { type, min: num(o.min), max: num(o.max), precision: num(o.precision), deltaBits: num(o.delta_bits) };
    }
    case 'Int': {
      const o = obj(c);
      return { type: 'int', min: BigInt(num(o.min)), max: BigInt(num(o.max)), deltaBits: num(o.delta_bits) };
    }
    case 'Bool':
      return { type: 'bool' };
    case 'Enum':
      return { type: 'enum', variants: arr(obj(c).variants).map(str) };
    case 'Quat':
      return { type: 'quat', bits: num(obj(c).bits) };
    case 'Str':
      return { type: 'str', maxLen: num(obj(c).max_len) };
    default:
      throw new Error(`unknown field type ${t}`);
  }
}

function fields(v: Json | undefined): FieldDef[] {
  return arr(v).map((f) => ({ name: str(obj(f).name), ty: fieldType(obj(f).ty) }));
}

export function schemaFromJson(v: Json | undefined): Schema {
  const o = obj(v);
  return {
    name: str(o.name),
    kinds: arr(o.kinds).map((k) => ({ name: str(obj(k).name), fields: fields(obj(k).fields) })),
    room: fields(o.room),
    input: fields(o.input),
  };
}

/** A decoded value in the golden JSON convention (enums as `{variant}`). */
export function valueToJson(v: Value, ty: FieldType): Json {
  if (ty.type === 'enum') return { variant: v as string };
  if (Array.isArray(v)) return [...(v as readonly number[])];
  return v as Json;
}

/** Golden `[name, value]` pairs to a value object (enums to their names). */
export function valuesFromJson(pairs: Json | undefined): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const p of arr(pairs)) {
    const [name, value] = arr(p);
    const o = value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
    out[str(name)] = o !== null ? str(o.variant) : (value as Value);
  }
  return out;
}

export function plainToJson(schema: Schema, p: PlainSnapshot): Json {
  const pairs = (defs: readonly FieldDef[], values: Record<string, Value>): Json =>
    defs.map((d) => [d.name, valueToJson(values[d.name]!, d.ty)]);
  return {
    tick: p.tick,
    room: pairs(schema.room, p.room),
    entities: p.entities.map((e) => ({
      id: e.id,
      kind: e.kind,
      fields: pairs(schema.kinds.find((k) => k.name === e.kind)!.fields, e.fields),
    })),
  };
}

function signalFromJson(v: Json): Signal {
  const [t, c] = tag(v);
  switch (t) {
    case 'Offer':
      return { type: 'offer', sdp: str(obj(c).sdp) };
    case 'Answer':
      return { type: 'answer', sdp: str(obj(c).sdp) };
    case 'Candidate': {
      const mid = obj(c).mid;
      return { type: 'candidate', candidate: str(obj(c).candidate), mid: mid === null ? null : str(mid) };
    }
    case 'EndOfCandidates':
      return { type: 'endOfCandidates' };
    case 'Abandon':
      return { type: 'abandon' };
    default:
      throw new Error(`unknown signal ${t}`);
  }
}

export function clientMessageFromJson(v: Json | undefined): ClientMessage {
  const [t, c] = tag(v);
  switch (t) {
    case 'Hello': {
      const o = obj(c);
      const resume = o.resume === null ? null : obj(o.resume);
      return {
        type: 'hello',
        wireVersion: num(o.wire_version),
        protocolHash: o.protocol_hash === null ? null : BigInt(str(o.protocol_hash)),
        room: str(o.room),
        authToken: str(o.auth_token),
        resume: resume === null ? null : { token: bytes(resume.token), lastTick: resume.last_tick === null ? null : num(resume.last_tick) },
      };
    }
    case 'Ping':
      return { type: 'ping', clientTimeUs: BigInt(str(obj(c).client_time_us)) };
    case 'Signal':
      return { type: 'signal', signal: signalFromJson(c) };
    case 'Event':
      return { type: 'event', payload: bytes(obj(c).payload) };
    case 'Leave':
      return { type: 'leave' };
    default:
      throw new Error(`unknown client message ${t}`);
  }
}

export function serverMessageFromJson(v: Json | undefined): ServerMessage {
  const [t, c] = tag(v);
  const o = t === 'Signal' ? {} : obj(c);
  switch (t) {
    case 'Welcome':
      return {
        type: 'welcome',
        clientId: num(o.client_id),
        player: o.player === null ? null : num(o.player),
        tickRate: num(o.tick_rate),
        tick: num(o.tick),
        tickFraction: num(o.tick_fraction),
        schema: schemaFromJson(o.schema),
        resumeToken: bytes(o.resume_token),
        resumed: o.resumed === true,
      };
    case 'Pong':
      return { type: 'pong', clientTimeUs: BigInt(str(o.client_time_us)), tick: num(o.tick), tickFraction: num(o.tick_fraction) };
    case 'Signal':
      return { type: 'signal', signal: signalFromJson(c) };
    case 'Event':
      return { type: 'event', payload: bytes(o.payload) };
    case 'Close':
      return { type: 'close', code: num(o.code), message: str(o.message) };
    default:
      throw new Error(`unknown server message ${t}`);
  }
}
