//! What OTT nodes put on the wire: the control packets (sent as reliable datagrams of
//! the [`transport`](crate::transport) layer, encoded with the small binary codec
//! below) and the video datagrams (unreliable, MPEG-TS packets batched as IPTV does).
//!
//! The codec follows bincode's fixed-int layout, as the report's implementation does:
//! a one-byte packet tag, integers little-endian (`u64` for ids, timestamps and list
//! lengths, `u32` for hops), lists as a length followed by the items. Video names are
//! not carried (streams are identified by their 64-bit id only).

use sim_core::{NodeId, SimTime};

/// Bytes of one MPEG-TS packet.
pub const TS_PACKET_BYTES: u32 = 188;

/// Bytes of a video datagram's own header: the stream id and the sequence number.
pub const VIDEO_HEADER_BYTES: u32 = 16;

/// A stream (video) identifier.
pub type VideoId = u64;

/// The periodic flood a server sends and every node forwards (the report's
/// `FloodPacket`, plus the hop count the summary lists).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Flood {
    /// When the server created it (the server's clock).
    pub created_at: SimTime,
    /// Videos the sender can provide along this path.
    pub videos: Vec<VideoId>,
    /// Nodes the flood went through, the server first.
    pub visited: Vec<NodeId>,
    /// The sender's parents (nodes it receives floods from), for catastrophic death.
    pub my_parents: Vec<NodeId>,
    /// Overlay hops from the server to the sender (0 when the server sends it).
    pub hops: u32,
}

/// A control packet (everything but video).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Control {
    /// Node or server to bootstrapper: who are my neighbours? (the report opens a TCP
    /// connection for this exchange; here it is one reliable datagram each way).
    Hello,
    /// Bootstrapper's answer (`BootstrapperNeighboursResponse`).
    Neighbours {
        /// The node's unique id.
        id: u64,
        /// Its neighbours in the overlay.
        neighbours: Vec<NodeId>,
    },
    /// The periodic flood.
    Flood(Flood),
    /// Start sending `video` to me.
    RequestVideo {
        /// The stream.
        video: VideoId,
    },
    /// Stop sending `video` to me.
    StopVideo {
        /// The stream.
        video: VideoId,
    },
    /// Catastrophic death: a node with no parent left asks a grandparent to adopt it
    /// as a neighbour.
    NewNeighbour,
    /// Parent to child: the stream's path from the server to the sender, sent when a
    /// request is accepted and whenever the path changes (not in the report: it lets a
    /// node that finds itself on its parent's path break the loop).
    Feeding {
        /// The stream.
        video: VideoId,
        /// Server first, the sender last.
        chain: Vec<NodeId>,
    },
    /// Client to PoP, once per ping interval (`ClientPing`).
    ClientPing {
        /// Matches the answer to the ping.
        seq: u64,
        /// Videos the client currently wants from this PoP.
        requested: Vec<VideoId>,
    },
    /// PoP to client (`VideoList`).
    VideoList {
        /// The ping's sequence number.
        seq: u64,
        /// Videos the PoP can provide.
        videos: Vec<VideoId>,
        /// When the PoP sent it (for the one-way split, shown only).
        created_at: SimTime,
    },
}

impl Control {
    /// A short name of the packet kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Control::Hello => "hello",
            Control::Neighbours { .. } => "neighbours",
            Control::Flood(_) => "flood",
            Control::RequestVideo { .. } => "request_video",
            Control::StopVideo { .. } => "stop_video",
            Control::NewNeighbour => "new_neighbour",
            Control::Feeding { .. } => "feeding",
            Control::ClientPing { .. } => "client_ping",
            Control::VideoList { .. } => "video_list",
        }
    }

    /// The packet's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(32);
        match self {
            Control::Hello => w.push(0),
            Control::Neighbours { id, neighbours } => {
                w.push(1);
                put_u64(&mut w, *id);
                put_nodes(&mut w, neighbours);
            }
            Control::Flood(f) => {
                w.push(2);
                put_u64(&mut w, f.created_at.0);
                put_list(&mut w, &f.videos);
                put_nodes(&mut w, &f.visited);
                put_nodes(&mut w, &f.my_parents);
                w.extend_from_slice(&f.hops.to_le_bytes());
            }
            Control::RequestVideo { video } => {
                w.push(3);
                put_u64(&mut w, *video);
            }
            Control::StopVideo { video } => {
                w.push(4);
                put_u64(&mut w, *video);
            }
            Control::NewNeighbour => w.push(5),
            Control::ClientPing { seq, requested } => {
                w.push(6);
                put_u64(&mut w, *seq);
                put_list(&mut w, requested);
            }
            Control::VideoList {
                seq,
                videos,
                created_at,
            } => {
                w.push(7);
                put_u64(&mut w, *seq);
                put_list(&mut w, videos);
                put_u64(&mut w, created_at.0);
            }
            Control::Feeding { video, chain } => {
                w.push(8);
                put_u64(&mut w, *video);
                put_nodes(&mut w, chain);
            }
        }
        w
    }

    /// Parse a packet; the error says what is wrong (a node drops such a packet).
    pub fn decode(bytes: &[u8]) -> Result<Control, String> {
        let mut r = Reader { bytes, at: 0 };
        let msg = match r.u8()? {
            0 => Control::Hello,
            1 => Control::Neighbours {
                id: r.u64()?,
                neighbours: r.nodes()?,
            },
            2 => Control::Flood(Flood {
                created_at: SimTime(r.u64()?),
                videos: r.list()?,
                visited: r.nodes()?,
                my_parents: r.nodes()?,
                hops: r.u32()?,
            }),
            3 => Control::RequestVideo { video: r.u64()? },
            4 => Control::StopVideo { video: r.u64()? },
            5 => Control::NewNeighbour,
            6 => Control::ClientPing {
                seq: r.u64()?,
                requested: r.list()?,
            },
            7 => Control::VideoList {
                seq: r.u64()?,
                videos: r.list()?,
                created_at: SimTime(r.u64()?),
            },
            8 => Control::Feeding {
                video: r.u64()?,
                chain: r.nodes()?,
            },
            tag => return Err(format!("unknown packet tag {tag}")),
        };
        if r.at != bytes.len() {
            return Err(format!("{} trailing bytes", bytes.len() - r.at));
        }
        Ok(msg)
    }
}

fn put_u64(w: &mut Vec<u8>, v: u64) {
    w.extend_from_slice(&v.to_le_bytes());
}

fn put_list(w: &mut Vec<u8>, items: &[u64]) {
    put_u64(w, items.len() as u64);
    for &i in items {
        put_u64(w, i);
    }
}

fn put_nodes(w: &mut Vec<u8>, nodes: &[NodeId]) {
    put_u64(w, nodes.len() as u64);
    for n in nodes {
        put_u64(w, u64::from(n.0));
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let end = self.at + N;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| format!("truncated at byte {}", self.at))?;
        self.at = end;
        Ok(slice.try_into().expect("N bytes"))
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take()?))
    }
    fn len(&mut self) -> Result<usize, String> {
        let n = self.u64()?;
        // Every item takes 8 bytes: a longer list than the bytes left is corrupt.
        if n > ((self.bytes.len() - self.at) / 8) as u64 {
            return Err(format!(
                "list of {n} items in a {}-byte packet",
                self.bytes.len()
            ));
        }
        Ok(n as usize)
    }
    fn list(&mut self) -> Result<Vec<u64>, String> {
        let n = self.len()?;
        (0..n).map(|_| self.u64()).collect()
    }
    fn nodes(&mut self) -> Result<Vec<NodeId>, String> {
        let n = self.len()?;
        (0..n)
            .map(|_| {
                let v = self.u64()?;
                u32::try_from(v)
                    .map(NodeId)
                    .map_err(|_| format!("node id {v} out of range"))
            })
            .collect()
    }
}

/// One video datagram: `ts_packets` MPEG-TS packets of stream `video` (7 in a
/// 1316-byte datagram, as IPTV sends them), numbered by the server.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct VideoPacket {
    /// The stream.
    pub video: VideoId,
    /// The server's sequence number: datagrams since time zero at the stream's rate,
    /// so a gap in the numbers is video lost (the stream is live).
    pub seq: u64,
    /// MPEG-TS packets carried.
    pub ts_packets: u32,
}

impl VideoPacket {
    /// Payload bytes (the TS packets and the datagram's own header).
    pub fn payload_bytes(&self) -> u32 {
        VIDEO_HEADER_BYTES + self.ts_packets * TS_PACKET_BYTES
    }
}
