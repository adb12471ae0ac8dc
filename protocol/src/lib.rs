//! `tickwire-protocol`: the wire protocol of tickwire, without I/O.
//!
//! Nothing here opens a socket, spawns a thread or reads a clock: bytes, ticks and times are
//! arguments, and output is written into buffers the caller owns. The server, the Rust bots and
//! the TypeScript generator all build on this crate.
//!
//! # Layout
//!
//! ```text
//!  schema ──▶ layout ──▶ codec (snapshots)      ◀─┐
//!  (IR, validation)      input (input packets)  ◀─┼── session::{server, client}
//!                        message (control frames) ◀┘     clock (client clock sync)
//! ```
//!
//! - [`schema`]: the IR a game declares once, and its validation; hashes into the protocol
//!   hash.
//! - [`layout`]: a validated schema compiled to fixed runs of quantized `u32` words per
//!   entity, and typed access to them.
//! - [`bits`]: the bit writer/reader every bit-packed frame uses.
//! - [`codec`]: full and delta snapshots; a delta needs only the client's copy of its baseline.
//!   [`views`] (re-exported from it) encodes partial views from pieces shared by all clients.
//! - [`input`]: input packets with an ack and redundant inputs.
//! - [`message`]: control frames (handshake, pings, signaling, events, close reasons).
//! - [`session`]: server- and client-side state machines in the `handle_*` / `poll_*` shape.
//! - [`clock`]: the client's estimate of the server tick and the round-trip time.
//! - `gen_ts` (feature `typescript`): the TypeScript SDK's generated files (types, ids, codec
//!   tables, hash).
//! - [`typed`]: entity kinds, room state and input declared as Rust types with derives
//!   (`tickwire-derive`), giving the same schema IR as the builder, and their typed encoding
//!   into a layout's words.
//! - `testkit` (feature `testkit`): fixtures for this crate's tests, benches and fuzz targets;
//!   not part of the stable API.
//!
//! Imports point one way: no module imports the crate root, and a folder's `mod.rs` only
//! declares and re-exports (its files import each other by path, never through it).
//!
//! ```text
//! error, clock  (import nothing of this crate)
//! bits      ──▶ error
//! schema    ──▶ error
//! layout    ──▶ schema, error
//! snapshot  ──▶ layout, schema
//! message   ──▶ schema, snapshot, error
//! codec     ──▶ bits, layout, snapshot, error
//! input     ──▶ bits, codec, layout, message, error
//! session   ──▶ codec, input, layout, message, schema, snapshot, clock, error
//! gen_ts    ──▶ layout, schema, error
//! typed     ──▶ layout, schema, error
//! testkit   ──▶ codec, input, layout, message, schema, snapshot, error
//! ```
//!
//! A frame is one WebSocket binary message or one data-channel message. Its first byte names
//! its type: [`FRAME_CONTROL`], [`FRAME_SNAPSHOT`] or [`FRAME_INPUT`]. `PROTOCOL.md` at the
//! root of this crate specifies every byte.
//!
//! No byte sequence makes a decoder panic; each decoder has a fuzz target in `fuzz/`.

#![warn(missing_docs)]

pub mod bits;
pub mod clock;
pub mod codec;
pub mod error;
#[cfg(feature = "typescript")]
pub mod gen_ts;
pub mod input;
pub mod layout;
pub mod message;
pub mod schema;
pub mod session;
pub mod snapshot;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod typed;

pub use glam;

pub use codec::views;
pub use codec::views::{DeltaCache, View, encode_view_snapshot};
pub use codec::{
    DecodeScratch, EncodeScratch, FRAME_SNAPSHOT, SharedBodies, SnapshotHeader, decode_snapshot,
    encode_snapshot, encode_snapshot_shared, peek_snapshot_header,
};
pub use error::{DecodeError, SchemaError, ValueError};
pub use input::{FRAME_INPUT, InputPacket, InputRef};
pub use layout::{FieldLayout, KindLayout, Layout, Value};
pub use message::{ClientMessage, CloseCode, CloseReason, FRAME_CONTROL, ServerMessage};
pub use schema::{FieldDef, FieldType, KindDef, Schema, WIRE_VERSION};
pub use snapshot::{EntityId, Snapshot};
