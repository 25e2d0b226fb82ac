//! What replicas say to each other, and what they set timers for.

use dsim::{Message, NodeId, TimerTag};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A candidacy's number: a round, made unique by the candidate's id. Ordered by round
/// first, so a candidate that has seen round `r` outbids it with `r + 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ballot {
    /// The round; each candidacy takes one above the highest it has seen.
    pub round: u64,
    /// The candidate.
    pub node: NodeId,
}

impl Ballot {
    /// Below every ballot a candidate uses.
    pub const ZERO: Ballot = Ballot {
        round: 0,
        node: NodeId(0),
    };
}

impl fmt::Display for Ballot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.round, self.node)
    }
}

/// Lease messages. `attempt` numbers one round of requests of a candidate or leader,
/// so that a late answer to an abandoned round is never counted for a newer one. They
/// derive serde's traits so that `own-sim live` can send them over UDP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LeaseMsg {
    /// Grant me a lease (a candidacy, or a leader's renewal, which is also its heartbeat).
    Request {
        /// The candidacy.
        ballot: Ballot,
        /// The round of requests.
        attempt: u64,
    },
    /// Granted: the sender promises nobody else a lease for `lease + guard` of its time.
    Grant {
        /// The ballot granted.
        ballot: Ballot,
        /// The round granted.
        attempt: u64,
    },
    /// Refused: the sender has promised `promised`, to someone else or in a later round.
    Refuse {
        /// The ballot refused.
        ballot: Ballot,
        /// The round refused.
        attempt: u64,
        /// The ballot the sender is bound to.
        promised: Ballot,
    },
    /// The sender holds no lease from this ballot up to this round: forget the promise.
    Release {
        /// The ballot given up.
        ballot: Ballot,
        /// The last round given up.
        attempt: u64,
    },
}

impl Message for LeaseMsg {
    fn size_bytes(&self) -> u32 {
        // A 28-byte UDP/IPv4 header, a tag, ballot (12 bytes), attempt (8 bytes), and a
        // second ballot in a refusal.
        match self {
            LeaseMsg::Refuse { .. } => 61,
            _ => 49,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            LeaseMsg::Request { .. } => "request",
            LeaseMsg::Grant { .. } => "grant",
            LeaseMsg::Refuse { .. } => "refuse",
            LeaseMsg::Release { .. } => "release",
        }
    }
}

/// Lease timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeaseTimer {
    /// A follower heard no leader long enough: stand for election.
    Election,
    /// A round of requests got no majority in time.
    RequestTimeout {
        /// The round.
        attempt: u64,
    },
    /// The leader of `ballot` renews its lease.
    Renew {
        /// The leadership the timer belongs to.
        ballot: Ballot,
    },
    /// The lease of `ballot` may have run out.
    Expiry {
        /// The leadership the timer belongs to.
        ballot: Ballot,
    },
}

impl TimerTag for LeaseTimer {
    fn kind(&self) -> &'static str {
        match self {
            LeaseTimer::Election => "election",
            LeaseTimer::RequestTimeout { .. } => "request_timeout",
            LeaseTimer::Renew { .. } => "renew",
            LeaseTimer::Expiry { .. } => "expiry",
        }
    }
}
