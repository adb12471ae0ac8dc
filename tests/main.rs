//! Server integration tests: one binary, real sockets on port 0, an in-process server per test.

mod harness;
mod relay;
mod server;
mod webrtc;
