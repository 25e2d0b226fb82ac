//! The HTTP side of a node: requests in flight to the cloud server, what each was for,
//! and the timeout after which the server counts as offline for that request.

use super::rest::Request;
use super::{CityMsg, CityTimer};
use sim_core::{Context, NodeId, SimTime, TimerId};
use std::collections::BTreeMap;

/// Outstanding requests of one node, each tagged with the caller's `P` (why it was
/// sent), so the reply or the timeout can be routed back to the right step.
#[derive(Clone, Debug)]
pub struct HttpClient<P> {
    next: u64,
    pending: BTreeMap<u64, (P, TimerId)>,
}

impl<P> Default for HttpClient<P> {
    fn default() -> Self {
        HttpClient {
            next: 0,
            pending: BTreeMap::new(),
        }
    }
}

impl<P> HttpClient<P> {
    /// Send `request` to `server`; a [`CityTimer::HttpTimeout`] fires after `timeout`
    /// unless the reply arrives first.
    pub fn send(
        &mut self,
        ctx: &mut impl Context<CityMsg, CityTimer>,
        server: NodeId,
        request: Request,
        purpose: P,
        timeout: SimTime,
    ) {
        self.next += 1;
        let req = self.next;
        ctx.send(server, CityMsg::Http { req, request });
        let timer = ctx.set_timer(timeout, CityTimer::HttpTimeout(req));
        self.pending.insert(req, (purpose, timer));
    }

    /// The reply to `req` arrived: what it was for (`None` for a reply that came after
    /// its timeout, which the caller ignores).
    pub fn complete(&mut self, ctx: &mut impl Context<CityMsg, CityTimer>, req: u64) -> Option<P> {
        let (purpose, timer) = self.pending.remove(&req)?;
        ctx.cancel_timer(timer);
        Some(purpose)
    }

    /// The timeout of `req` fired: what it was for.
    pub fn expire(&mut self, req: u64) -> Option<P> {
        self.pending.remove(&req).map(|(purpose, _)| purpose)
    }

    /// Whether a request for `purpose` is in flight.
    pub fn in_flight(&self, purpose: &P) -> bool
    where
        P: PartialEq,
    {
        self.pending.values().any(|(p, _)| p == purpose)
    }

    /// Forget every request (the node crashed; its timers are gone with it).
    pub fn clear(&mut self) {
        self.pending.clear();
    }
}
