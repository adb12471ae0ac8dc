//! What a connection's client must respect: message size, message and byte rates, and the
//! timeouts of its connection. One [`Admission`] per connection, shared by its WebSocket task
//! and the WebRTC driver, so a frame pays the limits once, whichever path it took. Every frame
//! pays: binary messages, WebSocket pings and pongs, and data-channel messages alike.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tickwire_protocol::{CloseCode, CloseReason};

use super::abuse::Abuse;
use super::bucket::TokenBucket;
use super::gate::Gate;
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
    /// Sustained bytes per second.
    pub(crate) byte_rate: u32,
    /// Bytes allowed in a burst above the byte rate.
    pub(crate) byte_burst: u32,
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
            byte_rate: config.client_byte_rate,
            byte_burst: config.client_byte_burst,
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
    buckets: Mutex<Buckets>,
    /// Where refusals are counted, with the client's address.
    reporter: Option<(Arc<Gate>, IpAddr)>,
}

/// Messages and bytes.
#[derive(Debug)]
struct Buckets {
    messages: TokenBucket,
    bytes: TokenBucket,
}

impl Admission {
    pub(crate) fn new(limits: Limits, now: Instant) -> Self {
        Self {
            limits,
            buckets: Mutex::new(Buckets {
                messages: TokenBucket::new(f64::from(limits.rate), f64::from(limits.burst), now),
                bytes: TokenBucket::new(
                    f64::from(limits.byte_rate),
                    f64::from(limits.byte_burst),
                    now,
                ),
            }),
            reporter: None,
        }
    }

    /// Counts refusals as abuse from `ip` in `gate`.
    pub(crate) fn reporting_to(mut self, gate: Arc<Gate>, ip: IpAddr) -> Self {
        self.reporter = Some((gate, ip));
        self
    }

    /// The client's address, when known and subject to per-address limits.
    pub(crate) fn limited_ip(&self) -> Option<IpAddr> {
        self.reporter
            .as_ref()
            .filter(|(gate, ip)| !gate.is_exempt(*ip))
            .map(|(_, ip)| *ip)
    }

    /// Counts `why` as abuse from this connection's client.
    pub(crate) fn report(&self, why: Abuse, now: Instant) {
        if let Some((gate, ip)) = &self.reporter {
            gate.abuse.record(why, Some(*ip), now);
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
        let (messages, bytes) = {
            let mut b = self
                .buckets
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let messages = b.messages.allow(now, 1.0);
            (messages, messages && b.bytes.allow(now, len as f64))
        };
        if !messages {
            self.report(Abuse::MessageRate, now);
            return Err(CloseReason::new(
                CloseCode::RATE_LIMITED,
                format!("more than {} messages/s (burst {})", l.rate, l.burst),
            ));
        }
        if !bytes {
            self.report(Abuse::ByteRate, now);
            return Err(CloseReason::new(
                CloseCode::RATE_LIMITED,
                format!("more than {} bytes/s (burst {})", l.byte_rate, l.byte_burst),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_allows_burst_then_rate() {
        let t0 = Instant::now();
        let mut r = TokenBucket::new(10.0, 5.0, t0);
        assert!((0..5).all(|_| r.allow(t0, 1.0)));
        assert!(!r.allow(t0, 1.0));
        assert!(!r.is_full(t0));
        assert!(r.allow(t0 + Duration::from_millis(100), 1.0));
        assert!(!r.allow(t0 + Duration::from_millis(100), 1.0));
        assert!(r.is_full(t0 + Duration::from_millis(600)));
    }

    #[test]
    fn bytes_are_limited_with_messages() {
        let t0 = Instant::now();
        let limits = Limits::new(&Config {
            client_byte_rate: 2048,
            client_byte_burst: 4096,
            max_message_size: 4096,
            ..Config::default()
        });
        let a = Admission::new(limits, t0);
        assert!(a.admit(t0, 4000).is_ok());
        let refused = a.admit(t0, 1000).unwrap_err();
        assert_eq!(refused.code, CloseCode::RATE_LIMITED);
        assert!(refused.message.contains("bytes/s"), "{}", refused.message);
        assert!(a.admit(t0 + Duration::from_secs(1), 1000).is_ok());
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
