//! A ring of the last N snapshots, looked up by tick.

use crate::snapshot::Snapshot;

/// Default number of snapshots a history keeps.
pub const DEFAULT_HISTORY: usize = 32;

/// The last `capacity` snapshots, in the order they were stored.
///
/// The server keeps one per client (the views it sent), the client keeps the ones it decoded.
/// A delta may only name a baseline held by both: the server uses the newest acknowledged tick
/// still in its ring, and since a client stores a subset of what was sent, in the same order,
/// with the same capacity, that tick is still in the client's ring too.
#[derive(Debug, Clone)]
pub struct SnapshotHistory {
    slots: Vec<Snapshot>,
    ticks: Vec<Option<u32>>,
    next: usize,
}

impl SnapshotHistory {
    /// An empty ring of `capacity` (at least 1) snapshots.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            slots: vec![Snapshot::default(); capacity],
            ticks: vec![None; capacity],
            next: 0,
        }
    }

    /// Number of snapshots it can hold.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The snapshot stored for `tick`, if still held.
    pub fn get(&self, tick: u32) -> Option<&Snapshot> {
        let i = self.ticks.iter().position(|t| *t == Some(tick))?;
        Some(&self.slots[i])
    }

    /// Whether `tick` is held.
    pub fn contains(&self, tick: u32) -> bool {
        self.slot_of(tick).is_some()
    }

    /// The most recently stored snapshot.
    pub fn newest(&self) -> Option<&Snapshot> {
        let i = (self.next + self.slots.len() - 1) % self.slots.len();
        self.ticks[i].map(|_| &self.slots[i])
    }

    /// Evicts the oldest slot and hands it out to be overwritten with the snapshot for `tick`.
    /// The slot's buffers are reused. Until [`SnapshotHistory::commit`], the slot holds no tick.
    pub fn begin(&mut self, tick: u32) -> &mut Snapshot {
        let i = self.next;
        self.ticks[i] = None;
        let s = &mut self.slots[i];
        s.tick = tick;
        s
    }

    /// Makes the slot handed out by the last [`SnapshotHistory::begin`] visible under its tick.
    pub fn commit(&mut self) {
        let i = self.next;
        self.ticks[i] = Some(self.slots[i].tick);
        self.next = (i + 1) % self.slots.len();
    }

    /// Both the slot being written and the baseline for `base` (if held and distinct).
    pub fn begin_with_base(
        &mut self,
        tick: u32,
        base: Option<u32>,
    ) -> (&mut Snapshot, Option<&Snapshot>) {
        let i = self.next;
        self.ticks[i] = None;
        let b = base.and_then(|b| self.ticks.iter().position(|t| *t == Some(b)));
        self.slots[i].tick = tick;
        match b {
            Some(b) if b < i => {
                let (lo, hi) = self.slots.split_at_mut(i);
                (&mut hi[0], Some(&lo[b]))
            }
            Some(b) => {
                let (lo, hi) = self.slots.split_at_mut(b);
                (&mut lo[i], Some(&hi[0]))
            }
            None => (&mut self.slots[i], None),
        }
    }

    /// Index of the slot the next [`SnapshotHistory::begin`] hands out.
    pub(crate) fn next_slot(&self) -> usize {
        self.next
    }

    /// Index of the slot holding `tick`.
    pub(crate) fn slot_of(&self, tick: u32) -> Option<usize> {
        // Newest first: the ticks asked for are usually recent.
        let n = self.ticks.len();
        (1..=n)
            .map(|k| (self.next + n - k) % n)
            .find(|&i| self.ticks[i] == Some(tick))
    }

    /// Tick held in slot `i`.
    pub(crate) fn tick_of(&self, i: usize) -> Option<u32> {
        self.ticks[i]
    }

    /// Slot `i`, whatever it holds.
    pub(crate) fn slot(&self, i: usize) -> &Snapshot {
        &self.slots[i]
    }

    /// Slot `i`, to rewrite in place (its tick stays).
    pub(crate) fn slot_mut(&mut self, i: usize) -> &mut Snapshot {
        &mut self.slots[i]
    }

    /// Forgets the tick held in slot `i`.
    pub(crate) fn forget_slot(&mut self, i: usize) {
        self.ticks[i] = None;
    }

    /// Forgets every snapshot (buffers are kept).
    pub fn clear(&mut self) {
        self.ticks.fill(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_n() {
        let mut h = SnapshotHistory::new(4);
        for t in 10..20 {
            h.begin(t);
            h.commit();
        }
        assert!(!h.contains(15));
        for t in 16..20 {
            assert_eq!(h.get(t).unwrap().tick, t);
        }
        assert_eq!(h.newest().unwrap().tick, 19);
        let (slot, base) = h.begin_with_base(20, Some(18));
        slot.tick = 20;
        assert_eq!(base.unwrap().tick, 18);
        h.commit();
        assert!(!h.contains(16));
        let (_, base) = h.begin_with_base(21, Some(16));
        assert!(base.is_none());
    }
}
