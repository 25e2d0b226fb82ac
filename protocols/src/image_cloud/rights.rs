//! View rights at a receiver, sans-IO: how many more times it may open each owner's
//! image. The owner sets the count (in versions, so a late, older change never undoes a
//! newer one); every successful view spends one; a view with none left is refused.
//!
//! The gate keeps a log of what it did; [`replay`] is the oracle the invariant checks
//! it against.

use sim_core::NodeId;
use std::collections::BTreeMap;

/// The rights a receiver holds for one owner's image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Version of the last change applied.
    pub version: u64,
    /// Views left.
    pub remaining: u32,
}

/// What the gate did, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RightsEvent {
    /// A change from `owner` was applied.
    Set {
        /// Whose image.
        owner: NodeId,
        /// Its version.
        version: u64,
        /// Views it grants.
        views: u32,
    },
    /// A view of `owner`'s image was asked for, and `granted` or refused.
    Open {
        /// Whose image.
        owner: NodeId,
        /// Whether it was allowed.
        granted: bool,
    },
}

/// A receiver's rights for every image shared with it.
#[derive(Clone, Debug, Default)]
pub struct Rights {
    grants: BTreeMap<NodeId, Grant>,
    /// Everything the gate did.
    pub log: Vec<RightsEvent>,
}

impl Rights {
    /// Apply `owner`'s change number `version` granting `views` views; an older (or
    /// repeated) version than the one held is ignored. Returns whether it was applied.
    pub fn set(&mut self, owner: NodeId, version: u64, views: u32) -> bool {
        if self
            .grants
            .get(&owner)
            .is_some_and(|g| g.version >= version)
        {
            return false;
        }
        self.grants.insert(
            owner,
            Grant {
                version,
                remaining: views,
            },
        );
        self.log.push(RightsEvent::Set {
            owner,
            version,
            views,
        });
        true
    }

    /// Ask to view `owner`'s image: spends one view, or refuses when none is left (or
    /// nothing was ever granted).
    pub fn open(&mut self, owner: NodeId) -> bool {
        let granted = match self.grants.get_mut(&owner) {
            Some(g) if g.remaining > 0 => {
                g.remaining -= 1;
                true
            }
            _ => false,
        };
        self.log.push(RightsEvent::Open { owner, granted });
        granted
    }

    /// The rights held for `owner`'s image.
    pub fn grant(&self, owner: NodeId) -> Option<Grant> {
        self.grants.get(&owner).copied()
    }
}

/// Replay `log` from scratch: every change must be newer than the last one applied for
/// its owner, and every view must be granted exactly when a view was left. The error
/// names the first event that breaks this.
pub fn replay(log: &[RightsEvent]) -> Result<(), String> {
    let mut left: BTreeMap<NodeId, (u64, u32)> = BTreeMap::new();
    for (i, e) in log.iter().enumerate() {
        match *e {
            RightsEvent::Set {
                owner,
                version,
                views,
            } => {
                if let Some((v, _)) = left.get(&owner)
                    && *v >= version
                {
                    return Err(format!(
                        "event {i}: version {version} of {owner}'s rights applied after version {v}"
                    ));
                }
                left.insert(owner, (version, views));
            }
            RightsEvent::Open { owner, granted } => {
                let remaining = left.get_mut(&owner).map(|(_, r)| r);
                let allowed = remaining.as_ref().is_some_and(|r| **r > 0);
                if granted != allowed {
                    return Err(format!(
                        "event {i}: a view of {owner}'s image was {} with {} views left",
                        if granted { "granted" } else { "refused" },
                        remaining.map_or(0, |r| *r)
                    ));
                }
                if let Some(r) = remaining.filter(|_| granted) {
                    *r -= 1;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_are_spent_and_refused_beyond_the_rights() {
        let (mut r, o) = (Rights::default(), NodeId(1));
        assert!(!r.open(o), "nothing shared yet");
        assert!(r.set(o, 0, 2));
        assert!(r.open(o));
        assert!(r.open(o));
        assert!(!r.open(o), "two views granted, the third refused");
        assert!(r.set(o, 2, 1));
        assert!(!r.set(o, 1, 5), "an older change arriving late is ignored");
        assert!(r.open(o));
        assert!(!r.open(o));
        assert_eq!(replay(&r.log), Ok(()));
    }

    #[test]
    fn the_oracle_catches_a_view_beyond_the_rights() {
        let o = NodeId(1);
        let log = [
            RightsEvent::Set {
                owner: o,
                version: 0,
                views: 1,
            },
            RightsEvent::Open {
                owner: o,
                granted: true,
            },
            RightsEvent::Open {
                owner: o,
                granted: true,
            },
        ];
        let e = replay(&log).unwrap_err();
        assert!(e.starts_with("event 2: a view"), "{e}");
        let refused_wrongly = [
            log[0],
            RightsEvent::Open {
                owner: o,
                granted: false,
            },
        ];
        assert!(replay(&refused_wrongly).is_err());
    }
}
