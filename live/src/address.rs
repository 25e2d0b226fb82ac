//! Address files: which UDP address every node of a run has, one node a line.
//!
//! ```text
//! # node       address
//! client-0     192.0.2.10:7000
//! echo         192.0.2.11:7000
//! ```
//!
//! Blank lines and text after `#` are ignored. Every node of the run must be named once,
//! every address used once; a node name the scenario does not have is an error. Errors
//! name the file, the line and the field.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};

/// Every node's address, by node index (the scenario's node order, which every process
/// of a run derives alike from the same scenario file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressBook {
    addrs: Vec<SocketAddr>,
    by_addr: BTreeMap<SocketAddr, usize>,
}

impl AddressBook {
    /// Every node on the loopback interface at a port the system picks (port 0): the
    /// default, for a run in one process.
    pub fn loopback(nodes: usize) -> AddressBook {
        AddressBook {
            addrs: vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 0)); nodes],
            by_addr: BTreeMap::new(),
        }
    }

    /// Parse the address file `file` (its `text`) for the nodes `names` (by node index).
    pub fn parse(file: &str, text: &str, names: &[String]) -> Result<AddressBook, String> {
        let index: BTreeMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let mut addrs: Vec<Option<SocketAddr>> = vec![None; names.len()];
        let mut by_addr = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let at = |field: &str, why: String| format!("{file}:{}: {field}: {why}", n + 1);
            let line = line.split('#').next().unwrap_or_default();
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [] => continue,
                [name, addr] => {
                    let &i = index.get(name).ok_or_else(|| {
                        at(
                            "field 1 (node)",
                            format!("{name:?} is not a node of the scenario"),
                        )
                    })?;
                    let addr: SocketAddr = addr.parse().map_err(|e| {
                        at(
                            "field 2 (address)",
                            format!("{addr:?} is not an IP:PORT address ({e})"),
                        )
                    })?;
                    if addrs[i].is_some() {
                        return Err(at(
                            "field 1 (node)",
                            format!("{name:?} is given an address twice"),
                        ));
                    }
                    if addr.port() == 0 {
                        return Err(at(
                            "field 2 (address)",
                            "port 0: every node needs a fixed port that the other processes can reach".into(),
                        ));
                    }
                    if let Some(&other) = by_addr.get(&addr) {
                        return Err(at(
                            "field 2 (address)",
                            format!("{addr} is already the address of {:?}", names[other]),
                        ));
                    }
                    addrs[i] = Some(addr);
                    by_addr.insert(addr, i);
                }
                _ => {
                    return Err(at(
                        "line",
                        format!(
                            "expected two fields, NODE and IP:PORT, found {}",
                            fields.len()
                        ),
                    ));
                }
            }
        }
        let missing: Vec<&str> = names
            .iter()
            .zip(&addrs)
            .filter(|(_, a)| a.is_none())
            .map(|(n, _)| n.as_str())
            .collect();
        if !missing.is_empty() {
            const SHOWN: usize = 8;
            let more = if missing.len() > SHOWN {
                format!(", ... ({} in all)", missing.len())
            } else {
                String::new()
            };
            return Err(format!(
                "{file}: no address for node{} {}{more}: every node of the run needs one",
                if missing.len() == 1 { "" } else { "s" },
                missing[..missing.len().min(SHOWN)].join(", ")
            ));
        }
        Ok(AddressBook {
            addrs: addrs.into_iter().flatten().collect(),
            by_addr,
        })
    }

    /// Node `i`'s address.
    pub fn addr(&self, i: usize) -> SocketAddr {
        self.addrs[i]
    }

    /// Record the address node `i`'s socket was bound to (its port, when 0 was asked).
    pub fn bound(&mut self, i: usize, addr: SocketAddr) {
        self.by_addr.remove(&self.addrs[i]);
        self.addrs[i] = addr;
        self.by_addr.insert(addr, i);
    }

    /// The node whose address is `addr`: who sent a datagram.
    pub fn node_at(&self, addr: SocketAddr) -> Option<usize> {
        self.by_addr.get(&addr).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    #[test]
    fn parses_and_maps_both_ways() {
        let book = AddressBook::parse(
            "f",
            "# nodes\na 127.0.0.1:7000  # first\n\nb 127.0.0.2:7001\n",
            &names(),
        )
        .unwrap();
        assert_eq!(book.addr(1), "127.0.0.2:7001".parse().unwrap());
        assert_eq!(book.node_at("127.0.0.1:7000".parse().unwrap()), Some(0));
        assert_eq!(book.node_at("127.0.0.1:7001".parse().unwrap()), None);
    }

    #[test]
    fn errors_name_line_and_field() {
        let err = |text: &str| AddressBook::parse("addrs.txt", text, &names()).unwrap_err();
        assert_eq!(
            err("a 127.0.0.1:7000\nb nowhere\n"),
            "addrs.txt:2: field 2 (address): \"nowhere\" is not an IP:PORT address (invalid socket address syntax)"
        );
        assert!(err("c 127.0.0.1:1\n").starts_with("addrs.txt:1: field 1 (node): \"c\""));
        assert!(err("a 127.0.0.1:1 x\n").starts_with("addrs.txt:1: line: expected two fields"));
        assert!(err("a 127.0.0.1:1\nb 127.0.0.1:1\n").contains("already the address of \"a\""));
        assert!(err("a 127.0.0.1:1\na 127.0.0.1:2\n").contains("twice"));
        assert!(err("a 127.0.0.1:0\n").contains("port 0"));
        assert_eq!(
            err("a 127.0.0.1:1\n"),
            "addrs.txt: no address for node b: every node of the run needs one"
        );
    }
}
