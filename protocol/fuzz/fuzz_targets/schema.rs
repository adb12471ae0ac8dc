//! Fuzz target `schema`: see `tickwire_protocol_fuzz::schema` and the crate README.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tickwire_protocol_fuzz::schema(data));
