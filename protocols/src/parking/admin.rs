//! The admin console and the ESP32-CAM supervision streams.
//!
//! Admin operations are scheduled in the parameters (`admin: [(at: "5m", op:
//! SetPlaces(35)), ...]`) rather than as scenario-level events: the `admin` node fires
//! them at their times and sends the matching message. `SetPlaces` goes to the lock
//! server (every replica in replicated mode, every gate under Ricart-Agrawala), `Close`
//! and `Open` to the named gate, and `Chat` is a support exchange with the user at the
//! named gate (a question and its answer). A car arriving at a closed gate is sent away
//! without asking for the lock.
//!
//! Each `camera` node streams MJPEG frames to the admin node as ESP32 TCP segments
//! (lwIP MSS, plus a 20-byte TCP header on the wire), a background load on the network
//! with no effect on the protocol.

use super::{ParkMsg, ParkTimer, send};
use hardware_models::camera::{MjpegStream, esp32_segments};
use serde::{Deserialize, Serialize};
use sim_core::{Ctx, Node, NodeId, SimTime};

/// One admin operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AdminOp {
    /// Change the number of places in the lot.
    SetPlaces(u32),
    /// Close the named gate.
    Close(String),
    /// Open the named gate again.
    Open(String),
    /// A support chat message to the user at the named gate, who answers.
    Chat(String),
}

/// An admin operation and when the admin performs it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminAction {
    /// When.
    pub at: SimTime,
    /// What.
    pub op: AdminOp,
}

/// The admin console.
#[derive(Clone, Debug, Default)]
pub struct Admin {
    pub(super) actions: Vec<AdminAction>,
    /// Where `SetPlaces` goes.
    pub(super) place_targets: Vec<NodeId>,
    /// Chat answers received.
    pub chat_answers: u64,
    /// Camera bytes received.
    pub camera_bytes: u64,
}

impl Node for Admin {
    type Msg = ParkMsg;
    type Timer = ParkTimer;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        let now = ctx.sim_time();
        for (index, a) in self.actions.iter().enumerate() {
            if a.at >= now {
                ctx.set_timer(a.at - now, ParkTimer::Admin { index });
            }
        }
    }

    fn on_message(&mut self, _ctx: &mut impl Ctx<Self>, _from: NodeId, msg: ParkMsg) {
        match msg {
            ParkMsg::Video { bytes } => self.camera_bytes += u64::from(bytes),
            ParkMsg::Chat { answer: true } => self.chat_answers += 1,
            // Cameras send video and gates chat answers; nothing else is for the admin.
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: ParkTimer) {
        // `Admin` is the only timer the console sets.
        let ParkTimer::Admin { index } = timer else {
            return;
        };
        let Some(action) = self.actions.get(index) else {
            return;
        };
        ctx.metrics().add("admin_operations", 1.0);
        match &action.op {
            AdminOp::SetPlaces(places) => {
                for &t in &self.place_targets.clone() {
                    send(ctx, t, ParkMsg::SetPlaces { places: *places });
                }
            }
            AdminOp::Close(gate) | AdminOp::Open(gate) => {
                let open = matches!(action.op, AdminOp::Open(_));
                if let Some(id) = ctx.lookup(gate) {
                    send(ctx, id, ParkMsg::GateControl { open });
                }
            }
            AdminOp::Chat(gate) => {
                if let Some(id) = ctx.lookup(gate) {
                    ctx.metrics().add("chat_messages", 1.0);
                    send(ctx, id, ParkMsg::Chat { answer: false });
                }
            }
        }
    }
}

/// An ESP32-CAM streaming to the admin console.
#[derive(Clone, Debug)]
pub struct Camera {
    pub(super) stream: MjpegStream,
    pub(super) admin: Option<NodeId>,
    /// Frames sent.
    pub frames: u64,
}

impl Camera {
    fn next_frame(&mut self, ctx: &mut impl Ctx<Self>) {
        let Some(admin) = self.admin else { return };
        let frame = self.stream.next_frame(ctx.rng());
        self.frames += 1;
        for bytes in esp32_segments(frame.bytes) {
            ctx.metrics().add("camera_segments", 1.0);
            ctx.send(admin, ParkMsg::Video { bytes });
        }
        let next = if frame.interval == SimTime::ZERO {
            SimTime::from_millis(1)
        } else {
            frame.interval
        };
        ctx.set_timer(next, ParkTimer::Frame);
    }
}

impl Node for Camera {
    type Msg = ParkMsg;
    type Timer = ParkTimer;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        self.next_frame(ctx);
    }

    fn on_message(&mut self, _ctx: &mut impl Ctx<Self>, _from: NodeId, _msg: ParkMsg) {
        // A camera only streams; nothing is sent to it.
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: ParkTimer) {
        // `Frame` is the only timer a camera sets.
        if timer == ParkTimer::Frame {
            self.next_frame(ctx);
        }
    }
}
