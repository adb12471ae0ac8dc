//! Fuzz target `server_frame`: see `tickwire_protocol_fuzz::server_frame` and the crate README.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tickwire_protocol_fuzz::server_frame(data));
