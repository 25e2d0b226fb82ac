//! Ricart-Agrawala distributed mutual exclusion as a sans-IO core.
//!
//! Each participant broadcasts a timestamped REQUEST to the N-1 others and enters when
//! it has N-1 REPLYs; a participant defers its reply while it is in the critical section
//! or wants it with priority (smaller `(timestamp, index)`). 2(N-1) messages per entry,
//! synchronization delay one message. A participant has at most one request at a time.
//!
//! Lossy, duplicating, reordering links: a reply names the request it answers (its
//! timestamp) and the requester counts distinct repliers for its current request, so a
//! duplicated or stale reply counts at most once; [`RicartAgrawala::unanswered`] lists
//! the participants whose reply is still missing, to whom the caller retransmits the same
//! request. A repeated request is answered again by the same rule (replying is safe: it
//! says "I neither hold nor want the section before you"), and a deferred requester is
//! remembered once.

/// One participant's state. Participants are indexed `0..n`.
#[derive(Clone, Debug, Default)]
pub struct RicartAgrawala {
    me: usize,
    n: usize,
    clock: u64,
    requesting: Option<u64>,
    replied: Vec<bool>,
    in_cs: bool,
    deferred: Vec<(usize, u64)>,
}

impl RicartAgrawala {
    /// Participant `me` of `n`.
    pub fn new(me: usize, n: usize) -> Self {
        RicartAgrawala {
            me,
            n,
            ..RicartAgrawala::default()
        }
    }

    /// Ask for the critical section; returns the request timestamp to broadcast to the
    /// others, or `None` if a request is already under way. With one participant the
    /// section is entered at once ([`RicartAgrawala::in_cs`] tells).
    pub fn request(&mut self) -> Option<u64> {
        if self.requesting.is_some() || self.in_cs {
            return None;
        }
        self.clock += 1;
        self.requesting = Some(self.clock);
        self.replied = (0..self.n).map(|i| i == self.me).collect();
        if self.n <= 1 {
            self.requesting = None;
            self.in_cs = true;
        }
        Some(self.clock)
    }

    /// A request `(ts, from)` arrived; returns whether to reply now (otherwise the reply
    /// is deferred until [`RicartAgrawala::release`]).
    pub fn on_request(&mut self, ts: u64, from: usize) -> bool {
        self.clock = self.clock.max(ts);
        let mine_first = match self.requesting {
            Some(my) => (my, self.me) < (ts, from),
            None => false,
        };
        if self.in_cs || mine_first {
            if !self.deferred.contains(&(from, ts)) {
                self.deferred.push((from, ts));
            }
            false
        } else {
            true
        }
    }

    /// A reply from `from` to the request of timestamp `ts` arrived; returns whether
    /// this participant now enters. A reply to another request, or a second reply from
    /// the same participant, is ignored.
    pub fn on_reply(&mut self, from: usize, ts: u64) -> bool {
        if self.requesting != Some(ts) || from >= self.n || self.replied[from] {
            return false;
        }
        self.replied[from] = true;
        if self.replied.iter().all(|&r| r) {
            self.requesting = None;
            self.in_cs = true;
            return true;
        }
        false
    }

    /// The request under way and the participants whose reply to it is missing.
    pub fn unanswered(&self) -> Option<(u64, Vec<usize>)> {
        let ts = self.requesting?;
        let missing = (0..self.n).filter(|&i| !self.replied[i]).collect();
        Some((ts, missing))
    }

    /// Leave the critical section; returns the deferred requests `(participant,
    /// timestamp)` to reply to.
    pub fn release(&mut self) -> Vec<(usize, u64)> {
        self.in_cs = false;
        std::mem::take(&mut self.deferred)
    }

    /// Whether this participant is in the critical section.
    pub fn in_cs(&self) -> bool {
        self.in_cs
    }

    /// Whether a request is under way.
    pub fn requesting(&self) -> bool {
        self.requesting.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_timestamp_wins() {
        let mut a = RicartAgrawala::new(0, 2);
        let mut b = RicartAgrawala::new(1, 2);
        let ta = a.request().unwrap();
        let tb = b.request().unwrap();
        // Equal timestamps: the lower index wins.
        assert!(!a.on_request(tb, 1));
        assert!(b.on_request(ta, 0));
        assert!(!a.on_reply(1, ta + 7), "a reply to another request");
        assert!(a.on_reply(1, ta));
        assert!(a.in_cs());
        assert_eq!(a.release(), vec![(1, tb)]);
        assert!(b.on_reply(0, tb));
        assert!(!b.on_reply(0, tb), "a duplicate");
    }
}
