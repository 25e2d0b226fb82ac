//! A streaming server: the source of its videos. It floods the overlay every
//! `flood_interval` with its video list, and sends each video that someone asked for
//! as MPEG-TS datagrams at the stream's bit rate to every node that asked (the report's
//! ffmpeg instances run all the time; bytes leave the server only when needed).

use super::bootstrap::Bootstrap;
use super::wire::{Control, Flood, VideoId, VideoPacket};
use super::{Host, OttMsg, OttRole, OttTimer};
use sim_core::{Ctx, Node, NodeId, SimTime};
use std::collections::{BTreeMap, BTreeSet};

/// A server's state.
pub struct Server {
    /// Its endpoint and counters.
    pub host: Host,
    /// This server.
    pub me: NodeId,
    /// Its side of the start-up exchange.
    pub bootstrap: Bootstrap,
    /// Overlay neighbours (from the bootstrapper, plus nodes that adopted it).
    pub neighbours: BTreeSet<NodeId>,
    /// Videos it streams (videos added at runtime join on their timer).
    pub videos: BTreeSet<VideoId>,
    /// Who receives each video.
    pub subscribers: BTreeMap<VideoId, BTreeSet<NodeId>>,
    /// Videos added at runtime: (when, which).
    pub additions: Vec<(SimTime, VideoId)>,
    /// Videos whose datagram timer is running.
    running: BTreeSet<VideoId>,
    /// Whether the flood timer runs (since the bootstrapper's first answer after a
    /// start or restart).
    flooding: bool,
    /// Floods sent (one per neighbour per round).
    pub floods_sent: u64,
    /// Video datagrams sent.
    pub video_sent: u64,
}

impl Server {
    /// A server that streams `videos` from the start.
    pub fn new(
        host: Host,
        me: NodeId,
        bootstrapper: NodeId,
        videos: BTreeSet<VideoId>,
        additions: Vec<(SimTime, VideoId)>,
    ) -> Self {
        Server {
            host,
            me,
            bootstrap: Bootstrap::new(bootstrapper),
            neighbours: BTreeSet::new(),
            videos,
            additions,
            subscribers: BTreeMap::new(),
            running: BTreeSet::new(),
            flooding: false,
            floods_sent: 0,
            video_sent: 0,
        }
    }

    fn flood(&mut self, now: SimTime) {
        let flood = Control::Flood(Flood {
            created_at: now,
            videos: self.videos.iter().copied().collect(),
            visited: vec![self.me],
            my_parents: Vec::new(),
            hops: 0,
        });
        for &n in &self.neighbours {
            self.floods_sent += 1;
            self.host.send_control(now, n, &flood);
        }
    }

    fn unsubscribe(&mut self, who: NodeId, video: VideoId) {
        if let Some(s) = self.subscribers.get_mut(&video) {
            s.remove(&who);
            if s.is_empty() {
                self.subscribers.remove(&video);
            }
        }
    }
}

impl OttRole for Server {
    fn host(&mut self) -> &mut Host {
        &mut self.host
    }

    /// Neighbours (the first answer after a start starts the floods, even when a node
    /// adopted this server before it came), requests and stops of video, adoptions.
    fn on_control(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: Control) {
        let (now, timing) = (ctx.monotonic(), self.host.timing);
        match msg {
            Control::Neighbours { neighbours, .. } => {
                self.bootstrap.answered();
                self.neighbours.extend(neighbours);
                if !std::mem::replace(&mut self.flooding, true) {
                    self.flood(now);
                    ctx.set_timer(timing.flood_interval, OttTimer::Flood);
                }
            }
            Control::RequestVideo { video } if self.videos.contains(&video) => {
                self.subscribers.entry(video).or_default().insert(from);
                let feeding = Control::Feeding {
                    video,
                    chain: vec![self.me],
                };
                self.host.send_control(now, from, &feeding);
                if self.running.insert(video) {
                    // Datagrams leave on the stream's clock: at multiples of the interval.
                    let interval = timing.datagram_interval.0;
                    let next = (now.0 / interval + 1) * interval;
                    ctx.set_timer(SimTime(next - now.0), OttTimer::VideoDatagram { video });
                }
            }
            Control::StopVideo { video } => self.unsubscribe(from, video),
            Control::NewNeighbour => {
                self.neighbours.insert(from);
                ctx.annotate(&format!("adopted n{} as neighbour", from.0));
            }
            _ => {}
        }
    }

    /// An unanswered `Hello` is sent again; a neighbour that does not acknowledge is
    /// unresponsive: stop its video.
    fn on_lost(&mut self, ctx: &mut impl Ctx<Self>, to: NodeId) {
        if self.bootstrap.on_lost(&mut self.host, ctx.monotonic(), to) {
            return;
        }
        let videos: Vec<VideoId> = self.subscribers.keys().copied().collect();
        for v in videos {
            self.unsubscribe(to, v);
        }
    }
}

impl Node for Server {
    type Msg = OttMsg;
    type Timer = OttTimer;

    /// Schedule the videos added later, and ask the bootstrapper for neighbours.
    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        let now = ctx.monotonic();
        for &(at, video) in &self.additions {
            if at >= now {
                ctx.set_timer(at - now, OttTimer::AddVideo { video });
            }
        }
        self.bootstrap.ask(&mut self.host, now);
        self.host.flush(ctx);
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: OttMsg) {
        if let OttMsg::Segment(segment) = msg {
            self.on_segment(ctx, from, segment);
        }
        self.host.flush(ctx);
    }

    /// Floods, the streams' datagrams, videos added.
    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: OttTimer) {
        let (now, timing) = (ctx.monotonic(), self.host.timing);
        match timer {
            OttTimer::Transport(token) => self.on_transport_timer(ctx, token),
            OttTimer::Flood => {
                self.flood(now);
                ctx.set_timer(timing.flood_interval, OttTimer::Flood);
            }
            OttTimer::VideoDatagram { video } => match self.subscribers.get(&video) {
                None => {
                    self.running.remove(&video);
                }
                Some(subs) => {
                    let packet = VideoPacket {
                        video,
                        seq: now.0 / timing.datagram_interval.0,
                        ts_packets: timing.ts_per_datagram,
                    };
                    for &to in subs {
                        self.video_sent += 1;
                        self.host.send_video(ctx, to, packet.clone());
                    }
                    ctx.set_timer(timing.datagram_interval, OttTimer::VideoDatagram { video });
                }
            },
            OttTimer::AddVideo { video } => {
                self.videos.insert(video);
                ctx.annotate(&format!("video {video} added"));
            }
            _ => {}
        }
        self.host.flush(ctx);
    }

    /// Neighbours and subscribers are forgotten; the videos and additions stay.
    fn on_crash(&mut self) {
        self.host.endpoint.crash();
        self.neighbours.clear();
        self.subscribers.clear();
        self.running.clear();
        self.flooding = false;
    }
}
