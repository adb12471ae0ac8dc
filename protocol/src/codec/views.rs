//! Snapshots of partial views, encoded from per-entity pieces shared by every client.
//!
//! With interest management each client sees its own subset of the world, so whole bodies
//! cannot be shared the way [`crate::codec::encode_snapshot_shared`] shares them. What clients
//! do share is the world itself: a view is a list of rows of the world snapshot of its tick,
//! and an entity's delta from baseline tick `b` to tick `t` is the same bits for every client
//! that held it at `b` and still sees it at `t`.
//!
//! [`DeltaCache`] computes, once per tick, each entity's update against each baseline tick in
//! use, and each entity's full encoding; [`encode_view_snapshot`] then writes a client's frame
//! by merging two row lists and copying cached bits. The frame is bit for bit the one
//! [`crate::codec::encode_snapshot`] writes for the same view and baseline.

use crate::bits::BitWriter;
use crate::layout::Layout;
use crate::snapshot::{EntityId, Snapshot};

use super::encode::{EncodeScratch, REMOVED, UpdateIndices, encode_snapshot};
use super::field::{changed_mask, words_eq, write_changed_fields, write_field_full, write_mask};
use super::header::{FRAME_SNAPSHOT, full_flags, write_header};

/// How a world entity changed since one baseline tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowDelta {
    /// Not in the baseline world.
    Absent,
    /// Same kind and words.
    Same,
    /// Same id, another kind: removed and created again.
    Replaced,
    /// Changed fields `mask`; their delta bits are cached at `at` (bytes), `bits` long.
    Changed { mask: u64, at: u32, bits: u32 },
}

#[derive(Debug, Default)]
struct BaseDeltas {
    tick: u32,
    rows: Vec<RowDelta>,
}

/// Encoded pieces of one world tick's entities, shared by every client's view snapshot.
///
/// Each tick: [`DeltaCache::reset`] with the new world, then [`DeltaCache::add_base`] for every
/// baseline tick that some client will be encoded against. Both cost one pass over the world.
#[derive(Debug, Default)]
pub struct DeltaCache {
    tick: Option<u32>,
    /// Byte-aligned bit strings; each piece starts on a byte boundary.
    bits: Vec<u8>,
    /// Per world row: where its kind and full fields are in `bits`, and how many bits.
    full: Vec<(u32, u32)>,
    bases: Vec<BaseDeltas>,
    spare: Vec<BaseDeltas>,
}

impl DeltaCache {
    /// Forgets everything and encodes every entity of `world` in full.
    pub fn reset(&mut self, layout: &Layout, world: &Snapshot) {
        self.tick = Some(world.tick);
        self.bits.clear();
        self.full.clear();
        self.spare.append(&mut self.bases);
        for (_, kind, words) in world.iter() {
            let at = self.bits.len() as u32;
            let mut w = BitWriter::new(&mut self.bits);
            w.write(u32::from(kind), layout.kind_bits);
            for f in &layout.kinds[usize::from(kind)].fields {
                write_field_full(&mut w, f, words);
            }
            let bits = w.bit_len() as u32;
            w.finish();
            self.full.push((at, bits));
        }
    }

    /// Whether the deltas against baseline tick `tick` are held.
    pub fn has_base(&self, tick: u32) -> bool {
        self.bases.iter().any(|b| b.tick == tick)
    }

    /// Baseline ticks held.
    pub fn base_ticks(&self) -> impl Iterator<Item = u32> + '_ {
        self.bases.iter().map(|b| b.tick)
    }

    /// Computes every entity's update from `base` (the world at an older tick) to the world
    /// given to [`DeltaCache::reset`]. Does nothing if that baseline is already held or is not
    /// older.
    pub fn add_base(&mut self, layout: &Layout, world: &Snapshot, base: &Snapshot) {
        if self.tick != Some(world.tick) || base.tick >= world.tick || self.has_base(base.tick) {
            return;
        }
        let mut d = self.spare.pop().unwrap_or_default();
        d.tick = base.tick;
        d.rows.clear();
        d.rows.reserve(world.len());
        let mut bi = 0;
        for ci in 0..world.len() {
            let (id, kind, cw) = world.entity(ci);
            while bi < base.len() && base.ids()[bi] < id {
                bi += 1;
            }
            let delta = if bi < base.len() && base.ids()[bi] == id {
                let (_, bkind, bw) = base.entity(bi);
                if bkind != kind {
                    RowDelta::Replaced
                } else if words_eq(cw, bw) {
                    RowDelta::Same
                } else {
                    let kl = &layout.kinds[usize::from(kind)];
                    let mask = changed_mask(kl, cw, bw);
                    let at = self.bits.len() as u32;
                    let mut w = BitWriter::new(&mut self.bits);
                    write_changed_fields(&mut w, kl, mask, cw, bw);
                    let bits = w.bit_len() as u32;
                    w.finish();
                    RowDelta::Changed { mask, at, bits }
                }
            } else {
                RowDelta::Absent
            };
            d.rows.push(delta);
        }
        self.bases.push(d);
    }

    fn base(&self, tick: u32) -> Option<&BaseDeltas> {
        self.bases.iter().find(|b| b.tick == tick)
    }

    fn piece(&self, at: u32, bits: u32) -> (&[u8], usize) {
        let at = at as usize;
        let end = at + (bits as usize).div_ceil(8);
        (&self.bits[at..end], bits as usize)
    }
}

/// A view: the world at some tick and the rows of it that a client sees, increasing.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// The whole world at the view's tick.
    pub world: &'a Snapshot,
    /// Rows of `world` in the view, increasing (so ids increase too).
    pub rows: &'a [u32],
}

impl View<'_> {
    /// Copies the view out as a snapshot of its own (reusing `out`'s buffers).
    pub fn copy_into(&self, out: &mut Snapshot) {
        out.tick = self.world.tick;
        out.reset_with_room(self.world.room());
        // Rows come from the same world in increasing order, so ids increase.
        let _ = out.extend_from(self.world, self.rows);
    }
}

/// Encodes the view `cur` as a frame appended to `out`: a delta against `base` (the view the
/// client holds for an older tick) when given, else in full.
///
/// Pieces come from `cache` when it was reset with `cur.world` and (for a delta) holds
/// `base.world`'s tick; otherwise the views are copied out and encoded directly. Either way
/// the frame is the one [`encode_snapshot`] writes for the two views.
pub fn encode_view_snapshot(
    layout: &Layout,
    cur: View<'_>,
    base: Option<View<'_>>,
    last_input_seq: Option<u32>,
    cache: &DeltaCache,
    scratch: &mut EncodeScratch,
    out: &mut Vec<u8>,
) {
    let base = base.filter(|b| b.world.tick < cur.world.tick);
    let deltas = match base {
        Some(b) => cache.base(b.world.tick),
        None => None,
    };
    let usable = cache.tick == Some(cur.world.tick)
        && cache.full.len() == cur.world.len()
        && (base.is_none() || deltas.is_some());
    if !usable {
        let (mut view, mut base_view) = scratch.take_copies();
        cur.copy_into(&mut view);
        if let Some(b) = base {
            b.copy_into(&mut base_view);
        }
        let base_view_ref = base.map(|_| &base_view);
        encode_snapshot(layout, &view, base_view_ref, last_input_seq, scratch, out);
        scratch.put_copies((view, base_view));
        return;
    }
    let world = cur.world;
    let changes = scratch.changes();
    changes.clear();
    out.push(FRAME_SNAPSHOT);
    let mut w = BitWriter::new(out);
    match (base, deltas) {
        (Some(base), Some(deltas)) => {
            // Merge the two row lists by id, as the direct encoder merges the two views.
            let (bworld, brows, crows) = (base.world, base.rows, cur.rows);
            let (mut bi, mut ci) = (0usize, 0usize);
            while bi < brows.len() && ci < crows.len() {
                let brow = brows[bi] as usize;
                let crow = crows[ci];
                let (bid, cid) = (bworld.ids()[brow], world.ids()[crow as usize]);
                if bid == cid {
                    match deltas.rows[crow as usize] {
                        RowDelta::Same => {}
                        RowDelta::Changed { .. } => changes.touch(bi as u32, crow),
                        RowDelta::Replaced | RowDelta::Absent => {
                            changes.touch(bi as u32, REMOVED);
                            changes.create(crow);
                        }
                    }
                    bi += 1;
                    ci += 1;
                } else if bid < cid {
                    changes.touch(bi as u32, REMOVED);
                    bi += 1;
                } else {
                    changes.create(crow);
                    ci += 1;
                }
            }
            changes.remove_all(bi as u32..brows.len() as u32);
            changes.create_all(&crows[ci..]);

            let room_mask = changed_mask(&layout.room, world.room(), bworld.room());
            let flags = changes.delta_flags(room_mask);
            write_header(&mut w, flags, world.tick, Some(bworld.tick), last_input_seq);
            if room_mask != 0 {
                write_mask(&mut w, room_mask, layout.room.fields.len());
                write_changed_fields(&mut w, &layout.room, room_mask, world.room(), bworld.room());
            }
            if !changes.touched().is_empty() {
                write_view_updates(&mut w, layout, base, deltas, cache, changes.touched());
            }
        }
        _ => {
            changes.create_all(cur.rows);
            let flags = full_flags(!changes.created().is_empty());
            write_header(&mut w, flags, world.tick, None, last_input_seq);
            for f in &layout.room.fields {
                write_field_full(&mut w, f, world.room());
            }
        }
    }
    let created = changes.created();
    if !created.is_empty() {
        w.write_uvar(created.len() as u32);
        let mut next_id: EntityId = 0;
        for &row in created {
            let id = world.ids()[row as usize];
            w.write_uvar(id - next_id);
            next_id = id.wrapping_add(1);
            let (at, bits) = cache.full[row as usize];
            let (bytes, bits) = cache.piece(at, bits);
            w.append(bytes, bits);
        }
    }
    w.finish();
}

/// Encodes the view `cur` as a delta against `base`, a snapshot of its own (a baseline that
/// outlived its world, as after a resume), by copying the view out: the frame
/// [`encode_snapshot`] writes for the copy.
pub(crate) fn encode_view_against_snapshot(
    layout: &Layout,
    cur: View<'_>,
    base: &Snapshot,
    last_input_seq: Option<u32>,
    scratch: &mut EncodeScratch,
    out: &mut Vec<u8>,
) {
    let (mut view, base_copy) = scratch.take_copies();
    cur.copy_into(&mut view);
    encode_snapshot(layout, &view, Some(base), last_input_seq, scratch, out);
    scratch.put_copies((view, base_copy));
}

/// The update section, as the direct encoder writes it, from cached pieces.
fn write_view_updates(
    w: &mut BitWriter<'_>,
    layout: &Layout,
    base: View<'_>,
    deltas: &BaseDeltas,
    cache: &DeltaCache,
    touched: &[(u32, u32)],
) {
    let mut indices = UpdateIndices::begin(w, touched, base.rows.len());
    let mut prev_mask = 0u64;
    for &(bi, crow) in touched {
        indices.write(w, bi);
        let (mask, piece) = match (crow, deltas.rows.get(crow as usize)) {
            (REMOVED, _) | (_, None) => (0, None),
            (_, Some(&RowDelta::Changed { mask, at, bits })) => (mask, Some((at, bits))),
            (_, Some(_)) => (0, None),
        };
        if mask == prev_mask {
            w.write_bool(true);
        } else {
            w.write_bool(false);
            let kind = base.world.kinds()[base.rows[bi as usize] as usize];
            write_mask(w, mask, layout.kinds[usize::from(kind)].fields.len());
            prev_mask = mask;
        }
        if let Some((at, bits)) = piece {
            let (bytes, bits) = cache.piece(at, bits);
            w.append(bytes, bits);
        }
    }
    indices.finish(w);
}
