//! The sockets of one worker thread, and the writer that feeds them.
//!
//! Each server worker thread (one single-threaded runtime) keeps its sockets in one
//! [`Worker`]: every socket once, and per topic the sockets subscribed to it. An update
//! reaches a worker as one message ([`Outgoing`]); the worker walks the topic's sockets and
//! writes the shared frame to each with a non-blocking write. A socket that cannot take the
//! whole frame keeps the rest, plus the newest pending frame per topic (personal frames
//! queue, bounded), and its own task finishes the write when the kernel has room. Nobody
//! waits for a slow socket: not the hub, not the worker, not the other sockets.
//!
//! Heartbeats and stall detection are one sweep per worker, a tenth of the sockets every
//! tenth of [`HEARTBEAT_INTERVAL`]: a peer silent for [`CLIENT_TIMEOUT`], or a socket
//! whose writes made no progress for [`SEND_TIMEOUT`], is closed.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};

use super::frame;
use super::hub::{Hub, Outgoing};

/// How often the server pings each socket.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// A peer silent (no pong, no message) this long is dead and dropped.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);
/// A socket whose pending output made no progress this long is disconnected.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames that must each arrive (personal messages, replies) one socket may have waiting;
/// past this the socket is too slow to be told everything, and it is closed.
pub const MAX_QUEUED: usize = 256;
/// The heartbeat sweep visits this many slices of the sockets per interval, so that no
/// single turn of the worker pings every socket at once.
const SWEEP_SLICES: u64 = 10;

/// What a pending frame may be replaced by.
#[derive(Debug, Clone, PartialEq)]
pub enum Slot {
    /// Delivered in order, never replaced (a reply, a personal message).
    Each,
    /// Only the newest frame of this topic matters.
    Topic(Arc<str>),
    /// Only one ping need wait.
    Ping,
}

/// One socket, shared by the worker (which writes to it) and its own task (which reads it
/// and finishes writes the kernel could not take at once).
pub struct Conn {
    pub io: TcpStream,
    out: RefCell<Outbox>,
    /// Wakes the socket's task: output is pending, or the socket is to close.
    pub wake: Notify,
    last_heard: Cell<Instant>,
    closing: Cell<Option<u16>>,
}

#[derive(Default)]
struct Outbox {
    /// The unwritten rest of the frame being written (a frame is never interleaved).
    current: Bytes,
    queue: VecDeque<(Slot, Bytes)>,
    /// Since when pending output has made no progress.
    stalled_since: Option<Instant>,
}

impl Conn {
    pub fn new(io: TcpStream) -> Self {
        Conn {
            io,
            out: RefCell::default(),
            wake: Notify::new(),
            last_heard: Cell::new(Instant::now()),
            closing: Cell::new(None),
        }
    }

    /// The peer said something (any frame).
    pub fn heard(&self) {
        self.last_heard.set(Instant::now());
    }

    /// The close code, once the socket is to close.
    pub fn closing(&self) -> Option<u16> {
        self.closing.get()
    }

    /// Ask the socket's task to close it.
    pub fn close(&self, code: u16) {
        if self.closing.get().is_none() {
            self.closing.set(Some(code));
        }
        self.wake.notify_one();
    }

    pub fn pending(&self) -> bool {
        let out = self.out.borrow();
        !out.current.is_empty() || !out.queue.is_empty()
    }

    /// Send a frame: written at once if the socket has nothing pending and the kernel takes
    /// it, else kept (replacing an older frame of the same slot) for the socket's task.
    pub fn send(&self, slot: Slot, frame: &Bytes) {
        self.push(slot, frame, frame)
    }

    /// Send `frame`; should it replace a pending frame of its slot (the socket skips
    /// that one), send `whole` instead: the skipped frame may have carried a change
    /// `frame` leaves out.
    pub fn push(&self, slot: Slot, frame: &Bytes, whole: &Bytes) {
        if self.closing.get().is_some() {
            return;
        }
        let mut out = self.out.borrow_mut();
        if out.current.is_empty() && out.queue.is_empty() {
            let rest = match self.io.try_write(frame) {
                Ok(n) if n == frame.len() => return,
                Ok(n) => frame.slice(n..),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => frame.clone(),
                Err(_) => {
                    drop(out);
                    self.close(1011);
                    return;
                }
            };
            out.current = rest;
            out.stalled_since = Some(Instant::now());
            drop(out);
            self.wake.notify_one();
            return;
        }
        if slot != Slot::Each {
            if let Some(q) = out.queue.iter_mut().find(|(s, _)| *s == slot) {
                q.1 = whole.clone();
                return;
            }
        }
        if out.queue.len() >= MAX_QUEUED {
            drop(out);
            tracing::debug!("a socket fell too far behind; closing it");
            self.close(1008);
            return;
        }
        out.queue.push_back((slot, frame.clone()));
    }

    /// Write what is pending until done or the kernel is full. `Ok(true)`: nothing left.
    pub fn flush(&self) -> io::Result<bool> {
        let mut out = self.out.borrow_mut();
        loop {
            if out.current.is_empty() {
                match out.queue.pop_front() {
                    Some((_, f)) => out.current = f,
                    None => {
                        out.stalled_since = None;
                        return Ok(true);
                    }
                }
            }
            match self.io.try_write(&out.current) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    out.current.advance(n);
                    out.stalled_since = Some(Instant::now());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether the peer is gone quiet or stopped taking what is written to it.
    fn overdue(&self, now: Instant) -> bool {
        if now.duration_since(self.last_heard.get()) > CLIENT_TIMEOUT {
            return true;
        }
        self.out
            .borrow()
            .stalled_since
            .is_some_and(|at| now.duration_since(at) > SEND_TIMEOUT)
    }
}

/// A socket's subscription to a topic, as the worker sees it.
struct Sub {
    conn: Rc<Conn>,
    /// The newest `seq` this socket was sent for the topic.
    last_seq: Cell<u64>,
}

/// The sockets of one worker thread.
pub struct Worker {
    conns: RefCell<HashMap<u64, Rc<Conn>>>,
    topics: RefCell<HashMap<Arc<str>, HashMap<u64, Sub>>>,
    next_id: Cell<u64>,
    sweep_turn: Cell<u64>,
}

impl Worker {
    /// The worker of the calling thread's runtime: call once per worker thread, on it.
    /// At `stopping`, every socket is closed (`1001`, going away).
    pub fn start(
        hub: &Hub,
        stopping: impl std::future::Future<Output = ()> + 'static,
    ) -> Rc<Worker> {
        let worker = Rc::new(Worker {
            conns: RefCell::default(),
            topics: RefCell::default(),
            next_id: Cell::new(0),
            sweep_turn: Cell::new(0),
        });
        let rx = hub.join_worker();
        actix_rt::spawn(worker.clone().run(rx, stopping));
        worker
    }

    async fn run(
        self: Rc<Self>,
        mut rx: mpsc::UnboundedReceiver<Arc<Outgoing>>,
        stopping: impl std::future::Future<Output = ()>,
    ) {
        let mut stopping = std::pin::pin!(stopping);
        let mut beat = tokio::time::interval(HEARTBEAT_INTERVAL / SWEEP_SLICES as u32);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(m) => self.publish(&m),
                    None => return,
                },
                _ = beat.tick() => self.sweep(),
                _ = &mut stopping => {
                    self.conns.borrow().values().for_each(|c| c.close(1001));
                    return;
                }
            }
        }
    }

    /// A new socket; returns its id.
    pub fn add(&self, conn: Rc<Conn>) -> u64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        self.conns.borrow_mut().insert(id, conn);
        id
    }

    /// A socket is gone (its subscriptions were ended first).
    pub fn remove(&self, id: u64) {
        self.conns.borrow_mut().remove(&id);
    }

    /// Socket `id` gets `topic`'s frames with a `seq` above `seq` from now on.
    pub fn subscribe(&self, id: u64, topic: Arc<str>, seq: u64) {
        let Some(conn) = self.conns.borrow().get(&id).cloned() else {
            return;
        };
        self.topics.borrow_mut().entry(topic).or_default().insert(
            id,
            Sub {
                conn,
                last_seq: Cell::new(seq),
            },
        );
    }

    pub fn unsubscribe(&self, id: u64, topic: &str) {
        let mut topics = self.topics.borrow_mut();
        if let Some(subs) = topics.get_mut(topic) {
            subs.remove(&id);
            if subs.is_empty() {
                topics.remove(topic);
            }
        }
    }

    /// Write one update to every socket of its topic on this worker.
    fn publish(&self, m: &Outgoing) {
        let topics = self.topics.borrow();
        let Some(subs) = topics.get(&m.topic) else {
            return;
        };
        let slot = if m.each {
            Slot::Each
        } else {
            Slot::Topic(m.topic.clone())
        };
        for sub in subs.values() {
            if !m.each && m.seq != 0 {
                if m.seq <= sub.last_seq.get() {
                    continue;
                }
                sub.last_seq.set(m.seq);
            }
            sub.conn.push(slot.clone(), &m.frame, &m.full);
        }
    }

    /// One slice of the heartbeat: close the overdue sockets, ping the others.
    fn sweep(&self) {
        let turn = self.sweep_turn.get();
        self.sweep_turn.set(turn.wrapping_add(1));
        let now = Instant::now();
        let ping = frame::ping();
        for (id, conn) in self.conns.borrow().iter() {
            if id % SWEEP_SLICES != turn % SWEEP_SLICES {
                continue;
            }
            if conn.overdue(now) {
                conn.close(1001);
            } else {
                conn.send(Slot::Ping, &ping);
            }
        }
    }
}
