//! Channels: `request_to_communicate` along the residual tree with bandwidth
//! reservation, the requester's FIFO queue, probes of the capacity tree that decide
//! between waiting and rejection, data, close, and tear-down when a link fails.

use super::peer::send;
use super::session::{SessionId, TreeKind};
use super::{Life, Peer, PeerNode, WpMsg, WpTimer};
use sim_core::{Ctx, SimTime, TimerId};
use std::collections::{BTreeMap, VecDeque};

/// A channel's identity: requester, destination, and the requester's request number.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct ChanId {
    /// The requester (`A`).
    pub from: u32,
    /// The destination (`C`).
    pub to: u32,
    /// The requester's request number.
    pub n: u32,
}

/// The answer to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    /// Granted; `width` is the narrowest residual on the path before reserving.
    Ok {
        /// Path width.
        width: u64,
    },
    /// The link after `hop` had only `width` left.
    NoBand {
        /// The peer whose outgoing link was too narrow.
        hop: u32,
        /// Its residual.
        width: u64,
    },
    /// `node` did not acknowledge in time.
    Timeout {
        /// The silent peer.
        node: u32,
    },
    /// `node` cannot take part (leaving, or no route to it).
    NoProc {
        /// The peer.
        node: u32,
    },
    /// A hop is in another session: try again on the next tree.
    Retry,
}

/// A `request_to_communicate` on its way to the destination.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Request {
    /// The session whose residual tree routes it.
    pub session: SessionId,
    /// The channel.
    pub chan: ChanId,
    /// Bandwidth asked for.
    pub kbps: u64,
    /// Peers so far, requester first.
    pub path: Vec<u32>,
    /// The narrowest residual so far.
    pub width: u64,
}

/// A channel as one peer on its path sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chan {
    /// Peers from requester to destination (as far as known).
    pub path: Vec<u32>,
    /// Reserved bandwidth.
    pub kbps: u64,
    /// Whether the request was granted.
    pub established: bool,
    /// Neighbours on whose links this peer reserved `kbps`.
    pub reserved: Vec<u32>,
    /// The next hop the request went to (while waiting for its acknowledgement).
    pub next: Option<u32>,
}

/// A request at its requester, waiting or in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// Destination.
    pub to: u32,
    /// Bandwidth.
    pub kbps: u64,
    /// When the user asked, on the peer's monotonic clock.
    pub asked_at: SimTime,
    /// Whether it re-establishes a channel broken by a failure.
    pub reestablish: bool,
    /// Whether it has already waited in the queue for bandwidth (counted once).
    pub waited: bool,
    /// The channel id of the current attempt.
    pub chan: Option<ChanId>,
}

/// A granted request, as the requester logged it (for the oracle tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Channel.
    pub chan: ChanId,
    /// Bandwidth reserved.
    pub kbps: u64,
    /// Narrowest residual on the path before reserving.
    pub width: u64,
    /// The path.
    pub path: Vec<u32>,
}

/// A peer's channels, reservations and request queue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Channels {
    /// Channels through or at this peer.
    pub chans: BTreeMap<ChanId, Chan>,
    /// Requests waiting to be served, oldest first.
    pub queue: VecDeque<Pending>,
    /// The request being served.
    pub in_flight: Option<Pending>,
    /// The queue waits for the next completed session.
    pub blocked: bool,
    /// The number of this peer's next request (part of the channel id).
    next_n: u32,
    /// Data messages sent per channel (sequence numbers).
    sent_seq: BTreeMap<ChanId, u64>,
    /// Granted requests (requester side).
    pub grants: Vec<Grant>,
    /// Requests rejected as never satisfiable: (destination, kbps, widest width).
    pub rejected: Vec<(u32, u64, Option<u64>)>,
    /// The pending hop timeout of each channel waiting for an acknowledgement (a
    /// request's next hop) or an answer (a probe), to cancel it.
    hop_timers: BTreeMap<ChanId, TimerId>,
}

impl Channels {
    /// Bandwidth this peer reserved on its link to `peer`.
    pub fn reserved_on(&self, peer: u32) -> u64 {
        self.chans
            .values()
            .filter(|c| c.reserved.contains(&peer))
            .map(|c| c.kbps)
            .sum()
    }

    /// Whether no channel passes through or ends here.
    pub fn is_empty(&self) -> bool {
        self.chans.is_empty()
    }

    /// The hop timeout of `chan` fired: it is no longer pending.
    pub(super) fn hop_timer_fired(&mut self, chan: ChanId) {
        self.hop_timers.remove(&chan);
    }

    /// Set the hop timeout of `chan`, replacing (cancelling) its pending one.
    fn set_hop_timeout(&mut self, ctx: &mut impl Ctx<PeerNode>, after: SimTime, chan: ChanId) {
        let id = ctx.set_timer(after, WpTimer::HopTimeout { chan });
        if let Some(old) = self.hop_timers.insert(chan, id) {
            ctx.cancel_timer(old);
        }
    }

    /// Cancel the pending hop timeout of `chan`, if any.
    fn cancel_hop_timeout(&mut self, ctx: &mut impl Ctx<PeerNode>, chan: ChanId) {
        if let Some(id) = self.hop_timers.remove(&chan) {
            ctx.cancel_timer(id);
        }
    }
}

/// The bytes of data message `seq` on `chan`: a pattern the far end recomputes.
fn payload(chan: ChanId, seq: u64, bytes: u32) -> Vec<u8> {
    (0..u64::from(bytes))
        .map(|i| {
            (u64::from(chan.from) * 31
                + u64::from(chan.to) * 17
                + u64::from(chan.n) * 7
                + seq * 13
                + i) as u8
        })
        .collect()
}

impl Peer {
    /// `request_to_communicate(me, to, kbps)`: queue it and serve the queue. As in the
    /// report, a peer has at most one connection with another: a request to a peer it
    /// already has (or is asking for) a channel with is refused.
    pub(super) fn request(&mut self, ctx: &mut impl Ctx<PeerNode>, to: u32, kbps: u64) {
        if self.channel_with(to).is_some()
            || self.channels.queue.iter().any(|p| p.to == to)
            || self.channels.in_flight.as_ref().is_some_and(|p| p.to == to)
        {
            ctx.metrics().add("requests_duplicate", 1.0);
            return;
        }
        self.channels.queue.push_back(Pending {
            to,
            kbps,
            asked_at: ctx.monotonic(),
            reestablish: false,
            waited: false,
            chan: None,
        });
        self.serve_queue(ctx);
    }

    /// A session completed here, or a retry is due: serve waiting requests.
    pub(super) fn resume_queue(&mut self, ctx: &mut impl Ctx<PeerNode>) {
        self.channels.blocked = false;
        self.serve_queue(ctx);
    }

    /// Send the oldest waiting request, unless one is in progress or the tree is not
    /// ready.
    fn serve_queue(&mut self, ctx: &mut impl Ctx<PeerNode>) {
        if self.channels.in_flight.is_some()
            || self.channels.blocked
            || self.life != Life::Active
            || !self.sessions.computed()
        {
            return;
        }
        let Some(mut pending) = self.channels.queue.pop_front() else {
            return;
        };
        let chan = ChanId {
            from: self.me,
            to: pending.to,
            n: self.channels.next_n,
        };
        self.channels.next_n += 1;
        pending.chan = Some(chan);
        let kbps = pending.kbps;
        self.channels.in_flight = Some(pending);
        let Some(next) = self.next_hop(TreeKind::Residual, chan.to) else {
            return self.finish_request(ctx, chan, Outcome::NoProc { node: chan.to }, vec![]);
        };
        let width = self.residual(next);
        if width < kbps {
            let outcome = Outcome::NoBand {
                hop: self.me,
                width,
            };
            return self.finish_request(ctx, chan, outcome, vec![]);
        }
        let request = Request {
            session: self.sessions.current,
            chan,
            kbps,
            path: vec![self.me],
            width,
        };
        self.forward_request(ctx, request, None, next);
    }

    /// Reserve on the link(s) to `prev` and `next` and pass the request to `next`.
    fn forward_request(
        &mut self,
        ctx: &mut impl Ctx<PeerNode>,
        request: Request,
        prev: Option<u32>,
        next: u32,
    ) {
        let chan = request.chan;
        let reserved = prev.into_iter().chain([next]).collect();
        self.channels.chans.insert(
            chan,
            Chan {
                path: request.path.clone(),
                kbps: request.kbps,
                established: false,
                reserved,
                next: Some(next),
            },
        );
        send(ctx, next, WpMsg::Request(request));
        self.channels
            .set_hop_timeout(ctx, self.timing.hop_timeout, chan);
    }

    /// Handle a channel message (request, reply, probe, data, close, broken).
    pub(super) fn on_channel_message(
        &mut self,
        ctx: &mut impl Ctx<PeerNode>,
        from: u32,
        msg: WpMsg,
    ) {
        match msg {
            WpMsg::Request(request) => self.on_request(ctx, from, request),
            WpMsg::RequestAck { chan } => self.channels.cancel_hop_timeout(ctx, chan),
            WpMsg::Reply {
                chan,
                path,
                outcome,
            } => self.on_reply(ctx, chan, path, outcome),
            WpMsg::Probe {
                session,
                chan,
                mut path,
                width,
            } => {
                path.push(self.me);
                let width = width.min(self.links.get(&from).copied().unwrap_or(0));
                if chan.to == self.me {
                    self.probe_back(ctx, chan, path, Some(width));
                } else if session != self.sessions.current {
                    self.probe_back(ctx, chan, path, None);
                } else {
                    match self.next_hop(TreeKind::Capacity, chan.to) {
                        Some(next) => {
                            let width = width.min(self.links[&next]);
                            send(
                                ctx,
                                next,
                                WpMsg::Probe {
                                    session,
                                    chan,
                                    path,
                                    width,
                                },
                            );
                        }
                        None => self.probe_back(ctx, chan, path, None),
                    }
                }
            }
            WpMsg::ProbeReply { chan, path, width } => {
                if chan.from == self.me {
                    self.on_probe_reply(ctx, chan, width);
                } else if let Some(prev) = before(&path, self.me) {
                    send(ctx, prev, WpMsg::ProbeReply { chan, path, width });
                }
            }
            WpMsg::Data {
                chan,
                seq,
                forward,
                data,
            } => self.on_data(ctx, chan, seq, forward, data),
            WpMsg::Close { chan, forward } => self.on_teardown(ctx, chan, forward, false),
            WpMsg::Broken { chan, forward } => self.on_teardown(ctx, chan, forward, true),
            _ => {}
        }
    }

    fn probe_back(
        &mut self,
        ctx: &mut impl Ctx<PeerNode>,
        chan: ChanId,
        path: Vec<u32>,
        width: Option<u64>,
    ) {
        if let Some(prev) = before(&path, self.me) {
            send(ctx, prev, WpMsg::ProbeReply { chan, path, width });
        }
    }

    fn on_request<C: Ctx<PeerNode>>(&mut self, ctx: &mut C, from: u32, request: Request) {
        let Request {
            session,
            chan,
            kbps,
            mut path,
            width,
        } = request;
        send(ctx, from, WpMsg::RequestAck { chan });
        let refuse = |ctx: &mut C, path: Vec<u32>, outcome| {
            send(
                ctx,
                from,
                WpMsg::Reply {
                    chan,
                    path,
                    outcome,
                },
            );
        };
        if self.life != Life::Active {
            return refuse(ctx, path, Outcome::NoProc { node: self.me });
        }
        if session != self.sessions.current || !self.sessions.computed() {
            return refuse(ctx, path, Outcome::Retry);
        }
        // This end checks the link too: its view includes requests coming the other way.
        let here = self.residual(from);
        if here < kbps {
            return refuse(
                ctx,
                path,
                Outcome::NoBand {
                    hop: from,
                    width: here,
                },
            );
        }
        let width = width.min(here);
        path.push(self.me);
        if chan.to == self.me {
            self.channels.chans.insert(
                chan,
                Chan {
                    path: path.clone(),
                    kbps,
                    established: true,
                    reserved: vec![from],
                    next: None,
                },
            );
            return refuse(ctx, path, Outcome::Ok { width });
        }
        let Some(next) = self.next_hop(TreeKind::Residual, chan.to) else {
            return refuse(ctx, path, Outcome::NoProc { node: chan.to });
        };
        let onward = self.residual(next);
        if onward < kbps {
            let outcome = Outcome::NoBand {
                hop: self.me,
                width: onward,
            };
            return refuse(ctx, path, outcome);
        }
        let request = Request {
            session,
            chan,
            kbps,
            path,
            width: width.min(onward),
        };
        self.forward_request(ctx, request, Some(from), next);
    }

    fn on_reply(
        &mut self,
        ctx: &mut impl Ctx<PeerNode>,
        chan: ChanId,
        path: Vec<u32>,
        outcome: Outcome,
    ) {
        self.channels.cancel_hop_timeout(ctx, chan);
        let Some(entry) = self.channels.chans.get_mut(&chan) else {
            // The request was torn down here meanwhile: release what was granted beyond.
            if let (Outcome::Ok { .. }, Some(next)) = (outcome, step(&path, self.me, true)) {
                send(
                    ctx,
                    next,
                    WpMsg::Broken {
                        chan,
                        forward: true,
                    },
                );
            }
            return;
        };
        if entry.established {
            return;
        }
        entry.next = None;
        if let Outcome::Ok { .. } = outcome {
            entry.established = true;
            entry.path = path.clone();
        } else {
            self.channels.chans.remove(&chan);
        }
        self.answer_back(ctx, chan, outcome, path);
        self.leave_if_free(ctx);
    }

    /// The next hop of `chan` never acknowledged the request.
    pub(super) fn on_hop_timeout(&mut self, ctx: &mut impl Ctx<PeerNode>, chan: ChanId) {
        let Some(entry) = self.channels.chans.get(&chan) else {
            // A probe at the requester that never came back.
            if chan.from == self.me
                && self.channels.in_flight.as_ref().and_then(|p| p.chan) == Some(chan)
            {
                self.finish_request(ctx, chan, Outcome::Timeout { node: chan.to }, vec![]);
            }
            return;
        };
        let (Some(next), false) = (entry.next, entry.established) else {
            return;
        };
        let path = entry.path.clone();
        self.channels.chans.remove(&chan);
        let outcome = Outcome::Timeout { node: next };
        self.answer_back(ctx, chan, outcome, path);
    }

    /// The requester learns the outcome of its request.
    /// Send `outcome` of `chan` back toward its requester: finish it here if this peer
    /// asked, else reply to the previous hop on `path`.
    fn answer_back(
        &mut self,
        ctx: &mut impl Ctx<PeerNode>,
        chan: ChanId,
        outcome: Outcome,
        path: Vec<u32>,
    ) {
        if chan.from == self.me {
            self.finish_request(ctx, chan, outcome, path);
        } else if let Some(prev) = before(&path, self.me) {
            send(
                ctx,
                prev,
                WpMsg::Reply {
                    chan,
                    path,
                    outcome,
                },
            );
        }
    }

    fn finish_request(
        &mut self,
        ctx: &mut impl Ctx<PeerNode>,
        chan: ChanId,
        outcome: Outcome,
        path: Vec<u32>,
    ) {
        let Some(pending) = self.channels.in_flight.take() else {
            return;
        };
        if pending.chan != Some(chan) {
            self.channels.in_flight = Some(pending);
            return;
        }
        ctx.annotate(&format!(
            "request to {} ({} kbps): {outcome:?}",
            chan.to, pending.kbps
        ));
        match outcome {
            Outcome::Ok { width } => {
                ctx.metrics().add("requests_ok", 1.0);
                if pending.reestablish {
                    ctx.metrics().add("channels_reestablished", 1.0);
                }
                let ms = ctx.monotonic().saturating_sub(pending.asked_at).0 as f64 / 1e6;
                ctx.metrics().observe("channel_setup_ms", ms);
                self.channels.grants.push(Grant {
                    chan,
                    kbps: pending.kbps,
                    width,
                    path,
                });
                // Reservations changed: the residual tree must follow.
                self.start_session(ctx);
            }
            Outcome::NoBand { .. } => {
                // Counted once per request, not per attempt from the queue.
                if !pending.waited {
                    ctx.metrics().add("requests_no_band", 1.0);
                }
                // Probe the capacity tree: can this ever be served?
                match self.next_hop(TreeKind::Capacity, chan.to) {
                    Some(next) => {
                        let width = self.links[&next];
                        send(
                            ctx,
                            next,
                            WpMsg::Probe {
                                session: self.sessions.current,
                                chan,
                                path: vec![self.me],
                                width,
                            },
                        );
                        self.channels
                            .set_hop_timeout(ctx, self.timing.echo_timeout, chan);
                        self.channels.in_flight = Some(pending);
                        return;
                    }
                    None => {
                        ctx.metrics().add("requests_rejected", 1.0);
                        self.channels.rejected.push((chan.to, pending.kbps, None));
                    }
                }
            }
            Outcome::Timeout { .. } => ctx.metrics().add("requests_timeout", 1.0),
            Outcome::NoProc { .. } => ctx.metrics().add("requests_noproc", 1.0),
            Outcome::Retry => {
                // A hop had not finished this session (or is in a newer one): try again
                // shortly, or as soon as a newer session completes here.
                ctx.metrics().add("requests_retried", 1.0);
                self.channels.queue.push_front(pending);
                self.channels.blocked = true;
                ctx.set_timer(self.timing.hop_timeout, WpTimer::RetryQueue);
                return;
            }
        }
        self.serve_queue(ctx);
    }

    fn on_probe_reply(&mut self, ctx: &mut impl Ctx<PeerNode>, chan: ChanId, width: Option<u64>) {
        self.channels.cancel_hop_timeout(ctx, chan);
        let Some(pending) = self.channels.in_flight.take() else {
            return;
        };
        if pending.chan != Some(chan) {
            self.channels.in_flight = Some(pending);
            return;
        }
        match width {
            Some(w) if pending.kbps > w => {
                ctx.metrics().add("requests_rejected", 1.0);
                ctx.annotate(&format!(
                    "request to {} ({} kbps) rejected: widest path {w}",
                    chan.to, pending.kbps
                ));
                self.channels
                    .rejected
                    .push((chan.to, pending.kbps, Some(w)));
                self.serve_queue(ctx);
            }
            _ => {
                // Servable once bandwidth frees (or the probe crossed sessions): wait
                // at the head of the queue for the next tree.
                let mut pending = pending;
                if width.is_some() && !pending.waited {
                    ctx.metrics().add("requests_queued", 1.0);
                    pending.waited = true;
                }
                self.channels.queue.push_front(pending);
                self.channels.blocked = true;
            }
        }
    }

    /// The established channel between this peer and `other` (either way), if any.
    fn channel_with(&self, other: u32) -> Option<(ChanId, &Chan)> {
        let me = self.me;
        self.channels
            .chans
            .iter()
            .find(|(c, ch)| {
                ch.established
                    && ((c.from == me && c.to == other) || (c.to == me && c.from == other))
            })
            .map(|(c, ch)| (*c, ch))
    }

    /// `send_data(me, to, bytes)` on the channel between the two.
    pub(super) fn send_data(&mut self, ctx: &mut impl Ctx<PeerNode>, to: u32, bytes: u32) {
        let me = self.me;
        let Some((chan, entry)) = self.channel_with(to) else {
            ctx.metrics().add("data_no_connection", 1.0);
            return;
        };
        let forward = chan.from == me;
        let Some(next) = step(&entry.path, me, forward) else {
            return;
        };
        let seq = self.channels.sent_seq.entry(chan).or_default();
        *seq += 1;
        let seq = *seq;
        ctx.metrics().add("data_sent", 1.0);
        send(
            ctx,
            next,
            WpMsg::Data {
                chan,
                seq,
                forward,
                data: payload(chan, seq, bytes),
            },
        );
    }

    fn on_data(
        &mut self,
        ctx: &mut impl Ctx<PeerNode>,
        chan: ChanId,
        seq: u64,
        forward: bool,
        data: Vec<u8>,
    ) {
        let Some(entry) = self.channels.chans.get(&chan) else {
            ctx.metrics().add("data_lost", 1.0);
            return;
        };
        match step(&entry.path, self.me, forward) {
            Some(next) => send(
                ctx,
                next,
                WpMsg::Data {
                    chan,
                    seq,
                    forward,
                    data,
                },
            ),
            None => {
                if data == payload(chan, seq, data.len() as u32) {
                    ctx.metrics().add("data_received", 1.0);
                } else {
                    ctx.metrics().add("data_corrupted", 1.0);
                }
            }
        }
    }

    /// `close_connection`: close this peer's channel with `other`.
    pub(super) fn close(&mut self, ctx: &mut impl Ctx<PeerNode>, other: u32) {
        let Some((chan, _)) = self.channel_with(other) else {
            ctx.metrics().add("close_no_connection", 1.0);
            return;
        };
        self.end_channel(ctx, chan);
    }

    /// Close every channel this peer is an end of (before leaving).
    pub(super) fn close_own(&mut self, ctx: &mut impl Ctx<PeerNode>) {
        let me = self.me;
        let own: Vec<ChanId> = self
            .channels
            .chans
            .iter()
            .filter(|(c, ch)| ch.established && (c.from == me || c.to == me))
            .map(|(c, _)| *c)
            .collect();
        for chan in own {
            self.end_channel(ctx, chan);
        }
        self.channels.queue.clear();
    }

    fn end_channel(&mut self, ctx: &mut impl Ctx<PeerNode>, chan: ChanId) {
        let forward = chan.from == self.me;
        let entry = self.channels.chans.remove(&chan).expect("found above");
        ctx.metrics().add("channels_closed", 1.0);
        if let Some(next) = step(&entry.path, self.me, forward) {
            send(ctx, next, WpMsg::Close { chan, forward });
        }
    }

    /// A close or break passing through: release, pass it on, and at the far end start
    /// a session (reservations changed); a broken channel goes back to its requester's
    /// queue.
    fn on_teardown(
        &mut self,
        ctx: &mut impl Ctx<PeerNode>,
        chan: ChanId,
        forward: bool,
        broken: bool,
    ) {
        let Some(entry) = self.channels.chans.remove(&chan) else {
            return;
        };
        match step(&entry.path, self.me, forward) {
            Some(next) => {
                let msg = if broken {
                    WpMsg::Broken { chan, forward }
                } else {
                    WpMsg::Close { chan, forward }
                };
                send(ctx, next, msg);
            }
            None => {
                if broken && chan.from == self.me {
                    self.requeue_broken(ctx.monotonic(), entry.kbps, chan);
                }
                self.start_session(ctx);
            }
        }
        self.leave_if_free(ctx);
    }

    /// A channel this peer requested broke: ask again (first in line) on the next tree;
    /// its setup time counts from the break.
    fn requeue_broken(&mut self, now: SimTime, kbps: u64, chan: ChanId) {
        if self.life != Life::Active {
            return;
        }
        self.channels.queue.push_front(Pending {
            to: chan.to,
            kbps,
            asked_at: now,
            reestablish: true,
            waited: false,
            chan: None,
        });
        self.channels.blocked = true;
    }

    /// The link to `peer` is gone: every channel over it breaks; the pieces on each
    /// side are torn down and the requester re-queues its request.
    pub(super) fn break_channels_over(&mut self, ctx: &mut impl Ctx<PeerNode>, peer: u32) {
        let over: Vec<ChanId> = self
            .channels
            .chans
            .iter()
            .filter(|(_, ch)| ch.reserved.contains(&peer) || ch.next == Some(peer))
            .map(|(c, _)| *c)
            .collect();
        for chan in over {
            let entry = self.channels.chans.remove(&chan).expect("listed");
            ctx.metrics().add("channels_broken", 1.0);
            if !entry.established {
                // A request in progress: if the failed link is downstream, answer it.
                if entry.next == Some(peer) {
                    let outcome = Outcome::Timeout { node: peer };
                    self.answer_back(ctx, chan, outcome, entry.path);
                }
                continue;
            }
            // Tear down on the side away from the failed link.
            let towards_target = step(&entry.path, self.me, true) == Some(peer);
            let away = !towards_target;
            match step(&entry.path, self.me, away) {
                Some(next) => send(
                    ctx,
                    next,
                    WpMsg::Broken {
                        chan,
                        forward: away,
                    },
                ),
                None => {
                    if chan.from == self.me {
                        self.requeue_broken(ctx.monotonic(), entry.kbps, chan);
                    }
                }
            }
        }
        self.leave_if_free(ctx);
    }
}

/// The peer before `me` on `path`.
fn before(path: &[u32], me: u32) -> Option<u32> {
    let i = path.iter().position(|&p| p == me)?;
    i.checked_sub(1).map(|j| path[j])
}

/// The next peer after `me` on `path` towards the target (`forward`) or the requester.
fn step(path: &[u32], me: u32, forward: bool) -> Option<u32> {
    let i = path.iter().position(|&p| p == me)?;
    if forward {
        path.get(i + 1).copied()
    } else {
        i.checked_sub(1).map(|j| path[j])
    }
}
