//! Clock sync.
