//! Least-significant-bit steganography over real bytes: hide a secret image inside a
//! cover image, and get it back. Pure functions; the server charges their CPU time with
//! [`StegoCost`].
//!
//! Layout: the secret's length as a 32-bit little-endian number, then the secret's
//! bytes, written one bit per cover byte (least significant bit first) into the least
//! significant bit of consecutive cover bytes from the start. Every other bit of the
//! cover is untouched, so each cover byte changes by at most 1. A cover of `c` bytes
//! carries at most `c / 8 - 4` secret bytes ([`capacity`]).

use serde::{Deserialize, Serialize};
use sim_core::SimTime;
use std::fmt;

/// Bytes of the length header hidden before the secret.
pub const HEADER_BYTES: usize = 4;

/// Why hiding or recovering failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StegoError {
    /// The cover cannot carry the secret.
    CoverTooSmall {
        /// Secret bytes to hide.
        secret: usize,
        /// Secret bytes the cover can carry.
        capacity: usize,
    },
    /// The image is too short to hold even the length header.
    NoHeader {
        /// The image's bytes.
        len: usize,
    },
    /// The length hidden in the image is more than the image can carry: it holds no
    /// secret (or a damaged one).
    BadLength {
        /// The length read from the header.
        claimed: u64,
        /// Secret bytes the image can carry.
        capacity: usize,
    },
}

impl fmt::Display for StegoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StegoError::CoverTooSmall { secret, capacity } => write!(
                f,
                "a secret of {secret} bytes does not fit a cover that carries {capacity}"
            ),
            StegoError::NoHeader { len } => {
                write!(f, "an image of {len} bytes is too short to hide anything")
            }
            StegoError::BadLength { claimed, capacity } => write!(
                f,
                "the hidden length {claimed} exceeds the {capacity} bytes the image can carry"
            ),
        }
    }
}

/// Secret bytes a cover of `cover_len` bytes can carry.
pub fn capacity(cover_len: usize) -> usize {
    (cover_len / 8).saturating_sub(HEADER_BYTES)
}

/// Cover bytes needed to carry a secret of `secret_len` bytes.
pub fn cover_needed(secret_len: usize) -> usize {
    (secret_len + HEADER_BYTES) * 8
}

/// `cover` with `secret` hidden in its least significant bits.
pub fn embed(cover: &[u8], secret: &[u8]) -> Result<Vec<u8>, StegoError> {
    let cap = capacity(cover.len());
    let len = u32::try_from(secret.len())
        .ok()
        .filter(|_| cover.len() >= cover_needed(secret.len()))
        .ok_or(StegoError::CoverTooSmall {
            secret: secret.len(),
            capacity: cap,
        })?;
    let mut out = cover.to_vec();
    let bytes = len.to_le_bytes().into_iter().chain(secret.iter().copied());
    for (i, byte) in bytes.enumerate() {
        for bit in 0..8 {
            let c = &mut out[i * 8 + bit];
            *c = (*c & !1) | ((byte >> bit) & 1);
        }
    }
    Ok(out)
}

/// The secret hidden in `image` by [`embed`].
pub fn extract(image: &[u8]) -> Result<Vec<u8>, StegoError> {
    if image.len() < cover_needed(0) {
        return Err(StegoError::NoHeader { len: image.len() });
    }
    let cap = capacity(image.len());
    let byte_at = |i: usize| (0..8).fold(0u8, |acc, bit| acc | ((image[i * 8 + bit] & 1) << bit));
    let header: [u8; HEADER_BYTES] = std::array::from_fn(byte_at);
    let claimed = u32::from_le_bytes(header);
    let len = claimed as usize;
    if len > cap {
        return Err(StegoError::BadLength {
            claimed: u64::from(claimed),
            capacity: cap,
        });
    }
    Ok((HEADER_BYTES..HEADER_BYTES + len).map(byte_at).collect())
}

/// The CPU time of hiding or recovering a secret, charged by the server (and by a client
/// decoding). The report gives no timings; the defaults are assumptions of this model:
/// loading and writing the cover image as PNG (`fixed`, 5 ms for the ~100 KB covers
/// used here) and a per-pixel loop through the image crate's accessors that costs about
/// 20 ns per cover byte it touches (`per_byte_ns`). Both are parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StegoCost {
    /// Time independent of size (decoding and re-encoding the cover file).
    pub fixed: SimTime,
    /// Nanoseconds per cover byte read or written.
    pub per_byte_ns: u64,
}

impl Default for StegoCost {
    fn default() -> Self {
        StegoCost {
            fixed: SimTime::from_millis(5),
            per_byte_ns: 20,
        }
    }
}

impl StegoCost {
    /// CPU time to hide (or recover) a secret of `secret_len` bytes: the fixed part plus
    /// the cover bytes the bits go into.
    pub fn time(&self, secret_len: usize) -> SimTime {
        let touched = cover_needed(secret_len) as u64;
        self.fixed + SimTime::from_nanos(touched.saturating_mul(self.per_byte_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the secret and the cover, extract(embed(..)) gives back the exact
        /// bytes, and no cover byte moves by more than one.
        #[test]
        fn extract_inverts_embed(
            secret in proptest::collection::vec(any::<u8>(), 0..300),
            cover in proptest::collection::vec(any::<u8>(), 0..3000),
        ) {
            match embed(&cover, &secret) {
                Ok(image) => {
                    prop_assert!(secret.len() <= capacity(cover.len()));
                    prop_assert_eq!(image.len(), cover.len());
                    prop_assert!(image.iter().zip(&cover).all(|(a, b)| a.abs_diff(*b) <= 1));
                    prop_assert_eq!(&image[cover_needed(secret.len())..], &cover[cover_needed(secret.len())..]);
                    prop_assert_eq!(extract(&image).unwrap(), secret);
                }
                Err(e) => {
                    prop_assert!(cover.len() < cover_needed(secret.len()));
                    prop_assert_eq!(e, StegoError::CoverTooSmall {
                        secret: secret.len(),
                        capacity: capacity(cover.len()),
                    });
                }
            }
        }
    }

    #[test]
    fn capacity_is_exact_at_the_boundary() {
        let secret = vec![0xA5; 100];
        let cover = vec![0x5A; cover_needed(100)];
        assert_eq!(capacity(cover.len()), 100);
        assert_eq!(extract(&embed(&cover, &secret).unwrap()).unwrap(), secret);
        let short = &cover[..cover.len() - 1];
        assert_eq!(
            embed(short, &secret),
            Err(StegoError::CoverTooSmall {
                secret: 100,
                capacity: 99
            })
        );
        assert_eq!(capacity(0), 0);
        assert_eq!(
            embed(&[0; 31], &[]),
            Err(StegoError::CoverTooSmall {
                secret: 0,
                capacity: 0
            })
        );
        assert_eq!(extract(&[0; 31]), Err(StegoError::NoHeader { len: 31 }));
        assert_eq!(extract(&embed(&[7; 32], &[]).unwrap()), Ok(Vec::new()));
    }

    /// An image that hides nothing (all LSBs set reads as a huge length) is refused.
    #[test]
    fn a_plain_image_is_refused_not_misread() {
        let plain = vec![0xFF; 1000];
        assert_eq!(
            extract(&plain),
            Err(StegoError::BadLength {
                claimed: u64::from(u32::MAX),
                capacity: 121
            })
        );
    }

    #[test]
    fn cost_grows_with_the_cover_bytes_touched() {
        let c = StegoCost::default();
        assert_eq!(
            c.time(0),
            SimTime::from_millis(5) + SimTime::from_nanos(640)
        );
        let t = c.time(10_000);
        assert_eq!(
            t,
            SimTime::from_millis(5) + SimTime::from_nanos(80_032 * 20)
        );
    }
}
