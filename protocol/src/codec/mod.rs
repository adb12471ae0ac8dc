//! The snapshot codec: full snapshots, and deltas against a baseline the client acknowledged.
//!
//! A snapshot frame is the byte [`FRAME_SNAPSHOT`] followed by one bit stream (see
//! [`crate::bits`] for bit order and `uvar`). `PROTOCOL.md` is the normative description; in
//! short:
//!
//! ```text
//! header   flags:4  tick:uvar  [tick-baseline:uvar if delta]  last_input_seq+1:uvar
//! full     room fields in full, then a creation section (if flag CREATES)
//! delta    [room mask + changed room fields, if ROOM]
//!          [update section, if UPDATES]   one entry per baseline entity touched
//!          [creation section, if CREATES] new entities, ids ascending
//! ```
//!
//! An unchanged world is a delta with no flags: header only.
//!
//! # Modules
//!
//! ```text
//! views ──▶ encode ──▶ field, header
//!   └──────────────────▶ field, header
//! decode ────────────▶ field, header
//! ```
//!
//! - `header`: the frame type byte, flags and header, and [`peek_snapshot_header`].
//! - `field`: one field's bits (full or delta), change masks and word comparisons; input
//!   packets code their fields with it too.
//! - `encode`: [`encode_snapshot`] and [`encode_snapshot_shared`].
//! - `decode`: [`decode_snapshot`].
//! - [`views`]: partial views encoded from per-entity pieces shared by every client.
//!
//! This file only declares and re-exports.

mod decode;
mod encode;
mod field;
mod header;
pub mod views;

pub use decode::{DecodeScratch, decode_snapshot};
pub use encode::{EncodeScratch, SharedBodies, encode_snapshot, encode_snapshot_shared};
pub use header::{
    FLAG_CREATES, FLAG_FULL, FLAG_ROOM, FLAG_UPDATES, FRAME_SNAPSHOT, MAX_ENTITIES, SnapshotHeader,
    peek_snapshot_header,
};
pub use views::{DeltaCache, View, encode_view_snapshot};

pub(crate) use field::{read_field_full, write_field_full};
pub(crate) use views::encode_view_against_snapshot;
