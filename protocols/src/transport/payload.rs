//! Payload bytes that really travel: shared, sliceable, with a checksum computed once.
//!
//! A [`Payload`] is a window onto an `Arc<[u8]>`. Cutting a 60 KB chunk out of a
//! multi-megabyte image, retransmitting it, or letting the network duplicate it clones a
//! pointer, never the bytes. The checksum is computed when the payload is made, so the
//! message's `Hash` (which feeds the run's fingerprint on every send) costs a few words,
//! not a pass over 60 KB.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Range;
use std::sync::Arc;

/// A 64-bit checksum of `bytes` (word-at-a-time multiply-rotate with a final avalanche).
///
/// Not cryptographic: it detects bytes that were reordered, dropped, duplicated or
/// mixed up between transfers, which is what the receiver checks. The same bytes give
/// the same value on every platform (little-endian words, fixed constants).
pub fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = (bytes.len() as u64) ^ 0x2545_F491_4F6C_DD1D;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_le_bytes(w.try_into().expect("chunks of 8"));
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut tail = [0u8; 8];
        tail[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(tail))
            .wrapping_mul(K)
            .rotate_left(29);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h
}

/// `len` pseudo-random bytes that depend only on `key` (see [`fill_pseudo_random`]).
pub fn pseudo_random_bytes(key: u64, len: usize) -> Arc<[u8]> {
    let mut out = vec![0u8; len];
    fill_pseudo_random(key, &mut out);
    out.into()
}

/// Fill `out` with pseudo-random bytes that depend only on `key` (SplitMix64, eight
/// bytes per step): systems generate the payload a sender transfers from the run's
/// seed, and the receiver generates it again to compare.
pub fn fill_pseudo_random(key: u64, out: &mut [u8]) {
    let mut state = key;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut words = out.chunks_exact_mut(8);
    for w in &mut words {
        w.copy_from_slice(&next().to_le_bytes());
    }
    let rest = words.into_remainder();
    let n = rest.len();
    rest.copy_from_slice(&next().to_le_bytes()[..n]);
}

/// Bytes carried by a segment: a range of a shared buffer plus its checksum.
///
/// Encoded (for a live run's datagrams) as its bytes and the checksum it carries, so a
/// receiver's [`Payload::verify`] still tells a corrupted payload.
#[derive(Clone)]
pub struct Payload {
    data: Arc<[u8]>,
    start: usize,
    len: usize,
    checksum: u64,
}

impl Payload {
    /// The whole of `bytes` (one pass to checksum them).
    pub fn new(bytes: impl Into<Arc<[u8]>>) -> Self {
        let data: Arc<[u8]> = bytes.into();
        let len = data.len();
        Self::slice_of(&data, 0..len)
    }

    /// The bytes `range` of `data`, sharing the buffer (one pass over the range to
    /// checksum it).
    ///
    /// # Panics
    /// If `range` is not within `data`.
    pub fn slice_of(data: &Arc<[u8]>, range: Range<usize>) -> Self {
        let checksum = checksum(&data[range.clone()]);
        Payload {
            data: Arc::clone(data),
            start: range.start,
            len: range.len(),
            checksum,
        }
    }

    /// An empty payload.
    pub fn empty() -> Self {
        Self::new(Vec::new())
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data[self.start..self.start + self.len]
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The checksum computed when the payload was made ([`checksum`] of the bytes).
    pub fn checksum(&self) -> u64 {
        self.checksum
    }

    /// Whether the bytes still match the checksum (what a receiver's UDP checksum
    /// verifies; the simulated network never corrupts, so this holds unless a bug
    /// mixed buffers up).
    pub fn verify(&self) -> bool {
        checksum(self.as_bytes()) == self.checksum
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.checksum == other.checksum && self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Payload {}

impl Hash for Payload {
    /// Length and precomputed checksum only: cheap on every send.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.len.hash(state);
        self.checksum.hash(state);
    }
}

impl fmt::Debug for Payload {
    /// Never the bytes (traces print messages): length and checksum.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Payload({} B, sum {:016x})", self.len, self.checksum)
    }
}

impl serde::Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&Bytes(self.as_bytes()))?;
        t.serialize_element(&self.checksum)?;
        t.end()
    }
}

impl<'de> serde::Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (ByteBuf(bytes), checksum) = <(ByteBuf, u64)>::deserialize(d)?;
        let len = bytes.len();
        Ok(Payload {
            data: bytes.into(),
            start: 0,
            len,
            checksum,
        })
    }
}

/// Bytes serialized as one byte string (not a sequence of numbers).
struct Bytes<'a>(&'a [u8]);

impl serde::Serialize for Bytes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// Bytes deserialized from one byte string.
struct ByteBuf(Vec<u8>);

impl<'de> serde::Deserialize<'de> for ByteBuf {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Takes a byte string.
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v))
            }
        }
        d.deserialize_byte_buf(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_sees_order_length_and_content() {
        let a = checksum(b"hello world, 16b");
        assert_eq!(a, checksum(b"hello world, 16b"));
        assert_ne!(a, checksum(b"world hello, 16b"));
        assert_ne!(a, checksum(b"hello world, 16b\0"));
        assert_ne!(checksum(b""), checksum(b"\0"));
    }

    #[test]
    fn slices_share_the_buffer_and_hash_cheaply() {
        let data = pseudo_random_bytes(7, 100_003);
        assert_eq!(data.len(), 100_003);
        assert_eq!(data, pseudo_random_bytes(7, 100_003));
        assert_ne!(data, pseudo_random_bytes(8, 100_003));
        let p = Payload::slice_of(&data, 60_000..100_003);
        assert_eq!(p.len(), 40_003);
        assert_eq!(p.as_bytes(), &data[60_000..]);
        assert!(p.verify());
        assert_eq!(Arc::strong_count(&data), 2);
        let copy = p.clone();
        assert_eq!(copy, p);
        assert!(format!("{p:?}").len() < 64);
    }
}
