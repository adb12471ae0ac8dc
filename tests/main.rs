//! Server integration tests: one binary, real sockets on port 0, an in-process server per test.

mod abuse;
mod drain;
mod generated_ts;
mod harness;
mod http;
mod metrics;
mod play;
mod relay;
mod rooms;
mod server;
mod tls;
mod webrtc;
