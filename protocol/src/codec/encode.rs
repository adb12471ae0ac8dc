//! The direct encoder: diffs a snapshot against its baseline and writes the frame, plus the
//! shared-body variant for clients that all see the whole world.

use crate::bits::{BitWriter, uvar_bits};
use crate::layout::Layout;
use crate::snapshot::{EntityId, Snapshot};

use super::field::{
    changed_mask, changed_words, words_eq, write_changed_fields, write_field_full, write_mask,
};
use super::header::{FRAME_SNAPSHOT, delta_flags, full_flags, write_header};

/// Reusable buffers for [`encode_snapshot`]; keep one per encoding thread.
#[derive(Debug, Default)]
pub struct EncodeScratch {
    changes: Changes,
    /// Spare snapshots a view and its baseline are copied into when they are encoded whole;
    /// kept only for their buffers.
    copies: (Snapshot, Snapshot),
}

impl EncodeScratch {
    /// The entity lists of the frame being encoded.
    #[inline]
    pub(super) fn changes(&mut self) -> &mut Changes {
        &mut self.changes
    }

    /// Takes the spare snapshots for copied-out views; give them back with
    /// [`EncodeScratch::put_copies`] to keep their buffers.
    pub(super) fn take_copies(&mut self) -> (Snapshot, Snapshot) {
        std::mem::take(&mut self.copies)
    }

    /// Returns the snapshots taken with [`EncodeScratch::take_copies`].
    pub(super) fn put_copies(&mut self, copies: (Snapshot, Snapshot)) {
        self.copies = copies;
    }
}

/// Current index of a baseline entity that is not in the current snapshot.
pub(super) const REMOVED: u32 = u32::MAX;

/// Which entities a frame touches, in wire order: baseline entities updated or removed, and
/// current entities created.
#[derive(Debug, Default)]
pub(super) struct Changes {
    /// `(baseline index, current index or REMOVED)`, baseline indices increasing.
    touched: Vec<(u32, u32)>,
    /// Current indices of created entities, increasing.
    created: Vec<u32>,
}

impl Changes {
    #[inline]
    pub(super) fn clear(&mut self) {
        self.touched.clear();
        self.created.clear();
    }

    /// Baseline entity `base` is updated to current entity `cur`, or removed if `REMOVED`.
    #[inline]
    pub(super) fn touch(&mut self, base: u32, cur: u32) {
        self.touched.push((base, cur));
    }

    /// Baseline entities `base` are removed.
    #[inline]
    pub(super) fn remove_all(&mut self, base: std::ops::Range<u32>) {
        self.touched.extend(base.map(|b| (b, REMOVED)));
    }

    /// Current entity `cur` is created.
    #[inline]
    pub(super) fn create(&mut self, cur: u32) {
        self.created.push(cur);
    }

    /// Current entities `cur` are created.
    #[inline]
    pub(super) fn create_all(&mut self, cur: &[u32]) {
        self.created.extend_from_slice(cur);
    }

    #[inline]
    pub(super) fn touched(&self) -> &[(u32, u32)] {
        &self.touched
    }

    #[inline]
    pub(super) fn created(&self) -> &[u32] {
        &self.created
    }

    /// The header flags of a delta with these changes and room change mask `room_mask`.
    #[inline]
    pub(super) fn delta_flags(&self, room_mask: u64) -> u32 {
        delta_flags(
            room_mask != 0,
            !self.touched.is_empty(),
            !self.created.is_empty(),
        )
    }
}

/// Encodes `cur` as a frame appended to `out`: a delta against `base` when given (it must be
/// exactly what the client holds for `base.tick`, and older than `cur`), else a full snapshot.
pub fn encode_snapshot(
    layout: &Layout,
    cur: &Snapshot,
    base: Option<&Snapshot>,
    last_input_seq: Option<u32>,
    scratch: &mut EncodeScratch,
    out: &mut Vec<u8>,
) {
    let base = base.filter(|b| b.tick < cur.tick);
    let plan = plan(layout, cur, base, scratch);
    out.push(FRAME_SNAPSHOT);
    let mut w = BitWriter::new(out);
    write_header(
        &mut w,
        plan.flags,
        cur.tick,
        base.map(|b| b.tick),
        last_input_seq,
    );
    write_body(&mut w, layout, cur, base, scratch, &plan);
    w.finish();
}

/// What goes in a body, decided before anything is written (the flags lead the header).
struct Plan {
    flags: u32,
    room_mask: u64,
}

/// Fills `scratch` with the touched and created entities and decides the flags.
fn plan(
    layout: &Layout,
    cur: &Snapshot,
    base: Option<&Snapshot>,
    scratch: &mut EncodeScratch,
) -> Plan {
    let changes = &mut scratch.changes;
    match base {
        None => {
            changes.clear();
            changes.created.extend(0..cur.len() as u32);
            Plan {
                flags: full_flags(!cur.is_empty()),
                room_mask: 0,
            }
        }
        Some(base) => {
            diff_entities(cur, base, changes);
            let room_mask = changed_mask(&layout.room, cur.room(), base.room());
            Plan {
                flags: changes.delta_flags(room_mask),
                room_mask,
            }
        }
    }
}

/// Writes everything after the header.
fn write_body(
    w: &mut BitWriter<'_>,
    layout: &Layout,
    cur: &Snapshot,
    base: Option<&Snapshot>,
    scratch: &EncodeScratch,
    plan: &Plan,
) {
    match base {
        None => {
            for f in &layout.room.fields {
                write_field_full(w, f, cur.room());
            }
        }
        Some(base) => {
            if plan.room_mask != 0 {
                write_mask(w, plan.room_mask, layout.room.fields.len());
                write_changed_fields(w, &layout.room, plan.room_mask, cur.room(), base.room());
            }
            if !scratch.changes.touched.is_empty() {
                write_updates(w, layout, cur, base, &scratch.changes.touched);
            }
        }
    }
    // No creation section without FLAG_CREATES: the decoder would not read it.
    if !scratch.changes.created.is_empty() {
        write_creations(w, layout, cur, &scratch.changes.created);
    }
}
/// Snapshot bodies encoded once per tick and reused: every client whose view is the whole
/// world and whose baseline is the same tick gets the same body bits; only the header (its
/// last applied input) differs. Keep one per room; it forgets its bodies when the tick moves.
#[derive(Debug, Default)]
pub struct SharedBodies {
    tick: Option<u32>,
    /// `(baseline tick, flags, body bytes, body bit length)`.
    bodies: Vec<(Option<u32>, u32, Vec<u8>, usize)>,
    spare: Vec<Vec<u8>>,
}

impl SharedBodies {
    /// Bodies encoded since the tick last moved.
    pub fn len(&self) -> usize {
        self.bodies.len()
    }

    /// No body encoded since the tick last moved.
    pub fn is_empty(&self) -> bool {
        self.bodies.is_empty()
    }
}

/// Like [`encode_snapshot`], for a `cur` that is the same snapshot (the whole world) for every
/// caller during its tick, and a `base` that is that world at the baseline tick: the body is
/// encoded once per baseline tick and shared.
pub fn encode_snapshot_shared(
    layout: &Layout,
    cur: &Snapshot,
    base: Option<&Snapshot>,
    last_input_seq: Option<u32>,
    scratch: &mut EncodeScratch,
    shared: &mut SharedBodies,
    out: &mut Vec<u8>,
) {
    let base = base.filter(|b| b.tick < cur.tick);
    if shared.tick != Some(cur.tick) {
        shared.tick = Some(cur.tick);
        for (_, _, mut buf, _) in shared.bodies.drain(..) {
            buf.clear();
            shared.spare.push(buf);
        }
    }
    let key = base.map(|b| b.tick);
    let i = match shared.bodies.iter().position(|(k, ..)| *k == key) {
        Some(i) => i,
        None => {
            let plan = plan(layout, cur, base, scratch);
            let mut buf = shared.spare.pop().unwrap_or_default();
            let mut w = BitWriter::new(&mut buf);
            write_body(&mut w, layout, cur, base, scratch, &plan);
            let bits = w.bit_len();
            w.finish();
            shared.bodies.push((key, plan.flags, buf, bits));
            shared.bodies.len() - 1
        }
    };
    let (_, flags, body, bits) = &shared.bodies[i];
    out.push(FRAME_SNAPSHOT);
    let mut w = BitWriter::new(out);
    write_header(&mut w, *flags, cur.tick, key, last_input_seq);
    w.append(body, *bits);
    w.finish();
}
/// Merge-walks both id-sorted entity lists; fills `touched` and `created`.
fn diff_entities(cur: &Snapshot, base: &Snapshot, changes: &mut Changes) {
    changes.clear();
    let (mut bi, mut ci) = (0usize, 0usize);
    let (bn, cn) = (base.len(), cur.len());
    while bi < bn && ci < cn {
        let (bid, cid) = (base.ids()[bi], cur.ids()[ci]);
        if bid == cid {
            let n = diff_aligned(cur, ci, base, bi, changes);
            bi += n;
            ci += n;
        } else if bid < cid {
            changes.touched.push((bi as u32, REMOVED));
            bi += 1;
        } else {
            changes.created.push(ci as u32);
            ci += 1;
        }
    }
    changes
        .touched
        .extend((bi..bn).map(|b| (b as u32, REMOVED)));
    changes.created.extend((ci..cn).map(|c| c as u32));
}

/// Entities per block in [`diff_aligned`]'s fast path.
const DIFF_BLOCK: usize = 8;

/// Diffs `base[bi..]` against `cur[ci..]` pairwise while their ids agree, the common case of
/// a world where few entities come or go; returns how many pairs it consumed.
///
/// Blocks of [`DIFF_BLOCK`] unchanged entities (same ids, kinds, word counts and words) are
/// skipped with a few wide comparisons; other blocks are diffed entity by entity.
fn diff_aligned(
    cur: &Snapshot,
    ci: usize,
    base: &Snapshot,
    bi: usize,
    changes: &mut Changes,
) -> usize {
    let n = (base.len() - bi).min(cur.len() - ci);
    // Equal-length subslices let the compiler drop the bounds checks in the loops.
    let (bids, cids) = (&base.ids()[bi..bi + n], &cur.ids()[ci..ci + n]);
    let (bkinds, ckinds) = (&base.kinds()[bi..bi + n], &cur.kinds()[ci..ci + n]);
    let (bstarts, cstarts) = (&base.starts()[bi..=bi + n], &cur.starts()[ci..=ci + n]);
    let mut j = 0;
    while j < n {
        let end = n.min(j + DIFF_BLOCK);
        if end - j == DIFF_BLOCK {
            let (bs, cs) = (&bstarts[j..=end], &cstarts[j..=end]);
            // Word counts agree iff every start is shifted by the same amount.
            let shift = bs[0].wrapping_sub(cs[0]);
            let layout_diff = bs
                .iter()
                .zip(cs)
                .fold(0, |acc, (&b, &c)| acc | (b.wrapping_sub(c) ^ shift));
            let kind_diff = bkinds[j..end]
                .iter()
                .zip(&ckinds[j..end])
                .fold(0, |acc, (&b, &c)| acc | (b ^ c));
            if layout_diff == 0
                && kind_diff == 0
                && words_eq(&bids[j..end], &cids[j..end])
                && words_eq(
                    &base.words()[bs[0] as usize..bs[DIFF_BLOCK] as usize],
                    &cur.words()[cs[0] as usize..cs[DIFF_BLOCK] as usize],
                )
            {
                j = end;
                continue;
            }
        }
        for k in j..end {
            if bids[k] != cids[k] {
                return k;
            }
            let bw = &base.words()[bstarts[k] as usize..bstarts[k + 1] as usize];
            let cw = &cur.words()[cstarts[k] as usize..cstarts[k + 1] as usize];
            let (b, c) = ((bi + k) as u32, (ci + k) as u32);
            if bkinds[k] != ckinds[k] {
                changes.touched.push((b, REMOVED));
                changes.created.push(c);
            } else if !words_eq(bw, cw) {
                changes.touched.push((b, c));
            }
        }
        j = end;
    }
    n
}
/// Index form of an update section: picks sparse (a uvar per index) or dense (a bit per
/// baseline entity), whichever is smaller, and writes the choice.
pub(super) struct UpdateIndices {
    sparse: bool,
    next: u32,
    base_len: u32,
}

impl UpdateIndices {
    pub(super) fn begin(w: &mut BitWriter<'_>, touched: &[(u32, u32)], base_len: usize) -> Self {
        // Sparse if its indices (a uvar each, 4 bits or more) take fewer bits than the dense
        // bitmap; no need to count when 4 bits each already do not.
        let sparse = 4 * (touched.len() + 1) < base_len && {
            let mut sparse_bits = uvar_bits(touched.len() as u32);
            let mut prev: i64 = -1;
            for &(bi, _) in touched {
                sparse_bits += uvar_bits((i64::from(bi) - prev - 1) as u32);
                prev = i64::from(bi);
            }
            sparse_bits < base_len
        };
        w.write_bool(sparse);
        if sparse {
            w.write_uvar(touched.len() as u32);
        }
        Self {
            sparse,
            next: 0,
            base_len: base_len as u32,
        }
    }

    /// Marks baseline entity `bi` (increasing) as the next one touched.
    pub(super) fn write(&mut self, w: &mut BitWriter<'_>, bi: u32) {
        if self.sparse {
            w.write_uvar(bi - self.next);
        } else {
            let mut run = bi - self.next;
            while run >= 32 {
                w.write(0, 32);
                run -= 32;
            }
            w.write(1 << run, run + 1);
        }
        self.next = bi + 1;
    }

    /// Ends the bitmap after the last touched entity.
    pub(super) fn finish(self, w: &mut BitWriter<'_>) {
        if !self.sparse {
            let mut run = self.base_len - self.next;
            while run >= 32 {
                w.write(0, 32);
                run -= 32;
            }
            w.write(0, run);
        }
    }
}

fn write_updates(
    w: &mut BitWriter<'_>,
    layout: &Layout,
    cur: &Snapshot,
    base: &Snapshot,
    touched: &[(u32, u32)],
) {
    let mut indices = UpdateIndices::begin(w, touched, base.len());
    let mut prev_mask = 0u64;
    let mut cached_mask: (Option<(u16, u64)>, u64) = (None, 0);
    for &(bi, ci) in touched {
        indices.write(w, bi);
        let (_, kind, bw) = base.entity(bi as usize);
        let kl = &layout.kinds[usize::from(kind)];
        let (mask, cw) = if ci == REMOVED {
            (0, bw)
        } else {
            let cw = cur.entity(ci as usize).2;
            // The field mask depends only on the kind and on which words changed; entities
            // moving alike share both, so the last mask is reused when they match.
            let mask = match changed_words(cw, bw) {
                Some(words) if cached_mask.0 == Some((kind, words)) => cached_mask.1,
                Some(words) => {
                    cached_mask = (Some((kind, words)), changed_mask(kl, cw, bw));
                    cached_mask.1
                }
                None => changed_mask(kl, cw, bw),
            };
            (mask, cw)
        };
        if mask == prev_mask {
            w.write_bool(true);
        } else {
            w.write_bool(false);
            write_mask(w, mask, kl.fields.len());
            prev_mask = mask;
        }
        write_changed_fields(w, kl, mask, cw, bw);
    }
    indices.finish(w);
}

fn write_creations(w: &mut BitWriter<'_>, layout: &Layout, cur: &Snapshot, created: &[u32]) {
    w.write_uvar(created.len() as u32);
    let mut next_id: EntityId = 0;
    for &ci in created {
        let (id, kind, words) = cur.entity(ci as usize);
        w.write_uvar(id - next_id);
        next_id = id.wrapping_add(1);
        w.write(u32::from(kind), layout.kind_bits);
        for f in &layout.kinds[usize::from(kind)].fields {
            write_field_full(w, f, words);
        }
    }
}
