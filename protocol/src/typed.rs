//! Typed declarations: a game's entity kinds, room state and input as plain Rust types.
//!
//! The derives of `tickwire-derive` (re-exported here: [`Entity`](macro@Entity),
//! [`RoomState`](macro@RoomState), [`Input`](macro@Input), [`FieldEnum`](macro@FieldEnum))
//! implement [`Fields`] and one role trait for a type. [`Fields::declare`] makes the same
//! [`FieldsBuilder`] calls a hand-written schema would, so [`Schema::typed`] gives exactly the
//! [`Schema`] of the builder, with the same protocol hash, layout and bytes. The attributes
//! and their builder calls are listed in the crate docs of `tickwire-derive`.
//!
//! A typed value goes to and from the quantized words of its [`KindLayout`] through the
//! layout's own setters and getters ([`Fields::write_words`], [`Fields::read_words`]). A value
//! outside its field's range is clamped, as the setters do, and counted: `write_words` returns
//! how many fields it clamped (a float or vector component outside `[min, max]`, an integer
//! outside its range, a string longer than `max_len`, cut at a character boundary). A value
//! that has no quantized form (a NaN or infinite float, a zero quaternion) is an error, as is
//! a layout of another shape than the type.
//!
//! ```
//! use tickwire_protocol::glam::Vec2;
//! use tickwire_protocol::typed::{Entity, Fields as _, Input};
//! use tickwire_protocol::{Layout, Schema};
//!
//! #[derive(Entity, Debug, Clone, PartialEq)]
//! struct Ball {
//!     #[tw(position, range(0.0, 100.0), precision = 0.25)]
//!     pos: Vec2,
//!     #[tw(range(0, 3))]
//!     owner: u8,
//! }
//!
//! #[derive(Input)]
//! struct Kick {
//!     power: bool,
//! }
//!
//! let schema = Schema::typed::<(), Kick>("ball").kind::<Ball>().build().unwrap();
//! let layout = Layout::new(&schema).unwrap();
//! let kind = &layout.kinds[0];
//! let mut words = vec![0; kind.words];
//! let ball = Ball { pos: Vec2::new(10.0, 250.0), owner: 2 };
//! // The y component is beyond the range: clamped to 100, and counted.
//! assert_eq!(ball.write_words(kind, &mut words), Ok(1));
//! let back = Ball::read_words(kind, &words).unwrap();
//! assert_eq!(back, Ball { pos: Vec2::new(10.0, 100.0), owner: 2 });
//! assert_eq!(back.position(), Vec2::new(10.0, 100.0));
//! ```

use glam::{Quat, Vec2, Vec3};

pub use tickwire_derive::{Entity, FieldEnum, Input, RoomState};

use crate::error::{SchemaError, ValueError};
use crate::layout::{FieldCodec, FieldLayout, KindLayout, NumericKind};
use crate::schema::{FieldDef, FieldsBuilder, Schema, SchemaBuilder};

/// A type whose fields are schema fields, in declaration order. Derived by
/// [`Entity`](macro@Entity), [`RoomState`](macro@RoomState) and [`Input`](macro@Input).
pub trait Fields: Sized {
    /// Number of fields.
    const FIELDS: usize;

    /// Declares the fields on `fields`, as a hand-written schema would.
    fn declare(fields: FieldsBuilder) -> FieldsBuilder;

    /// The field definitions.
    fn field_defs() -> Vec<FieldDef> {
        Self::declare(FieldsBuilder::default()).into_fields()
    }

    /// Quantizes `self` into `words`, laid out by `layout` (which must have been compiled from
    /// this type's fields). Returns how many fields were clamped to their range.
    fn write_words(&self, layout: &KindLayout, words: &mut [u32]) -> Result<u32, ValueError>;

    /// Reads a value back from `words`, laid out by `layout`.
    fn read_words(layout: &KindLayout, words: &[u32]) -> Result<Self, ValueError>;
}

/// An entity kind. Derived by [`Entity`](macro@Entity).
pub trait Entity: Fields {
    /// The kind's name in the schema.
    const NAME: &'static str;

    /// Where the entity is, for interest management: its `#[tw(position)]` field.
    fn position(&self) -> Vec2;
}

/// The room-wide fields. Derived by [`RoomState`](macro@RoomState); `()` has none.
pub trait RoomState: Fields {}

/// One player input. Derived by [`Input`](macro@Input); `()` has no fields.
pub trait Input: Fields {}

impl Fields for () {
    const FIELDS: usize = 0;
    fn declare(fields: FieldsBuilder) -> FieldsBuilder {
        fields
    }
    fn write_words(&self, layout: &KindLayout, words: &mut [u32]) -> Result<u32, ValueError> {
        fields_of::<Self>(layout, words.len()).map(|_| 0)
    }
    fn read_words(layout: &KindLayout, words: &[u32]) -> Result<Self, ValueError> {
        fields_of::<Self>(layout, words.len()).map(|_| ())
    }
}
impl RoomState for () {}
impl Input for () {}

/// A C-like enum used as a field type: the schema enum's variants are its variants, in
/// declaration order. Derived by [`FieldEnum`](macro@FieldEnum).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a field type",
    label = "not a field type",
    note = "supported field types: f32, i8..i64, u8..u64, bool, String, glam::Vec2, glam::Vec3, \
            glam::Quat, or an enum with #[derive(FieldEnum)]"
)]
pub trait FieldEnum: Sized {
    /// Variant names, by index.
    const VARIANTS: &'static [&'static str];
    /// This variant's index.
    fn index(&self) -> u32;
    /// The variant at `index`.
    fn from_index(index: u32) -> Option<Self>;
}

/// A Rust type stored in one field's words.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a field type",
    label = "not a field type",
    note = "supported field types: f32, i8..i64, u8..u64, bool, String, glam::Vec2, glam::Vec3, \
            glam::Quat, or an enum with #[derive(FieldEnum)]"
)]
pub trait FieldValue: Sized {
    /// Quantizes `self` into the field's words; returns 1 if it was clamped, else 0.
    fn write_field(&self, field: &FieldLayout, words: &mut [u32]) -> Result<u32, ValueError>;
    /// Reads the field's value.
    fn read_field(field: &FieldLayout, words: &[u32]) -> Result<Self, ValueError>;
}

/// The fields of `layout` when it has the shape of `T` (as many fields, and `words` long
/// enough), else [`ValueError::WrongType`].
pub fn fields_of<T: Fields>(
    layout: &KindLayout,
    words: usize,
) -> Result<&[FieldLayout], ValueError> {
    if layout.fields.len() != T::FIELDS || words < layout.words {
        return Err(ValueError::WrongType);
    }
    Ok(&layout.fields)
}

/// Stores an enum's variant index into an `Enum` field.
pub fn write_enum(index: u32, field: &FieldLayout, words: &mut [u32]) -> Result<u32, ValueError> {
    match field.codec {
        FieldCodec::Numeric {
            kind: NumericKind::Enum,
            ..
        } => field.set_int(words, i64::from(index)).map(|()| 0),
        _ => Err(ValueError::WrongType),
    }
}

/// Reads an `Enum` field's variant index.
pub fn read_enum(field: &FieldLayout, words: &[u32]) -> Result<u32, ValueError> {
    match field.codec {
        FieldCodec::Numeric {
            kind: NumericKind::Enum,
            ..
        } => field
            .get_int(words)
            .and_then(|i| u32::try_from(i).map_err(|_| ValueError::OutOfRange)),
        _ => Err(ValueError::WrongType),
    }
}

/// The interest position of a `#[tw(position)]` field.
pub trait Position {
    /// The position on the interest grid's plane: `x` and `y`.
    fn xy(&self) -> Vec2;
}

impl Position for Vec2 {
    fn xy(&self) -> Vec2 {
        *self
    }
}

impl Position for Vec3 {
    fn xy(&self) -> Vec2 {
        self.truncate()
    }
}

fn float_range(field: &FieldLayout) -> Option<(f32, f32)> {
    match field.codec {
        FieldCodec::Numeric {
            kind: NumericKind::Float { min, max, .. },
            ..
        } => Some((min, max)),
        _ => None,
    }
}

/// 1 if any component lies outside `[min, max]` (the setter clamps it), else 0. NaN is not
/// counted: the setter refuses it.
fn clamped_floats(field: &FieldLayout, v: &[f32]) -> u32 {
    float_range(field).map_or(0, |(min, max)| {
        u32::from(v.iter().any(|&c| c < min || c > max))
    })
}

impl FieldValue for f32 {
    fn write_field(&self, field: &FieldLayout, words: &mut [u32]) -> Result<u32, ValueError> {
        field.set_f32(words, *self)?;
        Ok(clamped_floats(field, &[*self]))
    }
    fn read_field(field: &FieldLayout, words: &[u32]) -> Result<Self, ValueError> {
        field.get_f32(words)
    }
}

impl FieldValue for Vec2 {
    fn write_field(&self, field: &FieldLayout, words: &mut [u32]) -> Result<u32, ValueError> {
        field.set_vec2(words, *self)?;
        Ok(clamped_floats(field, &self.to_array()))
    }
    fn read_field(field: &FieldLayout, words: &[u32]) -> Result<Self, ValueError> {
        field.get_vec2(words)
    }
}

impl FieldValue for Vec3 {
    fn write_field(&self, field: &FieldLayout, words: &mut [u32]) -> Result<u32, ValueError> {
        field.set_vec3(words, *self)?;
        Ok(clamped_floats(field, &self.to_array()))
    }
    fn read_field(field: &FieldLayout, words: &[u32]) -> Result<Self, ValueError> {
        field.get_vec3(words)
    }
}

impl FieldValue for Quat {
    /// Stores the normalized rotation; never counts a clamp.
    fn write_field(&self, field: &FieldLayout, words: &mut [u32]) -> Result<u32, ValueError> {
        field.set_quat(words, *self).map(|()| 0)
    }
    fn read_field(field: &FieldLayout, words: &[u32]) -> Result<Self, ValueError> {
        field.get_quat(words)
    }
}

impl FieldValue for bool {
    fn write_field(&self, field: &FieldLayout, words: &mut [u32]) -> Result<u32, ValueError> {
        field.set_bool(words, *self).map(|()| 0)
    }
    fn read_field(field: &FieldLayout, words: &[u32]) -> Result<Self, ValueError> {
        field.get_bool(words)
    }
}

/// The range `[min, max]` of an `Int` field.
fn int_range(field: &FieldLayout) -> Result<(i128, i128), ValueError> {
    match field.codec {
        FieldCodec::Numeric {
            max,
            comps: 1,
            kind: NumericKind::Int { min },
            ..
        } => Ok((i128::from(min), i128::from(min) + i128::from(max))),
        _ => Err(ValueError::WrongType),
    }
}

macro_rules! int_field_value {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            fn write_field(&self, field: &FieldLayout, words: &mut [u32]) -> Result<u32, ValueError> {
                let (min, max) = int_range(field)?;
                let v = i128::from(*self);
                let stored = v.clamp(min, max) as i64;
                field.set_int(words, stored)?;
                Ok(u32::from(v != i128::from(stored)))
            }
            fn read_field(field: &FieldLayout, words: &[u32]) -> Result<Self, ValueError> {
                int_range(field)?;
                <$t>::try_from(field.get_int(words)?).map_err(|_| ValueError::OutOfRange)
            }
        }
    )*};
}

int_field_value!(i8, i16, i32, i64, u8, u16, u32, u64);

impl FieldValue for String {
    fn write_field(&self, field: &FieldLayout, words: &mut [u32]) -> Result<u32, ValueError> {
        let FieldCodec::Str { max_len, .. } = field.codec else {
            return Err(ValueError::WrongType);
        };
        let mut end = self.len().min(max_len as usize);
        while !self.is_char_boundary(end) {
            end -= 1;
        }
        field.set_str(words, &self[..end])?;
        Ok(u32::from(end < self.len()))
    }
    fn read_field(field: &FieldLayout, words: &[u32]) -> Result<Self, ValueError> {
        let mut buf = [0u8; 255];
        field.get_str(words, &mut buf).map(str::to_owned)
    }
}

impl Schema {
    /// Starts a schema from types: the room state `R` and the input `I` (either may be `()`);
    /// add entity kinds with [`TypedSchemaBuilder::kind`].
    pub fn typed<R: RoomState, I: Input>(name: &str) -> TypedSchemaBuilder {
        TypedSchemaBuilder {
            inner: Schema::builder(name).room(R::declare).input(I::declare),
        }
    }
}

/// Declares a schema from types; see [`Schema::typed`].
#[derive(Debug)]
pub struct TypedSchemaBuilder {
    inner: SchemaBuilder,
}

impl TypedSchemaBuilder {
    /// Adds entity kind `E`; its id is the number of kinds added before it.
    pub fn kind<E: Entity>(self) -> Self {
        Self {
            inner: self.inner.kind(E::NAME, E::declare),
        }
    }

    /// Checks the schema (see [`Schema::validate`]) and returns it.
    pub fn build(self) -> Result<Schema, SchemaError> {
        self.inner.build()
    }
}
