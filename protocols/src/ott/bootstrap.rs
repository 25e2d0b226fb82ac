//! The bootstrapper: holds the neighbour table and answers each joining node or server
//! with its neighbours and id (only at start; recovery never involves it). The table
//! comes from the scenario (a RON map by node name) or from the report's TOML file
//! format, read by [`parse_toml_table`].

use super::wire::Control;
use super::{Host, OttMsg, OttRole, OttTimer};
use sim_core::{Ctx, Node, NodeId, SimTime};
use std::collections::BTreeMap;

/// The bootstrapper: its host, the table (by node id) and what it answered.
pub struct Bootstrapper {
    /// Its endpoint and counters.
    pub host: Host,
    /// Each node's neighbours.
    pub table: BTreeMap<NodeId, Vec<NodeId>>,
    /// Hellos answered.
    pub answered: u64,
    /// Hellos from nodes the table does not list (not answered, as in the report).
    pub unknown: u64,
}

impl Bootstrapper {
    /// A bootstrapper answering from `table`.
    pub fn new(host: Host, table: BTreeMap<NodeId, Vec<NodeId>>) -> Self {
        Bootstrapper {
            host,
            table,
            answered: 0,
            unknown: 0,
        }
    }
}

impl OttRole for Bootstrapper {
    fn host(&mut self) -> &mut Host {
        &mut self.host
    }

    /// A `Hello` from a node the table lists: answer with its neighbours and id.
    fn on_control(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: Control) {
        if msg != Control::Hello {
            return;
        }
        if self.answer(ctx.monotonic(), from) {
            self.answered += 1;
        } else {
            self.unknown += 1;
        }
    }

    /// An answer the transport gave up on is sent again until it is acknowledged: the
    /// node's `Hello` was acknowledged, so the node would not ask again by itself.
    fn on_lost(&mut self, ctx: &mut impl Ctx<Self>, to: NodeId) {
        self.answer(ctx.monotonic(), to);
    }
}

impl Bootstrapper {
    /// Send `to` its neighbours and id; false if the table does not list it.
    fn answer(&mut self, now: SimTime, to: NodeId) -> bool {
        let Some(neighbours) = self.table.get(&to) else {
            return false;
        };
        let answer = Control::Neighbours {
            id: u64::from(to.0),
            neighbours: neighbours.clone(),
        };
        self.host.send_control(now, to, &answer);
        true
    }
}

impl Node for Bootstrapper {
    type Msg = OttMsg;
    type Timer = OttTimer;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        self.host.flush(ctx);
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: OttMsg) {
        if let OttMsg::Segment(segment) = msg {
            self.on_segment(ctx, from, segment);
        }
        self.host.flush(ctx);
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: OttTimer) {
        if let OttTimer::Transport(token) = timer {
            self.on_transport_timer(ctx, token);
        }
        self.host.flush(ctx);
    }

    fn on_crash(&mut self) {
        self.host.endpoint.crash();
    }
}

/// A server's or node's side of the start-up exchange: it asks the bootstrapper for its
/// neighbours, and asks again with a fresh `Hello` whenever the transport gives up
/// before the answer came (as the report's TCP client would reconnect). Otherwise a
/// start-up under a partition that outlasts the transport's tries (a `Hello`
/// acknowledged but its answer lost, or no acknowledgement at all) would leave the
/// node without neighbours for ever. The bootstrapper answers every `Hello`, and an
/// answer that comes twice adds nothing, so asking again is harmless.
pub struct Bootstrap {
    /// Where to ask for neighbours.
    pub bootstrapper: NodeId,
    /// Whether the bootstrapper has answered since the node (re)started.
    answered: bool,
}

impl Bootstrap {
    /// Not yet asked.
    pub fn new(bootstrapper: NodeId) -> Self {
        Bootstrap {
            bootstrapper,
            answered: false,
        }
    }

    /// Ask the bootstrapper for neighbours (at start, and after a restart).
    pub fn ask(&mut self, host: &mut Host, now: SimTime) {
        self.answered = false;
        host.send_control(now, self.bootstrapper, &Control::Hello);
    }

    /// The bootstrapper's answer came.
    pub fn answered(&mut self) {
        self.answered = true;
    }

    /// The transport gave up on a packet to `to`: if it went to the bootstrapper
    /// before its answer came, ask again. Returns whether the loss was the
    /// bootstrapper's (so that the caller does not take it for a dead peer).
    pub fn on_lost(&mut self, host: &mut Host, now: SimTime, to: NodeId) -> bool {
        if to != self.bootstrapper {
            return false;
        }
        if !self.answered {
            host.send_control(now, to, &Control::Hello);
        }
        true
    }
}

/// Parse the report's `neighbours.toml`: one `"node" = [ "a", "b" ]` line per node,
/// `#` comments and blank lines allowed (node names stand for the report's IPs). The
/// error names the line and what is wrong.
pub fn parse_toml_table(text: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut table = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let at = |m: &str| format!("neighbours_toml line {}: {m}: {raw:?}", i + 1);
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| at("expected `\"node\" = [ \"neighbour\", ... ]`"))?;
        let key = quoted(key.trim()).ok_or_else(|| at("the node must be a quoted string"))?;
        let list = value
            .trim()
            .strip_prefix('[')
            .and_then(|v| v.strip_suffix(']'))
            .ok_or_else(|| at("the neighbours must be a [ ... ] list"))?;
        let mut neighbours = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            neighbours
                .push(quoted(item).ok_or_else(|| at("every neighbour must be a quoted string"))?);
        }
        if table.insert(key.clone(), neighbours).is_some() {
            return Err(at(&format!("{key:?} is listed twice")));
        }
    }
    Ok(table)
}

fn strip_comment(line: &str) -> &str {
    // '#' starts a comment unless it is inside a quoted string.
    let mut inside = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => inside = !inside,
            '#' if !inside => return &line[..i],
            _ => {}
        }
    }
    line
}

fn quoted(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.is_empty() && !inner.contains('"')).then(|| inner.to_owned())
}
