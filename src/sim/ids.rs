//! Ids the server hands out, the map keyed by them, and which shard hosts a room.

/// Network connection id, unique on the server.
pub type ConnId = u64;

/// A map keyed by ids the server hands out itself (connections, rooms), which no peer chooses:
/// a multiply-based hash instead of SipHash on every inbound frame.
pub(crate) type IdMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// The shard (of `shards`) that hosts the room named `room`.
pub(crate) fn shard_of(room: &str, shards: usize) -> usize {
    // FNV-1a: stable across runs, so a room is always on the same shard.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in room.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % shards.max(1) as u64) as usize
}
