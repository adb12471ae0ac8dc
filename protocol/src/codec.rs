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

use crate::bits::{BitReader, BitWriter, uvar_bits};
use crate::error::DecodeError;
use crate::layout::{FieldCodec, FieldLayout, KindLayout, Layout};
use crate::snapshot::{EntityId, Snapshot};

/// First byte of a snapshot frame (server → client).
pub const FRAME_SNAPSHOT: u8 = 0x02;

/// Header flag: a full snapshot, no baseline.
pub const FLAG_FULL: u32 = 1;
/// Header flag: room fields changed (deltas only).
pub const FLAG_ROOM: u32 = 2;
/// Header flag: an update section follows.
pub const FLAG_UPDATES: u32 = 4;
/// Header flag: a creation section follows.
pub const FLAG_CREATES: u32 = 8;

/// Most entities one snapshot may hold.
pub const MAX_ENTITIES: usize = 1 << 20;

/// What a snapshot frame says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// Tick of the state carried.
    pub tick: u32,
    /// Tick of the baseline this is a delta against; `None` for a full snapshot.
    pub baseline: Option<u32>,
    /// Newest input sequence number the server has applied for this client.
    pub last_input_seq: Option<u32>,
}

/// Reusable buffers for [`encode_snapshot`]; keep one per encoding thread.
#[derive(Debug, Default)]
pub struct EncodeScratch {
    /// `(baseline index, current index or REMOVED)` for each touched baseline entity.
    pub(crate) touched: Vec<(u32, u32)>,
    /// Current indices of created entities.
    pub(crate) created: Vec<u32>,
    /// A client's view and its baseline, copied out for encoders that need them whole.
    pub(crate) view: Snapshot,
    pub(crate) base_view: Snapshot,
}

pub(crate) const REMOVED: u32 = u32::MAX;

/// Reusable buffers for [`decode_snapshot`].
#[derive(Debug, Default)]
pub struct DecodeScratch {
    updated: Snapshot,
    created: Snapshot,
}

#[inline]
fn zigzag(d: i64) -> u64 {
    ((d << 1) ^ (d >> 63)) as u64
}

#[inline]
fn unzigzag(z: u32) -> i64 {
    i64::from(z >> 1) ^ -i64::from(z & 1)
}

pub(crate) fn write_mask(w: &mut BitWriter<'_>, mask: u64, n: usize) {
    if n > 32 {
        w.write(mask as u32, 32);
        w.write((mask >> 32) as u32, n as u32 - 32);
    } else {
        w.write(mask as u32, n as u32);
    }
}

fn read_mask(r: &mut BitReader<'_>, n: usize) -> Result<u64, DecodeError> {
    if n > 32 {
        let lo = u64::from(r.read(32)?);
        Ok(lo | u64::from(r.read(n as u32 - 32)?) << 32)
    } else {
        Ok(u64::from(r.read(n as u32)?))
    }
}

pub(crate) fn write_field_full(w: &mut BitWriter<'_>, f: &FieldLayout, words: &[u32]) {
    let src = &words[f.offset..f.offset + f.words];
    match f.codec {
        FieldCodec::Numeric { bits, .. } => {
            for &q in src {
                w.write(q, bits);
            }
        }
        FieldCodec::Quat { bits } => {
            w.write(src[0], 2);
            for &q in &src[1..] {
                w.write(q, bits);
            }
        }
        FieldCodec::Str { len_bits, .. } => {
            let len = src[0] as usize;
            w.write(src[0], len_bits);
            for (i, &word) in src[1..].iter().enumerate() {
                let left = len.saturating_sub(i * 4).min(4);
                if left == 0 {
                    break;
                }
                let bits = 8 * left as u32;
                w.write(
                    if bits == 32 {
                        word
                    } else {
                        word & ((1 << bits) - 1)
                    },
                    bits,
                );
            }
        }
    }
}

pub(crate) fn read_field_full(
    r: &mut BitReader<'_>,
    f: &FieldLayout,
    out: &mut [u32],
) -> Result<(), DecodeError> {
    let dst = &mut out[f.offset..f.offset + f.words];
    match f.codec {
        FieldCodec::Numeric { bits, max, .. } => {
            for d in dst {
                let q = r.read(bits)?;
                if q > max {
                    return Err(DecodeError::OutOfRange);
                }
                *d = q;
            }
        }
        FieldCodec::Quat { bits } => {
            dst[0] = r.read(2)?;
            for d in &mut dst[1..] {
                *d = r.read(bits)?;
            }
        }
        FieldCodec::Str { max_len, len_bits } => {
            let len = r.read(len_bits)?;
            if len > max_len {
                return Err(DecodeError::OutOfRange);
            }
            let mut bytes = [0u8; 255];
            for b in bytes.iter_mut().take(len as usize) {
                *b = r.read(8)? as u8;
            }
            std::str::from_utf8(&bytes[..len as usize]).map_err(|_| DecodeError::InvalidUtf8)?;
            dst.fill(0);
            dst[0] = len;
            for (i, &b) in bytes[..len as usize].iter().enumerate() {
                dst[1 + i / 4] |= u32::from(b) << (8 * (i % 4));
            }
        }
    }
    Ok(())
}

/// Writes a changed field: a zigzag delta from the baseline when the field allows it and every
/// component fits, else the full value.
#[inline(always)]
fn write_field_delta(w: &mut BitWriter<'_>, f: &FieldLayout, cur: &[u32], base: &[u32]) {
    if let FieldCodec::Numeric { delta_bits, .. } = f.codec
        && delta_bits > 0
    {
        let range = f.offset..f.offset + f.words;
        let (c, b) = (&cur[range.clone()], &base[range]);
        // Fixed component counts (all numeric fields have 1 to 3) unroll the loops.
        let sent = match f.words {
            1 => write_numeric_delta::<1>(w, c, b, delta_bits),
            2 => write_numeric_delta::<2>(w, c, b, delta_bits),
            3 => write_numeric_delta::<3>(w, c, b, delta_bits),
            _ => write_numeric_delta_slice(w, c, b, delta_bits),
        };
        if sent {
            return;
        }
    }
    write_field_full(w, f, cur);
}

/// Writes the delta flag, and the `N` zigzag deltas if they all fit; returns the flag.
#[inline(always)]
fn write_numeric_delta<const N: usize>(
    w: &mut BitWriter<'_>,
    cur: &[u32],
    base: &[u32],
    delta_bits: u32,
) -> bool {
    let z: [u64; N] = std::array::from_fn(|k| zigzag(i64::from(cur[k]) - i64::from(base[k])));
    // Every delta is below 2^delta_bits iff their bitwise or is.
    if z.iter().fold(0, |acc, &z| acc | z) >> delta_bits != 0 {
        w.write_bool(false);
        return false;
    }
    if N as u32 * delta_bits < 32 {
        // The flag and the deltas in one write (at most 32 bits), in wire order.
        let (mut packed, mut bits) = (1u32, 1u32);
        for zk in z {
            packed |= (zk as u32) << bits;
            bits += delta_bits;
        }
        w.write(packed, bits);
    } else {
        w.write_bool(true);
        for zk in z {
            w.write(zk as u32, delta_bits);
        }
    }
    true
}

/// [`write_numeric_delta`] for any number of components.
fn write_numeric_delta_slice(
    w: &mut BitWriter<'_>,
    cur: &[u32],
    base: &[u32],
    delta_bits: u32,
) -> bool {
    let deltas = || {
        cur.iter()
            .zip(base)
            .map(|(&c, &b)| zigzag(i64::from(c) - i64::from(b)))
    };
    let fits = deltas().fold(0, |acc, z| acc | z) >> delta_bits == 0;
    w.write_bool(fits);
    if fits {
        for z in deltas() {
            w.write(z as u32, delta_bits);
        }
    }
    fits
}

fn read_field_delta(
    r: &mut BitReader<'_>,
    f: &FieldLayout,
    base: &[u32],
    out: &mut [u32],
) -> Result<(), DecodeError> {
    if let FieldCodec::Numeric {
        delta_bits, max, ..
    } = f.codec
        && delta_bits > 0
        && r.read_bool()?
    {
        for c in f.offset..f.offset + f.words {
            let v = i64::from(base[c]) + unzigzag(r.read(delta_bits)?);
            if v < 0 || v > i64::from(max) {
                return Err(DecodeError::OutOfRange);
            }
            out[c] = v as u32;
        }
        return Ok(());
    }
    read_field_full(r, f, out)
}

/// Word-slice equality without a `memcmp` call: entities are a few words long, and a few
/// inline vector operations beat a library call.
#[inline]
pub(crate) fn words_eq(a: &[u32], b: &[u32]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let ((a4, a_tail), (b4, b_tail)) = (a.as_chunks::<4>(), b.as_chunks::<4>());
    let tail_diff = a_tail
        .iter()
        .zip(b_tail)
        .fold(0, |acc, (&x, &y)| acc | (x ^ y));
    let diff = a4
        .iter()
        .zip(b4)
        .fold([tail_diff, 0, 0, 0], |mut acc, (x, y)| {
            for i in 0..4 {
                acc[i] |= x[i] ^ y[i];
            }
            acc
        });
    diff == [0; 4]
}

/// Bit `k` set iff word `k` differs, for entities of at most 64 words.
#[inline(always)]
fn changed_words(cur: &[u32], base: &[u32]) -> Option<u64> {
    if cur.len() > 64 || cur.len() != base.len() {
        return None;
    }
    let diff = cur.iter().zip(base).rev();
    Some(diff.fold(0, |acc, (&c, &b)| acc << 1 | u64::from(c != b)))
}

#[inline(always)]
pub(crate) fn changed_mask(kind: &KindLayout, cur: &[u32], base: &[u32]) -> u64 {
    let mut mask = 0u64;
    for (i, f) in kind.fields.iter().enumerate() {
        let diff = if f.words == 1 {
            cur[f.offset] ^ base[f.offset]
        } else {
            let range = f.offset..f.offset + f.words;
            (cur[range.clone()].iter().zip(&base[range])).fold(0, |a, (&c, &b)| a | (c ^ b))
        };
        mask |= u64::from(diff != 0) << i;
    }
    mask
}

/// Writes the fields whose bit is set in `mask`, which has no bit past the last field.
#[inline(always)]
pub(crate) fn write_changed_fields(
    w: &mut BitWriter<'_>,
    kind: &KindLayout,
    mask: u64,
    cur: &[u32],
    base: &[u32],
) {
    let mut left = mask;
    while left != 0 {
        let i = left.trailing_zeros() as usize;
        left &= left - 1;
        write_field_delta(w, &kind.fields[i], cur, base);
    }
}

fn read_changed_fields(
    r: &mut BitReader<'_>,
    kind: &KindLayout,
    mask: u64,
    base: &[u32],
    out: &mut [u32],
) -> Result<(), DecodeError> {
    for (i, f) in kind.fields.iter().enumerate() {
        if mask & (1 << i) != 0 {
            read_field_delta(r, f, base, out)?;
        }
    }
    Ok(())
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
    match base {
        None => {
            scratch.touched.clear();
            scratch.created.clear();
            scratch.created.extend(0..cur.len() as u32);
            Plan {
                flags: FLAG_FULL | if cur.is_empty() { 0 } else { FLAG_CREATES },
                room_mask: 0,
            }
        }
        Some(base) => {
            diff_entities(cur, base, scratch);
            let room_mask = changed_mask(&layout.room, &cur.room, &base.room);
            let mut flags = 0;
            if room_mask != 0 {
                flags |= FLAG_ROOM;
            }
            if !scratch.touched.is_empty() {
                flags |= FLAG_UPDATES;
            }
            if !scratch.created.is_empty() {
                flags |= FLAG_CREATES;
            }
            Plan { flags, room_mask }
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
                write_field_full(w, f, &cur.room);
            }
        }
        Some(base) => {
            if plan.room_mask != 0 {
                write_mask(w, plan.room_mask, layout.room.fields.len());
                write_changed_fields(w, &layout.room, plan.room_mask, &cur.room, &base.room);
            }
            if !scratch.touched.is_empty() {
                write_updates(w, layout, cur, base, &scratch.touched);
            }
        }
    }
    // No creation section without FLAG_CREATES: the decoder would not read it.
    if !scratch.created.is_empty() {
        write_creations(w, layout, cur, &scratch.created);
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

pub(crate) fn write_header(
    w: &mut BitWriter<'_>,
    flags: u32,
    tick: u32,
    base: Option<u32>,
    seq: Option<u32>,
) {
    w.write(flags, 4);
    w.write_uvar(tick);
    if let Some(b) = base {
        w.write_uvar(tick - b);
    }
    w.write_uvar(seq.map_or(0, |s| s.saturating_add(1)));
}

/// Merge-walks both id-sorted entity lists; fills `touched` and `created`.
fn diff_entities(cur: &Snapshot, base: &Snapshot, scratch: &mut EncodeScratch) {
    scratch.touched.clear();
    scratch.created.clear();
    let (mut bi, mut ci) = (0usize, 0usize);
    let (bn, cn) = (base.ids.len(), cur.ids.len());
    while bi < bn && ci < cn {
        let (bid, cid) = (base.ids[bi], cur.ids[ci]);
        if bid == cid {
            let n = diff_aligned(cur, ci, base, bi, scratch);
            bi += n;
            ci += n;
        } else if bid < cid {
            scratch.touched.push((bi as u32, REMOVED));
            bi += 1;
        } else {
            scratch.created.push(ci as u32);
            ci += 1;
        }
    }
    scratch
        .touched
        .extend((bi..bn).map(|b| (b as u32, REMOVED)));
    scratch.created.extend((ci..cn).map(|c| c as u32));
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
    scratch: &mut EncodeScratch,
) -> usize {
    let n = (base.len() - bi).min(cur.len() - ci);
    // Equal-length subslices let the compiler drop the bounds checks in the loops.
    let (bids, cids) = (&base.ids[bi..bi + n], &cur.ids[ci..ci + n]);
    let (bkinds, ckinds) = (&base.kinds[bi..bi + n], &cur.kinds[ci..ci + n]);
    let (bstarts, cstarts) = (&base.starts[bi..=bi + n], &cur.starts[ci..=ci + n]);
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
                    &base.words[bs[0] as usize..bs[DIFF_BLOCK] as usize],
                    &cur.words[cs[0] as usize..cs[DIFF_BLOCK] as usize],
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
            let bw = &base.words[bstarts[k] as usize..bstarts[k + 1] as usize];
            let cw = &cur.words[cstarts[k] as usize..cstarts[k + 1] as usize];
            let (b, c) = ((bi + k) as u32, (ci + k) as u32);
            if bkinds[k] != ckinds[k] {
                scratch.touched.push((b, REMOVED));
                scratch.created.push(c);
            } else if !words_eq(bw, cw) {
                scratch.touched.push((b, c));
            }
        }
        j = end;
    }
    n
}

/// Index form of an update section: picks sparse (a uvar per index) or dense (a bit per
/// baseline entity), whichever is smaller, and writes the choice.
pub(crate) struct UpdateIndices {
    sparse: bool,
    next: u32,
    base_len: u32,
}

impl UpdateIndices {
    pub(crate) fn begin(w: &mut BitWriter<'_>, touched: &[(u32, u32)], base_len: usize) -> Self {
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
    pub(crate) fn write(&mut self, w: &mut BitWriter<'_>, bi: u32) {
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
    pub(crate) fn finish(self, w: &mut BitWriter<'_>) {
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

/// Reads a snapshot frame's header without decoding the body, to find its baseline.
pub fn peek_snapshot_header(frame: &[u8]) -> Result<SnapshotHeader, DecodeError> {
    read_header(frame).map(|(h, _, _)| h)
}

fn read_header(frame: &[u8]) -> Result<(SnapshotHeader, u32, BitReader<'_>), DecodeError> {
    match frame.first() {
        Some(&FRAME_SNAPSHOT) => {}
        Some(&other) => return Err(DecodeError::UnknownFrame(other)),
        None => return Err(DecodeError::UnexpectedEnd),
    }
    let mut r = BitReader::new(&frame[1..]);
    let flags = r.read(4)?;
    let tick = r.read_uvar()?;
    let baseline = if flags & FLAG_FULL == 0 {
        let back = r.read_uvar()?;
        if back == 0 || back > tick {
            return Err(DecodeError::BadTick);
        }
        Some(tick - back)
    } else {
        if flags & (FLAG_ROOM | FLAG_UPDATES) != 0 {
            return Err(DecodeError::BadMessage);
        }
        None
    };
    let last_input_seq = r.read_uvar()?.checked_sub(1);
    Ok((
        SnapshotHeader {
            tick,
            baseline,
            last_input_seq,
        },
        flags,
        r,
    ))
}

/// Decodes a snapshot frame into `out`. A delta needs the baseline it names:
/// `baseline(tick)` must return the snapshot this client decoded for that tick.
///
/// On error `out` holds unspecified content and must not be used as a baseline.
pub fn decode_snapshot<'b>(
    layout: &Layout,
    frame: &[u8],
    baseline: impl FnOnce(u32) -> Option<&'b Snapshot>,
    scratch: &mut DecodeScratch,
    out: &mut Snapshot,
) -> Result<SnapshotHeader, DecodeError> {
    let (header, flags, mut r) = read_header(frame)?;
    match header.baseline {
        None => {
            out.clear(layout, header.tick);
            for f in &layout.room.fields {
                read_field_full(&mut r, f, &mut out.room)?;
            }
            if flags & FLAG_CREATES != 0 {
                read_creations(&mut r, layout, out)?;
            }
        }
        Some(b) => {
            let base = baseline(b)
                .filter(|s| s.tick == b)
                .ok_or(DecodeError::MissingBaseline(b))?;
            let updated = &mut scratch.updated;
            if flags & FLAG_UPDATES == 0 {
                updated.clone_from(base);
                updated.tick = header.tick;
            } else {
                updated.clear(layout, header.tick);
                updated.room.copy_from_slice(&base.room);
            }
            if flags & FLAG_ROOM != 0 {
                let n = layout.room.fields.len();
                let mask = read_mask(&mut r, n)?;
                if mask == 0 || (n < 64 && mask >> n != 0) {
                    return Err(DecodeError::BadFieldMask);
                }
                read_changed_fields(&mut r, &layout.room, mask, &base.room, &mut updated.room)?;
            }
            if flags & FLAG_UPDATES != 0 {
                read_updates(&mut r, layout, base, updated)?;
            }
            if flags & FLAG_CREATES != 0 {
                let created = &mut scratch.created;
                created.clear(layout, header.tick);
                read_creations(&mut r, layout, created)?;
                merge(updated, created, out)?;
                out.tick = header.tick;
            } else {
                std::mem::swap(out, updated);
            }
        }
    }
    r.expect_end()?;
    Ok(header)
}

fn push_copy(dst: &mut Snapshot, src: &Snapshot, i: usize) -> Result<(), DecodeError> {
    dst.push_from(src, i)
        .map_err(|e| DecodeError::DuplicateEntity(e.id))
}

fn read_updates(
    r: &mut BitReader<'_>,
    layout: &Layout,
    base: &Snapshot,
    out: &mut Snapshot,
) -> Result<(), DecodeError> {
    let n = base.len();
    let sparse = r.read_bool()?;
    let mut remaining = if sparse {
        let count = r.read_uvar()? as usize;
        if count == 0 || count > n {
            return Err(DecodeError::BadEntityIndex);
        }
        count
    } else {
        0
    };
    let mut next_index = 0usize;
    let mut prev_mask = 0u64;
    loop {
        let touched = if sparse {
            if remaining == 0 {
                break;
            }
            remaining -= 1;
            let idx = next_index
                .checked_add(r.read_uvar()? as usize)
                .filter(|&i| i < n);
            let idx = idx.ok_or(DecodeError::BadEntityIndex)?;
            for i in next_index..idx {
                push_copy(out, base, i)?;
            }
            next_index = idx;
            true
        } else {
            if next_index == n {
                break;
            }
            r.read_bool()?
        };
        let bi = next_index;
        next_index += 1;
        if !touched {
            push_copy(out, base, bi)?;
            continue;
        }
        let (id, kind, bw) = base.entity(bi);
        let kl = &layout.kinds[usize::from(kind)];
        let mask = if r.read_bool()? {
            prev_mask
        } else {
            prev_mask = read_mask(r, kl.fields.len())?;
            prev_mask
        };
        let nf = kl.fields.len();
        if nf < 64 && mask >> nf != 0 {
            return Err(DecodeError::BadFieldMask);
        }
        if mask == 0 {
            continue;
        }
        let dst = out
            .push_words(id, kind, bw.len())
            .map_err(|e| DecodeError::DuplicateEntity(e.id))?;
        dst.copy_from_slice(bw);
        read_changed_fields(r, kl, mask, bw, dst)?;
    }
    for i in next_index..n {
        push_copy(out, base, i)?;
    }
    Ok(())
}

fn read_creations(
    r: &mut BitReader<'_>,
    layout: &Layout,
    out: &mut Snapshot,
) -> Result<(), DecodeError> {
    let count = r.read_uvar()? as usize;
    if count == 0 || count > MAX_ENTITIES || count > r.remaining_bits() / 4 {
        return Err(DecodeError::BadEntityIndex);
    }
    let mut next_id: u64 = 0;
    for _ in 0..count {
        let id = next_id + u64::from(r.read_uvar()?);
        let id = EntityId::try_from(id).map_err(|_| DecodeError::BadEntityIndex)?;
        next_id = u64::from(id) + 1;
        let kind = r.read(layout.kind_bits)?;
        let kl = layout
            .kinds
            .get(kind as usize)
            .ok_or(DecodeError::UnknownKind(kind))?;
        let dst = out
            .push_words(id, kind as u16, kl.words)
            .map_err(|e| DecodeError::DuplicateEntity(e.id))?;
        for f in &kl.fields {
            read_field_full(r, f, dst)?;
        }
    }
    Ok(())
}

fn merge(a: &Snapshot, b: &Snapshot, out: &mut Snapshot) -> Result<(), DecodeError> {
    out.ids.clear();
    out.kinds.clear();
    out.starts.clear();
    out.starts.push(0);
    out.words.clear();
    out.room.clear();
    out.room.extend_from_slice(&a.room);
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a.ids[i] < b.ids[j] {
            push_copy(out, a, i)?;
            i += 1;
        } else {
            push_copy(out, b, j)?;
            j += 1;
        }
    }
    for k in i..a.len() {
        push_copy(out, a, k)?;
    }
    for k in j..b.len() {
        push_copy(out, b, k)?;
    }
    Ok(())
}
