//! What a connection's client must respect: message size, message rate, and the timeouts of
//! its connection. One [`Admission`] per connection, shared by its WebSocket task and the
//! WebRTC driver, so a frame pays the limits once, whichever path it took.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tickwire_protocol::{CloseCode, CloseReason};

use crate::config::Config;

/// The limits of every connection, from the config.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Largest message, in bytes.
    pub(crate) max_message_size: usize,
    /// Sustained messages per second.
    pub(crate) rate: u32,
    /// Messages allowed in a burst above the rate.
    pub(crate) burst: u32,
    /// From the TCP accept to the hello.
    pub(crate) handshake: Duration,
    /// Nothing received for this long closes the connection.
    pub(crate) idle: Duration,
    /// Interval of the server's WebSocket pings.
    pub(crate) heartbeat: Duration,
    /// Longest a single write may take.
    pub(crate) write: Duration,
    /// Silence on open data channels before falling back to the WebSocket.
    pub(crate) stall: Duration,
}

impl Limits {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            max_message_size: config.max_message_size,
            rate: config.client_rate_limit,
            burst: config.client_rate_burst,
            handshake: Duration::from_millis(config.handshake_timeout_ms),
            idle: Duration::from_millis(config.idle_timeout_ms),
            heartbeat: Duration::from_millis(config.heartbeat_ms),
            write: Duration::from_millis(config.write_timeout_ms),
            stall: config.webrtc_stall(),
        }
    }
}

/// One connection's admission of the client's frames.
#[derive(Debug)]
pub(crate) struct Admission {
    pub(crate) limits: Limits,
    /// Locked once per frame, by the connection's task or by the driver thread: they contend
    /// only while a client sends on both paths at once.
    bucket: Mutex<TokenBucket>,
}

impl Admission {
    pub(crate) fn new(limits: Limits, now: Instant) -> Self {
        Self {
            limits,
            bucket: Mutex::new(TokenBucket::new(limits.rate, limits.burst, now)),
        }
    }

    /// Admits one frame of `len` bytes from the client: `Err` is the reason to close.
    pub(crate) fn admit(&self, now: Instant, len: usize) -> Result<(), CloseReason> {
        let l = &self.limits;
        if len > l.max_message_size {
            return Err(CloseReason::new(
                CloseCode::MESSAGE_TOO_LARGE,
                format!("message of {len} bytes exceeds {}", l.max_message_size),
            ));
        }
        let allowed = match self.bucket.lock() {
            Ok(mut b) => b.allow(now),
            Err(poisoned) => poisoned.into_inner().allow(now),
        };
        if !allowed {
            return Err(CloseReason::new(
                CloseCode::RATE_LIMITED,
                format!("more than {} messages/s (burst {})", l.rate, l.burst),
            ));
        }
        Ok(())
    }
}

/// Token bucket over messages.
#[derive(Debug)]
struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: u32, burst: u32, now: Instant) -> Self {
        Self {
            rate: f64::from(rate),
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: now,
        }
    }

    fn allow(&mut self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_allows_burst_then_rate() {
        let t0 = Instant::now();
        let mut r = TokenBucket::new(10, 5, t0);
        assert!((0..5).all(|_| r.allow(t0)));
        assert!(!r.allow(t0));
        assert!(r.allow(t0 + Duration::from_millis(100)));
        assert!(!r.allow(t0 + Duration::from_millis(100)));
    }

    #[test]
    fn one_bucket_for_every_path() {
        let t0 = Instant::now();
        let limits = Limits::new(&Config {
            client_rate_limit: 10,
            client_rate_burst: 4,
            ..Config::default()
        });
        let a = std::sync::Arc::new(Admission::new(limits, t0));
        let other_path = a.clone();
        assert!(a.admit(t0, 10).is_ok());
        assert!(other_path.admit(t0, 10).is_ok());
        assert!(a.admit(t0, 10).is_ok());
        assert!(other_path.admit(t0, 10).is_ok());
        let refused = a.admit(t0, 10).unwrap_err();
        assert_eq!(refused.code, CloseCode::RATE_LIMITED);
        let too_big = a
            .admit(t0 + Duration::from_secs(1), limits.max_message_size + 1)
            .unwrap_err();
        assert_eq!(too_big.code, CloseCode::MESSAGE_TOO_LARGE);
    }
}
