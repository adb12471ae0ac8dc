//! Room churn driver: opens `ROOMS` rooms on a running server, one real client each (hello,
//! welcome, one snapshot), then drops each connection without a leave, so every room lives on
//! with a parked session until the server's resume grace ends. `benches/rooms-churn.sh` runs
//! it against a release server and reads that server's RSS before, at the peak and after.
//!
//!   cargo bench --bench rooms_churn -- URL [ROOMS [CONCURRENT]]
//!
//! Default 40,000 rooms, 64 at a time. Prints one JSON line: rooms opened, failures, seconds.

use std::time::Instant;

use futures_util::StreamExt as _;
use tickwire::client::{Client, ClientConfig};
use tickwire_protocol::session::ClientEvent;

async fn one_room(url: &str, room: String) -> Result<(), String> {
    let mut client = Client::connect(url, ClientConfig::for_room(room))
        .await
        .map_err(|e| e.to_string())?;
    loop {
        match client.next_event().await {
            Some(ClientEvent::Snapshot(_)) => return Ok(()),
            Some(ClientEvent::Closed(r)) => return Err(r.to_string()),
            Some(_) => {}
            None => return Err("connection ended".into()),
        }
    }
    // Dropped here: the server sees the transport close and parks the session.
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let url = args
        .next()
        .expect("usage: rooms_churn URL [ROOMS [CONCURRENT]]");
    let rooms: usize = args.next().map_or(40_000, |a| a.parse().expect("ROOMS"));
    let concurrent: usize = args.next().map_or(64, |a| a.parse().expect("CONCURRENT"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let started = Instant::now();
    let failed = runtime.block_on(async {
        futures_util::stream::iter(0..rooms)
            .map(|i| {
                let url = url.clone();
                async move { one_room(&url, format!("churn-{i}")).await.is_err() }
            })
            .buffer_unordered(concurrent)
            .filter(|failed| std::future::ready(*failed))
            .count()
            .await
    });
    #[expect(clippy::print_stdout, reason = "the report is the bench's output")]
    {
        println!(
            "{{\"rooms\":{rooms},\"failed\":{failed},\"seconds\":{:.1}}}",
            started.elapsed().as_secs_f64()
        );
    }
}
