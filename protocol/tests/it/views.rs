//! View snapshots written from shared per-entity pieces are the frames the direct encoder
//! writes for the same views: for random worlds and views, with and without the cache, and
//! for a session ticking, acknowledging late, parking and resuming.

use proptest::prelude::*;
use tickwire_protocol::session::{
    Replication, ServerConfig, ServerEvent, ServerSession, SnapshotHistory, TickTime,
};
use tickwire_protocol::testkit::frames::encode_snapshot_frame;
use tickwire_protocol::{DeltaCache, EncodeScratch, Layout, Snapshot, View, encode_view_snapshot};

use super::random_bytes::{config, fill, hello, input, layout};

/// One entity id across two ticks: whether it exists at each, its kind and value seed at each,
/// and whether the client's view holds it at each.
#[derive(Debug, Clone)]
struct Slot {
    gap: u32,
    at: [Option<(u16, u64, bool)>; 2],
}

fn slot() -> impl Strategy<Value = Slot> {
    let state = prop_oneof![
        1 => Just(None),
        4 => (0u16..3, 0u64..4, prop::bool::weighted(0.7)).prop_map(Some),
    ];
    (0u32..3, state.clone(), state, 0u8..4).prop_map(|(gap, a, b, same)| {
        // Often the same kind and values at both ticks, as most entities of a world are.
        let b = match (a, b) {
            (Some((k, s, _)), Some((_, _, v))) if same < 2 => Some((k, s, v)),
            (Some((k, _, _)), Some((_, s, v))) if same == 2 => Some((k, s + 10, v)),
            _ => b,
        };
        Slot { gap, at: [a, b] }
    })
}

/// The world at tick `ticks[i]` and the rows the client sees.
fn world(
    layout: &Layout,
    slots: &[Slot],
    i: usize,
    tick: u32,
    room_seed: u64,
) -> (Snapshot, Vec<u32>) {
    let schema = layout.schema();
    let mut s = Snapshot::new(layout);
    s.clear(layout, tick);
    fill(&layout.room, &schema.room, s.room_mut(), room_seed);
    let (mut id, mut rows) = (0u32, Vec::new());
    for slot in slots {
        id += 1 + slot.gap;
        if let Some((kind, seed, seen)) = slot.at[i] {
            if seen {
                rows.push(s.len() as u32);
            }
            let words = s.push(layout, id, kind).expect("ids increase");
            let k = usize::from(kind);
            fill(
                &layout.kinds[k],
                &schema.kinds[k].fields,
                words,
                seed ^ u64::from(id) << 8,
            );
        }
    }
    (s, rows)
}

fn direct(layout: &Layout, cur: View<'_>, base: Option<View<'_>>, seq: Option<u32>) -> Vec<u8> {
    let (mut c, mut b) = (Snapshot::default(), Snapshot::default());
    cur.copy_into(&mut c);
    if let Some(v) = base {
        v.copy_into(&mut b);
    }
    encode_snapshot_frame(layout, &c, base.map(|_| &b), seq)
}

fn via_views(
    layout: &Layout,
    cur: View<'_>,
    base: Option<View<'_>>,
    seq: Option<u32>,
    cache: &DeltaCache,
) -> Vec<u8> {
    let mut out = vec![0xaa];
    encode_view_snapshot(
        layout,
        cur,
        base,
        seq,
        cache,
        &mut EncodeScratch::default(),
        &mut out,
    );
    // Appends after what is there.
    assert_eq!(out[0], 0xaa);
    out.remove(0);
    out
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn view_frames_equal_the_direct_encoders(
        slots in prop::collection::vec(slot(), 0..40),
        same_room in any::<bool>(),
        seq in prop::option::of(any::<u32>()),
    ) {
        let layout = layout();
        let (bworld, brows) = world(&layout, &slots, 0, 7, 1);
        let (cworld, crows) = world(&layout, &slots, 1, 9, if same_room { 1 } else { 2 });
        let cur = View { world: &cworld, rows: &crows };
        let base = View { world: &bworld, rows: &brows };

        let mut cache = DeltaCache::default();
        cache.reset(&layout, &cworld);
        // Full snapshots need only the reset.
        prop_assert_eq!(via_views(&layout, cur, None, seq, &cache), direct(&layout, cur, None, seq));
        cache.add_base(&layout, &cworld, &bworld);
        prop_assert!(cache.has_base(7));
        let want = direct(&layout, cur, Some(base), seq);
        prop_assert_eq!(via_views(&layout, cur, Some(base), seq, &cache), want.clone());
        // Without the pieces (another tick's cache, or none), the same frame, encoded directly.
        prop_assert_eq!(via_views(&layout, cur, Some(base), seq, &DeltaCache::default()), want.clone());
        let mut stale = DeltaCache::default();
        stale.reset(&layout, &bworld);
        prop_assert_eq!(via_views(&layout, cur, Some(base), seq, &stale), want);
    }
}

/// A world that changes every tick: entities come and go, some move, some turn into another
/// kind, the room changes now and then.
fn tick_world(layout: &Layout, tick: u32) -> Snapshot {
    let schema = layout.schema();
    let mut s = Snapshot::new(layout);
    s.clear(layout, tick);
    fill(
        &layout.room,
        &schema.room,
        s.room_mut(),
        u64::from(tick / 5),
    );
    for id in 0..60u32 {
        let h = id.wrapping_mul(2_654_435_761) ^ (tick / 7);
        if (h + tick / 3).is_multiple_of(9) {
            continue;
        }
        let kind = ((id + tick / 11) % 3) as u16;
        let seed = if id % 4 == 0 {
            u64::from(id)
        } else {
            u64::from(id) << 20 | u64::from(tick)
        };
        let words = s.push(layout, id, kind).expect("ids increase");
        let k = usize::from(kind);
        fill(&layout.kinds[k], &schema.kinds[k].fields, words, seed);
    }
    s
}

/// The rows of `world` a client sees at `tick`: a window sliding over the ids.
fn view_rows(world: &Snapshot, tick: u32) -> Vec<u32> {
    let lo = tick % 40;
    (0..world.len() as u32)
        .filter(|&r| {
            let id = world.ids()[r as usize];
            id >= lo && id < lo + 25
        })
        .collect()
}

fn established(
    layout: &std::sync::Arc<Layout>,
    history: usize,
    tick: u32,
    resumed: Option<Replication>,
) -> ServerSession {
    let config = ServerConfig {
        history,
        ..ServerConfig::default()
    };
    let mut s = ServerSession::new(layout.clone(), config);
    let now = TickTime { tick, fraction: 0 };
    s.handle_frame(now, &hello(None)).expect("valid hello");
    assert!(matches!(s.poll_event(), Some(ServerEvent::Hello { .. })));
    s.accept(now, 1, None, [1; 16], resumed.map(|r| (r, None)));
    let mut out = Vec::new();
    while s.poll_transmit(&mut out).is_some() {}
    s
}

#[test]
fn a_session_writes_the_same_frames_from_rows_as_from_copies() {
    let layout = layout();
    let history = 8;
    // One session keeps copies of its views, the other rows of the shared worlds.
    let mut copies = established(&layout, history, 1, None);
    let mut rows = established(&layout, history, 1, None);
    let mut worlds = SnapshotHistory::new(history + 2);
    let mut cache = DeltaCache::default();
    let (mut s1, mut s2) = (EncodeScratch::default(), EncodeScratch::default());
    let (mut f1, mut f2) = (Vec::new(), Vec::new());
    let (mut deltas, mut fulls, mut resumes) = (0, 0, 0);
    for tick in 2..150u32 {
        let w = worlds.begin(tick);
        *w = tick_world(&layout, tick);
        worlds.commit();
        let world = worlds.get(tick).expect("just stored");
        cache.reset(&layout, world);
        if let Some(b) = rows.baseline_for(tick)
            && let Some(bw) = worlds.get(b)
        {
            cache.add_base(&layout, world, bw);
        }
        let view = view_rows(world, tick);
        copies.write_snapshot(tick, &mut s1, |snap| {
            snap.room_mut().copy_from_slice(world.room());
            snap.extend_from(world, &view).expect("rows increase");
        });
        rows.write_view_snapshot(world, &worlds, &cache, &mut s2, |r| {
            r.extend_from_slice(&view)
        });
        assert!(copies.poll_transmit(&mut f1).is_some());
        assert!(rows.poll_transmit(&mut f2).is_some());
        assert_eq!(f1, f2, "tick {tick}");
        if f1.get(1).is_some_and(|b| b & 1 == 1) {
            fulls += 1;
        } else {
            deltas += 1;
        }

        // Acks arrive late, sometimes not at all, and sometimes name a tick no longer held.
        let ack = match tick % 13 {
            0..=2 => None,
            3 => Some(tick.saturating_sub(20)),
            k => Some(tick - (k % 3)),
        };
        if let Some(a) = ack {
            let now = TickTime {
                tick: tick + 1,
                fraction: 0,
            };
            let frame = input(Some(a), tick, &[]);
            copies.handle_frame(now, &frame).expect("valid input");
            rows.handle_frame(now, &frame).expect("valid input");
        }

        // Twice the connection drops and comes back. Parking detaches the views from the
        // worlds, which then move on while the client is away.
        if tick == 60 || tick == 100 {
            let (r1, mut r2) = (copies.take_replication(), rows.take_replication());
            r2.detach_views(&worlds);
            for k in 0..(history as u32 + 4) {
                worlds.begin(10_000 + tick + k);
                worlds.commit();
            }
            copies = established(&layout, history, tick + 1, Some(r1));
            rows = established(&layout, history, tick + 1, Some(r2));
            resumes += 1;
        }
    }
    assert!(deltas > 100, "{deltas} deltas");
    assert!(fulls >= 1, "{fulls} full snapshots");
    assert_eq!(resumes, 2);
}
