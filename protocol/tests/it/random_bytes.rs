//! random_bytes tests.
