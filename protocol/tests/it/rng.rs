//! The test kit's generator is splitmix64 exactly as the hand-written copies it replaced: the
//! same stream from the same seed, so fixtures, fuzz seeds and simulations are unchanged.

use tickwire_protocol::testkit::rng::{Rng, mix};

/// splitmix64 as published (Steele, Lea, Flood 2014; Vigna's reference C): the stream
/// every fixture and committed fuzz seed was first generated with.
fn reference_next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[test]
fn the_stream_is_reference_splitmix64_from_the_seed() {
    for seed in [0, 1, 5, 33, 0xabc, 0x1234_5678_9abc_def0, u64::MAX] {
        let (mut rng, mut state) = (Rng::new(seed), seed);
        for _ in 0..1000 {
            assert_eq!(rng.next_u64(), reference_next(&mut state), "seed {seed:#x}");
        }
    }
}

#[test]
fn mix_is_the_first_output_from_the_seed() {
    let mut z = 0x0123_u64;
    for _ in 0..1000 {
        let mut state = z;
        assert_eq!(mix(z), reference_next(&mut state));
        z = mix(z);
    }
}
