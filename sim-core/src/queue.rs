//! The event queue: a 4-ary min-heap of compact `(time, sequence, slot)` keys over a
//! slab of payloads.
//!
//! Order is exactly `(time, sequence)`: the sequence number is taken when an event is
//! scheduled, so simultaneous events run in the order they were scheduled. Payloads stay
//! in the slab while their key moves through the heap, so heap moves copy 24 bytes
//! whatever the payload; freed slots are reused, so a steady run allocates nothing per
//! event. Cancelling takes the payload out at once; the key is skipped when it surfaces.

use crate::prefetch::prefetch;
use crate::time::SimTime;

/// A handle on a scheduled event, valid until the event runs or is cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey {
    slot: u32,
    generation: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
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

/// A 4-ary min-heap: half the depth of a binary heap, and the four children of a node
/// are adjacent, so each level of a sift touches about one cache line.
struct QuaternaryHeap {
    items: Vec<HeapEntry>,
}

impl QuaternaryHeap {
    fn push(&mut self, entry: HeapEntry) {
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
        self.items.first()
    }

    fn pop(&mut self) -> Option<HeapEntry> {
        let last = self.items.pop()?;
        let Some(&top) = self.items.first() else {
            return Some(last);
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
        Some(top)
    }
}

struct Slot<T> {
    generation: u32,
    payload: Option<T>,
}

/// A deterministic priority queue of events ordered by `(time, sequence)`.
pub struct EventQueue<T> {
    heap: QuaternaryHeap,
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
            heap: QuaternaryHeap { items: Vec::new() },
            slots: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
            live: 0,
        }
    }

    /// Schedule `payload` at `time` for node index `subject` (`u32::MAX` for none);
    /// returns its key and sequence number.
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
        while let Some(entry) = self.heap.pop() {
            let slot = &mut self.slots[entry.slot as usize];
            let payload = slot.payload.take();
            slot.generation = slot.generation.wrapping_add(1);
            self.free.push(entry.slot);
            if let Some(p) = payload {
                self.live -= 1;
                // The next event's payload is read soon: start loading it now.
                if let Some(next) = self.heap.peek() {
                    prefetch(&self.slots[next.slot as usize]);
                }
                return Some((SimTime(entry.time), entry.seq, p));
            }
        }
        None
    }

    /// The time of the earliest live event (cancelled entries at the head are
    /// discarded on the way, so a run never mistakes one for work due).
    pub fn peek_time(&mut self) -> Option<SimTime> {
        while let Some(entry) = self.heap.peek() {
            let slot = &mut self.slots[entry.slot as usize];
            if slot.payload.is_some() {
                return Some(SimTime(entry.time));
            }
            slot.generation = slot.generation.wrapping_add(1);
            self.free.push(entry.slot);
            self.heap.pop();
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
        /// Schedule at `now + delay` (small delays make many ties).
        Push(u64),
        /// Pop the earliest live event.
        Pop,
        /// Cancel the `n % pending`-th still-pending key.
        Cancel(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u64..8).prop_map(Op::Push),
            3 => Just(Op::Pop),
            1 => any::<usize>().prop_map(Op::Cancel),
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
