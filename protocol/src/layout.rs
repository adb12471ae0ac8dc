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

use std::collections::HashSet;

use glam::{Quat, Vec2, Vec3};
use serde::{Deserialize, Serialize};

use crate::error::{SchemaError, ValueError};
use crate::schema::{FieldDef, FieldType, Schema};

/// Most fields a kind, the room or the input may have (one bit each in a change mask).
pub const MAX_FIELDS: usize = 64;

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

fn bits_for(max: u32) -> u32 {
    32 - max.leading_zeros()
}

fn float_steps(name: &str, min: f32, max: f32, precision: f32) -> Result<u32, SchemaError> {
    let ok = min.is_finite() && max.is_finite() && precision.is_finite();
    if !ok || min >= max || precision <= 0.0 {
        return Err(SchemaError::BadRange(name.to_owned()));
    }
    let steps = ((f64::from(max) - f64::from(min)) / f64::from(precision)).ceil();
    if steps > f64::from(u32::MAX) {
        return Err(SchemaError::TooWide(name.to_owned()));
    }
    Ok(steps as u32)
}

fn check_delta(name: &str, delta_bits: u8, bits: u32) -> Result<u32, SchemaError> {
    let d = u32::from(delta_bits);
    if d != 0 && d >= bits {
        return Err(SchemaError::BadDeltaBits(name.to_owned()));
    }
    Ok(d)
}

fn compile_field(f: &FieldDef, offset: usize) -> Result<FieldLayout, SchemaError> {
    let name = &f.name;
    let numeric = |steps: u32, comps: u32, delta_bits: u8, kind: NumericKind| {
        let bits = bits_for(steps);
        let delta_bits = check_delta(name, delta_bits, bits)?;
        Ok::<_, SchemaError>((
            FieldCodec::Numeric {
                bits,
                max: steps,
                comps,
                delta_bits,
                kind,
            },
            comps as usize,
        ))
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
            let steps = float_steps(name, *min, *max, *precision)?;
            let kind = NumericKind::Float {
                min: *min,
                max: *max,
                steps,
            };
            numeric(steps, comps, *delta_bits, kind)?
        }
        FieldType::Int {
            min,
            max,
            delta_bits,
        } => {
            let span = i128::from(*max) - i128::from(*min);
            if span < 0 {
                return Err(SchemaError::BadRange(name.clone()));
            }
            let span = u32::try_from(span).map_err(|_| SchemaError::TooWide(name.clone()))?;
            numeric(span, 1, *delta_bits, NumericKind::Int { min: *min })?
        }
        FieldType::Bool => numeric(1, 1, 0, NumericKind::Bool)?,
        FieldType::Enum { variants } => {
            if variants.is_empty() || variants.len() > 1 << 16 {
                return Err(SchemaError::BadEnum(name.clone()));
            }
            numeric(variants.len() as u32 - 1, 1, 0, NumericKind::Enum)?
        }
        FieldType::Quat { bits } => {
            if !(2..=16).contains(bits) {
                return Err(SchemaError::BadQuat(name.clone()));
            }
            (
                FieldCodec::Quat {
                    bits: u32::from(*bits),
                },
                4,
            )
        }
        FieldType::Str { max_len } => {
            if *max_len == 0 {
                return Err(SchemaError::BadString(name.clone()));
            }
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
    Ok(FieldLayout {
        name: name.clone(),
        offset,
        words,
        codec,
    })
}

fn compile_kind(name: &str, fields: &[FieldDef]) -> Result<KindLayout, SchemaError> {
    if fields.len() > MAX_FIELDS {
        return Err(SchemaError::TooManyFields(name.to_owned()));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(fields.len());
    let mut offset = 0;
    for f in fields {
        if !seen.insert(f.name.as_str()) {
            return Err(SchemaError::DuplicateName(f.name.clone()));
        }
        let fl = compile_field(f, offset)?;
        offset += fl.words;
        out.push(fl);
    }
    Ok(KindLayout {
        name: name.to_owned(),
        fields: out,
        words: offset,
    })
}

impl Layout {
    /// Compiles `schema`, checking every limit. A schema received from a peer goes through
    /// here before anything is decoded with it.
    pub fn new(schema: &Schema) -> Result<Self, SchemaError> {
        if schema.kinds.len() > 1 << 16 {
            return Err(SchemaError::TooManyKinds);
        }
        let mut names = HashSet::new();
        let mut kinds = Vec::with_capacity(schema.kinds.len());
        for k in &schema.kinds {
            if !names.insert(k.name.as_str()) {
                return Err(SchemaError::DuplicateName(k.name.clone()));
            }
            kinds.push(compile_kind(&k.name, &k.fields)?);
        }
        let kind_bits = bits_for(schema.kinds.len().saturating_sub(1) as u32);
        Ok(Self {
            hash: schema.protocol_hash(),
            schema: schema.clone(),
            kinds,
            room: compile_kind("room", &schema.room)?,
            input: compile_kind("input", &schema.input)?,
            kind_bits,
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

fn quantize_float(v: f32, min: f32, max: f32, steps: u32) -> Result<u32, ValueError> {
    if !v.is_finite() {
        return Err(ValueError::NotFinite);
    }
    let t = (f64::from(v) - f64::from(min)) / (f64::from(max) - f64::from(min));
    Ok((t * f64::from(steps)).round().clamp(0.0, f64::from(steps)) as u32)
}

/// Maps a quantized float back to its value: `min + q * (max - min) / steps` in f64, rounded
/// to f32.
pub fn dequantize_float(q: u32, min: f32, max: f32, steps: u32) -> f32 {
    (f64::from(min) + f64::from(q) * (f64::from(max) - f64::from(min)) / f64::from(steps)) as f32
}

const QUAT_RANGE: f64 = std::f64::consts::FRAC_1_SQRT_2;

fn quantize_quat(q: Quat, bits: u32, out: &mut [u32]) -> Result<(), ValueError> {
    let a = q.normalize().to_array();
    if a.iter().any(|c| !c.is_finite()) {
        return Err(ValueError::NotFinite);
    }
    let mut largest = 0;
    for i in 1..4 {
        if a[i].abs() > a[largest].abs() {
            largest = i;
        }
    }
    let sign = if a[largest] < 0.0 { -1.0 } else { 1.0 };
    let top = f64::from((1u32 << bits) - 1);
    out[0] = largest as u32;
    let mut j = 1;
    for (i, &c) in a.iter().enumerate() {
        if i != largest {
            let t = (f64::from(c) * sign + QUAT_RANGE) / (2.0 * QUAT_RANGE);
            out[j] = (t * top).round().clamp(0.0, top) as u32;
            j += 1;
        }
    }
    Ok(())
}

fn dequantize_quat(words: &[u32], bits: u32) -> Quat {
    let top = f64::from((1u32 << bits) - 1);
    let mut a = [0.0f64; 4];
    let largest = (words[0] & 3) as usize;
    let mut sum = 0.0;
    let mut j = 1;
    for (i, slot) in a.iter_mut().enumerate() {
        if i != largest {
            let c = f64::from(words[j]) / top * 2.0 * QUAT_RANGE - QUAT_RANGE;
            *slot = c;
            sum += c * c;
            j += 1;
        }
    }
    a[largest] = (1.0 - sum).max(0.0).sqrt();
    Quat::from_xyzw(a[0] as f32, a[1] as f32, a[2] as f32, a[3] as f32)
}

/// A field value in plain form, for generic clients, tooling and golden vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// `F32`.
    F32(f32),
    /// `Int`.
    Int(i64),
    /// `Bool`.
    Bool(bool),
    /// `Vec2`, `Vec3` as arrays; `Quat` as `[x, y, z, w]`.
    Floats(Vec<f32>),
    /// `Str`.
    Str(String),
    /// `Enum` variant name.
    Enum {
        /// Variant name.
        variant: String,
    },
}

impl FieldLayout {
    /// Stores a float into a `F32` field's words, clamping to its range.
    pub fn set_f32(&self, words: &mut [u32], v: f32) -> Result<(), ValueError> {
        self.set_floats(words, &[v])
    }

    fn set_floats(&self, words: &mut [u32], v: &[f32]) -> Result<(), ValueError> {
        match self.codec {
            FieldCodec::Numeric {
                comps,
                kind: NumericKind::Float { min, max, steps },
                ..
            } if comps as usize == v.len() => {
                let dst = &mut words[self.offset..self.offset + self.words];
                for (d, &c) in dst.iter_mut().zip(v) {
                    *d = quantize_float(c, min, max, steps)?;
                }
                Ok(())
            }
            _ => Err(ValueError::WrongType),
        }
    }

    /// Stores a 2D vector, clamping each component.
    pub fn set_vec2(&self, words: &mut [u32], v: Vec2) -> Result<(), ValueError> {
        self.set_floats(words, &v.to_array())
    }

    /// Stores a 3D vector, clamping each component.
    pub fn set_vec3(&self, words: &mut [u32], v: Vec3) -> Result<(), ValueError> {
        self.set_floats(words, &v.to_array())
    }

    /// Stores an integer, clamping to the range. Also sets a `Bool` (non-zero is true) and an
    /// `Enum` (variant index, which must exist).
    pub fn set_int(&self, words: &mut [u32], v: i64) -> Result<(), ValueError> {
        let FieldCodec::Numeric {
            max,
            comps: 1,
            kind,
            ..
        } = self.codec
        else {
            return Err(ValueError::WrongType);
        };
        let q = match kind {
            NumericKind::Int { min } => {
                (i128::from(v) - i128::from(min)).clamp(0, i128::from(max)) as u32
            }
            NumericKind::Bool => u32::from(v != 0),
            NumericKind::Enum => u32::try_from(v)
                .ok()
                .filter(|q| *q <= max)
                .ok_or(ValueError::OutOfRange)?,
            NumericKind::Float { .. } => return Err(ValueError::WrongType),
        };
        words[self.offset] = q;
        Ok(())
    }

    /// Stores a boolean.
    pub fn set_bool(&self, words: &mut [u32], v: bool) -> Result<(), ValueError> {
        match self.codec {
            FieldCodec::Numeric {
                kind: NumericKind::Bool,
                ..
            } => {
                words[self.offset] = u32::from(v);
                Ok(())
            }
            _ => Err(ValueError::WrongType),
        }
    }

    /// Stores a rotation (normalized first).
    pub fn set_quat(&self, words: &mut [u32], v: Quat) -> Result<(), ValueError> {
        let FieldCodec::Quat { bits } = self.codec else {
            return Err(ValueError::WrongType);
        };
        quantize_quat(v, bits, &mut words[self.offset..self.offset + 4])
    }

    /// Stores a string; longer than the field allows is an error.
    pub fn set_str(&self, words: &mut [u32], v: &str) -> Result<(), ValueError> {
        let FieldCodec::Str { max_len, .. } = self.codec else {
            return Err(ValueError::WrongType);
        };
        if v.len() > max_len as usize {
            return Err(ValueError::OutOfRange);
        }
        let dst = &mut words[self.offset..self.offset + self.words];
        dst.fill(0);
        dst[0] = v.len() as u32;
        for (i, b) in v.bytes().enumerate() {
            dst[1 + i / 4] |= u32::from(b) << (8 * (i % 4));
        }
        Ok(())
    }

    /// Reads a `F32` field.
    pub fn get_f32(&self, words: &[u32]) -> Result<f32, ValueError> {
        match self.codec {
            FieldCodec::Numeric {
                comps: 1,
                kind: NumericKind::Float { min, max, steps },
                ..
            } => Ok(dequantize_float(words[self.offset], min, max, steps)),
            _ => Err(ValueError::WrongType),
        }
    }

    fn get_floats<const N: usize>(&self, words: &[u32]) -> Result<[f32; N], ValueError> {
        match self.codec {
            FieldCodec::Numeric {
                comps,
                kind: NumericKind::Float { min, max, steps },
                ..
            } if comps as usize == N => {
                let mut out = [0.0; N];
                for (o, &q) in out.iter_mut().zip(&words[self.offset..]) {
                    *o = dequantize_float(q, min, max, steps);
                }
                Ok(out)
            }
            _ => Err(ValueError::WrongType),
        }
    }

    /// Reads a `Vec2` field.
    pub fn get_vec2(&self, words: &[u32]) -> Result<Vec2, ValueError> {
        self.get_floats::<2>(words).map(Vec2::from_array)
    }

    /// Reads a `Vec3` field.
    pub fn get_vec3(&self, words: &[u32]) -> Result<Vec3, ValueError> {
        self.get_floats::<3>(words).map(Vec3::from_array)
    }

    /// Reads an `Int`, `Bool` (0 or 1) or `Enum` (variant index) field.
    pub fn get_int(&self, words: &[u32]) -> Result<i64, ValueError> {
        match self.codec {
            FieldCodec::Numeric { comps: 1, kind, .. } => {
                let q = words[self.offset];
                match kind {
                    NumericKind::Int { min } => Ok(min + i64::from(q)),
                    NumericKind::Bool | NumericKind::Enum => Ok(i64::from(q)),
                    NumericKind::Float { .. } => Err(ValueError::WrongType),
                }
            }
            _ => Err(ValueError::WrongType),
        }
    }

    /// Reads a `Bool` field.
    pub fn get_bool(&self, words: &[u32]) -> Result<bool, ValueError> {
        match self.codec {
            FieldCodec::Numeric {
                kind: NumericKind::Bool,
                ..
            } => Ok(words[self.offset] != 0),
            _ => Err(ValueError::WrongType),
        }
    }

    /// Reads a `Quat` field.
    pub fn get_quat(&self, words: &[u32]) -> Result<Quat, ValueError> {
        match self.codec {
            FieldCodec::Quat { bits } => {
                Ok(dequantize_quat(&words[self.offset..self.offset + 4], bits))
            }
            _ => Err(ValueError::WrongType),
        }
    }

    /// Reads a `Str` field. Words that came through the decoder always hold valid UTF-8.
    pub fn get_str<'w>(
        &self,
        words: &'w [u32],
        buf: &'w mut [u8; 255],
    ) -> Result<&'w str, ValueError> {
        let FieldCodec::Str { .. } = self.codec else {
            return Err(ValueError::WrongType);
        };
        let src = &words[self.offset..self.offset + self.words];
        let len = (src[0] as usize).min(255);
        for (i, b) in buf.iter_mut().enumerate().take(len) {
            *b = (src[1 + i / 4] >> (8 * (i % 4))) as u8;
        }
        std::str::from_utf8(&buf[..len]).map_err(|_| ValueError::OutOfRange)
    }

    /// The field's value in plain form. `def` must be this field's definition.
    pub fn value(&self, def: &FieldDef, words: &[u32]) -> Value {
        match &def.ty {
            FieldType::F32 { .. } => Value::F32(self.get_f32(words).unwrap_or_default()),
            FieldType::Int { .. } => Value::Int(self.get_int(words).unwrap_or_default()),
            FieldType::Bool => Value::Bool(self.get_bool(words).unwrap_or_default()),
            FieldType::Enum { variants } => Value::Enum {
                variant: variants
                    .get(words[self.offset] as usize)
                    .cloned()
                    .unwrap_or_default(),
            },
            FieldType::Vec2 { .. } => Value::Floats(
                self.get_floats::<2>(words)
                    .map(Vec::from)
                    .unwrap_or_default(),
            ),
            FieldType::Vec3 { .. } => Value::Floats(
                self.get_floats::<3>(words)
                    .map(Vec::from)
                    .unwrap_or_default(),
            ),
            FieldType::Quat { .. } => Value::Floats(
                self.get_quat(words)
                    .map(|q| q.to_array().to_vec())
                    .unwrap_or_default(),
            ),
            FieldType::Str { .. } => {
                let mut buf = [0u8; 255];
                Value::Str(self.get_str(words, &mut buf).unwrap_or_default().to_owned())
            }
        }
    }

    /// The largest distance between a value and its quantized form, per component: half a
    /// step for floats, 0 for exact types, and for rotations the component error bound.
    pub fn tolerance(&self) -> f32 {
        match self.codec {
            FieldCodec::Numeric {
                kind: NumericKind::Float { min, max, steps },
                ..
            } => ((f64::from(max) - f64::from(min)) / f64::from(steps) / 2.0) as f32 * 1.0001,
            FieldCodec::Numeric { .. } | FieldCodec::Str { .. } => 0.0,
            FieldCodec::Quat { bits } => {
                (2.0 * QUAT_RANGE / f64::from((1u32 << bits) - 1)) as f32 * 2.0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_types() -> Schema {
        Schema::builder("all")
            .kind("thing", |k| {
                k.f32("f", -10.0, 10.0, 0.01)
                    .int("i", -5, 1000)
                    .bool("b")
                    .enumeration("e", &["red", "green", "blue"])
                    .vec2("v2", 0.0, 100.0, 0.25)
                    .vec3("v3", -1.0, 1.0, 0.001)
                    .quat("q", 10)
                    .string("s", 10)
            })
            .build()
            .unwrap()
    }

    #[test]
    fn every_type_round_trips_within_tolerance() {
        let layout = Layout::new(&all_types()).unwrap();
        let k = &layout.kinds[0];
        let mut w = vec![0u32; k.words];
        k.fields[0].set_f32(&mut w, 3.3333).unwrap();
        k.fields[1].set_int(&mut w, 999).unwrap();
        k.fields[2].set_bool(&mut w, true).unwrap();
        k.fields[3].set_int(&mut w, 2).unwrap();
        k.fields[4].set_vec2(&mut w, Vec2::new(12.3, 99.9)).unwrap();
        k.fields[5]
            .set_vec3(&mut w, Vec3::new(-0.5, 0.25, 0.999))
            .unwrap();
        let rot = Quat::from_euler(glam::EulerRot::XYZ, 0.3, -1.2, 2.0);
        k.fields[6].set_quat(&mut w, rot).unwrap();
        k.fields[7].set_str(&mut w, "héllo").unwrap();

        assert!((k.fields[0].get_f32(&w).unwrap() - 3.3333).abs() <= k.fields[0].tolerance());
        assert_eq!(k.fields[1].get_int(&w).unwrap(), 999);
        assert!(k.fields[2].get_bool(&w).unwrap());
        assert_eq!(k.fields[3].get_int(&w).unwrap(), 2);
        let v2 = k.fields[4].get_vec2(&w).unwrap();
        assert!((v2 - Vec2::new(12.3, 99.9)).abs().max_element() <= k.fields[4].tolerance());
        let v3 = k.fields[5].get_vec3(&w).unwrap();
        assert!((v3 - Vec3::new(-0.5, 0.25, 0.999)).abs().max_element() <= k.fields[5].tolerance());
        let q = k.fields[6].get_quat(&w).unwrap();
        assert!(q.dot(rot).abs() > 0.9999, "{q:?} vs {rot:?}");
        let mut buf = [0u8; 255];
        assert_eq!(k.fields[7].get_str(&w, &mut buf).unwrap(), "héllo");
    }

    #[test]
    fn bad_values_are_refused_or_clamped() {
        let layout = Layout::new(&all_types()).unwrap();
        let k = &layout.kinds[0];
        let mut w = vec![0u32; k.words];
        assert_eq!(
            k.fields[0].set_f32(&mut w, f32::NAN),
            Err(ValueError::NotFinite)
        );
        k.fields[0].set_f32(&mut w, 1e9).unwrap();
        assert_eq!(k.fields[0].get_f32(&w).unwrap(), 10.0);
        assert_eq!(k.fields[3].set_int(&mut w, 3), Err(ValueError::OutOfRange));
        assert_eq!(
            k.fields[7].set_str(&mut w, "eleven byte"),
            Err(ValueError::OutOfRange)
        );
        assert_eq!(k.fields[0].set_int(&mut w, 1), Err(ValueError::WrongType));
    }

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
}
