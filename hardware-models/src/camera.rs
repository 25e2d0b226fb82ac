//! The ESP32-CAM (OV2640) streaming MJPEG over HTTP, as a traffic source: a frame of some
//! size at a steady frame rate.
//!
//! Figures: the sensor does UXGA at 15 fps at most (C1); boards achieve about 13 fps at
//! VGA and 6.5 fps at UXGA (C2). SVGA at JPEG quality 20 gives 49 kB frames at 6 fps, at
//! quality 30 39 kB at 9 fps, at quality 6 about 21.8 kB at 25 fps (C2-C4); the example
//! CameraWebServer streams 6.8-8.1 kB frames (C5). SVGA therefore needs 2.4-4.4 Mb/s
//! (derived); VGA at 15-30 kB and 13 fps about 1.6-3.1 Mb/s (unsourced estimate for the
//! frame size).
//!
//! JPEG frame sizes change with the scene ("another user got smaller frames under
//! different lighting", C2-C4); [`MjpegStream::size_variation`] draws each frame's size
//! uniformly around the mean. The multipart HTTP headers around each frame (some tens of
//! bytes) are not counted. The stream is TCP: cut each frame into segments with
//! [`tcp_segments`] (lwIP's MSS, 1440 bytes, E4) to send it over a link whose MTU is 1472.

use crate::esp32::LWIP_TCP_MSS;
use serde::{Deserialize, Serialize};
use sim_core::rng::unit_f64;
use sim_core::{SimRng, SimTime};

/// One frame of the stream: send `bytes` bytes, then wait `interval` for the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Frame {
    /// Time from this frame to the next.
    pub interval: SimTime,
    /// Size of the JPEG frame.
    pub bytes: u32,
}

/// An MJPEG stream: mean frame size, frame rate, and how much sizes vary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MjpegStream {
    /// Mean JPEG frame size in bytes (default SVGA quality 20: 49 kB, C2-C4).
    pub frame_bytes: u32,
    /// Frames per second (default 6 fps at SVGA quality 20, C2-C4).
    pub fps: f64,
    /// Each frame's size is uniform in `frame_bytes * [1 - v, 1 + v]` (unsourced
    /// estimate: v = 0.1); 0 gives constant frames.
    pub size_variation: f64,
}

impl Default for MjpegStream {
    fn default() -> Self {
        MjpegStream::svga()
    }
}

impl MjpegStream {
    /// SVGA at JPEG quality 20: 49 kB frames at 6 fps, 2.35 Mb/s (C2-C4).
    pub fn svga() -> MjpegStream {
        MjpegStream {
            frame_bytes: 49_000,
            fps: 6.0,
            size_variation: 0.1,
        }
    }

    /// SVGA at JPEG quality 30: 39 kB frames at 9 fps (C2-C4).
    pub fn svga_q30() -> MjpegStream {
        MjpegStream {
            frame_bytes: 39_000,
            fps: 9.0,
            ..MjpegStream::svga()
        }
    }

    /// VGA at about 13 fps (C2) with 22.5 kB frames, the middle of 15-30 kB (unsourced
    /// estimate).
    pub fn vga() -> MjpegStream {
        MjpegStream {
            frame_bytes: 22_500,
            fps: 13.0,
            ..MjpegStream::svga()
        }
    }

    /// Frame size must be positive, the rate positive and finite, the variation in
    /// `[0, 1]`.
    pub fn validate(&self) -> Result<(), String> {
        if self.frame_bytes == 0 {
            return Err("camera frame_bytes must be positive".into());
        }
        if !(self.fps.is_finite() && self.fps > 0.0) {
            return Err(format!(
                "camera fps must be a positive number, got {}",
                self.fps
            ));
        }
        if !(0.0..=1.0).contains(&self.size_variation) {
            return Err(format!(
                "camera size_variation must be in [0, 1], got {}",
                self.size_variation
            ));
        }
        Ok(())
    }

    /// Time between frames, `1 / fps`, rounded to the nanosecond.
    pub fn interval(&self) -> SimTime {
        SimTime((1e9 / self.fps).round() as u64)
    }

    /// The mean bit rate, `frame_bytes * 8 * fps`, in bits per second.
    pub fn mean_bit_rate(&self) -> f64 {
        f64::from(self.frame_bytes) * 8.0 * self.fps
    }

    /// The next frame: its size drawn from `rng` (one draw per frame, even without
    /// variation, so changing the variation never shifts later draws) and the interval
    /// to the frame after it.
    pub fn next_frame(&self, rng: &mut SimRng) -> Frame {
        let u = unit_f64(rng);
        let factor = 1.0 + self.size_variation * (2.0 * u - 1.0);
        let bytes = (f64::from(self.frame_bytes) * factor).round().max(1.0) as u32;
        Frame {
            interval: self.interval(),
            bytes,
        }
    }
}

/// The TCP segment sizes that carry `bytes` bytes with maximum segment size `mss` (use
/// [`LWIP_TCP_MSS`], 1440 bytes, E4, for an ESP32 sender): full segments and the
/// remainder. An `mss` of 0 is treated as 1.
pub fn tcp_segments(bytes: u32, mss: u32) -> impl Iterator<Item = u32> {
    let mss = mss.max(1);
    let full = bytes / mss;
    let rest = bytes % mss;
    std::iter::repeat_n(mss, full as usize).chain((rest > 0).then_some(rest))
}

/// [`tcp_segments`] with lwIP's default MSS of 1440 bytes (E4).
pub fn esp32_segments(bytes: u32) -> impl Iterator<Item = u32> {
    tcp_segments(bytes, LWIP_TCP_MSS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::rng::component_rng;

    /// Over 20 000 frames the stream's bit rate is within 1 % of frame_bytes * 8 * fps,
    /// with and without size variation, for each preset.
    #[test]
    fn mean_bit_rate_is_frame_bytes_times_8_times_fps() {
        for stream in [
            MjpegStream::svga(),
            MjpegStream::svga_q30(),
            MjpegStream::vga(),
            MjpegStream {
                size_variation: 0.5,
                ..MjpegStream::svga()
            },
        ] {
            stream.validate().unwrap();
            let mut rng = component_rng(1, "node:cam-0");
            let (mut bits, mut time) = (0.0, SimTime::ZERO);
            for _ in 0..20_000 {
                let f = stream.next_frame(&mut rng);
                bits += f64::from(f.bytes) * 8.0;
                time += f.interval;
            }
            let rate = bits / time.as_secs_f64();
            let expected = f64::from(stream.frame_bytes) * 8.0 * stream.fps;
            assert_eq!(stream.mean_bit_rate(), expected);
            assert!((rate / expected - 1.0).abs() < 0.01, "{rate} vs {expected}");
        }
        // SVGA q20 is 2.35 Mb/s, inside the derived 2.4-4.4 Mb/s within rounding of 49 kB.
        assert!((MjpegStream::svga().mean_bit_rate() - 2.352e6).abs() < 1.0);
    }

    #[test]
    fn sizes_vary_within_bounds() {
        let s = MjpegStream::svga();
        let mut rng = component_rng(2, "cam");
        let sizes: Vec<u32> = (0..1000).map(|_| s.next_frame(&mut rng).bytes).collect();
        assert!(sizes.iter().all(|&b| (44_100..=53_900).contains(&b)));
        assert!(sizes.iter().any(|&b| b != sizes[0]));
        assert_eq!(s.interval(), SimTime(166_666_667));
        let fixed = MjpegStream {
            size_variation: 0.0,
            ..s
        };
        assert_eq!(fixed.next_frame(&mut rng).bytes, 49_000);
    }

    #[test]
    fn frames_cut_into_tcp_segments() {
        let segs: Vec<u32> = esp32_segments(49_000).collect();
        assert_eq!(segs.len(), 35);
        assert_eq!(segs.iter().sum::<u32>(), 49_000);
        assert!(segs.iter().all(|&s| s <= 1440));
        assert_eq!(
            tcp_segments(2880, 1440).collect::<Vec<_>>(),
            vec![1440, 1440]
        );
        assert_eq!(tcp_segments(0, 1440).count(), 0);
    }
}
