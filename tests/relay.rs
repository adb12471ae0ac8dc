//! A userspace UDP impairment relay between one WebRTC client and the server, driven by
//! str0m-netem (seeded loss, delay, jitter, reordering), since this kernel has no netem.
//!
//! ```text
//!  client ──▶ front socket ──netem "up"──▶ back socket ──▶ server UDP port
//!  client ◀── front socket ◀──netem "down"── back socket ◀── server
//! ```

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m_netem::{Input, Netem, NetemConfig, Output, Probability, RandomLoss};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the relay does to datagrams.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Impairment {
    /// Forward untouched.
    Clear,
    /// Both directions through netem with this config; the seed drives the up direction,
    /// its complement the down direction.
    Netem(NetemConfig, u64),
    /// Drop everything.
    Blocked,
}

/// 20 % random loss, 20 ms ± 10 ms delay, a reorder every 50 datagrams, seeded.
pub(crate) fn lossy(seed: u64) -> Impairment {
    let cfg = NetemConfig::new()
        .latency(Duration::from_millis(20))
        .jitter(Duration::from_millis(10))
        .loss(RandomLoss::new(Probability::new(0.2)))
        .reorder_gap(50);
    Impairment::Netem(cfg, seed)
}

pub(crate) struct Relay {
    /// Where the client sends.
    pub(crate) addr: SocketAddr,
    ctl: watch::Sender<Impairment>,
    task: JoinHandle<()>,
}

impl Relay {
    pub(crate) async fn start(server: SocketAddr, initial: Impairment) -> Relay {
        let front = UdpSocket::bind("127.0.0.1:0").await.expect("relay front");
        let back = UdpSocket::bind("127.0.0.1:0").await.expect("relay back");
        let addr = front.local_addr().expect("relay address");
        let (ctl, rx) = watch::channel(initial);
        let task = tokio::spawn(run(front, back, server, rx));
        Relay { addr, ctl, task }
    }

    pub(crate) fn set(&self, impairment: Impairment) {
        let _ = self.ctl.send(impairment);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One direction's emulator; `None` forwards untouched.
type Direction = Option<Netem<Vec<u8>>>;

fn netems(imp: Impairment) -> (Direction, Direction) {
    match imp {
        Impairment::Netem(cfg, seed) => (
            Some(Netem::new(cfg.seed(seed))),
            Some(Netem::new(cfg.seed(!seed))),
        ),
        Impairment::Clear | Impairment::Blocked => (None, None),
    }
}

async fn run(
    front: UdpSocket,
    back: UdpSocket,
    server: SocketAddr,
    mut ctl: watch::Receiver<Impairment>,
) {
    let mut client: Option<SocketAddr> = None;
    let mut imp = *ctl.borrow();
    let (mut up, mut down) = netems(imp);
    let mut fbuf = vec![0u8; 2048];
    let mut bbuf = vec![0u8; 2048];
    loop {
        let far = Instant::now() + Duration::from_secs(3600);
        let wake = up
            .as_ref()
            .map_or(far, Netem::poll_timeout)
            .min(down.as_ref().map_or(far, Netem::poll_timeout));
        tokio::select! {
            r = front.recv_from(&mut fbuf) => {
                let Ok((n, from)) = r else { continue };
                client = Some(from);
                let data = fbuf[..n].to_vec();
                match (&imp, up.as_mut()) {
                    (Impairment::Blocked, _) => {}
                    (_, Some(nm)) => nm.handle_input(Input::Packet(Instant::now(), data)),
                    (_, None) => { let _ = back.send_to(&data, server).await; }
                }
            }
            r = back.recv_from(&mut bbuf) => {
                let Ok((n, _)) = r else { continue };
                let data = bbuf[..n].to_vec();
                match (&imp, down.as_mut(), client) {
                    (Impairment::Blocked, _, _) | (_, _, None) => {}
                    (_, Some(nm), _) => nm.handle_input(Input::Packet(Instant::now(), data)),
                    (_, None, Some(c)) => { let _ = front.send_to(&data, c).await; }
                }
            }
            () = tokio::time::sleep_until(wake.into()) => {
                let now = Instant::now();
                for nm in [up.as_mut(), down.as_mut()].into_iter().flatten() {
                    nm.handle_input(Input::Timeout(now));
                }
            }
            changed = ctl.changed() => {
                if changed.is_err() {
                    return;
                }
                imp = *ctl.borrow();
                (up, down) = netems(imp);
            }
        }
        if let Some(nm) = up.as_mut() {
            while let Some(out) = nm.poll_output() {
                if let Output::Packet(p) = out {
                    let _ = back.send_to(&p, server).await;
                }
            }
        }
        if let (Some(nm), Some(c)) = (down.as_mut(), client) {
            while let Some(out) = nm.poll_output() {
                if let Output::Packet(p) = out {
                    let _ = front.send_to(&p, c).await;
                }
            }
        }
    }
}
