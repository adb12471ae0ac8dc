//! A connection's outbox: what the shard has for the network task to send.
//!
//! The shard thread pushes, the connection's task pops; neither ever blocks or takes a lock.
//! Snapshots supersede each other (one slot, newest wins); reliable frames queue up to a bound,
//! past which the connection is closed as a slow consumer. Frame buffers cycle back to the
//! shard through a small free list, so steady-state snapshots allocate nothing.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::Poll;

use atomic_waker::AtomicWaker;
use crossbeam_queue::ArrayQueue;
use tickwire_protocol::CloseReason;

/// What the network task should do next.
#[derive(Debug)]
pub enum Next {
    /// Send this frame, then hand the buffer back with [`Outbox::recycle`].
    Frame(Vec<u8>),
    /// Everything queued was sent: close with this reason.
    Close(CloseReason),
}

/// The reliable queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Frames from one shard to one connection.
#[derive(Debug)]
pub struct Outbox {
    snapshot: ArrayQueue<Vec<u8>>,
    reliable: ArrayQueue<Vec<u8>>,
    free: ArrayQueue<Vec<u8>>,
    waker: AtomicWaker,
    close: OnceLock<CloseReason>,
    gone: AtomicBool,
    superseded: AtomicU64,
    bytes: AtomicU64,
}

impl Outbox {
    /// An outbox holding at most `reliable` queued reliable frames.
    pub fn new(reliable: usize) -> Self {
        Self {
            snapshot: ArrayQueue::new(1),
            reliable: ArrayQueue::new(reliable.max(1)),
            free: ArrayQueue::new(3),
            waker: AtomicWaker::new(),
            close: OnceLock::new(),
            gone: AtomicBool::new(false),
            superseded: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// A buffer to write a frame into (recycled when one is free).
    pub fn buffer(&self) -> Vec<u8> {
        self.free.pop().unwrap_or_default()
    }

    /// Gives a sent frame's buffer back.
    pub fn recycle(&self, mut buf: Vec<u8>) {
        buf.clear();
        let _ = self.free.push(buf);
    }

    /// Queues a reliable frame; `Err(Full)` means the client is not keeping up.
    pub fn push_reliable(&self, frame: Vec<u8>) -> Result<(), Full> {
        self.reliable.push(frame).map_err(|_| Full)
    }

    /// Puts a snapshot in the slot, replacing one not yet sent (then returns true).
    pub fn push_snapshot(&self, frame: Vec<u8>) -> bool {
        match self.snapshot.force_push(frame) {
            Some(old) => {
                self.superseded.fetch_add(1, Ordering::Relaxed);
                self.recycle(old);
                true
            }
            None => false,
        }
    }

    /// Wakes the connection's task after pushes.
    pub fn wake(&self) {
        self.waker.wake();
    }

    /// Asks the connection to send what is queued and then close with `reason`. Later calls
    /// keep the first reason.
    pub fn close(&self, reason: CloseReason) {
        let _ = self.close.set(reason);
        self.waker.wake();
    }

    /// Whether a close was asked for.
    pub fn is_closing(&self) -> bool {
        self.close.get().is_some()
    }

    /// The network side is gone; pushes are pointless from now on.
    pub fn mark_gone(&self) {
        self.gone.store(true, Ordering::Release);
    }

    /// Whether the network side is gone.
    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Acquire)
    }

    /// Snapshots replaced before they were sent.
    pub fn superseded(&self) -> u64 {
        self.superseded.load(Ordering::Relaxed)
    }

    /// Counts bytes handed to the socket.
    pub fn add_sent(&self, n: usize) {
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Bytes handed to the socket so far.
    pub fn bytes_sent(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    fn try_next(&self) -> Option<Next> {
        if let Some(f) = self.reliable.pop() {
            return Some(Next::Frame(f));
        }
        if let Some(f) = self.snapshot.pop() {
            return Some(Next::Frame(f));
        }
        self.close.get().map(|r| Next::Close(r.clone()))
    }

    /// Waits for the next frame (reliable ones first) or the close.
    pub async fn next(&self) -> Next {
        poll_fn(|cx| {
            if let Some(n) = self.try_next() {
                return Poll::Ready(n);
            }
            self.waker.register(cx.waker());
            match self.try_next() {
                Some(n) => Poll::Ready(n),
                None => Poll::Pending,
            }
        })
        .await
    }
}

/// The connections a shard's tick queued frames for, handed to the network side in one go.
///
/// Waking a thousand connection tasks from the shard thread costs a thousand cross-thread
/// schedules, and the first one wakes the network thread, which then competes with the rest of
/// the tick for a core. Instead the shard submits the tick's list and wakes one task on the
/// network side, [`WakeBatch::dispatch`], which wakes each connection from there.
#[derive(Debug, Default)]
pub struct WakeBatch {
    pending: Mutex<Vec<Arc<Outbox>>>,
    waker: AtomicWaker,
    closed: AtomicBool,
}

impl WakeBatch {
    /// Hands over `outboxes` (leaving the vector empty, its capacity kept) and wakes the
    /// dispatcher once.
    pub fn submit(&self, outboxes: &mut Vec<Arc<Outbox>>) {
        if outboxes.is_empty() {
            return;
        }
        {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if pending.is_empty() {
                std::mem::swap(&mut *pending, outboxes);
            } else {
                pending.append(outboxes);
            }
        }
        self.waker.wake();
    }

    /// Stops [`WakeBatch::dispatch`] once it has woken what is pending.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.waker.wake();
    }

    fn take(&self, into: &mut Vec<Arc<Outbox>>) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::swap(&mut *pending, into);
        !into.is_empty()
    }

    /// Runs on the network side until [`WakeBatch::close`]: wakes every submitted connection.
    pub async fn dispatch(self: Arc<Self>) {
        let mut batch = Vec::new();
        loop {
            let more = poll_fn(|cx| {
                if self.take(&mut batch) {
                    return Poll::Ready(true);
                }
                self.waker.register(cx.waker());
                if self.take(&mut batch) {
                    return Poll::Ready(true);
                }
                if self.closed.load(Ordering::Acquire) {
                    return Poll::Ready(false);
                }
                Poll::Pending
            })
            .await;
            if !more {
                return;
            }
            for outbox in batch.drain(..) {
                outbox.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickwire_protocol::CloseCode;

    #[tokio::test]
    async fn reliable_first_newest_snapshot_then_close() {
        let o = Outbox::new(2);
        o.push_snapshot(vec![1]);
        o.push_snapshot(vec![2]);
        o.push_reliable(vec![9]).unwrap();
        o.push_reliable(vec![8]).unwrap();
        assert_eq!(o.push_reliable(vec![7]), Err(Full));
        o.close(CloseReason::new(CloseCode::SLOW_CONSUMER, "x"));
        let mut got = Vec::new();
        loop {
            match o.next().await {
                Next::Frame(f) => got.push(f[0]),
                Next::Close(r) => {
                    assert_eq!(r.code, CloseCode::SLOW_CONSUMER);
                    break;
                }
            }
        }
        assert_eq!(got, vec![9, 8, 2]);
        assert_eq!(o.superseded(), 1);
        // The superseded buffer was recycled.
        assert!(o.buffer().capacity() >= 1);
    }

    #[tokio::test]
    async fn a_batch_wakes_every_submitted_connection() {
        let batch = Arc::new(WakeBatch::default());
        let dispatcher = tokio::spawn(batch.clone().dispatch());
        let outboxes: Vec<Arc<Outbox>> = (0..3).map(|_| Arc::new(Outbox::new(1))).collect();
        let readers: Vec<_> = outboxes
            .iter()
            .map(|o| {
                let o = o.clone();
                tokio::spawn(async move { o.next().await })
            })
            .collect();
        // Let the readers register their wakers, then queue without waking.
        tokio::task::yield_now().await;
        let mut woken = Vec::new();
        for (i, o) in outboxes.iter().enumerate() {
            o.push_snapshot(vec![i as u8]);
            woken.push(o.clone());
        }
        batch.submit(&mut woken);
        assert!(woken.is_empty());
        for (i, r) in readers.into_iter().enumerate() {
            match r.await.unwrap() {
                Next::Frame(f) => assert_eq!(f, vec![i as u8]),
                Next::Close(_) => panic!("closed"),
            }
        }
        batch.close();
        dispatcher.await.unwrap();
    }
}
