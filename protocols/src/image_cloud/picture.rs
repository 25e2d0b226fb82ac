//! The images clients encrypt and share: grayscale rasters generated from a key (so any
//! node can regenerate an image to check the bytes it decoded), and their low-resolution
//! previews.

use crate::transport::fill_pseudo_random;

/// A `width` x `height` grayscale image identified by `key`: the key's 8 bytes, then
/// the key's pseudo-random stream (an image shorter than 8 bytes holds a prefix of the
/// key).
pub fn generate(key: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    let k = key.to_le_bytes();
    let head = len.min(8);
    v[..head].copy_from_slice(&k[..head]);
    if len > 8 {
        fill_pseudo_random(key, &mut v[8..]);
    }
    v
}

/// Whether `bytes` are exactly the image its leading key names.
pub fn is_genuine(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && {
        let key = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        generate(key, bytes.len()) == bytes
    }
}

/// The key of image `index` of the client called `owner` in a run seeded `seed`.
pub fn image_key(seed: u64, owner: &str, index: u64) -> u64 {
    let name = owner.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    });
    let mut h = (seed ^ name.rotate_left(17) ^ index).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 29;
    h
}

/// The low-resolution version of a raster `width` pixels wide: each `factor` x `factor`
/// block becomes its mean (blocks at the right and bottom edges may be smaller). What a
/// receiver sees before the encrypted image arrives.
pub fn preview(image: &[u8], width: usize, factor: usize) -> Vec<u8> {
    let (width, factor) = (width.max(1), factor.max(1));
    let height = image.len().div_ceil(width);
    let (pw, ph) = (width.div_ceil(factor), height.div_ceil(factor));
    let mut out = Vec::with_capacity(pw * ph);
    for by in 0..ph {
        for bx in 0..pw {
            let (mut sum, mut n) = (0u64, 0u64);
            for y in by * factor..((by + 1) * factor).min(height) {
                for x in bx * factor..((bx + 1) * factor).min(width) {
                    if let Some(&p) = image.get(y * width + x) {
                        sum += u64::from(p);
                        n += 1;
                    }
                }
            }
            out.push((sum / n.max(1)) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_regenerate_from_their_key() {
        let img = generate(42, 1000);
        assert!(is_genuine(&img));
        let mut bad = img.clone();
        bad[500] ^= 1;
        assert!(!is_genuine(&bad));
        assert_ne!(image_key(1, "a", 0), image_key(1, "a", 1));
        assert_ne!(image_key(1, "a", 0), image_key(1, "b", 0));
    }

    #[test]
    fn preview_is_the_block_mean() {
        // 4 x 2 raster, factor 2: two blocks.
        let img = [0, 2, 10, 20, 4, 6, 30, 40];
        assert_eq!(preview(&img, 4, 2), vec![3, 25]);
        // 3 x 3 raster, factor 2: edge blocks are partial.
        let img = [1, 1, 9, 1, 1, 9, 5, 5, 7];
        assert_eq!(preview(&img, 3, 2), vec![1, 9, 5, 7]);
        assert_eq!(preview(&generate(1, 64 * 64), 64, 8).len(), 64);
    }
}
