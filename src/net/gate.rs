//! Connection admission on the game port: what a client address may hold before any request
//! head is read, and which browser origins may open the WebSocket.
//!
//! Every accepted TCP connection takes a [`Ticket`] from the [`Gate`] or is refused on the spot
//! (a fixed 429/503 written without waiting, then closed). A ticket counts the connection as
//! open for its address and, until [`Ticket::greeted`] (the hello), as pending, server-wide and
//! for its address. Dropping the ticket gives both back.
//!
//! Addresses are keyed as the client's IPv4 address or its IPv6 /64 (one subscriber's block).
//! An address's entry lives while it has connections open or its connection rate bucket is not
//! full again; idle entries are swept when the table grows and whenever it is read, so the
//! table returns to empty when the clients are gone, and it never holds more than
//! [`MAX_TRACKED_IPS`] addresses.
//!
//! Behind a reverse proxy every connection comes from the proxy: with the peer listed in
//! `trusted_proxies`, the per-address limits wait for the head and apply to the client that
//! `X-Forwarded-For` names ([`Ticket::rebind`]).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use ipnet::IpNet;

use super::abuse::{Abuse, AbuseLog, AbuseReport};
use super::bucket::TokenBucket;
use crate::config::Config;

/// Most client addresses tracked at once; a new address past it is refused.
pub(crate) const MAX_TRACKED_IPS: usize = 65_536;
/// Failed resumes an address may cause in a burst, and per second after it: a client has one
/// token, and a resume fails only when its session expired, so a few a second is an attacker
/// guessing tokens (which are 128 random bits: this bounds the noise, not the odds).
const RESUME_FAILURE_BURST: f64 = 8.0;
const RESUME_FAILURE_RATE: f64 = 1.0;
/// Admissions between two sweeps of idle addresses.
const SWEEP_EVERY: u32 = 1024;

/// Origins allowed when `allowed_origins` is empty, besides the server's own.
const LOOPBACK_ORIGINS: [&str; 3] = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"];

/// The per-address and pending limits, from the config.
#[derive(Debug, Clone, Copy)]
struct GateLimits {
    open_per_ip: u32,
    rate: u32,
    burst: u32,
    pending: usize,
    pending_per_ip: u32,
}

#[derive(Debug)]
struct PerIp {
    open: u32,
    pending: u32,
    bucket: TokenBucket,
    resume_failures: TokenBucket,
}

impl PerIp {
    /// Nothing held and nothing to remember.
    fn is_idle(&self, now: Instant) -> bool {
        self.open == 0
            && self.pending == 0
            && self.bucket.is_full(now)
            && self.resume_failures.is_full(now)
    }
}

#[derive(Debug, Default)]
struct Table {
    ips: HashMap<IpAddr, PerIp>,
    pending: usize,
    since_sweep: u32,
}

impl Table {
    fn sweep(&mut self, now: Instant) {
        self.since_sweep = 0;
        self.ips.retain(|_, e| !e.is_idle(now));
    }
}

/// The game port's admission of connections; one per server.
#[derive(Debug)]
pub(crate) struct Gate {
    limits: GateLimits,
    trusted: Vec<IpNet>,
    exempt: Vec<IpNet>,
    origins: Vec<String>,
    table: Mutex<Table>,
    pub(crate) abuse: AbuseLog,
}

/// Address key: IPv4 as is (IPv4-mapped IPv6 too), IPv6 by its /64.
pub(crate) fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(
                u128::from(v6) & 0xffff_ffff_ffff_ffff_0000_0000_0000_0000,
            )),
        },
    }
}

impl Gate {
    pub(crate) fn new(config: &Config) -> Self {
        let origins = if config.allowed_origins.is_empty() {
            LOOPBACK_ORIGINS.iter().map(|s| (*s).to_owned()).collect()
        } else {
            config.allowed_origins.clone()
        };
        Self {
            limits: GateLimits {
                open_per_ip: u32::try_from(config.max_connections_per_ip).unwrap_or(u32::MAX),
                rate: config.connection_rate_per_ip,
                burst: config.connection_burst_per_ip,
                pending: config.max_pending_handshakes,
                pending_per_ip: u32::try_from(config.max_pending_handshakes_per_ip)
                    .unwrap_or(u32::MAX),
            },
            trusted: config.trusted_proxies.clone(),
            exempt: config.admission_exempt.clone(),
            origins,
            table: Mutex::new(Table::default()),
            abuse: AbuseLog::default(),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `peer` is a trusted proxy, whose connections are admitted per client only once
    /// the head names the client.
    pub(crate) fn is_trusted(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.trusted.iter().any(|net| net.contains(&peer))
    }

    /// Admits a connection just accepted from `peer`: per address unless `peer` is a trusted
    /// proxy, and against the server-wide pending count.
    pub(crate) fn admit(self: &Arc<Self>, peer: IpAddr, now: Instant) -> Result<Ticket, Abuse> {
        let per_ip = !self.is_trusted(peer);
        let mut t = self.table();
        if t.pending >= self.limits.pending {
            drop(t);
            self.abuse.record(Abuse::PendingHandshakes, Some(peer), now);
            return Err(Abuse::PendingHandshakes);
        }
        let bound = if per_ip {
            match self.charge(&mut t, peer, now) {
                Ok(charged) => charged.then(|| key(peer)),
                Err(why) => {
                    drop(t);
                    self.abuse.record(why, Some(peer), now);
                    return Err(why);
                }
            }
        } else {
            None
        };
        t.pending += 1;
        Ok(Ticket {
            gate: self.clone(),
            ip: peer,
            key: bound,
            pending: true,
        })
    }

    /// Whether the per-address limits skip `ip`.
    pub(crate) fn is_exempt(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.exempt.iter().any(|net| net.contains(&ip))
    }

    /// Checks and charges the per-address limits for one new connection from `ip`; `false`
    /// when `ip` is exempt from them (nothing charged).
    fn charge(&self, t: &mut Table, ip: IpAddr, now: Instant) -> Result<bool, Abuse> {
        if self.is_exempt(ip) {
            return Ok(false);
        }
        t.since_sweep += 1;
        if t.since_sweep >= SWEEP_EVERY {
            t.sweep(now);
        }
        let k = key(ip);
        if !t.ips.contains_key(&k) && t.ips.len() >= MAX_TRACKED_IPS {
            t.sweep(now);
            if t.ips.len() >= MAX_TRACKED_IPS {
                return Err(Abuse::IpTable);
            }
        }
        let l = self.limits;
        let e = t.ips.entry(k).or_insert_with(|| PerIp {
            open: 0,
            pending: 0,
            bucket: TokenBucket::new(f64::from(l.rate), f64::from(l.burst), now),
            resume_failures: TokenBucket::new(RESUME_FAILURE_RATE, RESUME_FAILURE_BURST, now),
        });
        if e.open >= l.open_per_ip {
            return Err(Abuse::IpConnections);
        }
        if e.pending >= l.pending_per_ip {
            return Err(Abuse::IpPendingHandshakes);
        }
        if !e.bucket.allow(now, 1.0) {
            return Err(Abuse::IpRate);
        }
        e.open += 1;
        e.pending += 1;
        Ok(true)
    }

    /// The client a request from `peer` comes from: `peer`, or for a trusted proxy the
    /// rightmost `X-Forwarded-For` address that is not itself a trusted proxy.
    pub(crate) fn client_ip(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        if !self.is_trusted(peer) {
            return peer;
        }
        let Some(list) = forwarded_for else {
            return peer;
        };
        let mut client = peer;
        for hop in list.rsplit(',') {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                // A hop that is not an address cannot be vouched for: stop at the last good one.
                break;
            };
            client = ip;
            if !self.is_trusted(ip) {
                break;
            }
        }
        client
    }

    /// Whether a WebSocket upgrade with `origin` to `host` may proceed.
    pub(crate) fn origin_allowed(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        let origin = origin.trim_end_matches('/');
        if self.origins.iter().any(|o| o == "*") {
            return true;
        }
        let Some((scheme, authority)) = origin.split_once("://") else {
            return false;
        };
        if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
            return false;
        }
        if host.is_some_and(|h| h.eq_ignore_ascii_case(authority)) {
            return true;
        }
        self.origins
            .iter()
            .any(|allowed| origin_matches(allowed, origin))
    }

    /// Whether hellos that ask to resume are refused from `ip`, which failed too many.
    pub(crate) fn resumes_refused(&self, ip: IpAddr, now: Instant) -> bool {
        let refused = self
            .table()
            .ips
            .get_mut(&key(ip))
            .is_some_and(|e| !e.resume_failures.has(now, 1.0));
        if refused {
            self.abuse.record(Abuse::ResumeRate, Some(ip), now);
        }
        refused
    }

    /// A resume from `ip` failed: counted, and charged to the address.
    pub(crate) fn resume_failed(&self, ip: IpAddr, now: Instant) {
        if let Some(e) = self.table().ips.get_mut(&key(ip)) {
            e.resume_failures.allow(now, 1.0);
        }
        self.abuse.record(Abuse::ResumeFailed, Some(ip), now);
    }

    /// The abuse side of `/status.json`; sweeps idle addresses first.
    pub(crate) fn report(&self, now: Instant) -> AbuseReport {
        let (tracked, pending) = {
            let mut t = self.table();
            t.sweep(now);
            (t.ips.len() as u64, t.pending as u64)
        };
        AbuseReport {
            refused: self.abuse.counts(),
            tracked_ips: tracked,
            pending_handshakes: pending,
        }
    }

    fn release(&self, key: Option<IpAddr>, pending: bool) {
        let mut t = self.table();
        if pending {
            t.pending = t.pending.saturating_sub(1);
        }
        if let Some(k) = key
            && let Some(e) = t.ips.get_mut(&k)
        {
            e.open = e.open.saturating_sub(1);
            if pending {
                e.pending = e.pending.saturating_sub(1);
            }
            if e.is_idle(Instant::now()) {
                t.ips.remove(&k);
            }
        }
    }
}

/// `allowed` is an origin, or one ending in `:*` for any port (or none).
fn origin_matches(allowed: &str, origin: &str) -> bool {
    let allowed = allowed.trim_end_matches('/');
    match allowed.strip_suffix(":*") {
        Some(base) => {
            let Some(rest) = origin
                .get(..base.len())
                .filter(|p| p.eq_ignore_ascii_case(base))
                .map(|_| &origin[base.len()..])
            else {
                return false;
            };
            rest.is_empty()
                || rest
                    .strip_prefix(':')
                    .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        }
        None => allowed.eq_ignore_ascii_case(origin),
    }
}

/// One admitted connection's hold on the gate; dropping it gives the hold back.
#[derive(Debug)]
pub(crate) struct Ticket {
    gate: Arc<Gate>,
    ip: IpAddr,
    /// The address charged: `None` for an exempt address, and while a trusted proxy's
    /// connection has not named its client.
    key: Option<IpAddr>,
    pending: bool,
}

impl Ticket {
    /// The client's address (the proxy's until [`Ticket::rebind`]).
    pub(crate) fn ip(&self) -> IpAddr {
        self.ip
    }

    /// The hello arrived: the connection no longer counts as pending.
    pub(crate) fn greeted(&mut self) {
        if !std::mem::take(&mut self.pending) {
            return;
        }
        let mut t = self.gate.table();
        t.pending = t.pending.saturating_sub(1);
        if let Some(k) = self.key
            && let Some(e) = t.ips.get_mut(&k)
        {
            e.pending = e.pending.saturating_sub(1);
        }
    }

    /// A trusted proxy's connection named its client: charge the client's address. A ticket
    /// already charged to an address keeps it.
    pub(crate) fn rebind(&mut self, client: IpAddr, now: Instant) -> Result<(), Abuse> {
        if self.key.is_some() {
            return Ok(());
        }
        self.ip = client;
        let gate = self.gate.clone();
        let mut t = gate.table();
        match gate.charge(&mut t, client, now) {
            Ok(false) => Ok(()),
            Ok(true) => {
                // Charged as pending; a ticket already greeted is not.
                if !self.pending
                    && let Some(e) = t.ips.get_mut(&key(client))
                {
                    e.pending = e.pending.saturating_sub(1);
                }
                self.key = Some(key(client));
                Ok(())
            }
            Err(why) => {
                drop(t);
                gate.abuse.record(why, Some(client), now);
                Err(why)
            }
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.gate.release(self.key, self.pending);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn gate(config: Config) -> Arc<Gate> {
        Arc::new(Gate::new(&Config {
            admission_exempt: Vec::new(),
            ..config
        }))
    }

    #[test]
    fn exempt_addresses_skip_the_per_address_limits() {
        let g = Arc::new(Gate::new(&Config {
            max_connections_per_ip: 1,
            max_pending_handshakes: 3,
            ..Config::default()
        }));
        let t0 = Instant::now();
        let held: Vec<Ticket> = (0..3)
            .map(|_| g.admit("127.0.0.1".parse().unwrap(), t0).unwrap())
            .collect();
        assert_eq!(g.report(t0).tracked_ips, 0);
        let refused = g.admit("::1".parse().unwrap(), t0).unwrap_err();
        assert_eq!(
            refused,
            Abuse::PendingHandshakes,
            "the server-wide cap still holds"
        );
        drop(held);
        assert!(g.admit("::ffff:127.0.0.2".parse().unwrap(), t0).is_ok());
    }

    #[test]
    fn per_address_caps_and_the_table_empties() {
        let g = gate(Config {
            max_connections_per_ip: 3,
            connection_rate_per_ip: 1000,
            connection_burst_per_ip: 1000,
            max_pending_handshakes_per_ip: 2,
            ..Config::default()
        });
        let t0 = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let mut held = vec![g.admit(a, t0).unwrap(), g.admit(a, t0).unwrap()];
        assert_eq!(g.admit(a, t0).unwrap_err(), Abuse::IpPendingHandshakes);
        held[0].greeted();
        held.push(g.admit(a, t0).unwrap());
        assert_eq!(g.admit(a, t0).unwrap_err(), Abuse::IpConnections);
        let other = g.admit("192.0.2.2".parse().unwrap(), t0).unwrap();
        assert_eq!(g.report(t0).pending_handshakes, 3);
        drop(held);
        drop(other);
        let later = Instant::now() + Duration::from_secs(5);
        let r = g.report(later);
        assert_eq!((r.tracked_ips, r.pending_handshakes), (0, 0));
    }

    #[test]
    fn connection_rate_per_address() {
        let g = gate(Config {
            connection_rate_per_ip: 10,
            connection_burst_per_ip: 5,
            ..Config::default()
        });
        let t0 = Instant::now();
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let same_block: IpAddr = "2001:db8::ffff".parse().unwrap();
        for _ in 0..5 {
            drop(g.admit(a, t0).unwrap());
        }
        assert_eq!(g.admit(same_block, t0).unwrap_err(), Abuse::IpRate);
        assert_eq!(g.report(t0).tracked_ips, 1, "kept until the bucket refills");
        drop(g.admit(a, t0 + Duration::from_millis(100)).unwrap());
        assert_eq!(g.abuse.count(Abuse::IpRate), 1);
        assert_eq!(g.report(t0 + Duration::from_secs(2)).tracked_ips, 0);
    }

    #[test]
    fn pending_handshakes_server_wide() {
        let g = gate(Config {
            max_pending_handshakes: 2,
            ..Config::default()
        });
        let t0 = Instant::now();
        let mut a = g.admit("192.0.2.1".parse().unwrap(), t0).unwrap();
        let _b = g.admit("192.0.2.2".parse().unwrap(), t0).unwrap();
        let c: IpAddr = "192.0.2.3".parse().unwrap();
        assert_eq!(g.admit(c, t0).unwrap_err(), Abuse::PendingHandshakes);
        a.greeted();
        assert!(g.admit(c, t0).is_ok());
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let g = gate(Config {
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
            ..Config::default()
        });
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let stranger: IpAddr = "192.0.2.9".parse().unwrap();
        let xff = Some("198.51.100.1, 203.0.113.7, 10.0.0.5");
        assert_eq!(
            g.client_ip(proxy, xff),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(g.client_ip(stranger, xff), stranger);
        assert_eq!(g.client_ip(proxy, None), proxy);
        assert_eq!(
            g.client_ip(proxy, Some("junk, 203.0.113.8")),
            "203.0.113.8".parse::<IpAddr>().unwrap()
        );
        assert!(g.is_trusted("::ffff:10.0.0.1".parse().unwrap()));

        let t0 = Instant::now();
        let mut t = g.admit(proxy, t0).unwrap();
        assert!(
            t.key.is_none(),
            "a proxy's connection is not charged to the proxy"
        );
        t.rebind("203.0.113.7".parse().unwrap(), t0).unwrap();
        assert_eq!(g.report(t0).tracked_ips, 1);
        drop(t);
        assert_eq!(g.report(t0 + Duration::from_secs(5)).tracked_ips, 0);
    }

    #[test]
    fn failed_resumes_are_limited_per_address() {
        let g = gate(Config::default());
        let t0 = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let _held = g.admit(a, t0).unwrap();
        for _ in 0..RESUME_FAILURE_BURST as u32 {
            assert!(!g.resumes_refused(a, t0));
            g.resume_failed(a, t0);
        }
        assert!(g.resumes_refused(a, t0));
        assert!(!g.resumes_refused("192.0.2.2".parse().unwrap(), t0));
        assert!(!g.resumes_refused(a, t0 + std::time::Duration::from_secs(1)));
        assert_eq!(g.abuse.count(Abuse::ResumeFailed), 8);
        assert_eq!(g.abuse.count(Abuse::ResumeRate), 1);
    }

    proptest::proptest! {
        /// `Origin`, `Host` and `X-Forwarded-For` are client bytes: no value panics them.
        #[test]
        fn any_header_values_are_judged_without_panics(
            origin in "\\PC{0,40}",
            host in "\\PC{0,20}",
            forwarded in "[0-9a-f.:, ]{0,60}",
        ) {
            let g = gate(Config {
                allowed_origins: vec!["https://a.example:*".into(), "http://\u{e9}.example".into()],
                trusted_proxies: vec!["0.0.0.0/0".parse().unwrap()],
                ..Config::default()
            });
            let _ = g.origin_allowed(Some(&origin), Some(&host));
            let _ = g.client_ip("10.0.0.1".parse().unwrap(), Some(&forwarded));
        }
    }

    #[test]
    fn origins() {
        let g = gate(Config::default());
        let host = Some("game.example:7777");
        assert!(g.origin_allowed(None, host), "non-browser clients");
        assert!(g.origin_allowed(Some("http://game.example:7777"), host));
        assert!(g.origin_allowed(Some("https://GAME.example:7777/"), host));
        assert!(g.origin_allowed(Some("http://localhost:5173"), host));
        assert!(g.origin_allowed(Some("http://127.0.0.1"), host));
        assert!(g.origin_allowed(Some("http://[::1]:8080"), host));
        assert!(!g.origin_allowed(Some("https://evil.example"), host));
        assert!(!g.origin_allowed(Some("null"), host));
        assert!(!g.origin_allowed(Some("http://localhost.evil.example"), host));
        assert!(!g.origin_allowed(Some("http://localhost:80x"), host));
        assert!(!g.origin_allowed(Some("file://game.example:7777"), host));

        let listed = gate(Config {
            allowed_origins: vec!["https://play.example".into(), "https://*.x".into()],
            ..Config::default()
        });
        assert!(listed.origin_allowed(Some("https://play.example"), host));
        assert!(listed.origin_allowed(Some("http://game.example:7777"), host));
        assert!(!listed.origin_allowed(Some("http://localhost:5173"), host));
        assert!(
            !listed.origin_allowed(Some("https://a.x"), host),
            "no wildcard hosts"
        );

        let any = gate(Config {
            allowed_origins: vec!["*".into()],
            ..Config::default()
        });
        assert!(any.origin_allowed(Some("null"), host));
    }
}
