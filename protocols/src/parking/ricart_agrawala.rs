//! Ricart-Agrawala distributed mutual exclusion as a sans-IO core.
//!
//! Each participant broadcasts a timestamped REQUEST to the N-1 others and enters when
//! it has N-1 REPLYs; a participant defers its reply while it is in the critical section
//! or wants it with priority (smaller `(timestamp, index)`). 2(N-1) messages per entry,
//! synchronization delay one message. A participant has at most one request at a time.

/// One participant's state. Participants are indexed `0..n`.
#[derive(Clone, Debug, Default)]
pub struct RicartAgrawala {
    me: usize,
    n: usize,
    clock: u64,
    requesting: Option<u64>,
    missing_replies: usize,
    in_cs: bool,
    deferred: Vec<usize>,
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
        self.missing_replies = self.n - 1;
        if self.missing_replies == 0 {
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
            self.deferred.push(from);
            false
        } else {
            true
        }
    }

    /// A reply arrived; returns whether this participant now enters.
    pub fn on_reply(&mut self) -> bool {
        if self.requesting.is_none() || self.missing_replies == 0 {
            return false;
        }
        self.missing_replies -= 1;
        if self.missing_replies == 0 {
            self.requesting = None;
            self.in_cs = true;
            return true;
        }
        false
    }

    /// Leave the critical section; returns the participants whose replies were deferred.
    pub fn release(&mut self) -> Vec<usize> {
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
        assert!(a.on_reply());
        assert!(a.in_cs());
        assert_eq!(a.release(), vec![1]);
        assert!(b.on_reply());
    }
}
