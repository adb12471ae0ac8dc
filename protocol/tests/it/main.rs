//! Protocol tests: codec, simulated sessions over a lossy link, golden vectors, random bytes,
//! the server session's entry points, and the test kit's generator.

mod codec;
mod golden;
mod random_bytes;
mod random_sessions;
mod rng;
mod session;
mod sim;
mod typed;
mod util;
mod views;
