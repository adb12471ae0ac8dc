//! tickwire server.
