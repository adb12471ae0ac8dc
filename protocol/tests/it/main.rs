//! Protocol tests: codec, simulated sessions over a lossy link, golden vectors, random bytes.

mod codec;
mod golden;
mod random_bytes;
mod sim;
mod util;
mod views;
