//! The `tickwire` command line for any game: `tickwire::cli::run(factory)` is a whole binary.
//!
//! - `serve` (the default): the server, configured by every [`Config`] field from a TOML file
//!   (`--config FILE`, or `TICKWIRE_CONFIG`), `TICKWIRE_<FIELD>` variables and `--<field>`
//!   flags, in that order of precedence. The first SIGTERM or Ctrl-C drains it
//!   ([`Server::drain_then_shutdown`]: new sessions refused, players play on for at most
//!   `drain_timeout_ms`) and the process exits 0; a second one stops it at once, exit status 1.
//!   SIGHUP reloads the TLS certificate and key (`tls_cert`, `tls_key`) for new connections.
//! - `bots`: a swarm of bots against a server, reporting what they measured.
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     tickwire::cli::run(tickwire::arena::ArenaFactory)
//! }
//! ```

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::config::{Config, ConfigError, LogFormat, RoomCreation};
use crate::game::GameFactory;
use crate::server::{Server, ServerError};

/// Runs the command line for `factory`'s game: parses the arguments, runs the command, and
/// reports a failure on stderr.
pub fn run(factory: impl GameFactory + 'static) -> ExitCode {
    match run_with(Cli::parse(), Arc::new(factory)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut msg = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                source = s.source();
            }
            #[expect(
                clippy::print_stderr,
                reason = "the command's own failure, before or without logs"
            )]
            {
                eprintln!("tickwire: {msg}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration could not be loaded.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The server did not start.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The bot swarm failed.
    #[error("bots: {0}")]
    Bots(String),
    /// The async runtime (or its signal handling) could not start.
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
    /// A second SIGTERM or Ctrl-C came during the drain: the process stops at once, without
    /// telling the clients still connected.
    #[error("stopped by a second signal during the drain")]
    Interrupted,
}

fn run_with(cli: Cli, factory: Arc<dyn GameFactory>) -> Result<(), CliError> {
    match cli.command.unwrap_or(Command::Serve(Box::new(cli.serve))) {
        Command::Serve(args) => {
            let config = args.load()?;
            init_logs(config.log_format);
            for var in Config::unknown_env_vars(std::env::vars()) {
                if var != "TICKWIRE_CONFIG" {
                    tracing::warn!(%var, "ignored: no config field of that name");
                }
            }
            let rt = runtime(config.io_threads)?;
            let result = rt.block_on(serve(config, factory));
            // After a second signal, tasks and threads may still be running: leave them.
            rt.shutdown_background();
            result
        }
        #[cfg(feature = "client")]
        Command::Bots(args) => {
            init_logs(LogFormat::Text);
            // The swarm decodes for thousands of clients: every core.
            runtime(0)?.block_on(bots(args))
        }
    }
}

/// A runtime with `threads` workers; 1 is a current-thread runtime, 0 one per core.
fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, CliError> {
    let mut builder = match threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    if threads > 1 {
        builder.worker_threads(threads);
    }
    builder.enable_all().build().map_err(CliError::Runtime)
}

#[derive(Debug, Parser)]
#[command(
    name = "tickwire",
    version,
    about = "Authoritative multiplayer game state server"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(Box<ServeArgs>),
    /// Run a swarm of bots against a server and report what they measured.
    #[cfg(feature = "client")]
    Bots(BotsArgs),
}

#[cfg(feature = "client")]
#[derive(Debug, Args, Clone)]
struct BotsArgs {
    /// Server WebSocket URL.
    #[arg(long, default_value = "ws://127.0.0.1:7777/ws")]
    url: String,
    /// Number of bots.
    #[arg(long, default_value_t = 100)]
    bots: usize,
    /// Measurement length in seconds (after the warm-up).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Inputs per bot per second.
    #[arg(long, default_value_t = 20.0)]
    input_hz: f64,
    /// Warm-up in seconds, not measured.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Room to join.
    #[arg(long, default_value = "arena")]
    room: String,
    /// Transport: ws, or webrtc (data channels, falling back to the WebSocket).
    #[arg(long, default_value = "ws", value_enum)]
    transport: crate::client::bots::Transport,
    /// Local IP the WebRTC bots' UDP sockets bind (port 0).
    #[arg(long, default_value = "127.0.0.1")]
    webrtc_local_ip: IpAddr,
    /// Seed of the bots' directions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Longest wait, in ms, for an input to carry a snapshot's ack before the ack goes alone
    /// [default: the client session's: as long as the ack still reaches the server before the
    /// same tick, at most 33].
    #[arg(long)]
    ack_delay_ms: Option<f64>,
    /// PEM file with the certificates a `wss://` server is trusted by (its CA, or its own
    /// self-signed certificate with `CA:FALSE`); needed for wss, which trusts nothing else.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Print one JSON line instead of a summary.
    #[arg(long)]
    json: bool,
}

/// `serve`'s flags: one per [`Config`] field, named as the field, each overriding the
/// `TICKWIRE_<FIELD>` variable, which overrides the TOML file. Unset flags are left out.
#[derive(Debug, Args, Clone, Default, Serialize)]
struct ServeArgs {
    /// TOML file with any `Config` field.
    #[arg(long, env = "TICKWIRE_CONFIG")]
    #[serde(skip)]
    config: Option<PathBuf>,
    #[serde(flatten)]
    #[command(flatten)]
    fields: ConfigFlags,
}

impl ServeArgs {
    fn load(&self) -> Result<Config, ConfigError> {
        Config::load(self.config.as_deref(), &self.fields)
    }
}

#[derive(Debug, Args, Clone, Default, Serialize)]
struct ConfigFlags {
    /// Address for HTTP and WebSocket (`/ws`). Default `127.0.0.1:7777`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Simulation ticks per second. Default 30.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    tick_rate: Option<u16>,
    /// View radius in world units for interest management; `None` (default): everyone sees
    /// everything in the room.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    view_radius: Option<f32>,
    /// Simulation threads; rooms are spread over them by name. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    shards: Option<usize>,
    /// Threads a shard uses to encode the snapshots of one large room (128 clients or more), itself
    /// included. Default: the number of CPUs, at most 4.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    encode_threads: Option<usize>,
    /// Nice value the shard threads (and their encode threads) run at, -20..=19. Default -10.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, allow_negative_numbers = true)]
    shard_nice: Option<i32>,
    /// Run the shard threads (and their encode threads) under `SCHED_FIFO` at the lowest real-time
    /// priority instead of `shard_nice`. Default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    shard_realtime: Option<bool>,
    /// Threads of the async runtime that runs WebSocket and HTTP. Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    io_threads: Option<usize>,
    /// Log format. Default text.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
    /// Most clients in one room. Default 2000.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    max_clients_per_room: Option<usize>,
    /// Most open connections on the server. Default 10,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    max_connections: Option<usize>,
    /// How long a dropped client's player is kept for it to resume, in ms. Default 30,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    resume_grace_ms: Option<u64>,
    /// Time allowed between the TCP accept and the hello, in ms. Default 5,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    handshake_timeout_ms: Option<u64>,
    /// A connection with nothing received for this long is closed, in ms. Default 15,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    idle_timeout_ms: Option<u64>,
    /// Interval of WebSocket pings from the server, in ms. Default 5,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    heartbeat_ms: Option<u64>,
    /// A single write to a client that takes longer than this closes it, in ms. Default 10,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    write_timeout_ms: Option<u64>,
    /// Largest message accepted from a client, in bytes. Default 65,536.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    max_message_size: Option<usize>,
    /// Sustained messages per second a client may send. Default 120.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    client_rate_limit: Option<u32>,
    /// Messages a client may send in a burst above the rate. Default 240.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    client_rate_burst: Option<u32>,
    /// Reliable frames (events, control) queued per client before it is closed as a slow consumer.
    /// Default 256.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    reliable_queue: Option<usize>,
    /// Frames queued from the network to one shard before new ones are dropped. Default 65,536.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    inbound_queue: Option<usize>,
    /// Snapshots remembered per client as delta baselines. Default 32.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    history: Option<usize>,
    /// Kernel send buffer per WebSocket, in bytes (0 keeps the OS default). Default 65,536.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    socket_send_buffer: Option<usize>,
    /// The one UDP address every WebRTC peer uses; `None` turns WebRTC off (offers are answered
    /// with `Abandon` and clients stay on the WebSocket); `off` in TOML, the environment or the
    /// flag. Default `127.0.0.1:7778`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    webrtc_udp: Option<String>,
    /// IP advertised in the WebRTC host candidate, for a wildcard bind or behind 1:1 NAT; `None`
    /// advertises the bound address. Default `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    webrtc_public_ip: Option<IpAddr>,
    /// Time from a client's offer to both data channels open; past it the peer is dropped
    /// (unfinished DTLS handshakes included) and the client stays on the WebSocket, in ms. Default
    /// 5,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    webrtc_open_timeout_ms: Option<u64>,
    /// An open peer that delivers nothing for this long is dropped and the session goes on over the
    /// WebSocket, in ms. Default `None`: two thirds of the history (711 ms at 30 Hz with 32
    /// snapshots).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    webrtc_stall_ms: Option<u64>,
    /// Most WebRTC peers at once. Default 4,096.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    webrtc_max_peers: Option<usize>,
    /// Most WebRTC peers still negotiating (offer answered, channels not open). Default 256.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    webrtc_max_pending: Option<usize>,
    /// How long a drain (the first SIGTERM or Ctrl-C) lets connected clients play on before
    /// every one is closed with `server_shutdown`, in ms. Default 30,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    drain_timeout_ms: Option<u64>,
    /// Most WebRTC peers still negotiating from one client address (IPv6: one /64). Default 8.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    webrtc_max_pending_per_ip: Option<usize>,
    /// A negotiating WebRTC peer with no ICE traffic this long after its answer is dropped, in
    /// ms. Default 1,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    webrtc_ice_timeout_ms: Option<u64>,
    /// Most TCP connections open at once from one client address (IPv6: one /64). Default 256.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    max_connections_per_ip: Option<usize>,
    /// New TCP connections per second from one client address. Default 64.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    connection_rate_per_ip: Option<u32>,
    /// New TCP connections from one client address in a burst above the rate. Default 128.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    connection_burst_per_ip: Option<u32>,
    /// Most connections server-wide not yet past their hello. Default 2,048.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    max_pending_handshakes: Option<usize>,
    /// Most connections from one client address not yet past their hello. Default 64.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    max_pending_handshakes_per_ip: Option<usize>,
    /// Proxies (IPs or CIDR blocks, comma-separated) whose `X-Forwarded-For` names the client.
    /// Default none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, value_delimiter = ',')]
    trusted_proxies: Option<Vec<ipnet::IpNet>>,
    /// Client addresses (comma-separated IPs or CIDR blocks) the per-address limits skip.
    /// Default loopback (`127.0.0.0/8,::1/128`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, value_delimiter = ',')]
    admission_exempt: Option<Vec<ipnet::IpNet>>,
    /// Browser origins allowed to open the WebSocket (comma-separated; `:*` for any port, `*`
    /// for all). Default: the server's own origin and loopback pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, value_delimiter = ',')]
    allowed_origins: Option<Vec<String>>,
    /// Sustained bytes per second a client may send. Default 65,536.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    client_byte_rate: Option<u32>,
    /// Bytes a client may send in a burst above the byte rate. Default 262,144.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    client_byte_burst: Option<u32>,
    /// Most sessions parked on the server (waiting for a resume); the oldest go first. Default
    /// 10,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    max_parked_sessions: Option<usize>,
    /// How long a room with nobody connected keeps ticking, in ms. Default 5,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    empty_room_grace_ms: Option<u64>,
    /// Most rooms on the server. Default 10,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    max_rooms: Option<usize>,
    /// Who may open rooms: `any` (default) or `server` (only those in `--rooms`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, value_enum)]
    room_creation: Option<RoomCreation>,
    /// Rooms opened at start (comma-separated names). Default none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long, value_delimiter = ',')]
    rooms: Option<Vec<String>>,
    /// A client that acknowledges no snapshot for this long is closed, in ms. Default 10,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    no_ack_timeout_ms: Option<u64>,
    /// PEM file with the certificate chain the game port serves over TLS (https and wss);
    /// with `--tls-key`. Reloaded on SIGHUP. Default none: plain http and ws.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// PEM file with the private key of `--tls-cert`. Reloaded on SIGHUP. Default none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    tls_key: Option<PathBuf>,
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (a test running the command twice) keeps the first.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

#[cfg(feature = "client")]
async fn bots(args: BotsArgs) -> Result<(), CliError> {
    let cfg = crate::client::bots::BotConfig {
        url: args.url,
        bots: args.bots,
        seconds: args.seconds,
        input_hz: args.input_hz,
        warmup_seconds: args.warmup,
        room: args.room,
        seed: args.seed,
        transport: args.transport,
        webrtc: crate::client::WebRtcConfig {
            local_ip: args.webrtc_local_ip,
            ..crate::client::WebRtcConfig::default()
        },
        ack_delay_ms: args.ack_delay_ms,
        tls: match &args.ca {
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| CliError::Bots(format!("reading {}: {e}", path.display())))?;
                let tls = crate::client::tls_trusting(&pem)
                    .map_err(|e| CliError::Bots(format!("{}: {e}", path.display())))?;
                Some(tls)
            }
            None => None,
        },
        ..crate::client::bots::BotConfig::default()
    };
    let report = crate::client::bots::run_swarm(&cfg)
        .await
        .map_err(|e| CliError::Bots(e.to_string()))?;
    let line = serde_json::to_string(&report).map_err(|e| CliError::Bots(e.to_string()))?;
    if args.json {
        #[expect(clippy::print_stdout, reason = "the report is the command's output")]
        {
            println!("{line}");
        }
    } else {
        tracing::info!(report = %line, "swarm finished");
    }
    Ok(())
}

async fn serve(config: Config, factory: Arc<dyn GameFactory>) -> Result<(), CliError> {
    let mut signals = Signals::new().map_err(CliError::Runtime)?;
    let server = Server::start(config, factory).await?;
    let (http, ws) = if server.is_tls() {
        ("https", "wss")
    } else {
        ("http", "ws")
    };
    let addr = server.local_addr();
    tracing::info!("open {http}://{addr}/ for status; game clients connect to {ws}://{addr}/ws");
    if let Some(udp) = server.webrtc_addr() {
        tracing::info!(%udp, "webrtc peers share this udp port");
    }
    signals.next(Some(&server)).await;
    tracing::info!("signal: draining (a second one stops at once)");
    tokio::select! {
        outcome = server.drain_then_shutdown(Duration::from_secs(5)) => {
            tracing::info!(?outcome, "stopped");
            Ok(())
        }
        () = signals.next(None) => {
            tracing::warn!("second signal: stopping without finishing the drain");
            Err(CliError::Interrupted)
        }
    }
}

/// SIGTERM and Ctrl-C (SIGINT), listened to from startup on, so that neither kills the process
/// by its default action once the server runs; and SIGHUP, which reloads the TLS certificate.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
                hup: signal(SignalKind::hangup())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// The next SIGTERM or Ctrl-C. Each SIGHUP until then reloads the TLS certificate of
    /// `server`; without one (during the drain, when new sessions are refused anyway) it is
    /// ignored.
    async fn next(&mut self, server: Option<&Server>) {
        #[cfg(unix)]
        loop {
            tokio::select! {
                _ = self.term.recv() => return,
                _ = self.int.recv() => return,
                _ = self.hup.recv() => match server {
                    Some(server) => reload_tls(server),
                    None => tracing::info!("SIGHUP ignored while draining"),
                },
            }
        }
        #[cfg(not(unix))]
        {
            let _ = server;
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// SIGHUP: new connections get the certificate and key now in the files; a pair that cannot
/// be used leaves the one in use.
#[cfg(unix)]
fn reload_tls(server: &Server) {
    if !server.is_tls() {
        tracing::info!("SIGHUP: no TLS certificate to reload");
        return;
    }
    match server.reload_tls() {
        Ok(()) => tracing::info!("SIGHUP: TLS certificate reloaded; new connections use it"),
        Err(e) => {
            tracing::error!(error = %e, "SIGHUP: TLS certificate not reloaded, the old one stays");
        }
    }
}

#[cfg(test)]
#[expect(
    clippy::result_large_err,
    reason = "the closures return figment::Jail's own error type"
)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// Per field: its value in the TOML file, in `TICKWIRE_<FIELD>`, and as a flag, then what
    /// each of the three gives once loaded (as the field serializes).
    fn sources() -> Vec<(
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        [Value; 3],
    )> {
        vec![
            (
                "listen",
                "\"127.0.0.1:9101\"",
                "127.0.0.1:9102",
                "127.0.0.1:9103",
                [
                    json!("127.0.0.1:9101"),
                    json!("127.0.0.1:9102"),
                    json!("127.0.0.1:9103"),
                ],
            ),
            (
                "tick_rate",
                "40",
                "50",
                "60",
                [json!(40), json!(50), json!(60)],
            ),
            (
                "view_radius",
                "100.0",
                "200",
                "300.5",
                [json!(100.0), json!(200.0), json!(300.5)],
            ),
            ("shards", "2", "3", "4", [json!(2), json!(3), json!(4)]),
            (
                "encode_threads",
                "2",
                "3",
                "4",
                [json!(2), json!(3), json!(4)],
            ),
            (
                "shard_nice",
                "-5",
                "-6",
                "-7",
                [json!(-5), json!(-6), json!(-7)],
            ),
            (
                "shard_realtime",
                "true",
                "false",
                "true",
                [json!(true), json!(false), json!(true)],
            ),
            ("io_threads", "2", "3", "4", [json!(2), json!(3), json!(4)]),
            (
                "log_format",
                "\"json\"",
                "text",
                "json",
                [json!("json"), json!("text"), json!("json")],
            ),
            (
                "max_clients_per_room",
                "11",
                "12",
                "13",
                [json!(11), json!(12), json!(13)],
            ),
            (
                "max_connections",
                "21",
                "22",
                "23",
                [json!(21), json!(22), json!(23)],
            ),
            (
                "resume_grace_ms",
                "1001",
                "1002",
                "1003",
                [json!(1001), json!(1002), json!(1003)],
            ),
            (
                "handshake_timeout_ms",
                "1101",
                "1102",
                "1103",
                [json!(1101), json!(1102), json!(1103)],
            ),
            (
                "idle_timeout_ms",
                "1201",
                "1202",
                "1203",
                [json!(1201), json!(1202), json!(1203)],
            ),
            (
                "heartbeat_ms",
                "1301",
                "1302",
                "1303",
                [json!(1301), json!(1302), json!(1303)],
            ),
            (
                "write_timeout_ms",
                "1401",
                "1402",
                "1403",
                [json!(1401), json!(1402), json!(1403)],
            ),
            (
                "max_message_size",
                "2001",
                "2002",
                "2003",
                [json!(2001), json!(2002), json!(2003)],
            ),
            (
                "client_rate_limit",
                "31",
                "32",
                "33",
                [json!(31), json!(32), json!(33)],
            ),
            (
                "client_rate_burst",
                "41",
                "42",
                "43",
                [json!(41), json!(42), json!(43)],
            ),
            (
                "reliable_queue",
                "51",
                "52",
                "53",
                [json!(51), json!(52), json!(53)],
            ),
            (
                "inbound_queue",
                "61",
                "62",
                "63",
                [json!(61), json!(62), json!(63)],
            ),
            (
                "history",
                "33",
                "34",
                "35",
                [json!(33), json!(34), json!(35)],
            ),
            (
                "socket_send_buffer",
                "4001",
                "4002",
                "4003",
                [json!(4001), json!(4002), json!(4003)],
            ),
            (
                "webrtc_udp",
                "\"127.0.0.1:9201\"",
                "off",
                "127.0.0.1:9203",
                [
                    json!("127.0.0.1:9201"),
                    json!("off"),
                    json!("127.0.0.1:9203"),
                ],
            ),
            (
                "webrtc_public_ip",
                "\"192.0.2.1\"",
                "192.0.2.2",
                "192.0.2.3",
                [json!("192.0.2.1"), json!("192.0.2.2"), json!("192.0.2.3")],
            ),
            (
                "webrtc_open_timeout_ms",
                "1501",
                "1502",
                "1503",
                [json!(1501), json!(1502), json!(1503)],
            ),
            (
                "webrtc_stall_ms",
                "101",
                "102",
                "103",
                [json!(101), json!(102), json!(103)],
            ),
            (
                "webrtc_max_peers",
                "71",
                "72",
                "73",
                [json!(71), json!(72), json!(73)],
            ),
            (
                "webrtc_max_pending",
                "81",
                "82",
                "83",
                [json!(81), json!(82), json!(83)],
            ),
            (
                "drain_timeout_ms",
                "1601",
                "1602",
                "1603",
                [json!(1601), json!(1602), json!(1603)],
            ),
            (
                "webrtc_max_pending_per_ip",
                "3",
                "4",
                "5",
                [json!(3), json!(4), json!(5)],
            ),
            (
                "webrtc_ice_timeout_ms",
                "700",
                "800",
                "900",
                [json!(700), json!(800), json!(900)],
            ),
            (
                "max_connections_per_ip",
                "91",
                "92",
                "93",
                [json!(91), json!(92), json!(93)],
            ),
            (
                "connection_rate_per_ip",
                "11",
                "12",
                "13",
                [json!(11), json!(12), json!(13)],
            ),
            (
                "connection_burst_per_ip",
                "21",
                "22",
                "23",
                [json!(21), json!(22), json!(23)],
            ),
            (
                "max_pending_handshakes",
                "101",
                "102",
                "103",
                [json!(101), json!(102), json!(103)],
            ),
            (
                "max_pending_handshakes_per_ip",
                "31",
                "32",
                "33",
                [json!(31), json!(32), json!(33)],
            ),
            (
                "trusted_proxies",
                "[\"10.0.0.0/8\"]",
                "[10.1.0.0/16]",
                "10.2.0.0/16,192.0.2.1/32",
                [
                    json!(["10.0.0.0/8"]),
                    json!(["10.1.0.0/16"]),
                    json!(["10.2.0.0/16", "192.0.2.1/32"]),
                ],
            ),
            (
                "admission_exempt",
                "[\"10.0.0.0/8\"]",
                "[]",
                "10.2.0.0/16,::1/128",
                [
                    json!(["10.0.0.0/8"]),
                    json!([]),
                    json!(["10.2.0.0/16", "::1/128"]),
                ],
            ),
            (
                "allowed_origins",
                "[\"https://a.example\"]",
                "[\"https://b.example\"]",
                "https://c.example,http://localhost:*",
                [
                    json!(["https://a.example"]),
                    json!(["https://b.example"]),
                    json!(["https://c.example", "http://localhost:*"]),
                ],
            ),
            (
                "client_byte_rate",
                "1001",
                "1002",
                "1003",
                [json!(1001), json!(1002), json!(1003)],
            ),
            (
                "client_byte_burst",
                "70001",
                "70002",
                "70003",
                [json!(70001), json!(70002), json!(70003)],
            ),
            (
                "max_parked_sessions",
                "31",
                "32",
                "33",
                [json!(31), json!(32), json!(33)],
            ),
            (
                "empty_room_grace_ms",
                "1401",
                "1402",
                "1403",
                [json!(1401), json!(1402), json!(1403)],
            ),
            (
                "max_rooms",
                "41",
                "42",
                "43",
                [json!(41), json!(42), json!(43)],
            ),
            (
                "room_creation",
                "\"server\"",
                "any",
                "server",
                [json!("server"), json!("any"), json!("server")],
            ),
            (
                "rooms",
                "[\"a\"]",
                "[\"b\"]",
                "c,d",
                [json!(["a"]), json!(["b"]), json!(["c", "d"])],
            ),
            (
                "no_ack_timeout_ms",
                "1501",
                "1502",
                "1503",
                [json!(1501), json!(1502), json!(1503)],
            ),
            // Paths, not checked when loading (the server reads them at its start): one of
            // the pair may come alone from each source. A value that looks like a number
            // stays a path.
            (
                "tls_cert",
                "\"/etc/tickwire/a.pem\"",
                "/etc/tickwire/b.pem",
                "./c.pem",
                [
                    json!("/etc/tickwire/a.pem"),
                    json!("/etc/tickwire/b.pem"),
                    json!("./c.pem"),
                ],
            ),
            (
                "tls_key",
                "\"a.key\"",
                "1234",
                "c.key",
                [json!("a.key"), json!("1234"), json!("c.key")],
            ),
        ]
    }

    fn field(config: &Config, name: &str) -> Value {
        serde_json::to_value(config).expect("a config serializes")[name].clone()
    }

    fn serve_args(argv: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_from(argv).expect("the flags parse");
        match cli.command {
            None => cli.serve,
            Some(Command::Serve(a)) => *a,
            #[cfg(feature = "client")]
            Some(Command::Bots(_)) => panic!("not serve"),
        }
    }

    #[test]
    fn every_field_comes_from_toml_then_env_then_flag() {
        let rows = sources();
        let covered: Vec<&str> = rows.iter().map(|r| r.0).collect();
        let Value::Object(all) = serde_json::to_value(Config::default()).unwrap() else {
            panic!("a config serializes to an object");
        };
        let mut fields: Vec<&str> = all.keys().map(String::as_str).collect();
        fields.sort_unstable();
        let mut sorted = covered.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, fields, "every Config field has a row here");

        for (name, toml, env, flag, [from_toml, from_env, from_flag]) in rows {
            figment::Jail::expect_with(|jail| {
                jail.create_file("tickwire.toml", &format!("{name} = {toml}\n"))?;
                let path = "--config=tickwire.toml";
                let toml_only = serve_args(&["tickwire", path]).load();
                assert_eq!(
                    field(&toml_only.expect(name), name),
                    from_toml,
                    "{name} from TOML"
                );

                jail.set_env(format!("TICKWIRE_{}", name.to_uppercase()), env);
                let with_env = serve_args(&["tickwire", path]).load();
                assert_eq!(
                    field(&with_env.expect(name), name),
                    from_env,
                    "{name} from env"
                );

                let flag_name = format!("--{}", name.replace('_', "-"));
                let with_flag = serve_args(&["tickwire", "serve", path, &flag_name, flag]).load();
                assert_eq!(
                    field(&with_flag.expect(name), name),
                    from_flag,
                    "{name} from flag"
                );
                Ok(())
            });
        }
    }

    #[test]
    fn a_bad_value_names_its_source() {
        figment::Jail::expect_with(|jail| {
            let file = ["tickwire", "--config", "tickwire.toml"];
            for (toml, key) in [
                ("tick_rate = \"fast\"\n", "tick_rate"),
                ("tickrate = 60\n", "tickrate"),
            ] {
                jail.create_file("tickwire.toml", toml)?;
                let err = serve_args(&file).load().unwrap_err().to_string();
                assert!(
                    err.contains(key) && err.contains("tickwire.toml"),
                    "a bad value or an unknown key is refused, naming the key and the file: {err}"
                );
            }
            jail.create_file("tickwire.toml", "")?;
            jail.set_env("TICKWIRE_TICKRATE", "60");
            let config = serve_args(&file).load();
            assert_eq!(config.unwrap().tick_rate, Config::default().tick_rate);
            let vars = std::env::vars().filter(|(k, _)| k.starts_with("TICKWIRE_"));
            assert_eq!(
                Config::unknown_env_vars(vars),
                ["TICKWIRE_TICKRATE"],
                "an unknown variable is left out and reported"
            );
            Ok(())
        });
        let missing = serve_args(&["tickwire", "--config", "/nonexistent/tickwire.toml"]).load();
        assert!(matches!(missing, Err(ConfigError::Read { .. })));
    }

    #[test]
    fn no_source_gives_the_defaults() {
        figment::Jail::expect_with(|_| {
            assert_eq!(serve_args(&["tickwire"]).load().unwrap(), Config::default());
            Ok(())
        });
    }
}
