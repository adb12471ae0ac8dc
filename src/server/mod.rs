//! The server: shard threads, the accept loop, and what they share.

pub mod outbox;
pub(crate) mod room;

pub use room::LocalRoom;
pub(crate) mod shard;
pub mod stats;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tickwire_protocol::session::TickTime;
use tickwire_protocol::{CloseCode, CloseReason, Layout};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use self::shard::{Inbound, Shard, ShardHandle};
use self::stats::{ServerStats, StatusReport};
use crate::config::{Config, ConfigError};
use crate::game::GameFactory;

/// Hasher for ids the server hands out itself (connections, rooms), which no peer chooses:
/// one multiply instead of SipHash on every inbound frame.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing: the table's bucket bits and tag bits both come out well mixed.
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A map keyed by server-assigned ids.
pub(crate) type IdMap<K, V> =
    std::collections::HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;

/// The deadline schedule every shard follows: tick `n` starts at `t0 + n · period`.
#[derive(Debug, Clone, Copy)]
pub struct TickClock {
    /// When tick 0 started.
    pub t0: Instant,
    /// Tick period.
    pub period: Duration,
}

impl TickClock {
    /// Start time of tick `n`.
    pub fn tick_start(&self, n: u32) -> Instant {
        self.t0 + self.period * n
    }

    /// The tick running at `at`, and how far into it.
    pub fn tick_time(&self, at: Instant) -> TickTime {
        let elapsed =
            at.saturating_duration_since(self.t0).as_secs_f64() / self.period.as_secs_f64();
        TickTime {
            tick: elapsed.floor() as u32,
            fraction: (elapsed.fract() * 65536.0) as u16,
        }
    }
}

/// What the network tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Arc<Config>,
    pub(crate) layout: Arc<Layout>,
    pub(crate) clock: TickClock,
    pub(crate) shards: Vec<ShardHandle>,
    pub(crate) stats: ServerStats,
    pub(crate) next_conn: AtomicU64,
    pub(crate) started: Instant,
    pub(crate) draining: AtomicBool,
    /// The WebRTC driver, when `webrtc_udp` is set.
    pub(crate) webrtc: Option<crate::webrtc::server::RtcHandle>,
}

impl Shared {
    /// The shard hosting `room`.
    pub(crate) fn shard_for(&self, room: &str) -> &ShardHandle {
        // FNV-1a: stable across runs, so a room is always on the same shard.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in room.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        &self.shards[(h % self.shards.len() as u64) as usize]
    }

    /// A reading of every counter.
    pub(crate) fn report(&self) -> StatusReport {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatusReport {
            uptime_s: self.started.elapsed().as_secs_f64(),
            tick_rate: self.config.tick_rate,
            connections: l(&self.stats.connections),
            open_connections: l(&self.stats.open),
            inbound_dropped: l(&self.stats.inbound_dropped),
            bytes_out: l(&self.stats.bytes_out),
            bytes_in: l(&self.stats.bytes_in),
            closes: self.stats.closes(),
            shards: self.shards.iter().map(|s| s.stats.report()).collect(),
            webrtc: self.webrtc.as_ref().map(|w| w.report()),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Invalid configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The game's schema does not compile.
    #[error("game schema: {0}")]
    Schema(#[from] tickwire_protocol::SchemaError),
    /// Binding or spawning failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

/// A running server. Dropping it does not stop it; call [`Server::shutdown`].
#[derive(Debug)]
pub struct Server {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    shard_threads: Vec<std::thread::JoinHandle<()>>,
    accept: JoinHandle<()>,
}

impl Server {
    /// Binds, starts the shard threads and the accept loop on the current tokio runtime.
    pub async fn start(
        config: Config,
        factory: Arc<dyn GameFactory>,
    ) -> Result<Server, ServerError> {
        config.validate()?;
        let layout = Arc::new(Layout::new(&factory.schema())?);
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Io {
                    what: format!("binding {}", config.listen),
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| ServerError::Io {
            what: "local address".into(),
            source,
        })?;
        let webrtc = match config.webrtc_udp {
            Some(bind) => Some(
                crate::webrtc::server::start(crate::webrtc::server::DriverConfig {
                    bind,
                    public_ip: config.webrtc_public_ip,
                    max_peers: config.webrtc_max_peers,
                    max_pending: config.webrtc_max_pending,
                    open_timeout: Duration::from_millis(config.webrtc_open_timeout_ms),
                    max_message_size: config.max_message_size,
                })
                .map_err(|e| ServerError::Io {
                    what: "starting webrtc".into(),
                    source: std::io::Error::other(e.to_string()),
                })?,
            ),
            None => None,
        };
        let config = Arc::new(config);
        let clock = TickClock {
            t0: Instant::now(),
            period: config.tick_period(),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        let mut shard_threads = Vec::new();
        for i in 0..config.shards {
            let (shard, handle) = Shard::new(
                i as u32,
                config.clone(),
                factory.clone(),
                layout.clone(),
                clock,
                stop.clone(),
            );
            shard_threads.push(shard::spawn(shard).map_err(|source| ServerError::Io {
                what: "spawning a shard thread".into(),
                source,
            })?);
            handles.push(handle);
        }
        let shared = Arc::new(Shared {
            config,
            layout,
            clock,
            shards: handles,
            stats: ServerStats::default(),
            next_conn: AtomicU64::new(1),
            started: Instant::now(),
            draining: AtomicBool::new(false),
            webrtc,
        });
        for s in &shared.shards {
            tokio::spawn(s.wakes.clone().dispatch());
        }
        let accept = tokio::spawn(crate::http::accept_loop(listener, shared.clone()));
        tracing::info!(%local_addr, shards = shared.shards.len(), tick_rate = shared.config.tick_rate, "tickwire listening");
        Ok(Server {
            shared,
            local_addr,
            stop,
            shard_threads,
            accept,
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The UDP address every WebRTC peer uses, when WebRTC is on.
    pub fn webrtc_addr(&self) -> Option<SocketAddr> {
        self.shared.webrtc.as_ref().map(|w| w.local_addr)
    }

    /// The compiled schema.
    pub fn layout(&self) -> &Arc<Layout> {
        &self.shared.layout
    }

    /// A reading of every counter.
    pub fn report(&self) -> StatusReport {
        self.shared.report()
    }

    /// Stops accepting, closes every client with `server_shutdown`, waits up to `grace` for
    /// the closes to go out, and stops the shards.
    pub async fn shutdown(self, grace: Duration) {
        self.shared.draining.store(true, Ordering::Release);
        self.accept.abort();
        let reason = CloseReason::new(CloseCode::SERVER_SHUTDOWN, "server shutting down");
        for s in &self.shared.shards {
            let _ = s.control.send(Inbound::CloseAll(reason.clone()));
        }
        let deadline = Instant::now() + grace;
        while self.shared.stats.open.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.stop.store(true, Ordering::Release);
        if let Some(w) = self.shared.webrtc.as_ref() {
            w.stop();
        }
        let threads = self.shard_threads;
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}
