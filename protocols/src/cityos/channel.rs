//! The channel between edge nodes: every datagram one edge node sends another (hello,
//! keep-alive, election, averages) is a reliable datagram of the
//! [`transport`](crate::transport) layer: acknowledged, retransmitted every
//! `channel.timeout` (100 ms), delivered at most once per sender incarnation, and given
//! up after `channel.max_tries` (30) transmissions, which the node takes to mean that
//! the peer is down (crashed or left), as a Bully election treats a silent node.
//!
//! Under the stated fault model (loss up to 20% each way, delay spikes up to
//! 500 ms) a transmission and its ACK both get through with probability 0.64, and at
//! least 20 of the 30 transmissions are sent early enough for their ACK to return
//! before the sender gives up, so a live peer is declared down with probability below
//! 0.36^20, about 1e-9, per datagram.
//!
//! Sensors keep their bare datagrams ([`super::CityMsg::Udp`]): a lost reading is
//! counted (`measurements_lost`), and a lost keep-alive only moves a sensor to another
//! node.
//!
//! The wire format ([`encode`], [`decode`]) is little-endian and fixed-width: the
//! protocol token, a tag, then the fields in declaration order.

use super::Datagram;
use super::grid::Cell;
use super::rest::{Average, AverageId, EdgeInfo, Ugm3};
use crate::transport::{Endpoint, Output, PacketId, Payload, TransportConfig};
use sim_core::{NodeId, SimTime};
use std::collections::BTreeMap;
use std::fmt;

/// What a datagram the node waits on asked, so that its fate (acknowledged, or given
/// up on) reaches the step of the protocol that sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asked {
    /// A keep-alive to the coordinator.
    KeepAlive,
    /// A hello of the joining node.
    Hello,
    /// A Bully ELECTION.
    Election,
}

impl Asked {
    fn of(datagram: &Datagram) -> Option<Asked> {
        match datagram {
            Datagram::KeepAlive(_) => Some(Asked::KeepAlive),
            Datagram::Hello(_) => Some(Asked::Hello),
            Datagram::Election(_) => Some(Asked::Election),
            _ => None,
        }
    }
}

/// What the channel reports to the node.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A datagram from `from`, with the token it was stamped with.
    Delivered {
        /// Sender.
        from: NodeId,
        /// The token it carried.
        token: u64,
        /// What it says.
        datagram: Datagram,
    },
    /// A datagram of kind `asked` to `to` arrived there (it was acknowledged).
    Acked {
        /// Receiver.
        to: NodeId,
        /// What it asked.
        asked: Asked,
    },
    /// The channel gave up on a datagram of kind `asked` to `to`: `to` is down.
    Lost {
        /// Receiver.
        to: NodeId,
        /// What it asked.
        asked: Asked,
    },
}

/// An edge node's end of the channel: the transport endpoint and the requests it waits
/// on. The endpoint survives a crash as a new incarnation ([`Channel::crash`]).
pub struct Channel {
    /// The reliable-datagram endpoint.
    pub endpoint: Endpoint,
    asked: BTreeMap<(NodeId, PacketId), Asked>,
    /// Datagrams that did not decode (dropped).
    pub undecodable: u64,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("stats", self.endpoint.stats())
            .field("asked", &self.asked)
            .finish()
    }
}

impl Channel {
    /// A channel over a new endpoint with `config`.
    pub fn new(config: TransportConfig) -> Channel {
        Channel {
            endpoint: Endpoint::new(config),
            asked: BTreeMap::new(),
            undecodable: 0,
        }
    }

    /// The node crashed: the endpoint starts a new incarnation, nothing is awaited.
    pub fn crash(&mut self) {
        self.endpoint.crash();
        self.asked.clear();
    }

    /// Queue `datagram`, stamped with `token`, to `to` (the host then drains the
    /// endpoint's outputs).
    pub fn send(&mut self, now: SimTime, to: NodeId, token: u64, datagram: &Datagram) {
        let id = self
            .endpoint
            .send_reliable(now, to, Payload::new(encode(token, datagram)));
        if let Some(asked) = Asked::of(datagram) {
            self.asked.insert((to, id), asked);
        }
    }

    /// Turn the endpoint's application outputs into the node's events.
    pub fn events(&mut self, outputs: Vec<Output>) -> Vec<Event> {
        let mut events = Vec::new();
        for out in outputs {
            match out {
                Output::Delivered { from, payload, .. } => match decode(payload.as_bytes()) {
                    Some((token, datagram)) => events.push(Event::Delivered {
                        from,
                        token,
                        datagram,
                    }),
                    None => self.undecodable += 1,
                },
                Output::Acked { to, id } => {
                    if let Some(asked) = self.asked.remove(&(to, id)) {
                        events.push(Event::Acked { to, asked });
                    }
                }
                Output::Lost { to, id } => {
                    if let Some(asked) = self.asked.remove(&(to, id)) {
                        events.push(Event::Lost { to, asked });
                    }
                }
                _ => {}
            }
        }
        events
    }
}

/// The bytes of `datagram` stamped with `token`.
pub fn encode(token: u64, datagram: &Datagram) -> Vec<u8> {
    let mut w = Vec::with_capacity(48);
    w.extend_from_slice(&token.to_le_bytes());
    let info = |w: &mut Vec<u8>, tag: u8, e: &EdgeInfo| {
        w.push(tag);
        put_info(w, e);
    };
    match datagram {
        Datagram::Measurement(v) => {
            w.push(0);
            w.extend_from_slice(&v.0.to_le_bytes());
        }
        Datagram::SensorKeepAlive => w.push(1),
        Datagram::KeepAlive(id) => {
            w.push(2);
            w.extend_from_slice(&id.to_le_bytes());
        }
        Datagram::KeepAliveReply => w.push(3),
        Datagram::NotCoordinator => w.push(4),
        Datagram::Hello(e) => info(&mut w, 5, e),
        Datagram::HelloReply(e) => info(&mut w, 6, e),
        Datagram::HelloCoordinator(e) => info(&mut w, 7, e),
        Datagram::Election(e) => info(&mut w, 8, e),
        Datagram::ElectionReply(e) => info(&mut w, 9, e),
        Datagram::Coordinator(e) => info(&mut w, 10, e),
        Datagram::Leader(e) => info(&mut w, 11, e),
        Datagram::LocalAverages(v) => {
            w.push(12);
            w.extend_from_slice(&(v.len() as u32).to_le_bytes());
            for a in v {
                put_id(&mut w, &a.id);
                w.extend_from_slice(&a.value.0.to_le_bytes());
                w.extend_from_slice(&a.measurements.to_le_bytes());
            }
        }
        Datagram::AverageReply { global, latest } => {
            w.push(13);
            match global {
                Some(g) => {
                    w.push(1);
                    w.extend_from_slice(&g.0.to_le_bytes());
                }
                None => w.push(0),
            }
            put_id(&mut w, latest);
        }
        Datagram::AverageAck(ids) => {
            w.push(14);
            w.extend_from_slice(&(ids.len() as u32).to_le_bytes());
            for id in ids {
                put_id(&mut w, id);
            }
        }
    }
    w
}

/// The token and datagram in `bytes`, or `None` if they are malformed.
pub fn decode(bytes: &[u8]) -> Option<(u64, Datagram)> {
    let mut r = Reader { bytes };
    let token = r.u64()?;
    let datagram = match r.u8()? {
        0 => Datagram::Measurement(Ugm3(r.f64()?)),
        1 => Datagram::SensorKeepAlive,
        2 => Datagram::KeepAlive(r.i64()?),
        3 => Datagram::KeepAliveReply,
        4 => Datagram::NotCoordinator,
        5 => Datagram::Hello(r.info()?),
        6 => Datagram::HelloReply(r.info()?),
        7 => Datagram::HelloCoordinator(r.info()?),
        8 => Datagram::Election(r.info()?),
        9 => Datagram::ElectionReply(r.info()?),
        10 => Datagram::Coordinator(r.info()?),
        11 => Datagram::Leader(r.info()?),
        12 => {
            let n = r.u32()?;
            let mut v = Vec::new();
            for _ in 0..n {
                v.push(Average {
                    id: r.id()?,
                    value: Ugm3(r.f64()?),
                    measurements: r.u32()?,
                });
            }
            Datagram::LocalAverages(v)
        }
        13 => {
            let global = match r.u8()? {
                0 => None,
                1 => Some(Ugm3(r.f64()?)),
                _ => return None,
            };
            Datagram::AverageReply {
                global,
                latest: r.id()?,
            }
        }
        14 => {
            let n = r.u32()?;
            let mut ids = Vec::new();
            for _ in 0..n {
                ids.push(r.id()?);
            }
            Datagram::AverageAck(ids)
        }
        _ => return None,
    };
    r.bytes.is_empty().then_some((token, datagram))
}

fn put_info(w: &mut Vec<u8>, e: &EdgeInfo) {
    w.extend_from_slice(&e.id.to_le_bytes());
    w.extend_from_slice(&e.cell.u.to_le_bytes());
    w.extend_from_slice(&e.cell.v.to_le_bytes());
    w.extend_from_slice(&e.addr.0.to_le_bytes());
}

fn put_id(w: &mut Vec<u8>, id: &AverageId) {
    w.extend_from_slice(&id.node.to_le_bytes());
    w.extend_from_slice(&id.at.as_nanos().to_le_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.bytes.split_first_chunk::<N>()?;
        self.bytes = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_le_bytes)
    }
    fn f64(&mut self) -> Option<f64> {
        self.take().map(f64::from_le_bytes)
    }
    fn info(&mut self) -> Option<EdgeInfo> {
        Some(EdgeInfo {
            id: self.i64()?,
            cell: Cell::new(self.i64()?, self.i64()?),
            addr: NodeId(self.u32()?),
        })
    }
    fn id(&mut self) -> Option<AverageId> {
        Some(AverageId {
            node: self.i64()?,
            at: SimTime::from_nanos(self.u64()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_datagram_survives_the_wire_and_garbage_is_refused() {
        let e = EdgeInfo {
            id: -3,
            cell: Cell::new(7, 99),
            addr: NodeId(12),
        };
        let id = AverageId {
            node: 4,
            at: SimTime::from_millis(1_234),
        };
        let all = [
            Datagram::Measurement(Ugm3(41.5)),
            Datagram::SensorKeepAlive,
            Datagram::KeepAlive(9),
            Datagram::KeepAliveReply,
            Datagram::NotCoordinator,
            Datagram::Hello(e),
            Datagram::HelloReply(e),
            Datagram::HelloCoordinator(e),
            Datagram::Election(e),
            Datagram::ElectionReply(e),
            Datagram::Coordinator(e),
            Datagram::Leader(e),
            Datagram::LocalAverages(vec![Average {
                id,
                value: Ugm3(3.25),
                measurements: 17,
            }]),
            Datagram::AverageReply {
                global: Some(Ugm3(2.0)),
                latest: id,
            },
            Datagram::AverageReply {
                global: None,
                latest: id,
            },
            Datagram::AverageAck(vec![id, id]),
        ];
        for d in all {
            let bytes = encode(77, &d);
            assert_eq!(decode(&bytes), Some((77, d.clone())), "{d:?}");
            assert_eq!(decode(&bytes[..bytes.len() - 1]), None, "{d:?} cut short");
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(decode(&longer), None, "{d:?} with a trailing byte");
        }
        assert_eq!(
            decode(&[0; 8].iter().chain(&[200]).copied().collect::<Vec<_>>()),
            None
        );
    }
}
