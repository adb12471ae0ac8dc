//! The server's clock as sessions see it, and the answer to a clock ping built from it.

use crate::message::Pong;

/// The server's clock as the session needs it: the current tick and how far into it we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TickTime {
    /// The tick the simulation is on (not yet stepped).
    pub tick: u32,
    /// Fraction of the tick period elapsed, in 1/65536.
    pub fraction: u16,
}

/// The answer to a ping carrying `client_time_us`, at server time `now`.
///
/// Every path that answers pings (a [`ServerSession`](crate::session::ServerSession), or a network task answering
/// before a session exists) builds its pong here, so clients see one clock.
pub fn pong(now: TickTime, client_time_us: u64) -> Pong {
    Pong {
        client_time_us,
        tick: now.tick,
        tick_fraction: now.fraction,
    }
}
