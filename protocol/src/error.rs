//! Error types, one per layer.

use thiserror::Error;

/// Bytes that do not decode. Returned for any malformed frame; never a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The frame ended in the middle of a value.
    #[error("frame ends in the middle of a value")]
    UnexpectedEnd,
    /// Whole bytes, or non-zero padding bits, follow the last value.
    #[error("bytes follow the end of the frame")]
    TrailingBytes,
    /// A `uvar` has more groups than a `u32` needs.
    #[error("variable-length integer overflows u32")]
    VarintOverflow,
    /// The first byte names no frame type this side accepts.
    #[error("unknown frame type {0:#04x}")]
    UnknownFrame(u8),
    /// A quantized value is above its field's maximum.
    #[error("value out of its declared range")]
    OutOfRange,
    /// A string field holds invalid UTF-8.
    #[error("string field is not UTF-8")]
    InvalidUtf8,
    /// An entity kind index is not in the schema.
    #[error("unknown entity kind {0}")]
    UnknownKind(u32),
    /// A field change mask names a field the kind does not have, or is empty for an update.
    #[error("field change mask does not fit the entity kind")]
    BadFieldMask,
    /// An entity index or count does not fit the baseline or the frame.
    #[error("entity index or count out of bounds")]
    BadEntityIndex,
    /// A created entity already exists.
    #[error("entity {0} created twice")]
    DuplicateEntity(u32),
    /// A delta names a baseline tick the decoder does not hold.
    #[error("baseline tick {0} is not held")]
    MissingBaseline(u32),
    /// A tick or sequence computation overflowed.
    #[error("tick or sequence number out of range")]
    BadTick,
    /// More values than the protocol's limits allow.
    #[error("frame exceeds a protocol limit")]
    LimitExceeded,
    /// A postcard-encoded control message failed to decode.
    #[error("control message does not decode")]
    BadMessage,
}

/// A schema that cannot be compiled into a codec layout.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A float range is empty, not finite, or its precision is not positive.
    #[error("field `{0}`: range must be finite with min < max and precision > 0")]
    BadRange(String),
    /// A field needs more than 32 bits per component.
    #[error("field `{0}`: more than 32 bits per component")]
    TooWide(String),
    /// An enum has no variants or more than 65,536.
    #[error("field `{0}`: enum needs 1 to 65536 variants")]
    BadEnum(String),
    /// A string field's maximum length is 0 or above 255 bytes.
    #[error("field `{0}`: string max length must be 1..=255")]
    BadString(String),
    /// A quaternion needs 2 to 16 bits per component.
    #[error("field `{0}`: quaternion components need 2..=16 bits")]
    BadQuat(String),
    /// The delta width must be below the component width.
    #[error("field `{0}`: delta bits must be below the value's bits")]
    BadDeltaBits(String),
    /// A kind (or the room, or the input) has more than 64 fields.
    #[error("`{0}` has more than 64 fields")]
    TooManyFields(String),
    /// More than 65,536 entity kinds.
    #[error("more than 65536 entity kinds")]
    TooManyKinds,
    /// Two fields of one kind, or two kinds, share a name.
    #[error("duplicate name `{0}`")]
    DuplicateName(String),
}

/// A value that cannot be stored in a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The field index is not in the kind.
    #[error("no such field")]
    NoSuchField,
    /// The value's type does not match the field's type.
    #[error("value type does not match the field")]
    WrongType,
    /// A float value is NaN or infinite.
    #[error("value is not finite")]
    NotFinite,
    /// An integer, enum or string does not fit the field.
    #[error("value does not fit the field")]
    OutOfRange,
}
