//! What a transfer or reliable datagram carries, as bytes: a fixed header naming the
//! kind, the image's owner and intended receiver, an id and a view count, then the body
//! (an image, a preview, or nothing). The transport moves bytes only; this is the
//! application's marshalling, decoded again on arrival.

use sim_core::NodeId;

/// What the bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Client to elected server: the image of request `id` to encrypt.
    Upload = 1,
    /// Server to client: the cover image hiding the image of request `id`.
    Encoded = 2,
    /// Owner to receiver: the low-resolution preview of the shared image.
    Preview = 3,
    /// Owner to receiver: the encrypted image, viewable `views` times (rights version
    /// 0).
    Shared = 4,
    /// Owner to receiver: the receiver may now open the image `views` more times
    /// (rights version `id`).
    Rights = 5,
    /// Client to the directory server: `owner` logged in (`views` 1) or out (0); `id`
    /// numbers the client's logins and logouts, so a late one never undoes a newer one.
    Presence = 6,
}

/// The header of every transfer and datagram of the image cloud.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// What follows.
    pub kind: Kind,
    /// The client whose image (or request) this is.
    pub owner: NodeId,
    /// The client it is meant for.
    pub receiver: NodeId,
    /// Request sequence number or rights version.
    pub id: u64,
    /// Views granted (sharing) or 0.
    pub views: u32,
    /// Whether the cloud should cache it for an offline receiver instead of using it.
    pub cache: bool,
}

/// Bytes of the header.
pub const HEADER_BYTES: usize = 22;

impl Envelope {
    /// The header followed by `body`.
    pub fn encode(&self, body: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEADER_BYTES + body.len());
        v.push(self.kind as u8);
        v.push(u8::from(self.cache));
        v.extend_from_slice(&self.owner.0.to_le_bytes());
        v.extend_from_slice(&self.receiver.0.to_le_bytes());
        v.extend_from_slice(&self.id.to_le_bytes());
        v.extend_from_slice(&self.views.to_le_bytes());
        v.extend_from_slice(body);
        v
    }

    /// The header and the body of `bytes`, or `None` when they are not an envelope.
    pub fn decode(bytes: &[u8]) -> Option<(Envelope, &[u8])> {
        let (head, body) = bytes.split_at_checked(HEADER_BYTES)?;
        let kind = match head[0] {
            1 => Kind::Upload,
            2 => Kind::Encoded,
            3 => Kind::Preview,
            4 => Kind::Shared,
            5 => Kind::Rights,
            6 => Kind::Presence,
            _ => return None,
        };
        let u32_at = |i: usize| u32::from_le_bytes(head[i..i + 4].try_into().expect("4 bytes"));
        let env = Envelope {
            kind,
            cache: head[1] == 1,
            owner: NodeId(u32_at(2)),
            receiver: NodeId(u32_at(6)),
            id: u64::from_le_bytes(head[10..18].try_into().expect("8 bytes")),
            views: u32_at(18),
        };
        Some((env, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let e = Envelope {
            kind: Kind::Rights,
            owner: NodeId(7),
            receiver: NodeId(9),
            id: 1 << 40,
            views: 3,
            cache: true,
        };
        let bytes = e.encode(b"body");
        assert_eq!(Envelope::decode(&bytes), Some((e, &b"body"[..])));
        assert_eq!(Envelope::decode(&bytes[..HEADER_BYTES - 1]), None);
        let mut bad = bytes.clone();
        bad[0] = 0;
        assert_eq!(Envelope::decode(&bad), None);
    }
}
