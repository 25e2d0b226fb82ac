//! The trace: every decision of a run as a canonical record, folded into a 128-bit
//! fingerprint as it happens.
//!
//! The fingerprint is always on (it is what makes two runs comparable); the records
//! themselves are kept only when asked for, because formatting them costs far more than
//! hashing them. Every decision that is folded into the fingerprint is also kept as a
//! record, in the same order, so two recorded traces can be compared record by record.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::hash::Hasher;
use xxhash_rust::xxh3::Xxh3;

/// Why the network (or the kernel) did not deliver a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Random loss on the link (or on one of the message's fragments).
    Loss,
    /// The link's byte-bounded queue was full (tail drop).
    QueueFull,
    /// The link was cut by a fault.
    LinkDown,
    /// A partition separates sender and receiver.
    Partitioned,
    /// The topology has no link between the two nodes.
    NoRoute,
    /// The message is larger than the link MTU and fragmentation is off.
    ExceedsMtu,
    /// The receiver was crashed when the message arrived.
    NodeDown,
    /// The receiver had left the system (or had not joined yet).
    NodeAbsent,
}

impl DropReason {
    /// Every reason, in a fixed order (for metrics output).
    pub const ALL: [DropReason; 8] = [
        DropReason::Loss,
        DropReason::QueueFull,
        DropReason::LinkDown,
        DropReason::Partitioned,
        DropReason::NoRoute,
        DropReason::ExceedsMtu,
        DropReason::NodeDown,
        DropReason::NodeAbsent,
    ];

    /// The snake_case name used in traces and metrics.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::QueueFull => "queue_full",
            DropReason::LinkDown => "link_down",
            DropReason::Partitioned => "partitioned",
            DropReason::NoRoute => "no_route",
            DropReason::ExceedsMtu => "exceeds_mtu",
            DropReason::NodeDown => "node_down",
            DropReason::NodeAbsent => "node_absent",
        }
    }
}

/// What kind of decision a record stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A node handed a message to the network; `peer` is the receiver, `value` the
    /// delivery time in ns.
    Send,
    /// A message reached its receiver; `peer` is the sender.
    Deliver,
    /// A message was dropped; `peer` is the sender when `node` is the receiver.
    Drop,
    /// The network made a second copy of a message.
    Duplicate,
    /// A node set a timer; `value` is the firing time in ns.
    TimerSet,
    /// A timer fired.
    TimerFire,
    /// A node cancelled a timer before it fired.
    TimerCancel,
    /// A scheduled fault took effect.
    Fault,
    /// A node started (at its start time, on join or on restart).
    NodeStart,
    /// A free-form note written by a node through its context.
    Annotation,
}

/// One canonical trace record, as written to trace files and read by reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceRecord {
    /// True simulated time of the decision, in ns.
    pub time_ns: u64,
    /// What happened.
    pub kind: RecordKind,
    /// The node acting or receiving (`u32::MAX` for the environment, e.g. faults).
    pub node: u32,
    /// The other node involved, if any.
    pub peer: Option<u32>,
    /// A number whose meaning depends on `kind` (delivery time, timer id, size).
    pub value: u64,
    /// Message kind, timer tag, fault name or drop reason.
    pub label: String,
    /// Message contents, fault parameters or annotation text, human-readable.
    pub detail: String,
}

impl fmt::Display for TraceRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={}ns {:?} node={}", self.time_ns, self.kind, self.node)?;
        if let Some(p) = self.peer {
            write!(f, " peer={p}")?;
        }
        write!(f, " value={} {} {}", self.value, self.label, self.detail)
    }
}

/// A 128-bit fingerprint of a run, printed as 32 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub u128);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// A `Hasher` over XXH3-128 that encodes every integer as fixed-width little-endian, so
/// the fingerprint is the same on every platform (`usize` is hashed as `u64`).
pub struct FingerprintHasher(Xxh3);

impl FingerprintHasher {
    fn new() -> Self {
        FingerprintHasher(Xxh3::new())
    }
    fn digest(&self) -> Fingerprint {
        Fingerprint(self.0.digest128())
    }
}

impl Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0.digest()
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn write_u8(&mut self, i: u8) {
        self.0.update(&[i]);
    }
    fn write_u16(&mut self, i: u16) {
        self.0.update(&i.to_le_bytes());
    }
    fn write_u32(&mut self, i: u32) {
        self.0.update(&i.to_le_bytes());
    }
    fn write_u64(&mut self, i: u64) {
        self.0.update(&i.to_le_bytes());
    }
    fn write_u128(&mut self, i: u128) {
        self.0.update(&i.to_le_bytes());
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }
    fn write_isize(&mut self, i: isize) {
        self.write_u64(i as u64);
    }
}

/// The running trace of one simulation: the fingerprint, and the records when kept.
pub struct Trace {
    hasher: FingerprintHasher,
    records: Option<Vec<TraceRecord>>,
    count: u64,
}

impl Trace {
    /// A trace that only fingerprints (`keep_records == false`) or also keeps records.
    pub fn new(keep_records: bool) -> Self {
        Trace {
            hasher: FingerprintHasher::new(),
            records: keep_records.then(Vec::new),
            count: 0,
        }
    }

    /// Whether records are being kept (callers skip formatting details otherwise).
    #[inline]
    pub fn keeps_records(&self) -> bool {
        self.records.is_some()
    }

    /// Fold the canonical fields of one record into the fingerprint and return the
    /// hasher so that the caller can fold in message contents too.
    #[inline]
    pub fn fold(
        &mut self,
        time_ns: u64,
        kind: RecordKind,
        node: u32,
        peer: u32,
        value: u64,
    ) -> &mut FingerprintHasher {
        self.count += 1;
        let mut buf = [0u8; 29];
        buf[0..8].copy_from_slice(&time_ns.to_le_bytes());
        buf[8] = kind as u8;
        buf[9..13].copy_from_slice(&node.to_le_bytes());
        buf[13..17].copy_from_slice(&peer.to_le_bytes());
        buf[17..25].copy_from_slice(&value.to_le_bytes());
        buf[25..29].copy_from_slice(&(self.count as u32).to_le_bytes());
        self.hasher.0.update(&buf);
        &mut self.hasher
    }

    /// Fold a string (labels of faults and annotations) into the fingerprint.
    pub fn fold_str(&mut self, s: &str) {
        self.hasher.write_usize(s.len());
        self.hasher.0.update(s.as_bytes());
    }

    /// Keep a record, when records are kept.
    pub fn keep(&mut self, record: impl FnOnce() -> TraceRecord) {
        if let Some(records) = &mut self.records {
            records.push(record());
        }
    }

    /// The fingerprint of everything folded so far.
    pub fn fingerprint(&self) -> Fingerprint {
        self.hasher.digest()
    }

    /// How many records have been folded in.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// True before the first record.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The kept records (empty when records are not kept).
    pub fn records(&self) -> &[TraceRecord] {
        self.records.as_deref().unwrap_or(&[])
    }

    /// Take the kept records out, leaving none.
    pub fn take_records(&mut self) -> Vec<TraceRecord> {
        self.records
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }
}

/// The first place two record sequences differ: its index and the two records (either
/// side may have ended).
pub fn first_divergence<'a>(
    expected: &'a [TraceRecord],
    actual: &'a [TraceRecord],
) -> Option<(usize, Option<&'a TraceRecord>, Option<&'a TraceRecord>)> {
    let n = expected.len().max(actual.len());
    (0..n).find_map(|i| {
        let (e, a) = (expected.get(i), actual.get(i));
        (e != a).then_some((i, e, a))
    })
}
