//! WebRTC churn: peers created, opened and closed against an in-process server, RSS sampled
//! after every batch, and the slope of RSS against peers fitted by least squares.
//!
//!   cargo bench --bench webrtc_churn [-- PEERS [CONCURRENT] [ws]]
//!
//! With `ws` the clients stay on the WebSocket: the same churn without WebRTC, as a baseline.
//! Default 1,000 peers, 20 at a time, the first 100 as warm-up (not fitted). Each peer is a
//! real client: WebSocket hello, offer and answer over it, ICE, DTLS and SCTP on loopback UDP,
//! both data channels open, snapshots received over WebRTC, then the client leaves. Both the
//! server's and the clients' peers live in this process, so a leak on either side shows.
//! Prints one JSON line; exits 1 when the slope is 5 KiB per peer or more.

use std::sync::Arc;
use std::time::Duration;

use tickwire::arena::ArenaFactory;
use tickwire::client::{ActiveTransport, Client, ClientConfig, WebRtcConfig};
use tickwire::{Config, Server};
use tickwire_protocol::session::ClientEvent;

const WARMUP_PEERS: usize = 100;
const LIMIT_KIB_PER_PEER: f64 = 5.0;

fn rss_kib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(f64::NAN)
}

async fn one_peer(url: String, webrtc: bool) -> Result<(), String> {
    let mut cfg = ClientConfig::for_room("churn");
    cfg.webrtc = webrtc.then(WebRtcConfig::default);
    let want = if webrtc {
        ActiveTransport::WebRtc
    } else {
        ActiveTransport::WebSocket
    };
    let mut client = Client::connect(&url, cfg)
        .await
        .map_err(|e| e.to_string())?;
    let opened = tokio::time::timeout(Duration::from_secs(10), async {
        let mut over_rtc = 0;
        while over_rtc < 3 {
            match client.next_event().await {
                Some(ClientEvent::Snapshot(_)) if client.transport() == want => {
                    over_rtc += 1;
                }
                Some(_) => {}
                None => return Err("connection ended".to_owned()),
            }
        }
        Ok(())
    })
    .await;
    let _ = client.close().await;
    opened.map_err(|_| "data channels did not open in time".to_owned())?
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let peers = args.first().copied().unwrap_or(1000);
    let concurrent = args.get(1).copied().unwrap_or(20).max(1);
    let webrtc = !std::env::args().any(|a| a == "ws");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let config = Config {
            listen: "127.0.0.1:0".parse().expect("addr"),
            webrtc_udp: Some("127.0.0.1:0".parse().expect("addr")),
            // A session whose transport drops without a leave is parked for resume (30 s by
            // default): memory held on purpose, not leaked, which would blur what the
            // transport itself keeps.
            resume_grace_ms: 0,
            ..Config::default()
        };
        let server = Server::start(config, Arc::new(ArenaFactory))
            .await
            .expect("server");
        let url = format!("ws://{}/ws", server.local_addr());
        let mut samples: Vec<(f64, f64)> = Vec::new();
        let mut done = 0;
        let mut failures = 0;
        while done < peers {
            let n = concurrent.min(peers - done);
            let batch: Vec<_> = (0..n)
                .map(|_| tokio::spawn(one_peer(url.clone(), webrtc)))
                .collect();
            for b in batch {
                if !matches!(b.await, Ok(Ok(()))) {
                    failures += 1;
                }
            }
            done += n;
            // Let the server see the closes and drop the peers before sampling.
            for _ in 0..200 {
                if server.report().webrtc.is_some_and(|w| w.peers == 0) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if done > WARMUP_PEERS {
                samples.push((done as f64, rss_kib()));
            }
        }
        let n = samples.len() as f64;
        let mx = samples.iter().map(|s| s.0).sum::<f64>() / n;
        let my = samples.iter().map(|s| s.1).sum::<f64>() / n;
        let sxy: f64 = samples.iter().map(|s| (s.0 - mx) * (s.1 - my)).sum();
        let sxx: f64 = samples.iter().map(|s| (s.0 - mx).powi(2)).sum();
        let slope = if sxx > 0.0 { sxy / sxx } else { f64::NAN };
        let report = server.report().webrtc.expect("webrtc report");
        let line = serde_json::json!({
            "transport": if webrtc { "webrtc" } else { "ws" },
            "peers": peers,
            "concurrent": concurrent,
            "failed": failures,
            "opened_on_server": report.opened,
            "peers_left": report.peers,
            "rss_first_kib": samples.first().map(|s| s.1),
            "rss_last_kib": samples.last().map(|s| s.1),
            "rss_slope_kib_per_peer": (slope * 1000.0).round() / 1000.0,
            "limit_kib_per_peer": LIMIT_KIB_PER_PEER,
        });
        #[expect(clippy::print_stdout, reason = "the report is the bench's output")]
        {
            println!("{line}");
        }
        server.shutdown(Duration::from_secs(1)).await;
        let within_limit = slope.is_finite() && slope < LIMIT_KIB_PER_PEER;
        if !within_limit || failures > 0 {
            std::process::exit(1);
        }
    });
}
