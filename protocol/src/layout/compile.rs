//! The compiled form of a schema and the compiler: each field becomes a fixed run of words
//! and a [`FieldCodec`] saying how those words go on the wire.
//!
//! Compiling cannot fail once [`Schema::validate`] has passed: every width and step count
//! computed here was checked there.

use crate::error::SchemaError;
use crate::schema::{FieldDef, FieldType, Schema, bits_for, float_steps};

/// How one field is put on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldCodec {
    /// `comps` quantized components of `bits` bits, each at most `max`.
    Numeric {
        /// Bits per component.
        bits: u32,
        /// Largest valid quantized value.
        max: u32,
        /// Number of components (1, 2 or 3).
        comps: u32,
        /// Width of a zigzag delta per component, 0 for none.
        delta_bits: u32,
        /// How quantized values map back to values.
        kind: NumericKind,
    },
    /// Smallest-three rotation with `bits` per sent component.
    Quat {
        /// Bits per sent component.
        bits: u32,
    },
    /// Length-prefixed UTF-8 bytes.
    Str {
        /// Longest length in bytes.
        max_len: u32,
        /// Bits of the length prefix.
        len_bits: u32,
    },
}

/// What a numeric field's quantized value means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumericKind {
    /// `min + q * (max - min) / steps`, computed in f64 and rounded to f32.
    Float {
        /// Smallest value.
        min: f32,
        /// Largest value.
        max: f32,
        /// Number of steps between min and max.
        steps: u32,
    },
    /// `min + q`.
    Int {
        /// Smallest value.
        min: i64,
    },
    /// `q != 0`.
    Bool,
    /// Variant index `q`.
    Enum,
}

/// One compiled field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldLayout {
    /// Field name.
    pub name: String,
    /// First word of the field in its entity's words.
    pub offset: usize,
    /// Number of words.
    pub words: usize,
    /// Wire coding.
    pub codec: FieldCodec,
}

/// A compiled kind (or the room, or the input).
#[derive(Debug, Clone, PartialEq)]
pub struct KindLayout {
    /// Kind name.
    pub name: String,
    /// Fields in wire order.
    pub fields: Vec<FieldLayout>,
    /// Words per entity of this kind.
    pub words: usize,
}

/// A schema compiled for encoding and decoding. Build once, share by reference.
#[derive(Debug, Clone)]
pub struct Layout {
    schema: Schema,
    hash: u64,
    /// Entity kinds, by kind id.
    pub kinds: Vec<KindLayout>,
    /// Room-wide fields.
    pub room: KindLayout,
    /// Input fields.
    pub input: KindLayout,
    /// Bits of a kind id on the wire.
    pub kind_bits: u32,
}

fn compile_field(f: &FieldDef, offset: usize) -> FieldLayout {
    let numeric = |steps: u32, comps: u32, delta_bits: u8, kind: NumericKind| {
        let codec = FieldCodec::Numeric {
            bits: bits_for(steps),
            max: steps,
            comps,
            delta_bits: u32::from(delta_bits),
            kind,
        };
        (codec, comps as usize)
    };
    let (codec, words) = match &f.ty {
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
            let comps = match f.ty {
                FieldType::Vec2 { .. } => 2,
                FieldType::Vec3 { .. } => 3,
                _ => 1,
            };
            // Validation bounded the step count to `1..=u32::MAX`.
            let steps = float_steps(*min, *max, *precision) as u32;
            let kind = NumericKind::Float {
                min: *min,
                max: *max,
                steps,
            };
            numeric(steps, comps, *delta_bits, kind)
        }
        FieldType::Int {
            min,
            max,
            delta_bits,
        } => {
            // Validation bounded the span to `0..=u32::MAX`.
            let span = (i128::from(*max) - i128::from(*min)) as u32;
            numeric(span, 1, *delta_bits, NumericKind::Int { min: *min })
        }
        FieldType::Bool => numeric(1, 1, 0, NumericKind::Bool),
        FieldType::Enum { variants } => numeric(variants.len() as u32 - 1, 1, 0, NumericKind::Enum),
        FieldType::Quat { bits } => (
            FieldCodec::Quat {
                bits: u32::from(*bits),
            },
            4,
        ),
        FieldType::Str { max_len } => {
            let max_len = u32::from(*max_len);
            (
                FieldCodec::Str {
                    max_len,
                    len_bits: bits_for(max_len),
                },
                1 + max_len.div_ceil(4) as usize,
            )
        }
    };
    FieldLayout {
        name: f.name.clone(),
        offset,
        words,
        codec,
    }
}

fn compile_kind(name: &str, fields: &[FieldDef]) -> KindLayout {
    let mut out = Vec::with_capacity(fields.len());
    let mut offset = 0;
    for f in fields {
        let fl = compile_field(f, offset);
        offset += fl.words;
        out.push(fl);
    }
    KindLayout {
        name: name.to_owned(),
        fields: out,
        words: offset,
    }
}

impl Layout {
    /// Compiles `schema`, checking every limit first (see [`Schema::validate`]). A schema
    /// received from a peer goes through here before anything is decoded with it.
    pub fn new(schema: &Schema) -> Result<Self, SchemaError> {
        schema.validate()?;
        let kinds = schema
            .kinds
            .iter()
            .map(|k| compile_kind(&k.name, &k.fields))
            .collect();
        Ok(Self {
            hash: schema.protocol_hash(),
            schema: schema.clone(),
            kinds,
            room: compile_kind("room", &schema.room),
            input: compile_kind("input", &schema.input),
            kind_bits: bits_for(schema.kinds.len().saturating_sub(1) as u32),
        })
    }

    /// The schema this layout was compiled from.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The protocol hash of the schema (see [`Schema::protocol_hash`]).
    pub fn protocol_hash(&self) -> u64 {
        self.hash
    }

    /// Kind id by name.
    pub fn kind_id(&self, name: &str) -> Option<u16> {
        self.kinds
            .iter()
            .position(|k| k.name == name)
            .map(|i| i as u16)
    }
}

impl KindLayout {
    /// Field index by name.
    pub fn field(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arena_widths() {
        let s = Schema::builder("arena")
            .kind("player", |k| {
                k.vec2("pos", 0.0, 4000.0, 1.0 / 16.0)
                    .f32("heading", -180.0, 180.0, 0.5)
            })
            .build()
            .unwrap();
        let l = Layout::new(&s).unwrap();
        assert!(matches!(
            l.kinds[0].fields[0].codec,
            FieldCodec::Numeric {
                bits: 16,
                max: 64000,
                ..
            }
        ));
        assert!(matches!(
            l.kinds[0].fields[1].codec,
            FieldCodec::Numeric {
                bits: 10,
                max: 720,
                ..
            }
        ));
        assert_eq!(l.kind_bits, 0);
    }
}
