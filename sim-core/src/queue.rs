//! The event queue: a radix heap of compact `(time, sequence, slot)` keys over a slab of
//! payloads.
//!
//! Order is exactly `(time, sequence)`: the sequence number is taken when an event is
//! scheduled, so simultaneous events run in the order they were scheduled. Payloads stay
//! in the slab while their key moves through the heap, so a move copies 24 bytes
//! whatever the payload; freed slots and bucket capacity are reused, so a steady run
//! allocates nothing per event. Cancelling takes the payload out at once; the key is
//! skipped when it surfaces.

use crate::prefetch::prefetch;
use crate::time::SimTime;

/// A handle on a scheduled event, valid until the event runs or is cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey {
    slot: u32,
    generation: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct HeapEntry {
    time: u64,
    seq: u64,
    slot: u32,
    /// The node the event is for (fills what would be padding), so the loop can warm
    /// that node's state before its event runs.
    subject: u32,
}

impl HeapEntry {
    /// The queue's order: earlier time first, then earlier scheduling.
    #[inline(always)]
    fn before(&self, other: &HeapEntry) -> bool {
        (self.time, self.seq) < (other.time, other.seq)
    }
}

/// Bits of the key a bucket level stands for.
const DIGIT_BITS: u32 = 8;
/// Buckets per level, one per value of its digit.
const DIGITS: usize = 1 << DIGIT_BITS;
/// Levels: the 128-bit key `(time, seq)` in 8-bit digits, the sequence number's first.
const LEVELS: usize = 128 / DIGIT_BITS as usize;

/// A radix heap (Ahuja, Mehlhorn, Orlin and Tarjan 1990) with 256-way buckets on the
/// 128-bit key `(time, seq)`, with the minimum held apart.
///
/// A simulation never schedules before the event it is running, so keys only grow: every
/// key pushed is at or above `last`, the key of the last event popped. An entry lives in
/// the bucket of the highest 8-bit digit in which its key differs from `last` (its level)
/// and of its value of that digit, so every entry of a lower level, or of a lower digit
/// on the same level, is smaller than every entry of a higher one, and the lowest
/// occupied bucket holds the minimum. Popping the head moves `last` up to it, and only
/// the entries of the head's own bucket have to move, each to a lower level: an entry
/// moves at most once per level below the one it was pushed on (three for an event 1 ms
/// ahead in nanoseconds), in sequential passes over arrays instead of a heap's scattered
/// sifts, so the cost per event barely grows with the number pending. The head is the
/// smallest entry, kept out of the buckets so that the next event is known (for
/// prefetching) without mutating the heap.
struct RadixHeap {
    /// `LEVELS * DIGITS` buckets, level-major.
    buckets: Box<[Vec<HeapEntry>]>,
    /// Per level, one bit per occupied bucket.
    occupied: [[u64; DIGITS / 64]; LEVELS],
    /// One bit per level with an occupied bucket.
    levels: u16,
    /// The key of the last entry popped: no entry is smaller.
    last: (u64, u64),
    /// The smallest entry, out of the buckets.
    head: Option<HeapEntry>,
}

impl RadixHeap {
    fn new() -> Self {
        RadixHeap {
            buckets: (0..LEVELS * DIGITS).map(|_| Vec::new()).collect(),
            occupied: [[0; DIGITS / 64]; LEVELS],
            levels: 0,
            last: (0, 0),
            head: None,
        }
    }

    /// The bucket of an entry: its level is the highest digit in which its key differs
    /// from `last` (levels 8 to 15 are the time's digits, 0 to 7 the sequence number's),
    /// and its place on that level the entry's value of that digit.
    #[inline(always)]
    fn bucket_of(&self, entry: &HeapEntry) -> usize {
        let time_bits = entry.time ^ self.last.0;
        let (word, differing, base) = if time_bits != 0 {
            (entry.time, time_bits, LEVELS / 2)
        } else {
            // `| 1`: the first key pushed may equal the initial `last` (0, 0).
            (entry.seq, (entry.seq ^ self.last.1) | 1, 0)
        };
        let level = (63 - differing.leading_zeros()) / DIGIT_BITS;
        let digit = (word >> (level * DIGIT_BITS)) as usize & (DIGITS - 1);
        (base + level as usize) * DIGITS + digit
    }

    #[inline(always)]
    fn mark(&mut self, bucket: usize) {
        let (level, digit) = (bucket / DIGITS, bucket % DIGITS);
        self.occupied[level][digit / 64] |= 1 << (digit % 64);
        self.levels |= 1 << level;
    }

    #[inline(always)]
    fn unmark(&mut self, bucket: usize) {
        let (level, digit) = (bucket / DIGITS, bucket % DIGITS);
        let words = &mut self.occupied[level];
        words[digit / 64] &= !(1 << (digit % 64));
        if words.iter().all(|&w| w == 0) {
            self.levels &= !(1 << level);
        }
    }

    /// The lowest occupied bucket, if any.
    #[inline(always)]
    fn lowest(&self) -> Option<usize> {
        if self.levels == 0 {
            return None;
        }
        let level = self.levels.trailing_zeros() as usize;
        let words = &self.occupied[level];
        let (i, w) = words
            .iter()
            .enumerate()
            .find(|(_, w)| **w != 0)
            .expect("an occupied level has an occupied bucket");
        Some(level * DIGITS + i * 64 + w.trailing_zeros() as usize)
    }

    #[inline(always)]
    fn file(&mut self, entry: HeapEntry) {
        let b = self.bucket_of(&entry);
        self.buckets[b].push(entry);
        self.mark(b);
    }

    /// Add an entry; its time must not be before the last one popped (and its sequence
    /// number, as every new one, is above all earlier ones).
    #[inline]
    fn push(&mut self, entry: HeapEntry) {
        assert!(
            entry.time >= self.last.0,
            "an event was scheduled before the last one that ran"
        );
        match self.head {
            Some(head) if entry.before(&head) => {
                self.head = Some(entry);
                self.file(head);
            }
            Some(_) => self.file(entry),
            None => self.head = Some(entry),
        }
    }

    fn peek(&self) -> Option<&HeapEntry> {
        self.head.as_ref()
    }

    #[inline]
    fn pop(&mut self) -> Option<HeapEntry> {
        let top = self.head.take()?;
        if self.levels == 0 {
            self.last = (top.time, top.seq);
            return Some(top);
        }
        // Every entry is in the head's bucket or above; moving `last` up to the head
        // leaves the entries above where they are and sends those of the head's own
        // bucket lower. The smallest of them is the next head.
        let b = self.bucket_of(&top);
        self.last = (top.time, top.seq);
        if !self.buckets[b].is_empty() {
            self.unmark(b);
            let mut moving = std::mem::take(&mut self.buckets[b]);
            let mut entries = moving.drain(..);
            let mut best = entries.next().expect("an occupied bucket has an entry");
            for entry in entries {
                if entry.before(&best) {
                    self.file(best);
                    best = entry;
                } else {
                    self.file(entry);
                }
            }
            self.head = Some(best);
            // Hand the emptied array back, capacity and all.
            self.buckets[b] = moving;
        } else {
            self.head = self.take_least();
        }
        Some(top)
    }

    /// Drop the head without moving `last` (for discarding a cancelled entry while only
    /// looking ahead: the simulation's clock has not reached it, and events may still
    /// be scheduled before it).
    fn discard_head(&mut self) {
        if self.head.take().is_some() {
            self.head = self.take_least();
        }
    }

    /// Take the smallest entry out of the buckets: the smallest of the lowest occupied
    /// bucket.
    fn take_least(&mut self) -> Option<HeapEntry> {
        let lowest = self.lowest()?;
        let bucket = &mut self.buckets[lowest];
        let mut best = 0;
        for i in 1..bucket.len() {
            if bucket[i].before(&bucket[best]) {
                best = i;
            }
        }
        let least = bucket.swap_remove(best);
        if bucket.is_empty() {
            self.unmark(lowest);
        }
        Some(least)
    }
}

struct Slot<T> {
    generation: u32,
    payload: Option<T>,
}

/// A deterministic priority queue of events ordered by `(time, sequence)`.
pub struct EventQueue<T> {
    heap: RadixHeap,
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    next_seq: u64,
    live: usize,
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
            free: Vec::new(),
            next_seq: 0,
            live: 0,
        }
    }

    /// Schedule `payload` at `time` for node index `subject` (`u32::MAX` for none);
    /// returns its key and sequence number.
    ///
    /// # Panics
    /// If `time` is before the time of the last event popped (a simulation never
    /// schedules into the past).
    #[inline]
    pub fn push(&mut self, time: SimTime, subject: u32, payload: T) -> (EventKey, u64) {
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize].payload = Some(payload);
                s
            }
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    payload: Some(payload),
                });
                (self.slots.len() - 1) as u32
            }
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(HeapEntry {
            time: time.0,
            seq,
            slot,
            subject,
        });
        self.live += 1;
        let generation = self.slots[slot as usize].generation;
        (EventKey { slot, generation }, seq)
    }

    /// Remove and return the earliest live event with its time and sequence number.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, u64, T)> {
        // Cancelled entries go first, without moving the heap's floor: only a live
        // event's time is one the simulation reaches.
        self.peek_time()?;
        let entry = self.heap.pop().expect("a live entry is at the head");
        let slot = &mut self.slots[entry.slot as usize];
        let payload = slot.payload.take().expect("the head is live");
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(entry.slot);
        self.live -= 1;
        // The next event's payload is read soon: start loading it now.
        if let Some(next) = self.heap.peek() {
            prefetch(&self.slots[next.slot as usize]);
        }
        Some((SimTime(entry.time), entry.seq, payload))
    }

    /// The time of the earliest live event (cancelled entries at the head are
    /// discarded on the way, so a run never mistakes one for work due).
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        while let Some(entry) = self.heap.peek() {
            let slot = &mut self.slots[entry.slot as usize];
            if slot.payload.is_some() {
                return Some(SimTime(entry.time));
            }
            slot.generation = slot.generation.wrapping_add(1);
            self.free.push(entry.slot);
            self.heap.discard_head();
        }
        None
    }

    /// The subject of the earliest entry (possibly a cancelled one): a hint for
    /// prefetching, never for deciding anything.
    #[inline]
    pub fn peek_subject(&self) -> Option<u32> {
        self.heap.peek().map(|e| e.subject)
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
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when no live event is pending.
    pub fn is_empty(&self) -> bool {
        self.live == 0
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
        /// Schedule at `now + delay` (small delays make many ties, large ones use the
        /// high levels of the radix heap).
        Push(u64),
        /// Pop the earliest live event.
        Pop,
        /// Cancel the `n % pending`-th still-pending key.
        Cancel(usize),
        /// Look at the time of the earliest live event without popping it.
        PeekTime,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u64..8).prop_map(Op::Push),
            1 => (0u64..1 << 40).prop_map(Op::Push),
            3 => Just(Op::Pop),
            1 => any::<usize>().prop_map(Op::Cancel),
            1 => Just(Op::PeekTime),
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
                    Op::PeekTime => {
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

    /// Looking past a cancelled head must not stop events from being scheduled before
    /// it: the clock has not reached it.
    #[test]
    fn peeking_past_a_cancelled_event_keeps_earlier_times_open() {
        let mut q = EventQueue::new();
        q.push(SimTime(10), 0, "first");
        let (late, _) = q.push(SimTime(50), 0, "cancelled");
        q.cancel(late);
        assert_eq!(q.pop().map(|e| e.2), Some("first"));
        assert_eq!(q.peek_time(), None);
        q.push(SimTime(20), 0, "scheduled after the peek");
        q.push(SimTime(10), 0, "same instant as the last pop");
        assert_eq!(
            q.pop().map(|e| (e.0, e.2)),
            Some((SimTime(10), "same instant as the last pop"))
        );
        assert_eq!(q.pop().map(|e| e.0), Some(SimTime(20)));
    }

    /// Keys far apart, up to the largest time, come out in order (every bucket of the
    /// radix heap, the sequence number's included, is used).
    #[test]
    fn extreme_times_pop_in_order() {
        let mut q = EventQueue::new();
        let times = [
            u64::MAX,
            0,
            1 << 63,
            5,
            5,
            u64::MAX,
            1 << 32,
            7,
            (1 << 63) - 1,
        ];
        for (i, t) in times.iter().enumerate() {
            q.push(SimTime(*t), 0, i);
        }
        let mut expected: Vec<(u64, usize)> = times.iter().copied().zip(0..).collect();
        expected.sort();
        let got: Vec<(u64, usize)> =
            std::iter::from_fn(|| q.pop().map(|(t, _, i)| (t.0, i))).collect();
        assert_eq!(got, expected);
    }

    #[test]
    #[should_panic(expected = "scheduled before")]
    fn scheduling_into_the_past_panics() {
        let mut q = EventQueue::new();
        q.push(SimTime(10), 0, ());
        q.pop();
        q.push(SimTime(9), 0, ());
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
