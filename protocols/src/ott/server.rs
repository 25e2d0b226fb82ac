//! A streaming server: the source of its videos. It floods the overlay every
//! `flood_interval` with its video list, and sends each video that someone asked for
//! as MPEG-TS datagrams at the stream's bit rate to every node that asked (the report's
//! ffmpeg instances run all the time; bytes leave the server only when needed).

use super::action::{Action, Actions, Core};
use super::wire::{Control, Flood, VideoId, VideoPacket};
use super::{OttTimer, Timing};
use sim_core::{NodeId, SimTime};
use std::collections::{BTreeMap, BTreeSet};

/// A server's state.
#[derive(Clone, Debug)]
pub struct Server {
    /// This server.
    pub me: NodeId,
    /// Where to ask for neighbours.
    pub bootstrapper: NodeId,
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
    /// Floods sent (one per neighbour per round).
    pub floods_sent: u64,
    /// Video datagrams sent.
    pub video_sent: u64,
}

impl Server {
    /// A server that streams `videos` from the start.
    pub fn new(
        me: NodeId,
        bootstrapper: NodeId,
        videos: BTreeSet<VideoId>,
        additions: Vec<(SimTime, VideoId)>,
    ) -> Self {
        Server {
            me,
            bootstrapper,
            neighbours: BTreeSet::new(),
            videos,
            additions,
            subscribers: BTreeMap::new(),
            running: BTreeSet::new(),
            floods_sent: 0,
            video_sent: 0,
        }
    }

    fn flood(&mut self, now: SimTime, out: &mut Actions) {
        let flood = Flood {
            created_at: now,
            videos: self.videos.iter().copied().collect(),
            visited: vec![self.me],
            my_parents: Vec::new(),
            hops: 0,
        };
        for &n in &self.neighbours {
            self.floods_sent += 1;
            out.push(Action::Control {
                to: n,
                msg: Control::Flood(flood.clone()),
            });
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

impl Core for Server {
    fn start(&mut self, now: SimTime, _: &Timing, out: &mut Actions) {
        for &(at, video) in &self.additions {
            if at >= now {
                out.push(Action::Timer {
                    after: at - now,
                    timer: OttTimer::AddVideo { video },
                });
            }
        }
        out.push(Action::Control {
            to: self.bootstrapper,
            msg: Control::Hello,
        });
    }

    fn control(
        &mut self,
        now: SimTime,
        timing: &Timing,
        from: NodeId,
        msg: Control,
        out: &mut Actions,
    ) {
        match msg {
            Control::Neighbours { neighbours, .. } => {
                let first = self.neighbours.is_empty();
                self.neighbours.extend(neighbours);
                if first {
                    self.flood(now, out);
                    out.push(Action::Timer {
                        after: timing.flood_interval,
                        timer: OttTimer::Flood,
                    });
                }
            }
            Control::RequestVideo { video } if self.videos.contains(&video) => {
                self.subscribers.entry(video).or_default().insert(from);
                out.push(Action::Control {
                    to: from,
                    msg: Control::Feeding {
                        video,
                        chain: vec![self.me],
                    },
                });
                if self.running.insert(video) {
                    // Datagrams leave on the stream's clock: at multiples of the interval.
                    let interval = timing.datagram_interval.0;
                    let next = (now.0 / interval + 1) * interval;
                    out.push(Action::Timer {
                        after: SimTime(next - now.0),
                        timer: OttTimer::VideoDatagram { video },
                    });
                }
            }
            Control::StopVideo { video } => self.unsubscribe(from, video),
            Control::NewNeighbour => {
                self.neighbours.insert(from);
                out.push(Action::Note(format!("adopted n{} as neighbour", from.0)));
            }
            _ => {}
        }
    }

    fn timer(&mut self, now: SimTime, timing: &Timing, timer: OttTimer, out: &mut Actions) {
        match timer {
            OttTimer::Flood => {
                self.flood(now, out);
                out.push(Action::Timer {
                    after: timing.flood_interval,
                    timer: OttTimer::Flood,
                });
            }
            OttTimer::VideoDatagram { video } => {
                let Some(subs) = self.subscribers.get(&video) else {
                    self.running.remove(&video);
                    return;
                };
                let packet = VideoPacket {
                    video,
                    seq: now.0 / timing.datagram_interval.0,
                    ts_packets: timing.ts_per_datagram,
                };
                for &to in subs {
                    self.video_sent += 1;
                    out.push(Action::Video {
                        to,
                        packet: packet.clone(),
                    });
                }
                out.push(Action::Timer {
                    after: timing.datagram_interval,
                    timer: OttTimer::VideoDatagram { video },
                });
            }
            OttTimer::AddVideo { video } => {
                self.videos.insert(video);
                out.push(Action::Note(format!("video {video} added")));
            }
            _ => {}
        }
    }

    fn lost(&mut self, _: SimTime, to: NodeId, _: &mut Actions) {
        // A neighbour that does not acknowledge is unresponsive: stop its video.
        let videos: Vec<VideoId> = self.subscribers.keys().copied().collect();
        for v in videos {
            self.unsubscribe(to, v);
        }
    }

    fn crash(&mut self) {
        self.neighbours.clear();
        self.subscribers.clear();
        self.running.clear();
    }
}
