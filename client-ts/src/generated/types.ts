// @generated from the Rust schema IR of "arena" by tickwire-protocol (gen_ts.rs).
// Do not edit: regenerate with `TICKWIRE_UPDATE_TS=1 cargo test --test integration generated_ts`.

import type { Quat, Vec2, Vec3 } from '../values.js';

/** Entity kind ids (the kind's index in the schema). */
export const Kind = { player: 0 } as const;

/** Names of the entity kinds. */
export type KindName = keyof typeof Kind;

/** Field indexes of a `player` entity, in wire order. */
export const PlayerField = { pos: 0, heading: 1, hp: 2 } as const;

/** Decoded values of a `player` entity. */
export interface Player {
  /** `Vec2`, each component in [0, 4000], step at most 0.0625. */
  pos: Vec2;
  /** `F32` in [-180, 180], step at most 0.5. */
  heading: number;
  /** `Int` in [0, 255]. */
  hp: number;
}

/** Field indexes of the room, in wire order. */
export const RoomField = { players: 0 } as const;

/** Decoded values of the room. */
export interface Room {
  /** `Int` in [0, 65535]. */
  players: number;
}

/** Field indexes of one input, in wire order. */
export const InputField = { dx: 0, dy: 1 } as const;

/** Decoded values of one input. */
export interface Input {
  /** `F32` in [-1, 1], step at most 0.015625. */
  dx: number;
  /** `F32` in [-1, 1], step at most 0.015625. */
  dy: number;
}

/** Decoded values of each entity kind, by kind name. */
export interface Kinds {
  player: Player;
}

/** The value types of this schema, for the SDK's generic types. */
export interface Types {
  kinds: Kinds;
  room: Room;
  input: Input;
}
