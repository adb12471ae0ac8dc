//! Server integration tests: one binary, real sockets on port 0.
