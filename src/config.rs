//! Server configuration: one plain struct with documented defaults.
//!
//! Sources, lowest precedence first: the defaults below, an optional TOML file
//! (`--config FILE`, keys named as the fields), environment variables (`TICKWIRE_<FIELD>`, the
//! field's name in upper case: `TICKWIRE_TICK_RATE=60`) and command-line flags (`--tick-rate
//! 60`). Every field can be set from each of them; [`Config::load`] layers them (with
//! `figment`) and parses once, into typed values, at startup. `webrtc_udp` takes `off` in any
//! source to turn WebRTC off.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Prefix of the environment variables that set [`Config`] fields.
pub const ENV_PREFIX: &str = "TICKWIRE_";

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Who may open a room that does not exist yet.
///
/// The place for a policy that reads the client's identity (a room claim in its auth token) is
/// another variant here, decided where [`RoomCreation::Any`] and [`RoomCreation::Server`] are:
/// the shard's join, which sees the hello.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum RoomCreation {
    /// A hello naming a room that does not exist opens it.
    #[default]
    Any,
    /// Only the rooms the server opens itself exist (`rooms`, opened at start and kept while
    /// the server runs); a hello naming another is refused with `bad_handshake`, "no such
    /// room".
    Server,
}

/// Everything the server can be told. Durations are in milliseconds, sizes in bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address for HTTP and WebSocket (`/ws`). Default `127.0.0.1:7777`.
    pub listen: SocketAddr,
    /// Simulation ticks per second. Default 30.
    pub tick_rate: u16,
    /// View radius in world units for interest management; `None` (default): everyone sees
    /// everything in the room.
    pub view_radius: Option<f32>,
    /// Simulation threads; rooms are spread over them by name. Default 1.
    pub shards: usize,
    /// Threads a shard uses to encode the snapshots of one large room (128 clients or more),
    /// itself included. Default: the number of CPUs, at most 4.
    pub encode_threads: usize,
    /// Nice value the shard threads (and their encode threads) run at, -20..=19. Default -10:
    /// a tick has a deadline and the network thread has none, so when the cores are busy the
    /// shard goes first. A value below the process's own needs `CAP_SYS_NICE` (root,
    /// `setcap cap_sys_nice+ep`, or systemd's `LimitNICE=`); without it the shards keep the
    /// process's priority and say so in the log (at info level) and in `/status.json`. 0
    /// leaves it alone.
    pub shard_nice: i32,
    /// Run the shard threads (and their encode threads) under `SCHED_FIFO` at the lowest
    /// real-time priority instead of `shard_nice`. Default false. A tick then preempts every
    /// ordinary thread the moment it is due, so it never waits for a core; the kernel's
    /// real-time throttling (`sched_rt_runtime_us`, 95 % by default) still leaves the rest of
    /// the machine a share if a game's step never ends. For a host that runs the server and
    /// little else; needs `CAP_SYS_NICE` like a negative nice, and falls back to `shard_nice`
    /// with a warning without it.
    pub shard_realtime: bool,
    /// Threads of the async runtime that runs WebSocket and HTTP. Default 1: the shards have
    /// threads of their own, and one network thread avoids a cross-thread wake-up per snapshot.
    pub io_threads: usize,
    /// Log format. Default text.
    pub log_format: LogFormat,
    /// Most clients in one room. Default 2000.
    pub max_clients_per_room: usize,
    /// Most open connections on the server. Default 10,000.
    pub max_connections: usize,
    /// How long a dropped client's player is kept for it to resume, in ms. Default 30,000.
    pub resume_grace_ms: u64,
    /// Time allowed between the TCP accept and the hello, in ms. Default 5,000.
    pub handshake_timeout_ms: u64,
    /// A connection with nothing received for this long is closed, in ms. Default 15,000.
    pub idle_timeout_ms: u64,
    /// Interval of WebSocket pings from the server, in ms. Default 5,000.
    pub heartbeat_ms: u64,
    /// A single write to a client that takes longer than this closes it, in ms. Default 10,000.
    pub write_timeout_ms: u64,
    /// Largest message accepted from a client, in bytes. Default 65,536.
    pub max_message_size: usize,
    /// Sustained messages per second a client may send. Default 120.
    pub client_rate_limit: u32,
    /// Messages a client may send in a burst above the rate. Default 240.
    pub client_rate_burst: u32,
    /// Reliable frames (events, control) queued per client before it is closed as a slow
    /// consumer. Default 256.
    pub reliable_queue: usize,
    /// Frames queued from the network to one shard before new ones are dropped. Default
    /// 65,536.
    pub inbound_queue: usize,
    /// Snapshots remembered per client as delta baselines. Default 32.
    pub history: usize,
    /// Kernel send buffer per WebSocket, in bytes (0 keeps the OS default). Default 65,536.
    pub socket_send_buffer: usize,
    /// The one UDP address every WebRTC peer uses; `None` turns WebRTC off (offers are
    /// answered with `Abandon` and clients stay on the WebSocket); `off` in TOML, the
    /// environment or the flag. Default `127.0.0.1:7778`.
    #[serde(with = "address_or_off")]
    pub webrtc_udp: Option<SocketAddr>,
    /// IP advertised in the WebRTC host candidate, for a wildcard bind or behind 1:1 NAT;
    /// `None` advertises the bound address. Default `None`.
    pub webrtc_public_ip: Option<IpAddr>,
    /// Time from a client's offer to both data channels open; past it the peer is dropped
    /// (unfinished DTLS handshakes included) and the client stays on the WebSocket, in ms.
    /// Default 5,000.
    pub webrtc_open_timeout_ms: u64,
    /// An open peer that delivers nothing for this long is dropped and the session goes on
    /// over the WebSocket, in ms. Must be shorter than the snapshot history
    /// (`history / tick_rate` seconds), so the fallback still finds the client's acknowledged
    /// baseline and sends a delta. Default `None`: two thirds of the history (711 ms at 30 Hz
    /// with 32 snapshots).
    pub webrtc_stall_ms: Option<u64>,
    /// Most WebRTC peers at once. Default 4,096.
    pub webrtc_max_peers: usize,
    /// Most WebRTC peers still negotiating (offer answered, channels not open). Default 256.
    pub webrtc_max_pending: usize,
    /// How long a drain (the first SIGTERM or Ctrl-C, or [`Server::drain`]) lets connected
    /// clients play on before every one is closed with `server_shutdown`, in ms. Default
    /// 30,000. The drain ends sooner when the last client has left; 0 closes everyone at
    /// once.
    ///
    /// [`Server::drain`]: crate::Server::drain
    pub drain_timeout_ms: u64,
    /// Most WebRTC peers still negotiating from one client address (IPv6: one /64). Default
    /// 8: a client negotiates one peer at a time, and a handful covers a household behind
    /// one NAT upgrading together, while one address cannot take the server's
    /// `webrtc_max_pending` slots.
    pub webrtc_max_pending_per_ip: usize,
    /// A negotiating peer that has received no ICE traffic (no STUN binding request from the
    /// client) this long after its answer is dropped, in ms. Default 1,000: a real client
    /// sends its first binding request within a round trip of receiving the answer; offers
    /// that never follow up free their slot long before `webrtc_open_timeout_ms`.
    pub webrtc_ice_timeout_ms: u64,
    /// Most TCP connections open at once from one client address (IPv6: one /64), whatever
    /// they are. Default 256: generous for many players behind one NAT (a campus, a mobile
    /// carrier's gateway), yet one address cannot hold the server's `max_connections`.
    pub max_connections_per_ip: usize,
    /// New TCP connections per second allowed from one client address (token bucket).
    /// Default 64: a full reconnect of a NAT'd LAN party passes, a connect flood does not.
    pub connection_rate_per_ip: u32,
    /// New TCP connections one client address may open in a burst above
    /// `connection_rate_per_ip`. Default 128.
    pub connection_burst_per_ip: u32,
    /// Most connections, server-wide, accepted but not yet past their hello (request heads
    /// being read, HTTP requests being answered, WebSocket handshakes). Default 2,048: each
    /// costs a task and a head buffer until `handshake_timeout_ms`; this bounds what slow or
    /// silent clients can hold in all.
    pub max_pending_handshakes: usize,
    /// Most connections from one client address not yet past their hello. Default 64.
    pub max_pending_handshakes_per_ip: usize,
    /// Peers (IPs or CIDR blocks, e.g. `10.0.0.0/8`) whose `X-Forwarded-For` header names
    /// the client: the per-address limits then apply to the address it names (the rightmost
    /// one not itself a trusted proxy). From any other peer the header is ignored. Default
    /// empty: the TCP peer is the client. The PROXY protocol is not read.
    pub trusted_proxies: Vec<IpNet>,
    /// Client addresses (IPs or CIDR blocks) the per-address limits above do not apply to;
    /// the server-wide `max_pending_handshakes` still does. Default loopback (`127.0.0.0/8`,
    /// `::1/128`): bots and benchmarks on the server's host open thousands of connections
    /// from one address, and a local attacker has easier means. Set it empty to limit
    /// loopback clients too (behind a reverse proxy on the same host, list the proxy in
    /// `trusted_proxies` instead: its clients are then limited by their own addresses).
    pub admission_exempt: Vec<IpNet>,
    /// Origins a browser may open the WebSocket from (`https://game.example`; a trailing
    /// `:*` allows any port; `*` allows every origin). The server's own origin (the one whose
    /// host is the request's `Host`) is always allowed, and so are requests without an
    /// `Origin` header (non-browser clients). Default empty: the own origin and loopback
    /// pages (`http://127.0.0.1:*`, `http://localhost:*`, `http://[::1]:*`). Any other
    /// origin, `null` included, gets a 403 at the upgrade.
    pub allowed_origins: Vec<String>,
    /// Sustained bytes per second a client may send, every frame counted (WebSocket
    /// messages, pings and pongs, data-channel messages). Default 65,536: inputs, acks and
    /// pings at the message rate take a few KiB/s.
    pub client_byte_rate: u32,
    /// Bytes a client may send in a burst above `client_byte_rate`; at least
    /// `max_message_size`. Default 262,144: a few largest messages (signaling SDP) at once.
    pub client_byte_burst: u32,
    /// Most sessions parked on the server (clients whose connection dropped, kept for a
    /// resume within `resume_grace_ms`). Default 10,000, the default `max_connections`: a
    /// parked session holds its player and its snapshot history, like a connected one, and
    /// reconnect churn must not grow them without bound. The bound is split evenly over the
    /// shards; a shard over its share drops its oldest parked session first.
    pub max_parked_sessions: usize,
    /// A room with nobody connected (only parked sessions) keeps ticking this long, in ms, then
    /// stops until a client joins or resumes; it is removed when its last parked session
    /// expires. Default 5,000: a short drop finds the game as it went on, while rooms
    /// abandoned by dropped clients cost nothing for the rest of `resume_grace_ms`.
    pub empty_room_grace_ms: u64,
    /// Most rooms on the server. Default 10,000. Split evenly over the shards; a hello that
    /// would open one more is refused with `server_full`.
    pub max_rooms: usize,
    /// Who may open rooms: `any` (default: a hello naming a new room opens it) or `server`
    /// (only the rooms listed in `rooms`).
    pub room_creation: RoomCreation,
    /// Rooms opened at start and kept while the server runs (they do not tick while nobody is
    /// in them). Default none. With `room_creation = "server"` they are the only rooms.
    pub rooms: Vec<String>,
    /// A client that acknowledges no snapshot for this long is closed with `slow_consumer`, in
    /// ms. Default 10,000. Counted from its first snapshot, or its last acknowledgement; after
    /// `history` ticks without one it already gets a snapshot only every 8th tick (a full one,
    /// since it holds no baseline), and acking brings back every tick.
    pub no_ack_timeout_ms: u64,
    /// PEM file with the certificate chain (leaf first) the game port serves over TLS: with
    /// `tls_key` set too, the port speaks https and wss only. Read at start (a file that is
    /// missing or does not hold a certificate stops the start) and again on SIGHUP
    /// ([`Server::reload_tls`]). Default `None`: plain http and ws.
    ///
    /// [`Server::reload_tls`]: crate::Server::reload_tls
    #[serde(deserialize_with = "path_text::deserialize")]
    pub tls_cert: Option<PathBuf>,
    /// PEM file with the private key of `tls_cert` (PKCS#8, PKCS#1 or SEC1). Set with
    /// `tls_cert` or not at all. Default `None`.
    #[serde(deserialize_with = "path_text::deserialize")]
    pub tls_key: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 7777)),
            tick_rate: 30,
            view_radius: None,
            shards: 1,
            encode_threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            shard_nice: -10,
            shard_realtime: false,
            io_threads: 1,
            log_format: LogFormat::Text,
            max_clients_per_room: 2000,
            max_connections: 10_000,
            resume_grace_ms: 30_000,
            handshake_timeout_ms: 5_000,
            idle_timeout_ms: 15_000,
            heartbeat_ms: 5_000,
            write_timeout_ms: 10_000,
            max_message_size: 64 * 1024,
            client_rate_limit: 120,
            client_rate_burst: 240,
            reliable_queue: 256,
            inbound_queue: 65_536,
            history: 32,
            socket_send_buffer: 64 * 1024,
            webrtc_udp: Some(SocketAddr::from(([127, 0, 0, 1], 7778))),
            webrtc_public_ip: None,
            webrtc_open_timeout_ms: 5_000,
            webrtc_stall_ms: None,
            webrtc_max_peers: 4_096,
            webrtc_max_pending: 256,
            drain_timeout_ms: 30_000,
            webrtc_max_pending_per_ip: 8,
            webrtc_ice_timeout_ms: 1_000,
            max_connections_per_ip: 256,
            connection_rate_per_ip: 64,
            connection_burst_per_ip: 128,
            max_pending_handshakes: 2_048,
            max_pending_handshakes_per_ip: 64,
            trusted_proxies: Vec::new(),
            admission_exempt: vec![
                IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::LOCALHOST, 8).trunc()),
                IpNet::V6(Ipv6Net::new_assert(Ipv6Addr::LOCALHOST, 128)),
            ],
            allowed_origins: Vec::new(),
            client_byte_rate: 64 * 1024,
            client_byte_burst: 256 * 1024,
            max_parked_sessions: 10_000,
            empty_room_grace_ms: 5_000,
            max_rooms: 10_000,
            room_creation: RoomCreation::Any,
            rooms: Vec::new(),
            no_ack_timeout_ms: 10_000,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A source holds a value that is not valid for its field (the message names the
    /// source: the file, the environment variable, or the flag).
    #[error("{0}")]
    Parse(Box<figment::Error>),
    /// A key that names no field.
    #[error("unknown config key `{key}` in {origin}")]
    Unknown {
        /// The key.
        key: String,
        /// Where it was set.
        origin: String,
    },
    /// A value is out of range.
    #[error("invalid {field}: {why}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        why: &'static str,
    },
}

impl Config {
    /// Layers the sources, lowest precedence first: the defaults, the TOML `file`, the
    /// `TICKWIRE_<FIELD>` environment variables, and `overrides` (the flags: a serializable
    /// value whose fields are named as `Config`'s, `None` ones left out); then validates.
    pub fn load(file: Option<&Path>, overrides: impl Serialize) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            // The provider takes a missing file for an empty one: a named file must exist.
            std::fs::metadata(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            figment = figment.merge(Toml::file_exact(path));
        }
        let fields = Self::field_names();
        let known = fields.clone();
        let figment = figment
            .merge(
                Env::prefixed(ENV_PREFIX)
                    .filter(move |key| known.iter().any(|f| key.as_str().eq_ignore_ascii_case(f))),
            )
            .merge(Serialized::defaults(overrides));
        let parse = |e| ConfigError::Parse(Box::new(e));
        // Serde's `deny_unknown_fields` does not see through figment's merge: look for keys
        // no field has (a typo in the file) here.
        let merged: figment::value::Dict = figment.extract().map_err(parse)?;
        if let Some(key) = merged.keys().find(|k| !fields.contains(k)) {
            let origin = figment.find_metadata(key).map_or_else(
                || "the config".to_owned(),
                |m| match &m.source {
                    Some(at) => format!("{} {at}", m.name),
                    None => m.name.to_string(),
                },
            );
            return Err(ConfigError::Unknown {
                key: key.clone(),
                origin,
            });
        }
        let config: Config = figment.extract().map_err(parse)?;
        config.validate()?;
        Ok(config)
    }

    /// The field names, as TOML keys and (in upper case, after [`ENV_PREFIX`]) variables.
    pub fn field_names() -> Vec<String> {
        match serde_json::to_value(Config::default()) {
            Ok(serde_json::Value::Object(fields)) => fields.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// The `TICKWIRE_` variables of `vars` that name no field (other tools' settings, such
    /// as `TICKWIRE_CONFIG`, or typos): [`Config::load`] leaves them out, and the caller may
    /// say so.
    pub fn unknown_env_vars(vars: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
        let fields = Self::field_names();
        vars.into_iter()
            .filter_map(|(k, _)| {
                let field = k.strip_prefix(ENV_PREFIX)?;
                (!fields.iter().any(|f| f.eq_ignore_ascii_case(field))).then_some(k)
            })
            .collect()
    }

    /// Checks ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field, why| Err(ConfigError::Invalid { field, why });
        if !(1..=1000).contains(&self.tick_rate) {
            return bad("tick_rate", "must be 1..=1000");
        }
        if self
            .view_radius
            .is_some_and(|r| !(r.is_finite() && r > 0.0))
        {
            return bad("view_radius", "must be a positive number");
        }
        if self.shards == 0 || self.shards > 256 {
            return bad("shards", "must be 1..=256");
        }
        if self.io_threads == 0 || self.io_threads > 64 {
            return bad("io_threads", "must be 1..=64");
        }
        if self.encode_threads == 0 || self.encode_threads > 64 {
            return bad("encode_threads", "must be 1..=64");
        }
        if !(-20..=19).contains(&self.shard_nice) {
            return bad("shard_nice", "must be -20..=19");
        }
        if self.max_message_size < 1024 {
            return bad("max_message_size", "must be at least 1024");
        }
        if self.client_rate_limit == 0 || self.client_rate_burst == 0 {
            return bad("client_rate_limit", "rate and burst must be positive");
        }
        if self.history == 0 || self.history > 256 {
            return bad("history", "must be 1..=256");
        }
        if self.webrtc_open_timeout_ms == 0 || self.webrtc_stall_ms == Some(0) {
            return bad("webrtc_open_timeout_ms", "webrtc timeouts must be positive");
        }
        if self
            .webrtc_stall_ms
            .is_some_and(|ms| ms * u64::from(self.tick_rate) >= 1000 * self.history as u64)
        {
            return bad(
                "webrtc_stall_ms",
                "must be shorter than history / tick_rate, or a fallback costs a full snapshot",
            );
        }
        if self
            .webrtc_public_ip
            .is_some_and(|ip| ip.is_unspecified() || ip.is_multicast())
        {
            return bad(
                "webrtc_public_ip",
                "must be a unicast address clients can reach",
            );
        }
        if self.client_byte_rate == 0 || (self.client_byte_burst as usize) < self.max_message_size {
            return bad(
                "client_byte_burst",
                "the byte rate must be positive and the burst at least max_message_size",
            );
        }
        if self.connection_rate_per_ip == 0
            || self.connection_burst_per_ip == 0
            || self.max_connections_per_ip == 0
            || self.max_pending_handshakes == 0
            || self.max_pending_handshakes_per_ip == 0
        {
            return bad(
                "max_connections_per_ip",
                "connection limits must be positive",
            );
        }
        if self.webrtc_ice_timeout_ms == 0 || self.webrtc_max_pending_per_ip == 0 {
            return bad(
                "webrtc_ice_timeout_ms",
                "the ICE timeout and the per-address pending peers must be positive",
            );
        }
        if self
            .allowed_origins
            .iter()
            .any(|o| o.as_str() != "*" && !o.contains("://"))
        {
            return bad(
                "allowed_origins",
                "each entry is `*` or an origin like `https://game.example` (optionally `:*`)",
            );
        }
        if self.max_rooms == 0 || self.no_ack_timeout_ms == 0 {
            return bad(
                "max_rooms",
                "max_rooms and no_ack_timeout_ms must be positive",
            );
        }
        if self
            .rooms
            .iter()
            .any(|r| r.is_empty() || r.len() > tickwire_protocol::message::MAX_ROOM_NAME_LEN)
        {
            return bad("rooms", "each room name is 1 to 64 bytes");
        }
        if self.reliable_queue == 0 || self.inbound_queue == 0 {
            return bad("reliable_queue", "queues must hold at least one frame");
        }
        Ok(())
    }

    /// The certificate and key files when TLS is on; an error when only one of the two is
    /// set. Checked by [`Server::start`] rather than [`Config::validate`], so that each
    /// source may set one of the pair.
    ///
    /// [`Server::start`]: crate::Server::start
    pub fn tls_files(&self) -> Result<Option<(&Path, &Path)>, ConfigError> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some((cert, key))),
            (None, None) => Ok(None),
            _ => Err(ConfigError::Invalid {
                field: "tls_cert",
                why: "tls_cert and tls_key go together: set both (PEM files) or neither",
            }),
        }
    }

    /// How long open data channels may stay silent: `webrtc_stall_ms`, or two thirds of the
    /// snapshot history.
    pub fn webrtc_stall(&self) -> Duration {
        match self.webrtc_stall_ms {
            Some(ms) => Duration::from_millis(ms),
            None => self.tick_period().mul_f64(self.history as f64 * 2.0 / 3.0),
        }
    }

    /// How long a drain lets clients play on: `drain_timeout_ms`.
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_millis(self.drain_timeout_ms)
    }

    /// Tick period.
    pub fn tick_period(&self) -> Duration {
        Duration::from_secs_f64(1.0 / f64::from(self.tick_rate))
    }
}

/// A path given as any scalar: the environment layer reads `TICKWIRE_TLS_KEY=1234` as a
/// number, and a file may be named so.
mod path_text {
    use std::fmt;
    use std::path::PathBuf;

    use serde::Deserializer;
    use serde::de::{self, Visitor};

    struct PathVisitor;

    impl<'de> Visitor<'de> for PathVisitor {
        type Value = Option<PathBuf>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a file path")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(PathBuf::from(v)))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(PathBuf::from(v.to_string())))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(PathBuf::from(v.to_string())))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(PathVisitor)
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<PathBuf>, D::Error> {
        d.deserialize_option(PathVisitor)
    }
}

/// An address, or `off` (also `none`) for no address.
mod address_or_off {
    use std::net::SocketAddr;

    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        v: &Option<SocketAddr>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(a) => s.collect_str(a),
            None => s.serialize_str("off"),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SocketAddr>, D::Error> {
        let text = String::deserialize(d)?;
        match text.as_str() {
            "off" | "none" => Ok(None),
            addr => addr.parse().map(Some).map_err(|_| {
                serde::de::Error::custom(format!("{addr:?} is neither an address nor `off`"))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_overrides_defaults_and_rejects_unknown_keys() {
        let c: Config = toml::from_str("tick_rate = 60\nview_radius = 500.0\n").unwrap();
        assert_eq!(c.tick_rate, 60);
        assert_eq!(c.view_radius, Some(500.0));
        assert_eq!(c.listen, Config::default().listen);
        c.validate().unwrap();
        assert!(toml::from_str::<Config>("tickrate = 60").is_err());
        let bad = Config {
            tick_rate: 0,
            ..Config::default()
        };
        assert!(bad.validate().is_err());
        // A stall longer than the snapshot history would cost a full snapshot per fallback.
        let slow = Config {
            webrtc_stall_ms: Some(1_100),
            ..Config::default()
        };
        assert!(matches!(
            slow.validate(),
            Err(ConfigError::Invalid {
                field: "webrtc_stall_ms",
                ..
            })
        ));
    }
}
