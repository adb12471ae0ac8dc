// @generated from the Rust schema IR of "arena" by tickwire-protocol (gen_ts.rs).
// Do not edit: regenerate with `TICKWIRE_UPDATE_TS=1 cargo test --test integration generated_ts`.

import type { LayoutTable, Protocol, Schema } from '../schema.js';
import type { Types } from './types.js';

/** The schema, exactly as the server sends it in the welcome. */
export const SCHEMA: Schema = {
  name: 'arena',
  kinds: [
    {
      name: 'player',
      fields: [
        { name: 'pos', ty: { type: 'vec2', min: 0.0, max: 4000.0, precision: 0.0625, deltaBits: 8 } },
        { name: 'heading', ty: { type: 'f32', min: -180.0, max: 180.0, precision: 0.5, deltaBits: 5 } },
        { name: 'hp', ty: { type: 'int', min: 0n, max: 255n, deltaBits: 4 } },
      ],
    },
  ],
  room: [
    { name: 'players', ty: { type: 'int', min: 0n, max: 65535n, deltaBits: 8 } },
  ],
  input: [
    { name: 'dx', ty: { type: 'f32', min: -1.0, max: 1.0, precision: 0.015625, deltaBits: 4 } },
    { name: 'dy', ty: { type: 'f32', min: -1.0, max: 1.0, precision: 0.015625, deltaBits: 4 } },
  ],
};

/** FNV-1a 64 of the wire version and the schema's postcard bytes (PROTOCOL.md section 10). */
export const PROTOCOL_HASH = 0x74dc9199b4eabc77n;

/** The schema compiled for the codec, as the Rust layout compiler sees it. */
export const LAYOUT_TABLE: LayoutTable = {
  kindBits: 0,
  kinds: [
    {
      name: 'player',
      words: 4,
      fields: [
        { name: 'pos', offset: 0, words: 2, codec: { type: 'numeric', bits: 16, max: 64000, comps: 2, deltaBits: 8 } },
        { name: 'heading', offset: 2, words: 1, codec: { type: 'numeric', bits: 10, max: 720, comps: 1, deltaBits: 5 } },
        { name: 'hp', offset: 3, words: 1, codec: { type: 'numeric', bits: 8, max: 255, comps: 1, deltaBits: 4 } },
      ],
    },
  ],
  room: {
    name: 'room',
    words: 1,
    fields: [
      { name: 'players', offset: 0, words: 1, codec: { type: 'numeric', bits: 16, max: 65535, comps: 1, deltaBits: 8 } },
    ],
  },
  input: {
    name: 'input',
    words: 2,
    fields: [
      { name: 'dx', offset: 0, words: 1, codec: { type: 'numeric', bits: 8, max: 128, comps: 1, deltaBits: 4 } },
      { name: 'dy', offset: 1, words: 1, codec: { type: 'numeric', bits: 8, max: 128, comps: 1, deltaBits: 4 } },
    ],
  },
};

/** Everything a client built for this schema needs; pass it to `connect`. */
export const PROTOCOL: Protocol<Types> = { schema: SCHEMA, protocolHash: PROTOCOL_HASH, layout: LAYOUT_TABLE };
