//! A client: pings every point of presence it knows once per `ping_interval`, learns
//! their video lists and round-trip times, asks the best PoP for each video it watches,
//! re-requests a video missing for `video_timeout`, and moves the streams of a PoP that
//! stopped answering (`missed_pings` pings), or that no longer lists a silent stream's
//! video while another PoP does, to the best other PoP, or queues them until one can
//! serve them. It also records what a viewer would see: startup delay, stalls,
//! lost datagrams and the received bit rate over time.

use super::flood::{Candidate, LatencyWindow, choose};
use super::wire::{Control, VideoId, VideoPacket};
use super::{Host, OttMsg, OttRole, OttTimer, Timing};
use sim_core::{Ctx, Node, NodeId, SimTime};
use std::collections::{BTreeMap, BTreeSet};

/// What the client knows of one point of presence.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PopView {
    /// Ping round trips.
    pub rtt: LatencyWindow,
    /// The videos of its last list.
    pub videos: BTreeSet<VideoId>,
    /// When its last answer arrived.
    pub last_reply: Option<SimTime>,
    /// Whether it answers (false until the first answer).
    pub responsive: bool,
}

/// One video the client watches from `start` (until `stop`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watch {
    /// The video.
    pub video: VideoId,
    /// When the viewer asks for it.
    pub start: SimTime,
    /// When the viewer stops (never when `None`).
    pub stop: Option<SimTime>,
}

/// A stream being watched now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stream {
    /// The PoP asked (`None`: queued, no PoP can serve it).
    pub pop: Option<NodeId>,
    /// When the viewer asked.
    pub asked_at: SimTime,
    /// When the request was last sent.
    pub last_request: SimTime,
    /// The last datagram.
    pub last_video: Option<SimTime>,
    /// Index of its record in `sessions`.
    pub session: usize,
}

/// How far behind the highest sequence number a late (reordered) datagram still counts.
pub const REORDER_WINDOW: u64 = 256;

/// What the viewer saw of one watch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Session {
    /// The video.
    pub video: VideoId,
    /// When the viewer asked.
    pub asked_at: SimTime,
    /// When the viewer stopped.
    pub ended_at: Option<SimTime>,
    /// The first datagram.
    pub first_video: Option<SimTime>,
    /// The last datagram.
    pub last_video: Option<SimTime>,
    /// Sequence numbers of the first and the highest datagram.
    pub seqs: (u64, u64),
    /// Sequence numbers received within `REORDER_WINDOW` of the highest (to count a
    /// late datagram once and drop a copy).
    pub recent: BTreeSet<u64>,
    /// Distinct datagrams received.
    pub packets: u64,
    /// Time frozen: every gap between datagrams longer than the player's buffer
    /// (`stall_after`) counts for its excess.
    pub stalled: SimTime,
    /// Gaps longer than `stall_after`, recovered: (last datagram before, first after).
    pub outages: Vec<(SimTime, SimTime)>,
}

/// A client's state.
pub struct Client {
    /// Its endpoint and counters.
    pub host: Host,
    /// This client.
    pub me: NodeId,
    /// The PoPs it may use (the report passes them as arguments).
    pub pops: Vec<NodeId>,
    /// What it will watch.
    pub watches: Vec<Watch>,
    /// What it knows of each PoP.
    pub views: BTreeMap<NodeId, PopView>,
    /// Streams being watched.
    pub streams: BTreeMap<VideoId, Stream>,
    /// One record per watch started.
    pub sessions: Vec<Session>,
    /// Video payload bytes received per `bitrate_bin` of time.
    pub timeline: BTreeMap<u64, u64>,
    /// Video payload bytes received in all (tallied as `video_bits` as they come).
    pub video_bytes: u64,
    /// Streams moved to another PoP.
    pub moves: u64,
    next_seq: u64,
    pings: BTreeMap<u64, (NodeId, SimTime)>,
}

impl Client {
    /// A client using `pops` that will watch `watches`.
    pub fn new(host: Host, me: NodeId, pops: Vec<NodeId>, watches: Vec<Watch>) -> Self {
        Client {
            host,
            me,
            pops,
            watches,
            views: BTreeMap::new(),
            streams: BTreeMap::new(),
            sessions: Vec::new(),
            timeline: BTreeMap::new(),
            video_bytes: 0,
            moves: 0,
            next_seq: 0,
            pings: BTreeMap::new(),
        }
    }

    fn ping(&mut self, now: SimTime, timing: &Timing) {
        self.pings
            .retain(|_, (_, at)| now.saturating_sub(*at) <= timing.client_timeout());
        for &pop in &self.pops {
            let seq = self.next_seq;
            self.next_seq += 1;
            self.pings.insert(seq, (pop, now));
            let requested = self
                .streams
                .iter()
                .filter(|(_, s)| s.pop == Some(pop))
                .map(|(v, _)| *v)
                .collect();
            self.host
                .send_control(now, pop, &Control::ClientPing { seq, requested });
        }
    }

    /// Ask the best responsive PoP listing `video`; leave it queued if there is none.
    fn assign(&mut self, video: VideoId, now: SimTime, timing: &Timing) {
        let candidates: Vec<Candidate> = self
            .views
            .iter()
            .filter(|(_, v)| v.responsive && v.videos.contains(&video))
            .filter_map(|(&id, v)| {
                Some(Candidate {
                    id,
                    mean_latency_ns: v.rtt.mean_ns()?,
                    hops: 0,
                    requested: self.streams.values().filter(|s| s.pop == Some(id)).count(),
                    streams: v.videos.len(),
                })
            })
            .collect();
        let Some(pop) = choose(&candidates, timing.tolerance) else {
            return;
        };
        let Some(stream) = self.streams.get_mut(&video) else {
            return;
        };
        stream.pop = Some(pop);
        stream.last_request = now;
        self.host
            .send_control(now, pop, &Control::RequestVideo { video });
    }

    fn on_tick(&mut self, ctx: &mut impl Ctx<Self>, now: SimTime, timing: &Timing) {
        let silent: Vec<NodeId> = self
            .views
            .iter()
            .filter(|(_, v)| {
                v.responsive
                    && v.last_reply
                        .is_none_or(|t| now.saturating_sub(t) > timing.client_timeout())
            })
            .map(|(p, _)| *p)
            .collect();
        for pop in silent {
            if let Some(v) = self.views.get_mut(&pop) {
                v.responsive = false;
            }
            ctx.annotate(&format!("PoP n{} unresponsive", pop.0));
            let moved: Vec<VideoId> = self
                .streams
                .iter()
                .filter(|(_, s)| s.pop == Some(pop))
                .map(|(v, _)| *v)
                .collect();
            for video in moved {
                self.moves += 1;
                if let Some(s) = self.streams.get_mut(&video) {
                    s.pop = None;
                }
                // The PoP may be alive after all (this client was paused, or only its
                // answers were cut): tell it to stop, or it feeds beside the next one.
                self.host
                    .send_control(now, pop, &Control::StopVideo { video });
                self.assign(video, now, timing);
            }
        }
        let mut queued = Vec::new();
        for (&video, s) in &mut self.streams {
            match s.pop {
                None => queued.push(video),
                Some(pop) => {
                    let last = s.last_video.unwrap_or(s.asked_at).max(s.last_request);
                    if now.saturating_sub(last) < timing.video_timeout {
                        continue;
                    }
                    let lists = |p: &NodeId| {
                        self.views
                            .get(p)
                            .is_some_and(|v| v.responsive && v.videos.contains(&video))
                    };
                    let elsewhere = self.views.keys().any(|p| *p != pop && lists(p));
                    if lists(&pop) || !elsewhere {
                        s.last_request = now;
                        self.host
                            .send_control(now, pop, &Control::RequestVideo { video });
                    } else {
                        // The PoP answers pings but no longer lists the silent stream
                        // (it cannot reach a source) while another does: move there.
                        self.moves += 1;
                        s.pop = None;
                        self.host
                            .send_control(now, pop, &Control::StopVideo { video });
                        queued.push(video);
                    }
                }
            }
        }
        for video in queued {
            self.assign(video, now, timing);
        }
        ctx.set_timer(timing.check_interval, OttTimer::Tick);
    }

    fn start_watch(&mut self, index: usize, now: SimTime, timing: &Timing) {
        let video = self.watches[index].video;
        if self.streams.contains_key(&video) {
            return;
        }
        self.sessions.push(Session {
            video,
            asked_at: now,
            ..Session::default()
        });
        self.streams.insert(
            video,
            Stream {
                pop: None,
                asked_at: now,
                last_request: now,
                last_video: None,
                session: self.sessions.len() - 1,
            },
        );
        self.assign(video, now, timing);
    }

    fn stop_watch(&mut self, index: usize, now: SimTime) {
        let video = self.watches[index].video;
        let Some(s) = self.streams.remove(&video) else {
            return;
        };
        self.sessions[s.session].ended_at = Some(now);
        if let Some(pop) = s.pop {
            self.host
                .send_control(now, pop, &Control::StopVideo { video });
        }
    }

    /// A video datagram: what the viewer sees of its stream.
    fn on_video(&mut self, ctx: &mut impl Ctx<Self>, packet: VideoPacket) {
        let (now, timing) = (ctx.monotonic(), &self.host.timing);
        let Some(stream) = self.streams.get_mut(&packet.video) else {
            return;
        };
        let session = &mut self.sessions[stream.session];
        match session.last_video {
            None => {
                session.first_video = Some(now);
                session.seqs = (packet.seq, packet.seq);
            }
            Some(last) if packet.seq > session.seqs.1 => {
                let gap = now.saturating_sub(last);
                if gap > timing.stall_after {
                    session.stalled += gap - timing.stall_after;
                    session.outages.push((last, now));
                }
                session.seqs.1 = packet.seq;
            }
            // Late (overtaken on a jittery link): counts once; a copy does not.
            Some(_) => {
                if packet.seq + REORDER_WINDOW < session.seqs.1
                    || session.recent.contains(&packet.seq)
                {
                    return;
                }
            }
        }
        session.recent.insert(packet.seq);
        let floor = session.seqs.1.saturating_sub(REORDER_WINDOW);
        while session.recent.first().is_some_and(|&s| s < floor) {
            session.recent.pop_first();
        }
        session.packets += 1;
        if packet.seq == session.seqs.1 {
            session.last_video = Some(now);
            stream.last_video = Some(now);
        }
        let bytes = u64::from(packet.payload_bytes());
        *self
            .timeline
            .entry(now.0 / timing.bitrate_bin.0)
            .or_default() += bytes;
        self.video_bytes += bytes;
        if bytes > 0 {
            ctx.tally_own("video_bits", (bytes * 8) as f64);
        }
    }
}

impl OttRole for Client {
    fn host(&mut self) -> &mut Host {
        &mut self.host
    }

    /// A PoP's answer to a ping: its round trip, its videos; the queued streams may
    /// have a PoP now.
    fn on_control(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: Control) {
        let (now, timing) = (ctx.monotonic(), self.host.timing);
        let Control::VideoList { seq, videos, .. } = msg else {
            return;
        };
        let Some((pop, sent)) = self.pings.remove(&seq) else {
            return;
        };
        if pop != from {
            return;
        }
        let view = self.views.entry(pop).or_default();
        view.rtt
            .push(now.saturating_sub(sent), timing.latency_window);
        view.videos = videos.into_iter().collect();
        view.last_reply = Some(now);
        if !view.responsive {
            view.responsive = true;
            ctx.annotate(&format!("PoP n{} responsive", pop.0));
        }
        let queued: Vec<VideoId> = self
            .streams
            .iter()
            .filter(|(_, s)| s.pop.is_none())
            .map(|(v, _)| *v)
            .collect();
        for video in queued {
            self.assign(video, now, &timing);
        }
    }
}

impl Node for Client {
    type Msg = OttMsg;
    type Timer = OttTimer;

    /// Schedule the watches, ping the PoPs, start the ping and check periods.
    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        let (now, timing) = (ctx.monotonic(), self.host.timing);
        for (index, w) in self.watches.iter().enumerate() {
            if w.stop.is_some_and(|s| s <= now) {
                continue;
            }
            ctx.set_timer(w.start.saturating_sub(now), OttTimer::WatchStart { index });
            if let Some(stop) = w.stop {
                ctx.set_timer(stop - now, OttTimer::WatchStop { index });
            }
        }
        self.ping(now, &timing);
        ctx.set_timer(timing.ping_interval, OttTimer::Ping);
        ctx.set_timer(timing.check_interval, OttTimer::Tick);
        self.host.flush(ctx);
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: OttMsg) {
        match msg {
            OttMsg::Segment(segment) => self.on_segment(ctx, from, segment),
            OttMsg::Video(packet) => self.on_video(ctx, packet),
        }
        self.host.flush(ctx);
    }

    /// Pings, timeout checks, watches starting and stopping.
    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: OttTimer) {
        let (now, timing) = (ctx.monotonic(), self.host.timing);
        match timer {
            OttTimer::Transport(token) => self.on_transport_timer(ctx, token),
            OttTimer::Ping => {
                self.ping(now, &timing);
                ctx.set_timer(timing.ping_interval, OttTimer::Ping);
            }
            OttTimer::Tick => self.on_tick(ctx, now, &timing),
            OttTimer::WatchStart { index } => self.start_watch(index, now, &timing),
            OttTimer::WatchStop { index } => self.stop_watch(index, now),
            _ => {}
        }
        self.host.flush(ctx);
    }

    /// What it knew of the PoPs, its streams and pings in flight are lost; the
    /// viewer's records stay.
    fn on_crash(&mut self) {
        self.host.endpoint.crash();
        self.views.clear();
        self.streams.clear();
        self.pings.clear();
    }
}
