//! Fuzz target `round_trip`: see `tickwire_protocol_fuzz::round_trip` and the crate README.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tickwire_protocol_fuzz::round_trip(data));
