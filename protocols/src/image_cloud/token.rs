//! The working token of the round-robin mode (the report's optimized queue), sans-IO.
//!
//! Servers form a ring in declaration order; each knows the next one and the one after.
//! The holder of the [`WorkingToken`] takes the requests waiting at it (every request
//! is multicast to all servers) as far as its free capacity goes, writes them into the
//! token, and after a short hold passes the token to the next server, or to the one
//! after when the next has announced that it is offline. A request in the token is
//! handled, so the next holder skips it: nothing is taken twice, and a request no
//! server could take waits for the next holder.

use super::RequestId;
use sim_core::SimTime;
use std::collections::{BTreeMap, BTreeSet};

/// Where a server sits in the ring and which servers it knows to be offline.
#[derive(Clone, Debug, Default)]
pub struct Ring {
    me: usize,
    n: usize,
    offline: BTreeSet<usize>,
}

impl Ring {
    /// Server `me` of `n`.
    pub fn new(me: usize, n: usize) -> Self {
        Ring {
            me,
            n,
            offline: BTreeSet::new(),
        }
    }

    /// Record that server `index` announced it is offline (`true`) or back (`false`).
    pub fn set_offline(&mut self, index: usize, offline: bool) {
        if offline {
            self.offline.insert(index);
        } else {
            self.offline.remove(&index);
        }
    }

    /// Where the token goes next: the next server, or the one after when the next is
    /// offline; `None` when both are (the holder keeps it), or when alone.
    pub fn successor(&self) -> Option<usize> {
        (1..=2.min(self.n.saturating_sub(1)))
            .map(|k| (self.me + k) % self.n)
            .find(|i| !self.offline.contains(i))
    }
}

/// The working token: its generation and the requests taken recently, and when.
///
/// Every pass increments the generation, and a server accepts only a token newer than
/// the last one it held or saw ([`WorkingToken::is_newer_than`]): a duplicated or
/// late copy of a token that has moved on is ignored, so a datagram duplicated or
/// reordered by the network never makes two holders.
#[derive(Clone, Debug, Default, Hash, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkingToken {
    generation: u64,
    taken: BTreeMap<RequestId, SimTime>,
}

impl WorkingToken {
    /// Bytes on the wire: a small header and 16 bytes per request it remembers.
    pub fn size_bytes(&self) -> u32 {
        16 + 16 * self.taken.len() as u32
    }

    /// The number of passes since the token was created.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether this token is newer than generation `last` (`None`: no token seen yet).
    pub fn is_newer_than(&self, last: Option<u64>) -> bool {
        last.is_none_or(|g| self.generation > g)
    }

    /// The token as it leaves its holder: one generation newer.
    pub fn passed(mut self) -> Self {
        self.generation += 1;
        self
    }

    /// Whether `id` was taken.
    pub fn is_taken(&self, id: &RequestId) -> bool {
        self.taken.contains_key(id)
    }

    /// Take `id` at `now`; false when it was already taken.
    pub fn take(&mut self, id: RequestId, now: SimTime) -> bool {
        if self.taken.contains_key(&id) {
            return false;
        }
        self.taken.insert(id, now);
        true
    }

    /// Forget requests taken more than `horizon` before `now` (no server still holds
    /// them as waiting: waiting requests expire sooner).
    pub fn forget_before(&mut self, now: SimTime, horizon: SimTime) {
        self.taken
            .retain(|_, at| now.saturating_sub(*at) <= horizon);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::NodeId;

    #[test]
    fn successor_skips_one_offline_server() {
        let mut r = Ring::new(1, 4);
        assert_eq!(r.successor(), Some(2));
        r.set_offline(2, true);
        assert_eq!(r.successor(), Some(3));
        r.set_offline(3, true);
        assert_eq!(r.successor(), None, "knows only the next two");
        r.set_offline(2, false);
        assert_eq!(r.successor(), Some(2));
        assert_eq!(Ring::new(2, 3).successor(), Some(0), "wraps around");
        assert_eq!(Ring::new(0, 1).successor(), None);
        assert_eq!(Ring::new(0, 2).successor(), Some(1));
    }

    #[test]
    fn a_copy_of_a_token_that_moved_on_is_stale() {
        let t = WorkingToken::default();
        assert!(t.is_newer_than(None));
        let passed = t.clone().passed();
        assert_eq!(passed.generation(), 1);
        assert!(passed.is_newer_than(Some(0)));
        assert!(
            !passed.is_newer_than(Some(1)),
            "a duplicate of the same pass"
        );
        assert!(!t.is_newer_than(Some(1)), "an older pass arriving late");
    }

    #[test]
    fn a_request_is_taken_once_and_forgotten_late() {
        let mut t = WorkingToken::default();
        let id = RequestId {
            client: NodeId(3),
            seq: 1,
        };
        assert!(t.take(id, SimTime::from_millis(10)));
        assert!(!t.take(id, SimTime::from_millis(11)));
        assert_eq!(t.size_bytes(), 32);
        t.forget_before(SimTime::from_millis(100), SimTime::from_millis(90));
        assert!(t.is_taken(&id));
        t.forget_before(SimTime::from_millis(101), SimTime::from_millis(90));
        assert!(!t.is_taken(&id));
    }
}
