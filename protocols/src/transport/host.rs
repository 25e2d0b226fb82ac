//! Glue between an [`Endpoint`] and a simulated [`Node`]: the node's message and timer
//! types carry the transport's, and [`forward`] turns the endpoint's `Send` and
//! `SetTimer` outputs into `ctx.send` and `ctx.set_timer`. The endpoint is given the
//! node's monotonic clock, so that a wall-clock step moves none of its timeouts,
//! round-trip estimates or transfer times.
//!
//! ```text
//! fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: Msg) {
//!     if let Msg::Transport(segment) = msg {
//!         self.endpoint.on_segment(ctx.monotonic(), from, segment);
//!         for event in forward(&mut self.endpoint, ctx) {
//!             self.handle(ctx, event); // Delivered, Lost, TransferComplete, ...
//!         }
//!     }
//! }
//! ```

use crate::transport::endpoint::{Endpoint, Output};
use crate::transport::segment::{Segment, TimerToken};
use sim_core::{Ctx, Node};

/// A node that embeds an [`Endpoint`]: how its message and timer types wrap the
/// transport's segments and timer tokens.
pub trait TransportHost: Node {
    /// The node's message for a transport segment.
    fn wrap_segment(segment: Segment) -> Self::Msg;
    /// The node's timer for a transport timer token.
    fn wrap_timer(token: TimerToken) -> Self::Timer;
}

/// Drain `endpoint`'s outputs: segments go to the network through `ctx.send`, timers
/// to `ctx.set_timer` (never cancelled: the endpoint ignores stale tokens), and the
/// application events (everything else, in order) are returned for the node to act on.
pub fn forward<N: TransportHost>(endpoint: &mut Endpoint, ctx: &mut impl Ctx<N>) -> Vec<Output> {
    let mut events = Vec::new();
    while let Some(out) = endpoint.poll_output() {
        match out {
            Output::Send { to, segment } => ctx.send(to, N::wrap_segment(segment)),
            Output::SetTimer { after, token } => {
                ctx.set_timer(after, N::wrap_timer(token));
            }
            event => events.push(event),
        }
    }
    events
}
