//! The `tickwire` binary: `serve` (default) runs the server with the arena demo; `bots` runs
//! the bot swarm against a server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use tickwire::arena::ArenaFactory;
use tickwire::config::{Config, LogFormat};

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
    Serve(ServeArgs),
    /// Run a swarm of bots against a server and report what they measured.
    Bots(BotsArgs),
}

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
    #[arg(long, value_enum, default_value = "ws")]
    transport: tickwire::client::bots::Transport,
    /// Local IP the WebRTC bots' UDP sockets bind (port 0).
    #[arg(long, default_value = "127.0.0.1")]
    webrtc_local_ip: std::net::IpAddr,
    /// Seed of the bots' directions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Longest wait, in ms, for an input to carry a snapshot's ack before the ack goes alone
    /// [default: the client session's: as long as the ack still reaches the server before the
    /// same tick, at most 33].
    #[arg(long)]
    ack_delay_ms: Option<f64>,
    /// Print one JSON line instead of a summary.
    #[arg(long)]
    json: bool,
}

/// Flags override env vars, which override the TOML file, which overrides the defaults.
#[derive(Debug, Args, Clone, Default)]
struct ServeArgs {
    /// TOML file with any `Config` field.
    #[arg(long, env = "TICKWIRE_CONFIG")]
    config: Option<PathBuf>,
    /// Address for HTTP and WebSocket [default: 127.0.0.1:7777].
    #[arg(long, env = "TICKWIRE_LISTEN")]
    listen: Option<SocketAddr>,
    /// Simulation ticks per second [default: 30].
    #[arg(long, env = "TICKWIRE_TICK_RATE")]
    tick_rate: Option<u16>,
    /// Interest radius in world units [default: everyone sees everyone].
    #[arg(long, env = "TICKWIRE_VIEW_RADIUS")]
    view_radius: Option<f32>,
    /// Simulation threads [default: 1].
    #[arg(long, env = "TICKWIRE_SHARDS")]
    shards: Option<usize>,
    /// Threads encoding one large room's snapshots [default: CPUs, at most 4].
    #[arg(long, env = "TICKWIRE_ENCODE_THREADS")]
    encode_threads: Option<usize>,
    /// Nice value of the shard threads, -20..=19; below 0 needs CAP_SYS_NICE [default: -10].
    #[arg(long, env = "TICKWIRE_SHARD_NICE", allow_negative_numbers = true)]
    shard_nice: Option<i32>,
    /// Shard threads under SCHED_FIFO (lowest real-time priority) instead of a nice value; needs
    /// CAP_SYS_NICE [default: false].
    #[arg(long, env = "TICKWIRE_SHARD_REALTIME", num_args = 0..=1, default_missing_value = "true")]
    shard_realtime: Option<bool>,
    /// Threads for networking (WebSocket and HTTP) [default: 1].
    #[arg(long, env = "TICKWIRE_IO_THREADS")]
    io_threads: Option<usize>,
    /// Log format [default: text].
    #[arg(long, env = "TICKWIRE_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    /// UDP address all WebRTC peers share, or `off` [default: 127.0.0.1:7778].
    #[arg(long, env = "TICKWIRE_WEBRTC_UDP")]
    webrtc_udp: Option<String>,
    /// IP advertised in the WebRTC host candidate [default: the bound address].
    #[arg(long, env = "TICKWIRE_WEBRTC_PUBLIC_IP")]
    webrtc_public_ip: Option<std::net::IpAddr>,
    /// Time for a WebRTC upgrade to open its data channels, in ms [default: 5000].
    #[arg(long, env = "TICKWIRE_WEBRTC_OPEN_TIMEOUT_MS")]
    webrtc_open_timeout_ms: Option<u64>,
    /// Silence on open data channels before falling back to the WebSocket, in ms
    /// [default: two thirds of the snapshot history, 711 at 30 Hz].
    #[arg(long, env = "TICKWIRE_WEBRTC_STALL_MS")]
    webrtc_stall_ms: Option<u64>,
    /// Most WebRTC peers at once [default: 4096].
    #[arg(long, env = "TICKWIRE_WEBRTC_MAX_PEERS")]
    webrtc_max_peers: Option<usize>,
    /// Most WebRTC peers still negotiating [default: 256].
    #[arg(long, env = "TICKWIRE_WEBRTC_MAX_PENDING")]
    webrtc_max_pending: Option<usize>,
}

impl ServeArgs {
    fn into_config(self) -> anyhow::Result<Config> {
        let mut c = match &self.config {
            Some(path) => Config::from_toml_file(path)?,
            None => Config::default(),
        };
        if let Some(v) = self.listen {
            c.listen = v;
        }
        if let Some(v) = self.tick_rate {
            c.tick_rate = v;
        }
        if let Some(v) = self.view_radius {
            c.view_radius = Some(v);
        }
        if let Some(v) = self.shards {
            c.shards = v;
        }
        if let Some(v) = self.encode_threads {
            c.encode_threads = v;
        }
        if let Some(v) = self.shard_nice {
            c.shard_nice = v;
        }
        if let Some(v) = self.shard_realtime {
            c.shard_realtime = v;
        }
        if let Some(v) = self.log_format {
            c.log_format = v;
        }
        if let Some(v) = &self.webrtc_udp {
            c.webrtc_udp = match v.as_str() {
                "off" | "none" => None,
                addr => Some(
                    addr.parse()
                        .with_context(|| format!("--webrtc-udp {addr:?}: not an address"))?,
                ),
            };
        }
        if let Some(v) = self.webrtc_public_ip {
            c.webrtc_public_ip = Some(v);
        }
        if let Some(v) = self.webrtc_open_timeout_ms {
            c.webrtc_open_timeout_ms = v;
        }
        if let Some(v) = self.webrtc_stall_ms {
            c.webrtc_stall_ms = Some(v);
        }
        if let Some(v) = self.webrtc_max_peers {
            c.webrtc_max_peers = v;
        }
        if let Some(v) = self.webrtc_max_pending {
            c.webrtc_max_pending = v;
        }
        c.validate()?;
        Ok(c)
    }
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The server's network side runs on `--io-threads` threads (default 1: the shards have
    // their own threads, and one I/O thread avoids cross-thread wake-ups on every snapshot).
    // The bot swarm, which decodes for thousands of clients, uses every core.
    let io_threads = match &cli.command {
        Some(Command::Bots(_)) => 0,
        Some(Command::Serve(a)) => a.io_threads.unwrap_or(1),
        None => cli.serve.io_threads.unwrap_or(1),
    };
    let runtime = match io_threads {
        1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        0 => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
    }
    .context("starting the async runtime")?;
    match cli.command {
        Some(Command::Serve(args)) => runtime.block_on(serve(args)),
        Some(Command::Bots(args)) => runtime.block_on(bots(args)),
        None => runtime.block_on(serve(cli.serve)),
    }
}

async fn bots(args: BotsArgs) -> anyhow::Result<()> {
    init_logs(LogFormat::Text);
    let cfg = tickwire::client::bots::BotConfig {
        url: args.url,
        bots: args.bots,
        seconds: args.seconds,
        input_hz: args.input_hz,
        warmup_seconds: args.warmup,
        room: args.room,
        seed: args.seed,
        transport: args.transport,
        webrtc: tickwire::client::WebRtcConfig {
            local_ip: args.webrtc_local_ip,
            ..tickwire::client::WebRtcConfig::default()
        },
        ack_delay_ms: args.ack_delay_ms,
        ..tickwire::client::bots::BotConfig::default()
    };
    let report = tickwire::client::bots::run_swarm(&cfg).await?;
    let line = serde_json::to_string(&report)?;
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

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.into_config()?;
    init_logs(config.log_format);
    let server = tickwire::Server::start(config, Arc::new(ArenaFactory)).await?;
    tracing::info!(
        "open http://{}/ for status; game clients connect to ws://{}/ws",
        server.local_addr(),
        server.local_addr()
    );
    if let Some(udp) = server.webrtc_addr() {
        tracing::info!(%udp, "webrtc peers share this udp port");
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.shutdown(Duration::from_secs(5)).await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
