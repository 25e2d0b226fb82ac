//! The replicated queues of the report's first design (its "well-organized bully"),
//! sans-IO: every server keeps its own copy of the queue of servers; a request goes to
//! the server on top of the queue, and every server moves the top to the bottom for
//! each request it sees.
//!
//! The copies agree only while every server sees the same requests in the same order.
//! Requests multicast by many clients at once reach the servers in different orders
//! (latency jitter), and a server that misses one is shifted for good: then a request
//! may be on top for two servers (handled twice) or for none (dropped). With fault
//! tolerance, an offline server is taken out of the queues when its announcement
//! arrives and put back at the bottom when it returns, which shifts the copies again:
//! taking a server out does not commute with rotating, so copies that take it out
//! before and after a request end up different.

use std::collections::VecDeque;

/// One server's copy of the queue of servers (by index).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueView {
    order: VecDeque<usize>,
}

impl QueueView {
    /// Servers `0..n`, in that order.
    pub fn new(n: usize) -> Self {
        QueueView {
            order: (0..n).collect(),
        }
    }

    /// A request arrived: the server this copy elects for it (the top), which then goes
    /// to the bottom. `None` when the queue is empty.
    pub fn elect(&mut self) -> Option<usize> {
        let top = self.order.pop_front()?;
        self.order.push_back(top);
        Some(top)
    }

    /// Server `index` announced it is offline: out of the queue.
    pub fn remove(&mut self, index: usize) {
        self.order.retain(|&i| i != index);
    }

    /// Server `index` is back: at the bottom (once).
    pub fn enqueue(&mut self, index: usize) {
        self.remove(index);
        self.order.push_back(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_that_see_the_same_order_agree() {
        let (mut a, mut b) = (QueueView::new(3), QueueView::new(3));
        for expected in [0, 1, 2, 0, 1] {
            assert_eq!(a.elect(), Some(expected));
            assert_eq!(b.elect(), Some(expected));
        }
    }

    /// A server that missed one request elects one position off for every later one:
    /// with three servers, each later request is elected by one copy for server x and by
    /// the shifted copy for server x+1 (mod 3).
    #[test]
    fn a_missed_request_shifts_a_copy_for_good() {
        let (mut a, mut b) = (QueueView::new(3), QueueView::new(3));
        a.elect(); // b missed this request
        for _ in 0..6 {
            let (x, y) = (a.elect().unwrap(), b.elect().unwrap());
            assert_eq!((x + 2) % 3, y);
        }
    }

    /// Taking a server out before or after a rotation leaves two different copies:
    /// why offline announcements arriving at different moments desynchronize them.
    #[test]
    fn removal_does_not_commute_with_rotation() {
        let (mut a, mut b) = (QueueView::new(3), QueueView::new(3));
        a.remove(0);
        a.elect();
        b.elect();
        b.remove(0);
        assert_ne!(a, b);
        assert_eq!((a.elect(), b.elect()), (Some(2), Some(1)));
    }

    #[test]
    fn offline_servers_leave_and_rejoin_at_the_bottom() {
        let mut q = QueueView::new(3);
        q.remove(0);
        assert_eq!(q.elect(), Some(1));
        q.enqueue(0);
        assert_eq!(
            [q.elect(), q.elect(), q.elect()],
            [Some(2), Some(1), Some(0)]
        );
        let mut empty = QueueView::new(1);
        empty.remove(0);
        assert_eq!(empty.elect(), None);
    }
}
