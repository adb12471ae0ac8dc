//! tickwire: an authoritative multiplayer game state server.
