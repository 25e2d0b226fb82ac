//! The bootstrapper: holds the neighbour table and answers each joining node or server
//! with its neighbours and id (only at start; recovery never involves it). The table
//! comes from the scenario (a RON map by node name) or from the report's TOML file
//! format, read by [`parse_toml_table`].

use super::action::{Action, Actions, Core};
use super::wire::Control;
use super::{OttTimer, Timing};
use sim_core::{NodeId, SimTime};
use std::collections::BTreeMap;

/// The bootstrapper's state: the table (by node id) and what it answered.
#[derive(Clone, Debug, Default)]
pub struct Bootstrapper {
    /// Each node's neighbours.
    pub table: BTreeMap<NodeId, Vec<NodeId>>,
    /// Hellos answered.
    pub answered: u64,
    /// Hellos from nodes the table does not list (not answered, as in the report).
    pub unknown: u64,
}

impl Core for Bootstrapper {
    fn start(&mut self, _: SimTime, _: &Timing, _: &mut Actions) {}

    fn control(&mut self, _: SimTime, _: &Timing, from: NodeId, msg: Control, out: &mut Actions) {
        if msg != Control::Hello {
            return;
        }
        match self.table.get(&from) {
            Some(neighbours) => {
                self.answered += 1;
                out.push(Action::Control {
                    to: from,
                    msg: Control::Neighbours {
                        id: u64::from(from.0),
                        neighbours: neighbours.clone(),
                    },
                });
            }
            None => self.unknown += 1,
        }
    }

    fn timer(&mut self, _: SimTime, _: &Timing, _: OttTimer, _: &mut Actions) {}

    fn crash(&mut self) {}
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
