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

/// The running fingerprint: two 64-bit lanes, each updated per 64-bit word by a
/// bijective multiply-xorshift step, finalised with the MurmurHash3 avalanche.
///
/// It is written here rather than taken from a hashing crate because it runs twice per
/// event: a streaming XXH3 spent most of its time copying words into its buffer. Each
/// lane's update is a bijection of the lane for a fixed word, so no input collapses the
/// state, and any single changed word changes both lanes. It is a divergence detector,
/// not a cryptographic hash. Integers are fed as fixed-width little-endian words
/// (`usize` as `u64`), so the value is the same on every platform.
pub(crate) struct FingerprintHasher {
    a: u64,
    b: u64,
}

const LANE_A: u64 = 0x9E37_79B9_7F4A_7C15;
const LANE_B: u64 = 0xC2B2_AE3D_27D4_EB4F;

impl FingerprintHasher {
    fn new() -> Self {
        FingerprintHasher {
            a: 0x243F_6A88_85A3_08D3,
            b: 0x1319_8A2E_0370_7344,
        }
    }

    /// Fold one 64-bit word into both lanes.
    #[inline(always)]
    fn word(&mut self, w: u64) {
        // The lanes do not depend on each other, so their multiplies overlap.
        let a = (self.a ^ w).wrapping_mul(LANE_A);
        self.a = a ^ (a >> 29);
        let b = (self.b.rotate_left(23) ^ w).wrapping_mul(LANE_B);
        self.b = b ^ (b >> 31);
    }

    fn digest(&self) -> Fingerprint {
        let fmix = |mut k: u64| {
            k ^= k >> 33;
            k = k.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
            k ^= k >> 33;
            k = k.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
            k ^ (k >> 33)
        };
        let hi = fmix(self.a ^ self.b.rotate_left(17));
        let lo = fmix(self.b ^ hi);
        Fingerprint((u128::from(hi) << 64) | u128::from(lo))
    }
}

impl Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.digest().0 as u64
    }
    /// Whole words, then the remaining bytes padded into one word tagged with their
    /// count, so every call is self-contained.
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.word(u64::from_le_bytes(c.try_into().expect("8-byte chunk")));
        }
        let rest = chunks.remainder();
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        last[7] = rest.len() as u8 | 0x80;
        self.word(u64::from_le_bytes(last));
    }
    fn write_u8(&mut self, i: u8) {
        self.word(u64::from(i) | 0x100);
    }
    fn write_u16(&mut self, i: u16) {
        self.word(u64::from(i) | 0x2_0000);
    }
    fn write_u32(&mut self, i: u32) {
        self.word(u64::from(i) | 0x4_0000_0000);
    }
    fn write_u64(&mut self, i: u64) {
        self.word(i);
    }
    fn write_u128(&mut self, i: u128) {
        self.word(i as u64);
        self.word((i >> 64) as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.word(i as u64);
    }
    fn write_i64(&mut self, i: i64) {
        self.word(i as u64);
    }
    fn write_isize(&mut self, i: isize) {
        self.word(i as u64);
    }
}

/// The running trace of one simulation: the fingerprint, and the records when kept.
pub(crate) struct Trace {
    hasher: FingerprintHasher,
    records: Option<Vec<TraceRecord>>,
}

impl Trace {
    /// A trace that only fingerprints (`keep_records == false`) or also keeps records.
    pub fn new(keep_records: bool) -> Self {
        Trace {
            hasher: FingerprintHasher::new(),
            records: keep_records.then(Vec::new),
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
        let h = &mut self.hasher;
        h.word(time_ns);
        h.word((u64::from(node) << 32) | u64::from(peer));
        h.word(value);
        h.word(kind as u64);
        &mut self.hasher
    }

    /// Fold a string (labels of faults and annotations) into the fingerprint.
    pub fn fold_str(&mut self, s: &str) {
        self.hasher.write_usize(s.len());
        self.hasher.write(s.as_bytes());
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

    /// The kept records (empty when records are not kept).
    pub fn records(&self) -> &[TraceRecord] {
        self.records.as_deref().unwrap_or(&[])
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
