//! golden tests.
