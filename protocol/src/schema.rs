//! The schema IR: what a game replicates, declared once.
//!
//! A [`Schema`] lists entity kinds with typed fields, the room-wide fields and the input fields.
//! It is plain data: it serializes (postcard for the wire, JSON for tooling), hashes into the
//! protocol hash, and is checked here ([`Schema::validate`]) against every limit of the wire
//! format. The layout compiler builds on a checked schema; this module knows nothing of it.
//!
//! ```
//! use tickwire_protocol::Schema;
//!
//! let schema = Schema::builder("arena")
//!     .kind("player", |k| {
//!         k.vec2("pos", 0.0, 4000.0, 1.0 / 16.0)
//!             .f32("heading", -180.0, 180.0, 0.5)
//!             .uint("hp", 8)
//!     })
//!     .room(|r| r.uint("round", 16))
//!     .input(|i| i.f32("dx", -1.0, 1.0, 1.0 / 64.0).f32("dy", -1.0, 1.0, 1.0 / 64.0))
//!     .build()
//!     .unwrap();
//! assert_eq!(schema.kinds[0].fields.len(), 3);
//! ```

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::error::SchemaError;

/// Version of the wire format described in `PROTOCOL.md`; part of the protocol hash.
pub const WIRE_VERSION: u16 = 1;

/// Most fields a kind, the room or the input may have (one bit each in a change mask).
pub const MAX_FIELDS: usize = 64;

/// Most entity kinds a schema may have (a kind id is at most 16 bits).
const MAX_KINDS: usize = 1 << 16;

/// A game's replicated state and input, declared once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Game name, for humans and logs.
    pub name: String,
    /// Entity kinds; a kind's index is its id on the wire.
    pub kinds: Vec<KindDef>,
    /// Room-wide fields (scores, timers), sent once per snapshot when changed.
    pub room: Vec<FieldDef>,
    /// Fields of one player input.
    pub input: Vec<FieldDef>,
}

/// One entity kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindDef {
    /// Kind name, unique in the schema.
    pub name: String,
    /// Fields in wire order; at most 64.
    pub fields: Vec<FieldDef>,
}

/// One named, typed field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    /// Field name, unique in its kind.
    pub name: String,
    /// Type and quantization.
    pub ty: FieldType,
}

/// A field's type and how it is quantized.
///
/// Floats are quantized to `n = ceil((max - min) / precision)` steps of `(max - min) / n`, so
/// the step never exceeds `precision`. `delta_bits` (0 = off) lets a changed value be sent as
/// a small zigzag difference from the baseline instead of in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FieldType {
    /// A float in `[min, max]`, step at most `precision`.
    F32 {
        /// Smallest value; lower values clamp.
        min: f32,
        /// Largest value; higher values clamp.
        max: f32,
        /// Largest allowed quantization step.
        precision: f32,
        /// Width of a delta-coded change, 0 to always send the full value.
        delta_bits: u8,
    },
    /// An integer in `[min, max]` (at most 2³² values).
    Int {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
        /// Width of a delta-coded change, 0 to always send the full value.
        delta_bits: u8,
    },
    /// One bit.
    Bool,
    /// One of the named variants, by index.
    Enum {
        /// Variant names; 1 to 65,536 of them.
        variants: Vec<String>,
    },
    /// A [`glam::Vec2`], each component quantized as an `F32`.
    Vec2 {
        /// Smallest component value.
        min: f32,
        /// Largest component value.
        max: f32,
        /// Largest allowed quantization step.
        precision: f32,
        /// Width of each component's delta, 0 for none.
        delta_bits: u8,
    },
    /// A [`glam::Vec3`], each component quantized as an `F32`.
    Vec3 {
        /// Smallest component value.
        min: f32,
        /// Largest component value.
        max: f32,
        /// Largest allowed quantization step.
        precision: f32,
        /// Width of each component's delta, 0 for none.
        delta_bits: u8,
    },
    /// A unit [`glam::Quat`] sent smallest-three: the index of the largest component (2 bits)
    /// and the other three in `[-1/√2, 1/√2]`, `bits` each.
    Quat {
        /// Bits per sent component, 2 to 16.
        bits: u8,
    },
    /// A UTF-8 string of at most `max_len` bytes.
    Str {
        /// Longest allowed length in bytes, 1 to 255.
        max_len: u8,
    },
}

impl Schema {
    /// Starts declaring a schema.
    pub fn builder(name: &str) -> SchemaBuilder {
        SchemaBuilder {
            schema: Schema {
                name: name.to_owned(),
                kinds: Vec::new(),
                room: Vec::new(),
                input: Vec::new(),
            },
        }
    }

    /// The schema in postcard, as sent in the welcome message.
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("a schema always serializes")
    }

    /// Protocol hash: FNV-1a 64 over the wire version (u16 little-endian) followed by the
    /// postcard bytes of the schema. Client and server must agree on it.
    pub fn protocol_hash(&self) -> u64 {
        let mut h = Fnv1a::new();
        h.write(&WIRE_VERSION.to_le_bytes());
        h.write(&self.to_bytes());
        h.finish()
    }

    /// Checks every limit of the wire format: at most 65,536 kinds and [`MAX_FIELDS`] fields
    /// per kind, room and input; unique kind names and unique field names within each; float
    /// ranges finite, increasing and at most 2³² steps; integer spans at most 2³² values;
    /// delta widths narrower than their field; 1 to 65,536 enum variants; quaternion
    /// components of 2 to 16 bits; string lengths of at least 1. The first violation found
    /// (kinds in order, then the room, then the input; fields in order) is returned.
    pub fn validate(&self) -> Result<(), SchemaError> {
        if self.kinds.len() > MAX_KINDS {
            return Err(SchemaError::TooManyKinds);
        }
        let mut names = HashSet::new();
        for k in &self.kinds {
            if !names.insert(k.name.as_str()) {
                return Err(SchemaError::DuplicateName(k.name.clone()));
            }
            validate_fields(&k.name, &k.fields)?;
        }
        validate_fields("room", &self.room)?;
        validate_fields("input", &self.input)
    }
}

fn validate_fields(owner: &str, fields: &[FieldDef]) -> Result<(), SchemaError> {
    if fields.len() > MAX_FIELDS {
        return Err(SchemaError::TooManyFields(owner.to_owned()));
    }
    let mut seen = HashSet::new();
    for f in fields {
        if !seen.insert(f.name.as_str()) {
            return Err(SchemaError::DuplicateName(f.name.clone()));
        }
        validate_field(f)?;
    }
    Ok(())
}

fn validate_field(f: &FieldDef) -> Result<(), SchemaError> {
    let name = || f.name.clone();
    // A delta must be narrower than the full value it replaces.
    let delta = |steps: u32, delta_bits: u8| {
        let d = u32::from(delta_bits);
        if d != 0 && d >= bits_for(steps) {
            return Err(SchemaError::BadDeltaBits(name()));
        }
        Ok(())
    };
    match &f.ty {
        FieldType::F32 {
            min,
            max,
            precision,
            delta_bits,
        }
        | FieldType::Vec2 {
            min,
            max,
            precision,
            delta_bits,
        }
        | FieldType::Vec3 {
            min,
            max,
            precision,
            delta_bits,
        } => {
            let ok = min.is_finite() && max.is_finite() && precision.is_finite();
            if !ok || min >= max || *precision <= 0.0 {
                return Err(SchemaError::BadRange(name()));
            }
            let steps = float_steps(*min, *max, *precision);
            if steps > f64::from(u32::MAX) {
                return Err(SchemaError::TooWide(name()));
            }
            delta(steps as u32, *delta_bits)
        }
        FieldType::Int {
            min,
            max,
            delta_bits,
        } => {
            let span = i128::from(*max) - i128::from(*min);
            if span < 0 {
                return Err(SchemaError::BadRange(name()));
            }
            let span = u32::try_from(span).map_err(|_| SchemaError::TooWide(name()))?;
            delta(span, *delta_bits)
        }
        FieldType::Bool => Ok(()),
        FieldType::Enum { variants } => {
            if variants.is_empty() || variants.len() > 1 << 16 {
                return Err(SchemaError::BadEnum(name()));
            }
            Ok(())
        }
        FieldType::Quat { bits } => {
            if !(2..=16).contains(bits) {
                return Err(SchemaError::BadQuat(name()));
            }
            Ok(())
        }
        FieldType::Str { max_len } => {
            if *max_len == 0 {
                return Err(SchemaError::BadString(name()));
            }
            Ok(())
        }
    }
}

/// Quantization steps of a float field, `ceil((max - min) / precision)` in f64: the largest
/// quantized value. Only a field that passed [`Schema::validate`] is sure to give a finite
/// value in `1..=u32::MAX`.
pub(crate) fn float_steps(min: f32, max: f32, precision: f32) -> f64 {
    ((f64::from(max) - f64::from(min)) / f64::from(precision)).ceil()
}

/// Bits needed for quantized values `0..=max`.
pub(crate) fn bits_for(max: u32) -> u32 {
    32 - max.leading_zeros()
}

/// 64-bit FNV-1a.
#[derive(Debug)]
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Declares a schema; see the [module docs](self).
#[derive(Debug)]
pub struct SchemaBuilder {
    schema: Schema,
}

impl SchemaBuilder {
    /// Adds an entity kind; its id is the number of kinds declared before it.
    pub fn kind(mut self, name: &str, fields: impl FnOnce(FieldsBuilder) -> FieldsBuilder) -> Self {
        let fields = fields(FieldsBuilder::default()).fields;
        self.schema.kinds.push(KindDef {
            name: name.to_owned(),
            fields,
        });
        self
    }

    /// Declares the room-wide fields.
    pub fn room(mut self, fields: impl FnOnce(FieldsBuilder) -> FieldsBuilder) -> Self {
        self.schema.room = fields(FieldsBuilder::default()).fields;
        self
    }

    /// Declares the input fields.
    pub fn input(mut self, fields: impl FnOnce(FieldsBuilder) -> FieldsBuilder) -> Self {
        self.schema.input = fields(FieldsBuilder::default()).fields;
        self
    }

    /// Checks the schema (see [`Schema::validate`]) and returns it.
    pub fn build(self) -> Result<Schema, SchemaError> {
        self.schema.validate()?;
        Ok(self.schema)
    }
}

/// Declares the fields of a kind, the room or the input, in wire order. A field's index is
/// the number of fields declared before it.
///
/// Numeric fields of 8 bits or more get `delta_bits` of half their width by default; change it
/// with [`FieldsBuilder::delta_bits`] right after the field.
#[derive(Debug, Default)]
pub struct FieldsBuilder {
    fields: Vec<FieldDef>,
}

fn float_bits(min: f32, max: f32, precision: f32) -> u32 {
    let steps = float_steps(min, max, precision);
    if steps.is_finite() && steps >= 1.0 && steps <= f64::from(u32::MAX) {
        bits_for(steps as u32)
    } else {
        0
    }
}

fn default_delta(bits: u32) -> u8 {
    if bits >= 8 { (bits / 2) as u8 } else { 0 }
}

impl FieldsBuilder {
    fn push(mut self, name: &str, ty: FieldType) -> Self {
        self.fields.push(FieldDef {
            name: name.to_owned(),
            ty,
        });
        self
    }

    /// A float in `[min, max]` with a step of at most `precision`.
    pub fn f32(self, name: &str, min: f32, max: f32, precision: f32) -> Self {
        let delta_bits = default_delta(float_bits(min, max, precision));
        self.push(
            name,
            FieldType::F32 {
                min,
                max,
                precision,
                delta_bits,
            },
        )
    }

    /// An unsigned integer of `bits` bits (1 to 32).
    pub fn uint(self, name: &str, bits: u8) -> Self {
        let max = if bits >= 32 {
            i64::from(u32::MAX)
        } else {
            (1i64 << bits) - 1
        };
        self.int(name, 0, max)
    }

    /// An integer in `[min, max]`.
    pub fn int(self, name: &str, min: i64, max: i64) -> Self {
        let span = max.saturating_sub(min);
        let bits = if span > 0 {
            64 - span.leading_zeros()
        } else {
            0
        };
        self.push(
            name,
            FieldType::Int {
                min,
                max,
                delta_bits: default_delta(bits),
            },
        )
    }

    /// A boolean.
    pub fn bool(self, name: &str) -> Self {
        self.push(name, FieldType::Bool)
    }

    /// An enum with the given variant names.
    pub fn enumeration(self, name: &str, variants: &[&str]) -> Self {
        let variants = variants.iter().map(|v| (*v).to_owned()).collect();
        self.push(name, FieldType::Enum { variants })
    }

    /// A 2D vector, each component in `[min, max]` with a step of at most `precision`.
    pub fn vec2(self, name: &str, min: f32, max: f32, precision: f32) -> Self {
        let delta_bits = default_delta(float_bits(min, max, precision));
        self.push(
            name,
            FieldType::Vec2 {
                min,
                max,
                precision,
                delta_bits,
            },
        )
    }

    /// A 3D vector, each component in `[min, max]` with a step of at most `precision`.
    pub fn vec3(self, name: &str, min: f32, max: f32, precision: f32) -> Self {
        let delta_bits = default_delta(float_bits(min, max, precision));
        self.push(
            name,
            FieldType::Vec3 {
                min,
                max,
                precision,
                delta_bits,
            },
        )
    }

    /// A rotation, smallest-three with `bits` per component.
    pub fn quat(self, name: &str, bits: u8) -> Self {
        self.push(name, FieldType::Quat { bits })
    }

    /// A string of at most `max_len` UTF-8 bytes.
    pub fn string(self, name: &str, max_len: u8) -> Self {
        self.push(name, FieldType::Str { max_len })
    }

    /// The fields declared, in order.
    pub fn into_fields(self) -> Vec<FieldDef> {
        self.fields
    }

    /// Sets the delta width of the field declared last (0 turns delta coding off).
    pub fn delta_bits(mut self, bits: u8) -> Self {
        if let Some(last) = self.fields.last_mut() {
            match &mut last.ty {
                FieldType::F32 { delta_bits, .. }
                | FieldType::Int { delta_bits, .. }
                | FieldType::Vec2 { delta_bits, .. }
                | FieldType::Vec3 { delta_bits, .. } => *delta_bits = bits,
                _ => {}
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arena() -> Schema {
        Schema::builder("arena")
            .kind("player", |k| {
                k.vec2("pos", 0.0, 4000.0, 1.0 / 16.0)
                    .f32("heading", -180.0, 180.0, 0.5)
                    .uint("hp", 8)
            })
            .build()
            .unwrap()
    }

    #[test]
    fn hash_changes_with_the_schema() {
        let a = arena();
        let mut b = a.clone();
        assert_eq!(a.protocol_hash(), b.protocol_hash());
        b.kinds[0].fields[2].name = "health".into();
        assert_ne!(a.protocol_hash(), b.protocol_hash());
    }

    #[test]
    fn schema_round_trips_through_postcard() {
        let a = arena();
        let back: Schema = postcard::from_bytes(&a.to_bytes()).unwrap();
        assert_eq!(a, back);
    }

    #[test]
    fn invalid_schemas_are_refused() {
        let bad = Schema::builder("x")
            .kind("k", |k| k.f32("f", 1.0, 1.0, 0.1))
            .build();
        assert!(matches!(bad, Err(SchemaError::BadRange(_))));
        let bad = Schema::builder("x")
            .kind("k", |k| k.f32("f", 0.0, 1.0, 0.1).f32("f", 0.0, 1.0, 0.1))
            .build();
        assert!(matches!(bad, Err(SchemaError::DuplicateName(_))));
        let bad = Schema::builder("x")
            .kind("k", |k| k.uint("u", 4).delta_bits(4))
            .build();
        assert!(matches!(bad, Err(SchemaError::BadDeltaBits(_))));
        let bad = Schema::builder("x").kind("k", |k| k.quat("q", 20)).build();
        assert!(matches!(bad, Err(SchemaError::BadQuat(_))));
    }

    #[test]
    fn default_delta_is_half_the_width() {
        let s = arena();
        assert!(matches!(
            s.kinds[0].fields[0].ty,
            FieldType::Vec2 { delta_bits: 8, .. }
        ));
        assert!(matches!(
            s.kinds[0].fields[1].ty,
            FieldType::F32 { delta_bits: 5, .. }
        ));
        assert!(matches!(
            s.kinds[0].fields[2].ty,
            FieldType::Int { delta_bits: 4, .. }
        ));
    }
}
