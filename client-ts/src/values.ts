/** Decoded field values. */

/** A `Vec2` field: `[x, y]`. */
export type Vec2 = readonly [number, number];
/** A `Vec3` field: `[x, y, z]`. */
export type Vec3 = readonly [number, number, number];
/** A `Quat` field: `[x, y, z, w]`. */
export type Quat = readonly [number, number, number, number];

/**
 * Any field's decoded value: `F32` and `Int` are numbers, `Bool` a boolean, `Enum` the variant's
 * name, `Str` a string, vectors and rotations arrays.
 */
export type Value = number | boolean | string | Vec2 | Vec3 | Quat;

/** Field values by field name. */
export type Fields = Record<string, Value>;
