//! Fuzz target `client_frame`: see `tickwire_protocol_fuzz::client_frame` and the crate README.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tickwire_protocol_fuzz::client_frame(data));
