//! Typed access to a field's words: store a value (quantizing it) and read it back, or read
//! it in plain form.

use glam::{Quat, Vec2, Vec3};
use serde::{Deserialize, Serialize};

use super::compile::{FieldCodec, FieldLayout, NumericKind};
use super::quantize::{
    QUAT_RANGE, dequantize_float, dequantize_quat, quantize_float, quantize_quat,
};
use crate::error::ValueError;
use crate::schema::{FieldDef, FieldType};

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
    use glam::{Quat, Vec2, Vec3};

    use crate::error::ValueError;
    use crate::layout::compile::Layout;
    use crate::schema::Schema;

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
}
