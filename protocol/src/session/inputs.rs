//! The server's per-client input buffer: dedupe, order, and hand out inputs at their tick.

use std::collections::VecDeque;

use crate::input::{InputPacket, InputRef};

/// Counters of what happened to a client's inputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputStats {
    /// Inputs accepted (each sequence number counted once).
    pub accepted: u64,
    /// Copies of inputs already received (redundancy doing its job).
    pub duplicates: u64,
    /// Sequence numbers never received, skipped over by a newer input.
    pub lost: u64,
    /// Inputs that arrived after their tick had been simulated; applied at the next tick.
    pub late: u64,
    /// Inputs stamped too far ahead; moved back to the furthest allowed tick.
    pub early: u64,
    /// Inputs dropped because the buffer was full.
    pub overflow: u64,
}

/// Pending inputs of one client, sorted by sequence number with non-decreasing ticks.
///
/// Each sequence number is accepted once ([`InputBuffer::handle_packet`]) and handed out once
/// ([`InputBuffer::drain`]), at the first tick at or after its target tick.
#[derive(Debug, Clone)]
pub struct InputBuffer {
    stride: usize,
    capacity: usize,
    max_lead: u32,
    highest_seq: Option<u32>,
    last_applied: Option<u32>,
    pending: VecDeque<(u32, u32)>,
    words: VecDeque<u32>,
    stats: InputStats,
}

impl InputBuffer {
    /// A buffer for inputs of `stride` words, holding at most `capacity` pending inputs and
    /// accepting target ticks at most `max_lead` ticks ahead of the current one.
    pub fn new(stride: usize, capacity: usize, max_lead: u32) -> Self {
        Self {
            stride,
            capacity: capacity.max(1),
            max_lead,
            highest_seq: None,
            last_applied: None,
            pending: VecDeque::new(),
            words: VecDeque::new(),
            stats: InputStats::default(),
        }
    }

    /// Takes in a decoded packet while the server is at tick `now` (not yet simulated).
    pub fn handle_packet(&mut self, now: u32, packet: &InputPacket) {
        for k in (0..packet.len()).rev() {
            self.push(now, packet.get(k));
        }
    }

    fn push(&mut self, now: u32, input: InputRef<'_>) {
        if self.highest_seq.is_some_and(|h| input.seq <= h) {
            self.stats.duplicates += 1;
            return;
        }
        let expected = self.highest_seq.map_or(input.seq, |h| h.wrapping_add(1));
        self.stats.lost += u64::from(input.seq.wrapping_sub(expected));
        self.highest_seq = Some(input.seq);
        self.stats.accepted += 1;
        let mut tick = input.tick;
        if tick < now {
            self.stats.late += 1;
            tick = now;
        }
        let limit = now.saturating_add(self.max_lead);
        if tick > limit {
            self.stats.early += 1;
            tick = limit;
        }
        if let Some(&(_, last_tick)) = self.pending.back() {
            tick = tick.max(last_tick);
        }
        if self.pending.len() == self.capacity {
            self.pending.pop_front();
            self.words.drain(..self.stride);
            self.stats.overflow += 1;
        }
        self.pending.push_back((input.seq, tick));
        self.words.extend(input.words.iter().copied());
    }

    /// Hands every input due at or before `tick` to `apply`, oldest first.
    pub fn drain(&mut self, tick: u32, mut apply: impl FnMut(u32, &[u32])) {
        let mut buf = [0u32; 64];
        while let Some(&(seq, t)) = self.pending.front() {
            if t > tick {
                break;
            }
            self.pending.pop_front();
            if self.stride <= buf.len() {
                for (dst, src) in buf.iter_mut().zip(self.words.drain(..self.stride)) {
                    *dst = src;
                }
                apply(seq, &buf[..self.stride]);
            } else {
                let words: Vec<u32> = self.words.drain(..self.stride).collect();
                apply(seq, &words);
            }
            self.last_applied = Some(seq);
        }
    }

    /// Newest sequence number handed out by [`InputBuffer::drain`].
    pub fn last_applied(&self) -> Option<u32> {
        self.last_applied
    }

    /// Inputs waiting for their tick.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Counters.
    pub fn stats(&self) -> InputStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(newest_seq: u32, inputs: &[(u32, u32)]) -> InputPacket {
        let mut p = InputPacket::default();
        p.clear(1);
        p.newest_seq = newest_seq;
        for &(tick, v) in inputs {
            p.push_older(tick, &[v]);
        }
        p
    }

    #[test]
    fn dedupes_orders_and_applies_at_tick() {
        let mut b = InputBuffer::new(1, 16, 30);
        b.handle_packet(10, &packet(2, &[(12, 2), (11, 1), (11, 0)]));
        b.handle_packet(10, &packet(3, &[(13, 3), (12, 2), (11, 1)]));
        let mut got = Vec::new();
        b.drain(11, |seq, w| got.push((seq, w[0])));
        assert_eq!(got, vec![(0, 0), (1, 1)]);
        b.drain(13, |seq, w| got.push((seq, w[0])));
        assert_eq!(got, vec![(0, 0), (1, 1), (2, 2), (3, 3)]);
        assert_eq!(b.last_applied(), Some(3));
        let s = b.stats();
        assert_eq!((s.accepted, s.duplicates, s.lost), (4, 2, 0));
    }

    #[test]
    fn late_early_lost_and_overflow_are_counted() {
        let mut b = InputBuffer::new(1, 2, 5);
        b.handle_packet(20, &packet(0, &[(3, 0)]));
        b.handle_packet(20, &packet(5, &[(100, 5)]));
        b.handle_packet(20, &packet(6, &[(26, 6)]));
        let s = b.stats();
        assert_eq!((s.late, s.early, s.lost, s.overflow), (1, 2, 4, 1));
        let mut got = Vec::new();
        b.drain(25, |seq, _| got.push(seq));
        assert_eq!(got, vec![5, 6]);
    }
}
