//! Process wiring: [`Server`] starts the simulation side (shard threads) and the network side
//! (accept loop, WebRTC driver), and owns shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tickwire_protocol::{CloseCode, CloseReason, Layout};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, ConfigError};
use crate::game::GameFactory;
use crate::net::Shared;
use crate::net::stats::{ServerStats, StatusReport};
use crate::net::webrtc;
use crate::sim::shard::{self, Shard};
use crate::sim::{Inbound, TickClock};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Invalid configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The game's schema does not compile.
    #[error("game schema: {0}")]
    Schema(#[from] tickwire_protocol::SchemaError),
    /// The TLS certificate or key cannot be used.
    #[error("tls: {0}")]
    Tls(#[from] crate::net::tls::TlsError),
    /// Binding or spawning failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

/// How a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainOutcome {
    /// The last client left before the drain timeout.
    Emptied,
    /// The drain timeout passed with clients still connected; they were closed with
    /// `server_shutdown`.
    TimedOut,
}

/// A running server. Dropping it does not stop it; call [`Server::shutdown`] (at once) or
/// [`Server::drain_then_shutdown`] (after the clients are done).
///
/// A drain ([`Server::drain`]) is one way: from its start `/healthz` answers 503 and new
/// WebSocket sessions are refused with `draining`, while connected clients keep playing; it
/// ends with [`Server::shutdown`], which closes whoever is left with `server_shutdown`.
#[derive(Debug)]
pub struct Server {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    /// Tells the shard threads to stop.
    stop: Arc<AtomicBool>,
    shard_threads: Vec<std::thread::JoinHandle<()>>,
    /// Stops the accept loop.
    stop_accepting: CancellationToken,
    /// One task per accepted connection, from its request head to its close.
    connections: TaskTracker,
}

impl Server {
    /// Binds, starts the shard threads and the accept loop on the current tokio runtime.
    pub async fn start(
        config: Config,
        factory: Arc<dyn GameFactory>,
    ) -> Result<Server, ServerError> {
        config.validate()?;
        let tls = match config.tls_files()? {
            Some((cert, key)) => Some(crate::net::tls::Tls::load(cert, key)?),
            None => None,
        };
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
                webrtc::start(webrtc::DriverConfig {
                    bind,
                    public_ip: config.webrtc_public_ip,
                    max_peers: config.webrtc_max_peers,
                    max_pending: config.webrtc_max_pending,
                    max_pending_per_ip: config.webrtc_max_pending_per_ip,
                    ice_timeout: Duration::from_millis(config.webrtc_ice_timeout_ms),
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
            limits: crate::net::admission::Limits::new(&config),
            gate: Arc::new(crate::net::gate::Gate::new(&config)),
            config,
            layout,
            clock,
            shards: handles,
            stats: ServerStats::default(),
            metrics: crate::net::metrics::Metrics::default(),
            next_conn: AtomicU64::new(1),
            started: Instant::now(),
            draining: AtomicBool::new(false),
            tls,
            webrtc,
        });
        for s in &shared.shards {
            // Ends when its shard stops.
            tokio::spawn(s.wakes.clone().dispatch());
        }
        let stop_accepting = CancellationToken::new();
        let connections = TaskTracker::new();
        tokio::spawn(crate::net::http::accept_loop(
            listener,
            shared.clone(),
            stop_accepting.clone(),
            connections.clone(),
        ));
        tracing::info!(%local_addr, shards = shared.shards.len(), tick_rate = shared.config.tick_rate, tls = shared.tls.is_some(), "tickwire listening");
        Ok(Server {
            shared,
            local_addr,
            stop,
            shard_threads,
            stop_accepting,
            connections,
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Whether the game port speaks TLS (https and wss).
    pub fn is_tls(&self) -> bool {
        self.shared.tls.is_some()
    }

    /// Reads `tls_cert` and `tls_key` again: connections accepted from now on are served the
    /// new certificate, and those already open go on with the one they were accepted with. On
    /// an error (a file missing, no certificate or key in it, a key that is not the
    /// certificate's) the certificate in use stays. The files are read on the calling thread.
    /// Without TLS it does nothing.
    pub fn reload_tls(&self) -> Result<(), crate::net::tls::TlsError> {
        match &self.shared.tls {
            Some(tls) => tls.reload(),
            None => Ok(()),
        }
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

    /// Starts draining: `/healthz` answers 503 from now on and new WebSocket sessions are
    /// refused with `draining` and a retry hint; connected clients play on. Calling it again
    /// does nothing.
    pub fn drain(&self) {
        if !self.shared.draining.swap(true, Ordering::AcqRel) {
            tracing::info!(
                connections = self.shared.stats.open.load(Ordering::Relaxed),
                "draining: new sessions are refused, connected clients play on"
            );
        }
    }

    /// Whether a drain (or shutdown) has started.
    pub fn is_draining(&self) -> bool {
        self.shared.draining.load(Ordering::Acquire)
    }

    /// Whether no client is connected: no WebSocket session open and no client in a room (as
    /// of each shard's last tick).
    pub fn is_empty(&self) -> bool {
        self.shared.stats.open.load(Ordering::Acquire) == 0
            && self
                .shared
                .shards
                .iter()
                .all(|s| s.stats.clients.load(Ordering::Acquire) == 0)
    }

    /// Resolves once no client is connected ([`Server::is_empty`]), looking once per tick.
    pub async fn emptied(&self) {
        let mut every = tokio::time::interval(self.shared.clock.period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if self.is_empty() {
                return;
            }
        }
    }

    /// Drains ([`Server::drain`]) until the last client has left or `drain_timeout_ms` has
    /// passed, then shuts down ([`Server::shutdown`] with `grace`), telling whoever is left.
    pub async fn drain_then_shutdown(self, grace: Duration) -> DrainOutcome {
        self.drain();
        let timeout = self.shared.config.drain_timeout();
        let outcome = match tokio::time::timeout(timeout, self.emptied()).await {
            Ok(()) => DrainOutcome::Emptied,
            Err(_) => DrainOutcome::TimedOut,
        };
        tracing::info!(?outcome, "drain over, shutting down");
        self.shutdown(grace).await;
        outcome
    }

    /// Stops accepting, closes every client with `server_shutdown`, waits up to `grace` for
    /// the closes to go out (every connection's task to end), and stops the shards.
    pub async fn shutdown(self, grace: Duration) {
        self.shared.draining.store(true, Ordering::Release);
        self.stop_accepting.cancel();
        let reason = CloseReason::new(CloseCode::SERVER_SHUTDOWN, "server shutting down");
        for s in &self.shared.shards {
            let _ = s.control.send(Inbound::CloseAll(reason.clone()));
        }
        self.connections.close();
        let _ = tokio::time::timeout(grace, self.connections.wait()).await;
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
