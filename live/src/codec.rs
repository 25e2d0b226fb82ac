//! The wire format of a live run: one message per UDP datagram, a 12-byte header (the
//! magic `dsl1` and the run's tag, little-endian) followed by the message in
//! [postcard](https://docs.rs/postcard), serde's compact binary format.
//!
//! The run tag is a hash of the scenario text and the seed, so the processes of one
//! run agree on it and a datagram of another run (or another scenario) is told apart.
//! Decoding reads only the datagram's bytes: a length prefix that claims more than is
//! there fails, and serde preallocates at most 1 MiB for any claimed length, so no
//! datagram makes a large allocation. Trailing bytes make a datagram undecodable.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The first bytes of every datagram of a live run.
pub const MAGIC: [u8; 4] = *b"dsl1";
/// Bytes before the message: the magic and the run tag.
pub const HEADER_BYTES: usize = 12;
/// The largest UDP payload over IPv4: the default limit on a datagram's size.
pub const MAX_DATAGRAM: usize = 65_507;

/// Why a datagram was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not a message of this system: no magic, cut short, bad encoding, trailing bytes.
    Undecodable,
    /// A well-formed datagram of another run (another scenario, seed or build).
    ForeignRun,
}

/// The tag of a run of the scenario `text` at `seed`.
pub fn run_tag(text: &str, seed: u64) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(text.as_bytes(), seed)
}

/// `msg` as a datagram of run `tag`, written into `out` (cleared first).
pub fn encode<M: Serialize>(tag: u64, msg: &M, out: &mut Vec<u8>) -> Result<(), String> {
    out.clear();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&tag.to_le_bytes());
    let body = postcard::to_extend(msg, std::mem::take(out)).map_err(|e| e.to_string())?;
    *out = body;
    Ok(())
}

/// The message a datagram of run `tag` carries.
pub fn decode<M: DeserializeOwned>(tag: u64, datagram: &[u8]) -> Result<M, Refused> {
    let (head, body) = datagram
        .split_at_checked(HEADER_BYTES)
        .ok_or(Refused::Undecodable)?;
    if head[..4] != MAGIC {
        return Err(Refused::Undecodable);
    }
    let theirs = u64::from_le_bytes(head[4..].try_into().expect("8 bytes"));
    if theirs != tag {
        return Err(Refused::ForeignRun);
    }
    match postcard::take_from_bytes::<M>(body) {
        Ok((msg, [])) => Ok(msg),
        _ => Err(Refused::Undecodable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use sim_core::SimTime;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Msg {
        Ping { seq: u32, at: SimTime },
        Data(Vec<u8>),
    }

    #[test]
    fn round_trip_is_compact() {
        let mut buf = Vec::new();
        let msg = Msg::Ping {
            seq: 7,
            at: SimTime::from_millis(5),
        };
        encode(9, &msg, &mut buf).unwrap();
        // Header, variant, varint 7, varint 5,000,000 ns.
        assert_eq!(buf.len(), HEADER_BYTES + 1 + 1 + 4);
        assert_eq!(decode::<Msg>(9, &buf), Ok(msg));
        assert_eq!(decode::<Msg>(10, &buf), Err(Refused::ForeignRun));
    }

    #[test]
    fn garbage_is_refused_without_large_allocations() {
        let mut buf = Vec::new();
        encode(1, &Msg::Data(vec![1, 2, 3]), &mut buf).unwrap();
        for cut in 0..buf.len() {
            assert_eq!(decode::<Msg>(1, &buf[..cut]), Err(Refused::Undecodable));
        }
        let mut longer = buf.clone();
        longer.push(0);
        assert_eq!(decode::<Msg>(1, &longer), Err(Refused::Undecodable));
        // A vector claiming u32::MAX bytes in a 20-byte datagram.
        let mut huge = buf[..HEADER_BYTES].to_vec();
        huge.extend_from_slice(&[1, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]);
        assert_eq!(decode::<Msg>(1, &huge), Err(Refused::Undecodable));
        let mut wrong = buf.clone();
        wrong[0] = b'x';
        assert_eq!(decode::<Msg>(1, &wrong), Err(Refused::Undecodable));
    }
}
