//! The report's centralized lock server as a sans-IO core: REQUEST, GRANT, RELEASE and
//! a FIFO queue of waiting requests.
//!
//! The core knows nothing about nodes or messages: the caller hands it requests and
//! releases and sends the grants it returns. Requests are queued in the order they
//! reach the server (the report guarantees no ordering beyond that).

use std::collections::VecDeque;

/// Why a grant was given: decides which delay metric the entry measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum GrantCause {
    /// The lock was free when the request arrived (client delay: REQUEST + GRANT).
    Request,
    /// The request waited and was granted on the previous holder's release
    /// (synchronization delay: RELEASE + GRANT).
    Release,
}

/// The lock server's state, generic over the requester identity `R`.
#[derive(Clone, Debug)]
pub struct LockServer<R> {
    holder: Option<R>,
    queue: VecDeque<R>,
}

impl<R> Default for LockServer<R> {
    fn default() -> Self {
        LockServer {
            holder: None,
            queue: VecDeque::new(),
        }
    }
}

impl<R: Clone + PartialEq> LockServer<R> {
    /// A request arrived; returns the requester to grant now, if the lock was free.
    pub fn request(&mut self, who: R) -> Option<R> {
        if self.holder.is_none() {
            self.holder = Some(who.clone());
            Some(who)
        } else {
            self.queue.push_back(who);
            None
        }
    }

    /// The holder released; returns the next requester to grant, if any. A release from
    /// anyone but the holder is ignored.
    pub fn release(&mut self, who: &R) -> Option<R> {
        if self.holder.as_ref() != Some(who) {
            return None;
        }
        self.holder = self.queue.pop_front();
        self.holder.clone()
    }

    /// The current holder.
    pub fn holder(&self) -> Option<&R> {
        self.holder.as_ref()
    }

    /// Whether `who` is waiting in the queue.
    pub fn is_queued(&self, who: &R) -> bool {
        self.queue.contains(who)
    }

    /// Requests waiting.
    pub fn waiting(&self) -> usize {
        self.queue.len()
    }

    /// Forget everything (a crash of a server without stable storage).
    pub fn clear(&mut self) {
        self.holder = None;
        self.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_grants() {
        let mut s = LockServer::default();
        assert_eq!(s.request(1), Some(1));
        assert_eq!(s.request(2), None);
        assert_eq!(s.request(3), None);
        assert_eq!(s.release(&2), None, "not the holder");
        assert_eq!(s.release(&1), Some(2));
        assert_eq!(s.release(&2), Some(3));
        assert_eq!(s.release(&3), None);
        assert_eq!(s.holder(), None);
    }
}
