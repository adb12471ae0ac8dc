//! A schema compiled for the codec: every field becomes a fixed run of `u32` words holding
//! quantized values, so comparing two entities is comparing two word slices.
//!
//! Word layout per field type:
//!
//! | type | words | content |
//! |---|---|---|
//! | `F32`, `Int`, `Bool`, `Enum` | 1 | the quantized value `q` in `0..=max` |
//! | `Vec2` / `Vec3` | 2 / 3 | one quantized value per component |
//! | `Quat` | 4 | index of the dropped (largest) component, then the other three in order |
//! | `Str` | 1 + ⌈max_len / 4⌉ | byte length, then the bytes packed little-endian, zero padded |
//!
//! - `compile`: the compiled types ([`Layout`], [`KindLayout`], [`FieldLayout`],
//!   [`FieldCodec`]) and the compiler, which builds on a schema that passed
//!   [`Schema::validate`](crate::schema::Schema::validate).
//! - `quantize`: the value ↔ integer mappings ([`dequantize_float`], smallest-three rotations).
//! - `access`: typed get/set of a field in an entity's words, and [`Value`].
//!
//! Imports point one way: `access` ──▶ `compile`, `quantize`; `compile` ──▶ `schema`.

mod access;
mod compile;
mod quantize;

pub use access::Value;
pub use compile::{FieldCodec, FieldLayout, KindLayout, Layout, NumericKind};
pub use quantize::dequantize_float;

pub use crate::schema::MAX_FIELDS;
