//! The sans-IO shape every OTT role shares: a core takes inputs with the current time
//! and pushes [`Action`]s; the node adapter in [`super`] performs them (control packets
//! through the transport endpoint, video straight to the network, timers on the
//! kernel).

use super::wire::{Control, VideoPacket};
use super::{OttTimer, Timing};
use sim_core::{NodeId, SimTime};

/// Something a core asks its host to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send a control packet reliably.
    Control {
        /// Destination.
        to: NodeId,
        /// The packet.
        msg: Control,
    },
    /// Send a video datagram (unreliable).
    Video {
        /// Destination.
        to: NodeId,
        /// The datagram.
        packet: VideoPacket,
    },
    /// Call back with `timer` after `after` (local time).
    Timer {
        /// Delay.
        after: SimTime,
        /// What to hand back.
        timer: OttTimer,
    },
    /// A note for the trace (parent switches, deaths, adoptions).
    Note(String),
}

/// The outputs of one input, in order.
pub type Actions = Vec<Action>;

/// A role's state machine.
pub trait Core {
    /// The node starts (or restarts after a crash).
    fn start(&mut self, now: SimTime, timing: &Timing, out: &mut Actions);
    /// A control packet arrived from `from`.
    fn control(
        &mut self,
        now: SimTime,
        timing: &Timing,
        from: NodeId,
        msg: Control,
        out: &mut Actions,
    );
    /// A video datagram arrived from `from`.
    fn video(
        &mut self,
        _now: SimTime,
        _timing: &Timing,
        _from: NodeId,
        _packet: VideoPacket,
        _out: &mut Actions,
    ) {
    }
    /// A timer fired.
    fn timer(&mut self, now: SimTime, timing: &Timing, timer: OttTimer, out: &mut Actions);
    /// A control packet to `to` went unacknowledged `max_tries` times.
    fn lost(&mut self, _now: SimTime, _to: NodeId, _out: &mut Actions) {}
    /// The node crashed: forget volatile state (what was configured stays).
    fn crash(&mut self);
}
