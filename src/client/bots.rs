//! The bot swarm: many headless [`Client`]s in one process playing the arena pattern, measuring
//! what players feel (snapshot rate, bytes, input-to-snapshot latency, round trip).
//!
//! ```text
//!  run_swarm ─spawn─▶ bot task × N (one tokio task each, connects staggered)
//!      │                 │ select! { input timer → send_input, next_event → acks, latency }
//!      │                 ▼
//!      └─phase flag──▶ Shared: atomic counters + two fixed-size histograms (a mutex each)
//! ```
//!
//! Phases: ramp (every bot tries to connect, at [`BotConfig::connects_per_second`]), warm-up
//! ([`BotConfig::warmup_seconds`], nothing counted), measurement ([`BotConfig::seconds`]), then
//! every bot leaves. Memory is bounded: counters and histograms are shared and fixed-size,
//! per-bot state is a client and a short queue of inputs awaiting their snapshot.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand_core::{RngCore as _, SeedableRng as _};
use rand_xoshiro::SplitMix64;
use serde::Serialize;
use tickwire_protocol::FieldLayout;
use tickwire_protocol::session::ClientEvent;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use super::{ActiveTransport, Client, ClientConfig, ClientError, WebRtcConfig};

/// Probability, per input sent, that a bot picks a new direction.
const TURN_PROBABILITY: f64 = 0.04;
/// Inputs awaiting their snapshot, per bot; older ones are forgotten past this.
const MAX_PENDING_INPUTS: usize = 256;

/// How bots reach the server. Parsed on the command line as `ws` (or `websocket`) and
/// `webrtc`; reported in the JSON line in lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Transport {
    /// WebSocket.
    #[default]
    #[value(alias = "websocket")]
    Ws,
    /// WebRTC data channels negotiated over the WebSocket, which stays open as the fallback.
    Webrtc,
}

/// Settings of a swarm run.
#[derive(Debug, Clone)]
pub struct BotConfig {
    /// Server WebSocket URL, e.g. `ws://127.0.0.1:7777/ws`. Default that address.
    pub url: String,
    /// Number of bots. Default 100.
    pub bots: usize,
    /// Length of the measurement window after the warm-up, in seconds. Default 10.
    pub seconds: f64,
    /// Inputs each bot sends per second. Default 20.
    pub input_hz: f64,
    /// Time between the last connect and the start of measurement, in seconds. Default 2.
    pub warmup_seconds: f64,
    /// Room every bot joins. Default `arena`.
    pub room: String,
    /// Seed of the bots' random directions (bot `i` uses a stream derived from it and `i`).
    /// Default 1.
    pub seed: u64,
    /// Transport. Default [`Transport::Ws`].
    pub transport: Transport,
    /// Connection attempts started per second during the ramp. Default 500.
    pub connects_per_second: f64,
    /// Auth token sent in every hello. Default empty.
    pub auth_token: String,
    /// Per-bot limit from TCP connect to welcome, in seconds. Default 10.
    pub handshake_timeout_seconds: f64,
    /// WebRTC settings, used with [`Transport::Webrtc`]. Default [`WebRtcConfig::default`].
    pub webrtc: WebRtcConfig,
    /// Longest wait for an input to carry an ack, in ms. Default `None`: the client session's
    /// default.
    pub ack_delay_ms: Option<f64>,
    /// TLS settings for a `wss://` URL ([`ClientConfig::tls`]). Default `None`.
    pub tls: Option<std::sync::Arc<tokio_rustls::rustls::ClientConfig>>,
}

impl Default for BotConfig {
    fn default() -> Self {
        Self {
            url: "ws://127.0.0.1:7777/ws".to_owned(),
            bots: 100,
            seconds: 10.0,
            input_hz: 20.0,
            warmup_seconds: 2.0,
            room: "arena".to_owned(),
            seed: 1,
            transport: Transport::Ws,
            connects_per_second: 500.0,
            auth_token: String::new(),
            handshake_timeout_seconds: 10.0,
            webrtc: WebRtcConfig::default(),
            ack_delay_ms: None,
            tls: None,
        }
    }
}

impl BotConfig {
    fn validate(&self) -> Result<(), SwarmError> {
        let positive = |v: f64| v.is_finite() && v > 0.0;
        let problem = if self.bots == 0 {
            Some("bots must be at least 1")
        } else if !positive(self.seconds) {
            Some("seconds must be positive")
        } else if !positive(self.input_hz) {
            Some("input_hz must be positive")
        } else if !(self.warmup_seconds.is_finite() && self.warmup_seconds >= 0.0) {
            Some("warmup_seconds must be zero or positive")
        } else if !positive(self.connects_per_second) {
            Some("connects_per_second must be positive")
        } else if !positive(self.handshake_timeout_seconds) {
            Some("handshake_timeout_seconds must be positive")
        } else {
            None
        };
        problem.map_or(Ok(()), |p| Err(SwarmError::Config(p)))
    }
}

/// Why one bot could not play.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BotError {
    /// Connecting or the handshake failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The server's input schema lacks a float field the arena pattern drives.
    #[error("the server's input schema has no f32 field {0:?}")]
    MissingInputField(&'static str),
}

/// Why a swarm run failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SwarmError {
    /// The configuration is unusable.
    #[error("bot config: {0}")]
    Config(&'static str),
    /// Not one bot got to play.
    #[error("no bot connected ({failed} failed), first error: {first}")]
    NoneConnected {
        /// Bots whose connect failed.
        failed: usize,
        /// The first failure.
        #[source]
        first: BotError,
    },
}

/// Input-to-snapshot latency summary, milliseconds; `null` without samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Median.
    pub p50: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Largest sample (exact).
    pub max: Option<f64>,
}

/// Round-trip summary, milliseconds; `null` without samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RttSummary {
    /// Median.
    pub p50: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

/// What a swarm run measured. Serializes (serde_json) to the one-line report; the fields not
/// in that line are for logs.
///
/// Rates are per bot measured (connected when measurement began) per second of the
/// measurement window. Percentiles (nearest rank) come from HdrHistograms of microseconds with
/// two significant digits: exact below 256 µs, within 1% above.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SwarmReport {
    /// Transport used.
    pub transport: Transport,
    /// Bots configured.
    pub bots: usize,
    /// Measurement window configured, seconds.
    pub seconds: f64,
    /// Snapshots decoded per bot per second.
    pub snapshots_per_bot_per_s: f64,
    /// Payload bytes of the server's WebSocket messages (no framing) per bot per second.
    pub bytes_per_bot_per_s: f64,
    /// Full (non-delta) snapshots decoded during measurement, all bots.
    pub full_snapshots: u64,
    /// Snapshots that failed to decode during measurement, all bots.
    pub decode_errors: u64,
    /// Connections closed by the server or failed after the handshake, over the whole run
    /// (warm-up included, so no bot drops out of the measurement unnoticed).
    pub disconnects: u64,
    /// From sending input `s` to the first snapshot whose header says
    /// `last_input_seq >= s`, for inputs sent during measurement.
    pub input_to_snapshot_ms: LatencySummary,
    /// Round trips of individual clock pings (ping sent to its pong read, one per bot per
    /// second), answered during measurement.
    pub rtt_ms: RttSummary,
    /// Bots whose snapshots came over WebRTC when measurement ended (0 over `ws`).
    pub on_webrtc: usize,
    /// Bots on the WebSocket when measurement ended: every bot over `ws`; over `webrtc`,
    /// those whose upgrade failed or fell back.
    pub on_websocket: usize,
    /// WebRTC attempts that never opened plus falls back after opening, all bots, whole run.
    pub webrtc_fallbacks: u64,
    /// Bots whose connect or handshake failed.
    #[serde(skip)]
    pub connect_failures: usize,
    /// Bots connected when measurement began (the rates' denominator).
    #[serde(skip)]
    pub measured_bots: usize,
    /// Measurement window as it ran, seconds (the rates' other denominator).
    #[serde(skip)]
    pub measured_seconds: f64,
}

/// Runs a swarm on the current tokio runtime and reports what it measured.
pub async fn run_swarm(cfg: &BotConfig) -> Result<SwarmReport, SwarmError> {
    cfg.validate()?;
    let shared = Arc::new(Shared::default());
    let settings = Arc::new(cfg.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    let (ready_tx, mut ready_rx) = mpsc::channel(cfg.bots.min(4096));
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..cfg.bots {
        let at = start + Duration::from_secs_f64(i as f64 / cfg.connects_per_second);
        tasks.spawn(run_bot(
            i,
            at,
            Arc::clone(&settings),
            Arc::clone(&shared),
            stop_rx.clone(),
            ready_tx.clone(),
        ));
    }
    drop(ready_tx);

    // Ramp: every bot reports its connect outcome once.
    let mut failed = 0;
    let mut first_error = None;
    while let Some(outcome) = ready_rx.recv().await {
        if let Err(e) = outcome {
            failed += 1;
            tracing::warn!(error = %e, "bot could not connect");
            first_error.get_or_insert(e);
        }
    }
    if failed == cfg.bots {
        let _ = stop_tx.send(true);
        tasks.shutdown().await;
        return Err(SwarmError::NoneConnected {
            failed,
            first: first_error.unwrap_or(BotError::Client(ClientError::NotConnected)),
        });
    }

    tokio::time::sleep(Duration::from_secs_f64(cfg.warmup_seconds)).await;
    let measured_bots = shared.live.load(Ordering::Relaxed);
    shared.measuring.store(true, Ordering::Relaxed);
    let window_start = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(cfg.seconds)).await;
    shared.measuring.store(false, Ordering::Relaxed);
    let window = window_start.elapsed().as_secs_f64();

    let _ = stop_tx.send(true);
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    let per_bot_s = (measured_bots.max(1) as f64) * window;
    let ms = |us: Option<u64>| us.map(|v| round3(v as f64 / 1000.0));
    Ok(SwarmReport {
        transport: cfg.transport,
        bots: cfg.bots,
        seconds: cfg.seconds,
        snapshots_per_bot_per_s: round3(
            shared.snapshots.load(Ordering::Relaxed) as f64 / per_bot_s,
        ),
        bytes_per_bot_per_s: round3(shared.bytes.load(Ordering::Relaxed) as f64 / per_bot_s),
        full_snapshots: shared.full_snapshots.load(Ordering::Relaxed),
        decode_errors: shared.decode_errors.load(Ordering::Relaxed),
        disconnects: shared.disconnects.load(Ordering::Relaxed),
        input_to_snapshot_ms: LatencySummary {
            p50: ms(shared.latency.quantile(0.5)),
            p99: ms(shared.latency.quantile(0.99)),
            max: ms(shared.latency.max()),
        },
        rtt_ms: RttSummary {
            p50: ms(shared.rtt.quantile(0.5)),
            p99: ms(shared.rtt.quantile(0.99)),
        },
        on_webrtc: shared.on_webrtc.load(Ordering::Relaxed),
        on_websocket: shared.on_websocket.load(Ordering::Relaxed),
        webrtc_fallbacks: shared.webrtc_fallbacks.load(Ordering::Relaxed),
        connect_failures: failed,
        measured_bots,
        measured_seconds: window,
    })
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// What bots share: the phase flag, counters (added to only while measuring, except
/// `disconnects` and `live`) and histograms of microseconds.
#[derive(Debug, Default)]
struct Shared {
    measuring: AtomicBool,
    live: AtomicUsize,
    bytes: AtomicU64,
    snapshots: AtomicU64,
    full_snapshots: AtomicU64,
    decode_errors: AtomicU64,
    disconnects: AtomicU64,
    latency: Samples,
    rtt: Samples,
    on_webrtc: AtomicUsize,
    on_websocket: AtomicUsize,
    webrtc_fallbacks: AtomicU64,
}

/// A bot's view of its client's cumulative counters at the last accounting.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    bytes: u64,
    snapshots: u64,
    full_snapshots: u64,
    decode_errors: u64,
}

impl Seen {
    fn of(client: &Client) -> Self {
        let s = client.stats();
        Self {
            bytes: client.traffic().bytes_received,
            snapshots: s.snapshots,
            full_snapshots: s.full_snapshots,
            decode_errors: s.decode_errors,
        }
    }
}

impl Shared {
    /// Adds what `client` received since `seen` when measuring, and moves `seen` forward.
    fn account(&self, client: &mut Client, seen: &mut Seen) {
        let now = Seen::of(client);
        if self.measuring.load(Ordering::Relaxed) {
            let add = |c: &AtomicU64, new: u64, old: u64| {
                if new > old {
                    c.fetch_add(new - old, Ordering::Relaxed);
                }
            };
            add(&self.bytes, now.bytes, seen.bytes);
            add(&self.snapshots, now.snapshots, seen.snapshots);
            add(
                &self.full_snapshots,
                now.full_snapshots,
                seen.full_snapshots,
            );
            add(&self.decode_errors, now.decode_errors, seen.decode_errors);
            for rtt in client.take_rtt_samples() {
                self.rtt.record(rtt.as_micros() as u64);
            }
        } else {
            client.take_rtt_samples().for_each(drop);
        }
        *seen = now;
    }
}

async fn run_bot(
    index: usize,
    connect_at: Instant,
    cfg: Arc<BotConfig>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    ready: mpsc::Sender<Result<(), BotError>>,
) {
    tokio::time::sleep_until(connect_at.into()).await;
    let mut client_config = ClientConfig::for_room(cfg.room.clone());
    client_config.session.auth_token = cfg.auth_token.clone();
    client_config.handshake_timeout = Duration::from_secs_f64(cfg.handshake_timeout_seconds);
    client_config.tls = cfg.tls.clone();
    if cfg.transport == Transport::Webrtc {
        client_config.webrtc = Some(cfg.webrtc.clone());
    }
    if let Some(ms) = cfg.ack_delay_ms {
        client_config.session.ack_delay_us = (ms.max(0.0) * 1000.0) as u64;
    }
    let connected = Client::connect(&cfg.url, client_config)
        .await
        .map_err(BotError::from)
        .and_then(|client| {
            let fields = input_fields(&client)?;
            Ok((client, fields))
        });
    let (mut client, (dx, dy, words)) = match connected {
        Ok(c) => {
            let _ = ready.send(Ok(())).await;
            c
        }
        Err(e) => {
            let _ = ready.send(Err(e)).await;
            return;
        }
    };
    drop(ready);
    shared.live.fetch_add(1, Ordering::Relaxed);

    let mut rng = Rng::new(cfg.seed, index as u64);
    let mut words = vec![0u32; words];
    let mut dir = (rng.signed_unit(), rng.signed_unit());
    let period = Duration::from_secs_f64(1.0 / cfg.input_hz);
    // Spread the bots' input instants over the period.
    let phase = period.mul_f64(rng.unit());
    let mut timer = tokio::time::interval_at((Instant::now() + phase).into(), period);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut pending: VecDeque<(u32, Instant)> = VecDeque::new();
    let mut seen = Seen::of(&client);

    let lost = loop {
        tokio::select! {
            _ = stop.changed() => {
                let on = match client.transport() {
                    ActiveTransport::WebRtc => &shared.on_webrtc,
                    ActiveTransport::WebSocket => &shared.on_websocket,
                };
                on.fetch_add(1, Ordering::Relaxed);
                break false;
            }
            _ = timer.tick() => {
                if rng.unit() < TURN_PROBABILITY {
                    dir = (rng.signed_unit(), rng.signed_unit());
                }
                // Direction components are finite and in range, so setting cannot fail.
                let _ = dx.set_f32(&mut words, dir.0 as f32);
                let _ = dy.set_f32(&mut words, dir.1 as f32);
                let sent = Instant::now();
                match client.send_input(&words).await {
                    Ok(seq) => {
                        if shared.measuring.load(Ordering::Relaxed) {
                            if pending.len() == MAX_PENDING_INPUTS {
                                pending.pop_front();
                            }
                            pending.push_back((seq, sent));
                        }
                    }
                    Err(e) => {
                        tracing::debug!(bot = index, error = %e, "input failed");
                        break true;
                    }
                }
            }
            ev = client.next_event() => match ev {
                Some(ClientEvent::Snapshot(h)) => {
                    if let Some(applied) = h.last_input_seq {
                        let now = Instant::now();
                        while let Some(&(seq, sent)) = pending.front() {
                            if seq > applied {
                                break;
                            }
                            pending.pop_front();
                            if shared.measuring.load(Ordering::Relaxed) {
                                shared.latency.record((now - sent).as_micros() as u64);
                            }
                        }
                    }
                }
                Some(ClientEvent::Closed(reason)) => {
                    tracing::debug!(bot = index, %reason, "server closed the session");
                }
                Some(_) => {}
                None => {
                    tracing::debug!(bot = index, end = ?client.end(), "connection ended");
                    break true;
                }
            },
        }
        shared.account(&mut client, &mut seen);
    };
    shared.live.fetch_sub(1, Ordering::Relaxed);
    let w = client.webrtc_stats();
    shared
        .webrtc_fallbacks
        .fetch_add(w.failed_attempts + w.fallbacks, Ordering::Relaxed);
    if lost {
        shared.disconnects.fetch_add(1, Ordering::Relaxed);
    } else {
        let _ = client.close().await;
    }
}

/// The `dx` and `dy` input fields and the input's word count.
fn input_fields(client: &Client) -> Result<(FieldLayout, FieldLayout, usize), BotError> {
    let input = client
        .input_layout()
        .ok_or(BotError::Client(ClientError::NotConnected))?;
    let field = |name: &'static str| -> Result<FieldLayout, BotError> {
        let f = input
            .field(name)
            .map(|i| input.fields[i].clone())
            .ok_or(BotError::MissingInputField(name))?;
        // Probing with a scratch buffer checks the type.
        let mut probe = vec![0u32; input.words];
        f.set_f32(&mut probe, 0.0)
            .map_err(|_| BotError::MissingInputField(name))?;
        Ok(f)
    };
    Ok((field("dx")?, field("dy")?, input.words))
}

/// A bot's seeded stream (SplitMix64): small, and good enough for picking directions.
#[derive(Debug, Clone)]
struct Rng(SplitMix64);

impl Rng {
    /// Stream `stream` of `seed`: each bot of a swarm gets its own.
    fn new(seed: u64, stream: u64) -> Self {
        let mut r = Self(SplitMix64::seed_from_u64(
            seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03),
        ));
        r.next_u64();
        r
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[-1, 1)`.
    fn signed_unit(&mut self) -> f64 {
        self.unit() * 2.0 - 1.0
    }
}

/// Largest sample kept apart, in µs (about 19 hours); larger ones count as this.
const SAMPLES_MAX: u64 = (1 << 36) - 1;

/// Samples in microseconds, shared by every bot: an HdrHistogram with two significant digits
/// (about 30 KiB, exact below 256, buckets at most 1/128 wide above) and the exact largest
/// sample. The lock is held for one record or one read, never across an await.
#[derive(Debug)]
struct Samples(Mutex<SamplesInner>);

#[derive(Debug)]
struct SamplesInner {
    hist: Histogram<u64>,
    max: u64,
}

impl Default for Samples {
    fn default() -> Self {
        let hist = Histogram::new_with_bounds(1, SAMPLES_MAX, 2)
            .expect("the bounds and precision are valid");
        Self(Mutex::new(SamplesInner { hist, max: 0 }))
    }
}

impl Samples {
    fn lock(&self) -> std::sync::MutexGuard<'_, SamplesInner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, v: u64) {
        let mut s = self.lock();
        s.hist.saturating_record(v);
        s.max = s.max.max(v);
    }

    fn max(&self) -> Option<u64> {
        let s = self.lock();
        (!s.hist.is_empty()).then_some(s.max)
    }

    /// Nearest-rank quantile `q` in `[0, 1]`, as its bucket's midpoint (at most the largest
    /// sample); `None` when empty.
    fn quantile(&self, q: f64) -> Option<u64> {
        let s = self.lock();
        if s.hist.is_empty() {
            return None;
        }
        let v = s.hist.value_at_quantile(q.clamp(0.0, 1.0));
        Some(s.hist.median_equivalent(v).min(s.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::tests::scripted_server::{ScriptedServer, TICK_RATE};

    #[test]
    fn samples_are_exact_when_small_and_tight_when_large() {
        let check = |v: u64| {
            let h = Samples::default();
            h.record(v);
            let got = h.quantile(0.5).expect("one sample");
            let kept = v.min(SAMPLES_MAX);
            if kept < 256 {
                assert_eq!(got, kept);
            } else {
                assert!(got.abs_diff(kept) * 128 <= kept, "{v} read as {got}");
            }
            assert_eq!(h.max(), Some(v), "the largest sample is exact");
        };
        for v in 0..5000u64 {
            check(v);
        }
        for p in (0..40).map(|s| 1u64 << s) {
            for v in [p - 1, p, p + 1] {
                check(v);
            }
        }
    }

    #[test]
    fn histogram_quantiles() {
        let h = Samples::default();
        assert_eq!(h.quantile(0.5), None);
        for v in 1..=100u64 {
            h.record(v);
        }
        assert_eq!(h.quantile(0.5), Some(50));
        assert_eq!(h.quantile(0.99), Some(99));
        assert_eq!(h.max(), Some(100));

        let h = Samples::default();
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5).unwrap() as f64;
        let p99 = h.quantile(0.99).unwrap() as f64;
        assert!((p50 / 5_000_000.0 - 1.0).abs() < 0.01, "p50 {p50}");
        assert!((p99 / 9_900_000.0 - 1.0).abs() < 0.01, "p99 {p99}");
        assert_eq!(h.max(), Some(10_000_000));
    }

    #[test]
    fn rng_is_seeded_and_uniform() {
        let mut a = Rng::new(7, 3);
        let mut b = Rng::new(7, 3);
        let mut c = Rng::new(7, 4);
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(a.next_u64(), c.next_u64());
        let n = 100_000;
        let mut sum = 0.0;
        let mut turns = 0;
        for _ in 0..n {
            let v = a.signed_unit();
            assert!((-1.0..1.0).contains(&v));
            sum += v;
            turns += usize::from(a.unit() < TURN_PROBABILITY);
        }
        assert!((sum / f64::from(n)).abs() < 0.01);
        let rate = turns as f64 / f64::from(n);
        assert!((rate - TURN_PROBABILITY).abs() < 0.005, "turn rate {rate}");
    }

    #[test]
    fn transport_parses_and_config_is_checked() {
        let parse = |s| <Transport as clap::ValueEnum>::from_str(s, false);
        assert_eq!(parse("ws"), Ok(Transport::Ws));
        assert_eq!(parse("websocket"), Ok(Transport::Ws));
        assert_eq!(parse("webrtc"), Ok(Transport::Webrtc));
        assert!(parse("quic").is_err());
        let bad = BotConfig {
            bots: 0,
            ..BotConfig::default()
        };
        assert!(matches!(bad.validate(), Err(SwarmError::Config(_))));
        assert!(BotConfig::default().validate().is_ok());
    }

    #[test]
    fn report_has_exactly_the_line_keys() {
        let report = SwarmReport {
            transport: Transport::Ws,
            bots: 2,
            seconds: 1.0,
            snapshots_per_bot_per_s: 30.0,
            bytes_per_bot_per_s: 900.5,
            full_snapshots: 0,
            decode_errors: 0,
            disconnects: 0,
            input_to_snapshot_ms: LatencySummary {
                p50: Some(50.0),
                p99: Some(80.0),
                max: Some(90.0),
            },
            rtt_ms: RttSummary {
                p50: Some(0.2),
                p99: None,
            },
            on_webrtc: 0,
            on_websocket: 2,
            webrtc_fallbacks: 0,
            connect_failures: 1,
            measured_bots: 2,
            measured_seconds: 1.0,
        };
        assert_eq!(
            serde_json::to_string(&report).unwrap(),
            r#"{"transport":"ws","bots":2,"seconds":1.0,"snapshots_per_bot_per_s":30.0,"bytes_per_bot_per_s":900.5,"full_snapshots":0,"decode_errors":0,"disconnects":0,"input_to_snapshot_ms":{"p50":50.0,"p99":80.0,"max":90.0},"rtt_ms":{"p50":0.2,"p99":null},"on_webrtc":0,"on_websocket":2,"webrtc_fallbacks":0}"#
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn swarm_against_the_scripted_server() {
        let server = ScriptedServer::start().await;
        let cfg = BotConfig {
            url: server.url.clone(),
            bots: 20,
            seconds: 2.0,
            warmup_seconds: 0.5,
            seed: 42,
            ..BotConfig::default()
        };
        let report = tokio::time::timeout(Duration::from_secs(20), run_swarm(&cfg))
            .await
            .expect("the swarm finishes")
            .expect("the swarm runs");
        let line = serde_json::to_string(&report).unwrap();
        assert_eq!(report.connect_failures, 0, "{line}");
        assert_eq!(report.measured_bots, 20, "{line}");
        assert_eq!(report.decode_errors, 0, "{line}");
        assert_eq!(report.disconnects, 0, "{line}");
        assert_eq!(report.full_snapshots, 0, "deltas in steady state: {line}");
        let rate = f64::from(TICK_RATE);
        assert!(
            (report.snapshots_per_bot_per_s - rate).abs() < rate * 0.2,
            "{line}"
        );
        assert!(report.bytes_per_bot_per_s > 0.0, "{line}");
        let lat = report.input_to_snapshot_ms;
        let (p50, p99, max) = (lat.p50.unwrap(), lat.p99.unwrap(), lat.max.unwrap());
        assert!(p50 > 0.0 && p50 <= p99 && p99 <= max, "{line}");
        assert!(p50 < 500.0, "{line}");
        assert!(report.rtt_ms.p50.is_some(), "{line}");
        // The bots pushed the ball around.
        let ball = server.ball();
        assert!(ball != glam::Vec2::splat(500.0), "{line}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn losing_the_server_counts_disconnects() {
        let server = ScriptedServer::start().await;
        let cfg = BotConfig {
            url: server.url.clone(),
            bots: 5,
            seconds: 0.5,
            warmup_seconds: 0.0,
            ..BotConfig::default()
        };
        let mut playing = server.playing();
        let swarm = tokio::spawn(async move { run_swarm(&cfg).await });
        tokio::time::timeout(Duration::from_secs(5), playing.wait_for(|n| *n >= 5))
            .await
            .expect("every bot plays")
            .expect("server alive");
        // Every bot is past its handshake; the server goes away without closing anything.
        drop(server);
        let report = tokio::time::timeout(Duration::from_secs(10), swarm)
            .await
            .expect("the swarm finishes")
            .expect("no panic")
            .expect("the swarm runs");
        assert_eq!(report.connect_failures, 0);
        assert_eq!(report.disconnects, 5);
    }

    #[tokio::test]
    async fn swarm_without_a_server_fails_cleanly() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        drop(listener);
        let cfg = BotConfig {
            url,
            bots: 3,
            seconds: 1.0,
            ..BotConfig::default()
        };
        match run_swarm(&cfg).await {
            Err(SwarmError::NoneConnected { failed: 3, .. }) => {}
            other => panic!("expected NoneConnected, got {other:?}"),
        }
    }
}
