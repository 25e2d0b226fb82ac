//! The event queue: a monotone radix heap of compact 16-byte `(time, slot, node)` keys
//! over a slab of payloads.
//!
//! Order is exactly `(time, sequence)`: the sequence number is taken when an event is
//! scheduled (and kept in its slot), so simultaneous events run in the order they were
//! scheduled. Payloads stay in the slab while their key moves between buckets, so a move
//! copies 16 bytes whatever the payload; freed slots and bucket storage are reused, so a
//! steady run allocates nothing per event. Cancelling takes the payload out at once;
//! the key is skipped when it surfaces.
//!
//! Why a radix heap: a comparison heap pays `log n` unpredictable comparisons per pop,
//! a cost that grows with the number of pending events. The radix heap files a key by
//! the highest digit in which its time differs from the time being served, so a push is
//! one append, a key moves only towards the front a bounded number of times, and finding
//! the next bucket is two bit scans.

use crate::prefetch::prefetch;
use crate::time::SimTime;

/// A handle on a scheduled event, valid until the event runs or is cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey {
    slot: u32,
    generation: u32,
}

impl EventKey {
    /// The key of no queue entry: timers numbered by a context other than the
    /// simulator's carry it, so the kernel never mistakes them for its own.
    pub(crate) const EXTERNAL: EventKey = EventKey {
        slot: u32::MAX,
        generation: u32::MAX,
    };
}

/// A queued key: 16 bytes, four to a cache line. The sequence number lives in the slot:
/// the buckets keep ties in schedule order without it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct HeapEntry {
    time: u64,
    slot: u32,
    /// The node the event is for (fills what would be padding), so the loop can warm
    /// that node's state before its event runs.
    subject: u32,
}

/// An entry of the side heap, which has no buckets to keep ties in order and so
/// carries the sequence number.
#[derive(Clone, Copy)]
struct EarlyEntry {
    seq: u64,
    entry: HeapEntry,
}

impl EarlyEntry {
    /// The queue's order: earlier time first, then earlier scheduling.
    #[inline(always)]
    fn before(&self, other: &EarlyEntry) -> bool {
        (self.entry.time, self.seq) < (other.entry.time, other.seq)
    }
}

/// A 4-ary min-heap: half the depth of a binary heap, and the four children of a node
/// are adjacent, so each level of a sift touches about one cache line.
struct QuaternaryHeap {
    items: Vec<EarlyEntry>,
}

impl QuaternaryHeap {
    fn push(&mut self, entry: EarlyEntry) {
        let mut i = self.items.len();
        self.items.push(entry);
        while i > 0 {
            let parent = (i - 1) / 4;
            if !entry.before(&self.items[parent]) {
                break;
            }
            self.items[i] = self.items[parent];
            i = parent;
        }
        self.items[i] = entry;
    }

    fn peek(&self) -> Option<&HeapEntry> {
        self.items.first().map(|e| &e.entry)
    }

    fn pop(&mut self) -> Option<HeapEntry> {
        let last = self.items.pop()?;
        let Some(&top) = self.items.first() else {
            return Some(last.entry);
        };
        // Sift the last entry down from the root, moving the smallest child up.
        let n = self.items.len();
        let mut i = 0;
        loop {
            let first = 4 * i + 1;
            if first >= n {
                break;
            }
            let mut best = first;
            for c in first + 1..(first + 4).min(n) {
                if self.items[c].before(&self.items[best]) {
                    best = c;
                }
            }
            if !self.items[best].before(&last) {
                break;
            }
            self.items[i] = self.items[best];
            i = best;
        }
        self.items[i] = last;
        Some(top.entry)
    }
}

/// Bits of time per radix digit: each level of buckets splits on one digit. Six bits
/// (64-way levels, 704 buckets) measured about 8% faster than four on PHOLD at 10,000
/// LPs and the same at 100; eight was no faster than six and triples the buckets.
const DIGIT_BITS: u32 = 6;
/// Buckets per level.
const DIGITS: usize = 1 << DIGIT_BITS;
/// Levels of buckets, enough digits for a 64-bit time.
const LEVELS: usize = 64usize.div_ceil(DIGIT_BITS as usize);
/// Buckets besides bucket 0, level-major, so a lower index holds earlier times.
const BUCKETS: usize = LEVELS * DIGITS;
/// Buckets from this index on (levels 3 and up: windows of 2^18 ns and wider) hand their
/// storage on when settled instead of keeping it. Such a bucket fills once per turn of
/// the digit above it, so keeping every one's capacity held on to a share of the largest
/// backlog per bucket ever used (peak RSS of `dsim bench system phold --size 1000000
/// --until 10ms`: 755 MiB kept, 624 MiB handed on; 6% less CPU from fewer page faults).
/// Lower buckets are refilled constantly and keep theirs.
const HANDED_ON_FROM: usize = 3 * DIGITS;
/// Words of the occupancy bitmap.
const WORDS: usize = BUCKETS.div_ceil(64);

/// A monotone radix heap over event times (Ahuja, Mehlhorn, Orlin and Tarjan 1990) in
/// `DIGITS`-way levels, with ties in `(time, sequence)` order and a side heap for the
/// rare key below its floor.
///
/// `floor` is the time of the entries being served. Bucket 0 holds the entries at
/// exactly `floor`, in sequence order, served from `served`. Every other entry sits in
/// the bucket of the highest digit in which its time differs from `floor` (its level)
/// and of its value of that digit, so every entry of a lower bucket is earlier than every
/// entry of a higher one. When bucket 0 is used up, the lowest occupied bucket is
/// settled: its earliest time becomes the floor and its entries move to lower levels,
/// the earliest ones to bucket 0. An entry 1 ms ahead (20 bits of nanoseconds) moves at
/// most 4 times, in sequential passes over arrays instead of a heap's scattered sifts.
///
/// A radix heap needs every key at or above its floor. The simulation only schedules at
/// or after its clock, and the floor only passes the clock when looking ahead for the
/// next live event discards cancelled entries beyond it; an event then scheduled before
/// the floor waits in `early`, which is always served first (its entries are all
/// earlier than any bucket's).
struct RadixHeap {
    floor: u64,
    /// Entries at exactly `floor`, by sequence; `bucket0[..served]` are gone.
    bucket0: Vec<HeapEntry>,
    served: usize,
    buckets: Box<[Vec<HeapEntry>]>,
    /// One bit per occupied bucket.
    occupied: [u64; WORDS],
    /// One bit per non-zero word of `occupied`.
    summary: u64,
    early: QuaternaryHeap,
    /// Storage of a settled high-level bucket, for the next bucket that fills from
    /// empty (see `HANDED_ON_FROM`).
    spare: Vec<HeapEntry>,
}

impl RadixHeap {
    fn new() -> Self {
        RadixHeap {
            floor: 0,
            bucket0: Vec::new(),
            served: 0,
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            occupied: [0; WORDS],
            summary: 0,
            early: QuaternaryHeap { items: Vec::new() },
            spare: Vec::new(),
        }
    }

    /// File `entry` by the highest digit in which its time differs from the floor.
    #[inline(always)]
    fn file(&mut self, entry: HeapEntry) {
        let differing = entry.time ^ self.floor;
        if differing == 0 {
            self.bucket0.push(entry);
            return;
        }
        let level = (63 - differing.leading_zeros()) / DIGIT_BITS;
        let digit = (entry.time >> (level * DIGIT_BITS)) as usize & (DIGITS - 1);
        let bucket = level as usize * DIGITS + digit;
        let storage = &mut self.buckets[bucket];
        if storage.capacity() == 0 {
            *storage = std::mem::take(&mut self.spare);
        }
        storage.push(entry);
        self.occupied[bucket / 64] |= 1 << (bucket % 64);
        self.summary |= 1 << (bucket / 64);
    }

    /// The lowest occupied bucket, if any.
    #[inline(always)]
    fn lowest(&self) -> Option<usize> {
        if self.summary == 0 {
            return None;
        }
        let word = self.summary.trailing_zeros() as usize;
        Some(word * 64 + self.occupied[word].trailing_zeros() as usize)
    }

    /// Queue `entry`, scheduled `seq`-th.
    #[inline]
    fn push(&mut self, entry: HeapEntry, seq: u64) {
        if entry.time < self.floor {
            self.early.push(EarlyEntry { seq, entry });
        } else {
            self.file(entry);
        }
    }

    /// Settle the lowest occupied bucket once bucket 0 is used up: its earliest time
    /// becomes the floor, its entries move to lower buckets, and the first of them at
    /// the new floor is returned instead of filed, the others at that time going to
    /// bucket 0 behind it. Returning the head spares `pop` a load from memory just
    /// written, which waits for the whole store buffer to drain (a fifth of PHOLD's
    /// loop time before this). `None` when the heap is empty.
    #[inline]
    fn settle_taking_head(&mut self) -> Option<HeapEntry> {
        debug_assert_eq!(self.served, self.bucket0.len());
        self.bucket0.clear();
        self.served = 0;
        let lowest = self.lowest()?;
        self.occupied[lowest / 64] &= !(1 << (lowest % 64));
        if self.occupied[lowest / 64] == 0 {
            self.summary &= !(1 << (lowest / 64));
        }
        // A lone entry (most settles of the lowest levels, where a bucket spans a few
        // nanoseconds) is the head and moves nowhere: take it without emptying the
        // bucket's storage into a scratch vector and back.
        if lowest < HANDED_ON_FROM && self.buckets[lowest].len() == 1 {
            let head = self.buckets[lowest].pop()?;
            self.floor = head.time;
            return Some(head);
        }
        let mut moving = std::mem::take(&mut self.buckets[lowest]);
        self.floor = moving.iter().map(|e| e.time).min()?;
        // Every entry shares the new floor's digits above its level, and its digit
        // there, so it lands lower. Ties stay in schedule order with no sorting:
        // entries of equal time always share a bucket, join it in the order they were
        // scheduled, and every move keeps that order, so the head is the first entry
        // at the floor.
        let mut head = None;
        for entry in moving.drain(..) {
            if head.is_none() && entry.time == self.floor {
                head = Some(entry);
            } else {
                self.file(entry);
            }
        }
        if lowest < HANDED_ON_FROM {
            self.buckets[lowest] = moving;
        } else if moving.capacity() > self.spare.capacity() {
            self.spare = moving;
        }
        head
    }

    #[inline]
    fn pop(&mut self) -> Option<HeapEntry> {
        if !self.early.items.is_empty() {
            return self.early.pop();
        }
        if let Some(&entry) = self.bucket0.get(self.served) {
            self.served += 1;
            return Some(entry);
        }
        self.settle_taking_head()
    }

    fn peek(&mut self) -> Option<&HeapEntry> {
        if !self.early.items.is_empty() {
            return self.early.peek();
        }
        if self.served == self.bucket0.len() {
            // Put the head back in front of its ties (rare: once per distinct time).
            let head = self.settle_taking_head()?;
            self.bucket0.insert(0, head);
        }
        self.bucket0.get(self.served)
    }

    /// A likely next entry without settling anything: a hint for prefetching.
    #[inline(always)]
    fn likely_next(&self) -> Option<&HeapEntry> {
        if let Some(e) = self.early.peek() {
            return Some(e);
        }
        if let Some(e) = self.bucket0.get(self.served) {
            return Some(e);
        }
        self.lowest().and_then(|b| self.buckets[b].first())
    }
}

/// A payload's place in the slab. Aligned to 32 bytes so that no slot straddles more
/// cache lines than its size needs: the allocator only promises 16, and PHOLD's 32-byte
/// slots then split across two lines or not depending on where the slab happened to
/// land, which moved PHOLD at 10,000 LPs between 11.9 and 13.8 M events/s with the
/// length of the program's path (`benches/scripts/path_scan.sh`).
#[repr(align(32))]
struct Slot<T> {
    generation: u32,
    /// While the slot is free: the next free slot (`NO_SLOT` ends the list).
    next_free: u32,
    /// When the event was scheduled: its place among events of equal time.
    seq: u64,
    payload: Option<T>,
}

/// The end of the free-slot list.
const NO_SLOT: u32 = u32::MAX;

/// A deterministic priority queue of events ordered by `(time, sequence)`.
pub struct EventQueue<T> {
    heap: RadixHeap,
    slots: Vec<Slot<T>>,
    /// The most recently freed slot, heading a list threaded through the free slots
    /// (reused first: it is the one most likely still in cache).
    free_head: u32,
    next_seq: u64,
    live: usize,
    /// The subject of the entry that looked next when the last event was popped.
    next_subject: Option<u32>,
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> EventQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            heap: RadixHeap::new(),
            slots: Vec::new(),
            free_head: NO_SLOT,
            next_seq: 0,
            live: 0,
            next_subject: None,
        }
    }

    /// Schedule `payload` at `time` for node index `subject` (`u32::MAX` for none);
    /// returns its key and sequence number.
    #[inline]
    pub fn push(&mut self, time: SimTime, subject: u32, payload: T) -> (EventKey, u64) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = if self.free_head != NO_SLOT {
            let s = self.free_head;
            let slot = &mut self.slots[s as usize];
            self.free_head = slot.next_free;
            slot.seq = seq;
            slot.payload = Some(payload);
            s
        } else {
            self.slots.push(Slot {
                generation: 0,
                next_free: NO_SLOT,
                seq,
                payload: Some(payload),
            });
            (self.slots.len() - 1) as u32
        };
        self.heap.push(
            HeapEntry {
                time: time.0,
                slot,
                subject,
            },
            seq,
        );
        self.live += 1;
        let generation = self.slots[slot as usize].generation;
        (EventKey { slot, generation }, seq)
    }

    /// Put an emptied slot on the free list; the new generation invalidates its keys.
    #[inline(always)]
    fn release(&mut self, s: u32) {
        let slot = &mut self.slots[s as usize];
        slot.generation = slot.generation.wrapping_add(1);
        slot.next_free = self.free_head;
        self.free_head = s;
    }

    /// Remove and return the earliest live event with its time and sequence number.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, u64, T)> {
        while let Some(entry) = self.heap.pop() {
            let slot = &mut self.slots[entry.slot as usize];
            let payload = slot.payload.take();
            let seq = slot.seq;
            self.release(entry.slot);
            if let Some(p) = payload {
                self.live -= 1;
                // The next event's payload is read soon: start loading it now.
                self.next_subject = self.heap.likely_next().map(|next| {
                    prefetch(&self.slots[next.slot as usize]);
                    next.subject
                });
                return Some((SimTime(entry.time), seq, p));
            }
        }
        None
    }

    /// The time of the earliest live event (cancelled entries at the head are
    /// discarded on the way, so a run never mistakes one for work due).
    pub fn peek_time(&mut self) -> Option<SimTime> {
        while let Some(&entry) = self.heap.peek() {
            if self.slots[entry.slot as usize].payload.is_some() {
                return Some(SimTime(entry.time));
            }
            self.release(entry.slot);
            self.heap.pop();
        }
        None
    }

    /// The subject of a likely next entry (possibly a cancelled one, possibly not the
    /// earliest): a hint for prefetching, never for deciding anything.
    #[inline]
    pub fn peek_subject(&self) -> Option<u32> {
        self.next_subject
    }

    /// Look at a scheduled event's payload, if it is still pending.
    pub fn get(&self, key: EventKey) -> Option<&T> {
        let slot = self.slots.get(key.slot as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        slot.payload.as_ref()
    }

    /// Cancel a pending event and return its payload (`None` if it already ran or was
    /// cancelled).
    pub fn cancel(&mut self, key: EventKey) -> Option<T> {
        let slot = self.slots.get_mut(key.slot as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        let payload = slot.payload.take();
        if payload.is_some() {
            self.live -= 1;
        }
        payload
    }

    /// Number of live (not cancelled) pending events.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Pops come out sorted by (time, schedule order), with cancelled events gone.
        #[test]
        fn pops_in_time_then_sequence_order(
            times in prop::collection::vec(0u64..50, 1..200),
            cancel_mask in prop::collection::vec(any::<bool>(), 200),
        ) {
            let mut q = EventQueue::new();
            let keys: Vec<_> = times.iter().enumerate()
                .map(|(i, t)| q.push(SimTime(*t), 0, i).0).collect();
            let mut expected: Vec<(u64, usize)> = Vec::new();
            for (i, t) in times.iter().enumerate() {
                if cancel_mask[i] {
                    prop_assert_eq!(q.cancel(keys[i]), Some(i));
                    prop_assert_eq!(q.cancel(keys[i]), None);
                } else {
                    expected.push((*t, i));
                }
            }
            expected.sort();
            prop_assert_eq!(q.len(), expected.len());
            let mut got = Vec::new();
            while let Some((t, _, i)) = q.pop() {
                got.push((t.0, i));
            }
            prop_assert_eq!(got, expected);
        }
    }

    /// One step of the oracle comparison.
    #[derive(Clone, Debug)]
    enum Op {
        /// Schedule at `now + delay` (small delays make many ties).
        Push(u64),
        /// Pop the earliest live event.
        Pop,
        /// Cancel the `n % pending`-th still-pending key.
        Cancel(usize),
        /// Look at the next live time without popping (this discards cancelled entries
        /// that may lie beyond the clock, which later pushes can then precede).
        Peek,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => prop_oneof![0u64..8, 0u64..1 << 40].prop_map(Op::Push),
            3 => Just(Op::Pop),
            1 => any::<usize>().prop_map(Op::Cancel),
            1 => Just(Op::Peek),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Under interleaved push, pop and cancel, the queue pops exactly what a
        /// `BinaryHeap` ordered by `(time, seq)` pops, with cancelled events removed
        /// from the oracle; times never go backwards, as in a simulation.
        #[test]
        fn matches_binary_heap_oracle(ops in prop::collection::vec(op(), 1..600)) {
            use std::cmp::Reverse;
            use std::collections::{BTreeSet, BinaryHeap};
            let mut q = EventQueue::new();
            let mut oracle: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::new();
            let mut cancelled: BTreeSet<u64> = BTreeSet::new();
            let mut pending: Vec<(EventKey, u64)> = Vec::new();
            let mut now = 0u64;
            for op in ops {
                match op {
                    Op::Push(delay) => {
                        let t = now + delay;
                        let (key, seq) = q.push(SimTime(t), 0, seq_payload(t));
                        oracle.push(Reverse((t, seq)));
                        pending.push((key, seq));
                    }
                    Op::Pop => {
                        let expected = loop {
                            match oracle.pop() {
                                Some(Reverse((_, s))) if cancelled.remove(&s) => {}
                                other => break other.map(|Reverse(e)| e),
                            }
                        };
                        let got = q.pop().map(|(t, s, p)| {
                            assert_eq!(p, seq_payload(t.0), "payload travels with its key");
                            (t.0, s)
                        });
                        prop_assert_eq!(got, expected);
                        if let Some((t, s)) = got {
                            now = t;
                            pending.retain(|&(_, ps)| ps != s);
                        }
                    }
                    Op::Cancel(n) => {
                        if !pending.is_empty() {
                            let (key, seq) = pending.swap_remove(n % pending.len());
                            prop_assert!(q.cancel(key).is_some());
                            prop_assert!(q.cancel(key).is_none());
                            cancelled.insert(seq);
                        }
                    }
                    Op::Peek => {
                        let expected = oracle
                            .iter()
                            .filter(|Reverse((_, s))| !cancelled.contains(s))
                            .map(|Reverse((t, _))| *t)
                            .min();
                        prop_assert_eq!(q.peek_time().map(|t| t.0), expected);
                    }
                }
                prop_assert_eq!(q.len(), oracle.len() - cancelled.len());
            }
        }
    }

    /// A payload derived from the time, so the test sees a payload mix-up.
    fn seq_payload(t: u64) -> u64 {
        t.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    #[test]
    fn peek_skips_cancelled_heads() {
        let mut q = EventQueue::new();
        let (early, _) = q.push(SimTime(1), 0, "cancelled");
        q.push(SimTime(9), 0, "live");
        q.cancel(early);
        assert_eq!(q.peek_time(), Some(SimTime(9)));
        assert_eq!(q.pop().map(|e| e.2), Some("live"));
        assert_eq!(q.peek_time(), None);
    }

    #[test]
    fn events_scheduled_before_a_peeked_floor_run_first() {
        let mut q = EventQueue::new();
        let (cancelled, _) = q.push(SimTime(10), 0, "cancelled");
        q.push(SimTime(20), 0, "later");
        q.cancel(cancelled);
        // Looking ahead discards the cancelled event and settles on time 20, while the
        // clock is still at 0: an event at 15 is legal and must come first.
        assert_eq!(q.peek_time(), Some(SimTime(20)));
        q.push(SimTime(15), 0, "earlier");
        assert_eq!(q.peek_time(), Some(SimTime(15)));
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|e| (e.0.0, e.2))).collect();
        assert_eq!(order, [(15, "earlier"), (20, "later")]);
    }

    #[test]
    fn extreme_times_and_ties_pop_in_order() {
        let mut q = EventQueue::new();
        let times = [u64::MAX, 0, 1 << 63, u64::MAX, 7, 0, (1 << 63) - 1, 7];
        for (i, t) in times.iter().enumerate() {
            q.push(SimTime(*t), 0, i);
        }
        let mut expected: Vec<(u64, usize)> = times.iter().copied().zip(0..).collect();
        expected.sort();
        let got: Vec<_> = std::iter::from_fn(|| q.pop().map(|e| (e.0.0, e.2))).collect();
        assert_eq!(got, expected);
    }

    /// A steady backlog of 1,000 events, each rescheduled 1 ms ahead, over 200 ms: the
    /// storage the buckets hold stays near the backlog instead of growing with every
    /// 2^18 ns window the run passes through.
    #[test]
    fn settled_high_buckets_do_not_keep_their_storage() {
        let mut q = EventQueue::new();
        for i in 0..1000 {
            q.push(SimTime(i * 1000), 0, ());
        }
        for _ in 0..200_000 {
            let (t, _, ()) = q.pop().expect("the backlog never empties");
            q.push(SimTime(t.0 + 1_000_000), 0, ());
        }
        let held: usize = q.heap.buckets.iter().map(Vec::capacity).sum::<usize>()
            + q.heap.spare.capacity()
            + q.heap.bucket0.capacity();
        assert!(held <= 8 * 1000, "buckets hold {held} entries of storage");
    }

    /// Slots start on 32-byte boundaries and fill whole multiples of 32 bytes, so a
    /// slot of up to 32 bytes sits in one cache line and a larger one in as few as its
    /// size allows, wherever the slab lands.
    #[test]
    fn slots_never_straddle_more_lines_than_needed() {
        fn check<T>(payload: T) {
            let size = std::mem::size_of::<Slot<T>>();
            assert_eq!(size % 32, 0, "slot of {size} bytes");
            let mut q = EventQueue::new();
            q.push(SimTime(1), 0, payload);
            assert_eq!(q.slots.as_ptr() as usize % 32, 0);
        }
        check(0u8);
        check([0u8; 20]);
        check([0u64; 5]);
        check([0u64; 11]);
    }

    #[test]
    fn stale_keys_do_not_cancel_reused_slots() {
        let mut q = EventQueue::new();
        let (k1, _) = q.push(SimTime(1), 0, "a");
        assert_eq!(q.pop().map(|e| e.2), Some("a"));
        let (k2, _) = q.push(SimTime(2), 0, "b");
        assert_eq!(
            q.cancel(k1),
            None,
            "the old key must not touch the new event"
        );
        assert_eq!(q.cancel(k2), Some("b"));
    }
}
