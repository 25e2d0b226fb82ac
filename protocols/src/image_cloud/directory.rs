//! The cloud's directory of service, sans-IO: which clients are online, and what is
//! cached for the offline ones (shared images, previews and rights changes), handed
//! over when they log in again.

use sim_core::NodeId;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Something held for an offline client: bytes to deliver by transfer (images,
/// previews) or by reliable datagram (rights changes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cached {
    /// Deliver by a stop-and-wait transfer.
    Transfer(Arc<[u8]>),
    /// Deliver by a reliable datagram.
    Datagram(Arc<[u8]>),
}

/// One server's directory.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    online: BTreeSet<NodeId>,
    cache: BTreeMap<NodeId, Vec<Cached>>,
}

impl Directory {
    /// `client` logged in: it is online, and everything cached for it is returned (in
    /// the order it was cached) for delivery.
    pub fn login(&mut self, client: NodeId) -> Vec<Cached> {
        self.online.insert(client);
        self.cache.remove(&client).unwrap_or_default()
    }

    /// `client` logged out.
    pub fn logout(&mut self, client: NodeId) {
        self.online.remove(&client);
    }

    /// Whether `client` is online ("who is online").
    pub fn is_online(&self, client: NodeId) -> bool {
        self.online.contains(&client)
    }

    /// Hold `item` for `client`; when it is online after all, the item is handed back
    /// for immediate delivery.
    pub fn hold(&mut self, client: NodeId, item: Cached) -> Option<Cached> {
        if self.is_online(client) {
            return Some(item);
        }
        self.cache.entry(client).or_default().push(item);
        None
    }

    /// Items waiting in the cache.
    pub fn cached(&self) -> usize {
        self.cache.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_items_wait_for_the_login_in_order() {
        let mut d = Directory::default();
        let c = NodeId(4);
        let a = Cached::Transfer(Arc::from(&b"a"[..]));
        let b = Cached::Datagram(Arc::from(&b"b"[..]));
        assert!(!d.is_online(c));
        assert_eq!(d.hold(c, a.clone()), None);
        assert_eq!(d.hold(c, b.clone()), None);
        assert_eq!(d.cached(), 2);
        assert_eq!(d.login(c), vec![a.clone(), b]);
        assert_eq!(d.cached(), 0);
        assert_eq!(d.hold(c, a.clone()), Some(a), "online: deliver now");
        d.logout(c);
        assert!(!d.is_online(c));
        assert_eq!(d.login(c), vec![]);
    }
}
