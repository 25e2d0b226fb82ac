//! The image cloud's invariants. Per event they read only the node the event changed,
//! or a counter in the metrics; the rights are replayed in full at the end of the run.

use super::rights::replay;
use super::{Client, CloudNode, RequestId, Server};
use sim_core::{Invariant, NodeId, Role, World};
use std::collections::BTreeMap;

/// Round-robin mode: no request is accepted by two servers. Reads the record of
/// accepted requests of the server an event changed, from where it last stopped.
#[derive(Default)]
pub(super) struct NoRequestHandledTwice {
    by: BTreeMap<RequestId, NodeId>,
    read: BTreeMap<NodeId, usize>,
}

impl Invariant<CloudNode> for NoRequestHandledTwice {
    fn name(&self) -> &str {
        "no_request_handled_twice"
    }
    fn check(&mut self, world: &World<'_, CloudNode>) -> Result<(), String> {
        for (id, _, node) in world.changed_nodes() {
            let Some(s) = Server::of(node) else { continue };
            let start = self.read.entry(id).or_insert(0);
            for r in &s.accepted[*start..] {
                if let Some(other) = self.by.insert(*r, id) {
                    return Err(format!(
                        "request {} of {} accepted by {} and by {}",
                        r.seq,
                        world.name(r.client),
                        world.name(other),
                        world.name(id)
                    ));
                }
            }
            *start = s.accepted.len();
        }
        Ok(())
    }
}

/// Every encrypted image that came back decodes to exactly the bytes the client sent
/// (clients compare and count mismatches in `jobs_corrupt`).
pub(super) struct JobsReturnExactBytes;

impl Invariant<CloudNode> for JobsReturnExactBytes {
    fn name(&self) -> &str {
        "jobs_return_exact_bytes"
    }
    fn check(&mut self, world: &World<'_, CloudNode>) -> Result<(), String> {
        let bad = world.metrics().value("jobs_corrupt");
        if bad > 0.0 {
            return Err(format!(
                "{bad} encrypted image(s) did not decode to the bytes sent"
            ));
        }
        Ok(())
    }
}

/// A view beyond the rights is refused: each receiver's rights gate, replayed against
/// the oracle, granted exactly the views it had left; and every granted view showed
/// the owner's exact image (`views_corrupt`).
pub(super) struct ViewsWithinRights;

impl Invariant<CloudNode> for ViewsWithinRights {
    fn name(&self) -> &str {
        "views_within_rights"
    }
    fn check(&mut self, world: &World<'_, CloudNode>) -> Result<(), String> {
        let bad = world.metrics().value("views_corrupt");
        if bad > 0.0 {
            return Err(format!(
                "{bad} view(s) decoded to something else than the owner's image"
            ));
        }
        Ok(())
    }
    fn check_at_end(&mut self, world: &World<'_, CloudNode>) -> Result<(), String> {
        for (id, _, node) in world.nodes() {
            if let Some(c) = Client::of(node) {
                replay(&c.rights.log).map_err(|e| format!("{}: {e}", world.name(id)))?;
            }
        }
        Ok(())
    }
}

/// At the end, every receiver that is online holds the latest rights its owners set
/// (rights changes to offline receivers went through the cloud cache).
pub(super) struct RightsChangesDelivered;

impl Invariant<CloudNode> for RightsChangesDelivered {
    fn name(&self) -> &str {
        "rights_changes_delivered"
    }
    fn check_at_end(&mut self, world: &World<'_, CloudNode>) -> Result<(), String> {
        for (owner, _, node) in world.nodes() {
            let Some(c) = Client::of(node) else { continue };
            for (&receiver, &version) in &c.versions {
                let (_, r) = world.node(receiver);
                let Some(r) = Client::of(r) else { continue };
                if !r.online {
                    continue;
                }
                let held = r.rights.grant(owner).map(|g| g.version);
                if held != Some(version) {
                    return Err(format!(
                        "{} holds version {held:?} of {}'s rights, the latest is {version}",
                        world.name(receiver),
                        world.name(owner)
                    ));
                }
            }
        }
        Ok(())
    }
}
