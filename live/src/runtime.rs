//! The runtime loop of a live run: one UDP socket per hosted node, a listener thread per
//! socket that only receives, and one thread that runs every node's handlers on the
//! wall clock.
//!
//! The simulation is hosted live ([`Simulation::host_live`]): it keeps the nodes, their
//! timers, random streams, metrics, trace and invariants, and the network model. A send
//! goes through the model at the sender (loss, duplication, reordering, latency,
//! jitter, bandwidth and queue, MTU and fragments, partitions: `Network::transmit`, the
//! code every simulated send runs), and the message departs on a real socket at the
//! time the model gives for its arrival. A datagram received is delivered at once
//! (cuts and partitions checked again, as on arrival in a simulation). So the wire
//! adds only the real path's own delay to what the model decided.

use crate::address::AddressBook;
use crate::codec::{self, Refused};
use dsim_scenario::timeline::{TimeSeries, TimelineRecorder};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sim_core::{Metrics, Node, NodeId, SimTime, Simulation};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

/// Datagrams received but not yet handled, at most: a listener waits (and its
/// socket's buffer fills, then drops) while the handlers are this far behind. Bounds
/// the memory held to this many datagrams.
const BACKLOG: usize = 256;
/// How often a listener looks whether the run has ended.
const LISTEN_TICK: Duration = Duration::from_millis(50);
/// Timeline samples over a run.
const SAMPLES: u64 = 200;

/// What a live run is given besides the simulation.
pub struct LiveConfig {
    /// The run ends at this wall-clock time since its start.
    pub until: SimTime,
    /// The run's tag ([`codec::run_tag`]).
    pub tag: u64,
    /// The largest datagram sent or accepted, in bytes.
    pub max_datagram: usize,
    /// The nodes this process runs.
    pub hosted: Vec<NodeId>,
    /// Every node's name, by node index (for errors).
    pub names: Vec<String>,
    /// Every node's address.
    pub book: AddressBook,
    /// The metrics to record over time, if any.
    pub timeline: Option<Vec<&'static str>>,
    /// When the run starts (its time zero), for the processes of one run to start
    /// together; `None`: as soon as the sockets are bound.
    pub start_at: Option<SystemTime>,
}

/// What the sockets saw, reported as `live.*` metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveCounters {
    /// Datagrams sent.
    pub datagrams_sent: u64,
    /// Bytes of datagrams sent (headers and encoding included).
    pub bytes_sent: u64,
    /// Datagrams received and delivered to the simulation.
    pub datagrams_received: u64,
    /// Datagrams that did not decode as a message of this system.
    pub undecodable: u64,
    /// Datagrams larger than the limit.
    pub oversized: u64,
    /// Datagrams from an address that is no node of the run.
    pub unknown_sender: u64,
    /// Well-formed datagrams of another run (scenario or seed).
    pub foreign_run: u64,
    /// Messages whose encoding exceeded the limit, not sent.
    pub unsendable: u64,
    /// Sends the operating system refused.
    pub send_errors: u64,
    /// The most that event handling fell behind the wall clock, in microseconds.
    pub max_lag_us: u64,
}

impl LiveCounters {
    /// Add the counters to `into` under `live.*`.
    pub fn export(&self, into: &mut Metrics) {
        for (name, v) in [
            ("live.datagrams_sent", self.datagrams_sent),
            ("live.bytes_sent", self.bytes_sent),
            ("live.datagrams_received", self.datagrams_received),
            ("live.dropped.undecodable", self.undecodable),
            ("live.dropped.oversized", self.oversized),
            ("live.dropped.unknown_sender", self.unknown_sender),
            ("live.dropped.foreign_run", self.foreign_run),
            ("live.unsendable", self.unsendable),
            ("live.send_errors", self.send_errors),
        ] {
            into.add(name, v as f64);
        }
        into.set("live.max_lag_us", self.max_lag_us as f64);
    }
}

/// One datagram a listener received for node `node`.
struct Datagram {
    node: NodeId,
    from: SocketAddr,
    /// The bytes, or `None` when the datagram exceeded the limit.
    bytes: Option<Vec<u8>>,
}

/// The listeners of a run: stopped and joined on drop.
struct Listeners {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Drop for Listeners {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Bind one socket per hosted node (recording the ports the system picked in `book`)
/// and start a listener on each; the sockets to send from, by node index.
fn bind(
    config: &mut LiveConfig,
    nodes: usize,
    tx: &SyncSender<Datagram>,
) -> Result<(Vec<Option<UdpSocket>>, Listeners), String> {
    let mut sockets: Vec<Option<UdpSocket>> = (0..nodes).map(|_| None).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let mut listeners = Listeners {
        stop: stop.clone(),
        threads: Vec::new(),
    };
    for &node in &config.hosted {
        let i = node.index();
        let addr = config.book.addr(i);
        let name = &config.names[i];
        let hosted = config.hosted.len();
        let fail = |e: std::io::Error| {
            // EMFILE: out of file descriptors.
            let hint = if e.raw_os_error() == Some(24) {
                format!(
                    "; a live run opens one socket per node and this process hosts {hosted}: raise the limit (ulimit -n) or spread the nodes over processes (--addresses, --host)"
                )
            } else {
                String::new()
            };
            format!("cannot bind node {name} to {addr}: {e}{hint}")
        };
        let socket = UdpSocket::bind(addr).map_err(fail)?;
        let local = socket.local_addr().map_err(fail)?;
        config.book.bound(i, local);
        socket.set_read_timeout(Some(LISTEN_TICK)).map_err(fail)?;
        let listener = socket.try_clone().map_err(fail)?;
        let (tx, stop, max) = (tx.clone(), stop.clone(), config.max_datagram);
        let thread = std::thread::Builder::new()
            .name(format!("listen-{i}"))
            .stack_size(128 * 1024)
            .spawn(move || listen(&listener, node, max, &tx, &stop))
            .map_err(|e| format!("cannot start the listener of node {name}: {e}"))?;
        listeners.threads.push(thread);
        sockets[i] = Some(socket);
    }
    Ok((sockets, listeners))
}

/// Receive datagrams for `node` until `stop`; one larger than `max` is passed on
/// without its bytes.
fn listen(
    socket: &UdpSocket,
    node: NodeId,
    max: usize,
    tx: &SyncSender<Datagram>,
    stop: &AtomicBool,
) {
    let mut buf = vec![0u8; max + 1];
    while !stop.load(Ordering::Relaxed) {
        // Timeouts, and errors reported for earlier sends (ICMP), carry no datagram.
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            let bytes = (n <= max).then(|| buf[..n].to_vec());
            if tx.send(Datagram { node, from, bytes }).is_err() {
                return;
            }
        }
    }
}

/// Run `sim`, hosted live on real sockets, from now until `config.until` on the wall
/// clock (or a violation); the socket counters and the key metrics over time. The
/// caller finishes the simulation (`Simulation::finish`, the end-of-run checks).
pub fn run<N: Node>(
    sim: &mut Simulation<N>,
    mut config: LiveConfig,
) -> Result<(LiveCounters, Vec<TimeSeries>), String>
where
    N::Msg: Serialize + DeserializeOwned,
{
    let nodes = sim.world().nodes().count();
    let (tx, rx) = sync_channel(BACKLOG);
    let (sockets, listeners) = bind(&mut config, nodes, &tx)?;
    drop(tx);
    sim.host_live(&config.hosted);
    let mut timeline = config.timeline.as_deref().map(TimelineRecorder::new);
    let until = config.until;
    let every = SimTime((until.0 / SAMPLES).max(1));
    let mut next_sample = every;
    let mut counters = LiveCounters::default();
    let mut buf = Vec::new();
    if let Some(at) = config.start_at {
        match at.duration_since(SystemTime::now()) {
            Ok(wait) => std::thread::sleep(wait),
            Err(late) => {
                return Err(format!(
                    "--start-at is {:.3} s in the past: give a time a few seconds ahead, the same to every process of the run",
                    late.duration().as_secs_f64()
                ));
            }
        }
    }
    let start = Instant::now();
    let wall = || SimTime(start.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64);
    loop {
        let now = wall().min(until);
        let more = sim.advance_to(now);
        for (from, to, msg) in sim.take_departures() {
            send(&sockets, &config, &mut counters, &mut buf, from, to, &msg);
        }
        counters.max_lag_us = counters.max_lag_us.max((wall().0 - now.0) / 1000);
        if let Some(recorder) = &mut timeline {
            while next_sample <= now {
                let world = sim.world();
                recorder.sample(next_sample, &[world.metrics(), &sim.network_counters()]);
                next_sample += every;
            }
        }
        if !more || now >= until {
            break;
        }
        let next = sim.next_event_time().unwrap_or(until).min(until);
        let wait = Duration::from_nanos(next.0.saturating_sub(wall().0));
        receive(sim, &rx, wait, &config, &mut counters, &wall)?;
    }
    drop(rx);
    drop(listeners);
    Ok((
        counters,
        timeline.map(TimelineRecorder::finish).unwrap_or_default(),
    ))
}

/// Encode `msg` and send it from `from`'s socket to `to`'s address.
fn send<M: Serialize>(
    sockets: &[Option<UdpSocket>],
    config: &LiveConfig,
    counters: &mut LiveCounters,
    buf: &mut Vec<u8>,
    from: NodeId,
    to: NodeId,
    msg: &M,
) {
    if codec::encode(config.tag, msg, buf).is_err() || buf.len() > config.max_datagram {
        counters.unsendable += 1;
        return;
    }
    let socket = sockets[from.index()]
        .as_ref()
        .expect("only hosted nodes run handlers, so only they send");
    match socket.send_to(buf, config.book.addr(to.index())) {
        Ok(_) => {
            counters.datagrams_sent += 1;
            counters.bytes_sent += buf.len() as u64;
        }
        Err(_) => counters.send_errors += 1,
    }
}

/// Wait up to `wait` for datagrams and hand every one that is a message of this run to
/// the simulation; count and drop the rest.
fn receive<N: Node>(
    sim: &mut Simulation<N>,
    rx: &Receiver<Datagram>,
    wait: Duration,
    config: &LiveConfig,
    counters: &mut LiveCounters,
    wall: &dyn Fn() -> SimTime,
) -> Result<(), String>
where
    N::Msg: DeserializeOwned,
{
    let first = match rx.recv_timeout(wait) {
        Ok(d) => d,
        Err(RecvTimeoutError::Timeout) => return Ok(()),
        Err(RecvTimeoutError::Disconnected) => {
            return Err("every socket listener of the live run stopped".into());
        }
    };
    for d in std::iter::once(first).chain(rx.try_iter()) {
        let Some(from) = config.book.node_at(d.from) else {
            counters.unknown_sender += 1;
            continue;
        };
        let Some(bytes) = d.bytes else {
            counters.oversized += 1;
            continue;
        };
        match codec::decode::<N::Msg>(config.tag, &bytes) {
            Ok(msg) => {
                counters.datagrams_received += 1;
                let at = wall().min(config.until);
                sim.arrive(at, NodeId(from as u32), d.node, msg);
            }
            Err(Refused::Undecodable) => counters.undecodable += 1,
            Err(Refused::ForeignRun) => counters.foreign_run += 1,
        }
    }
    Ok(())
}
