//! Devices and links as sourced parameter sets, plus the behaviour that turns each into
//! simulated time and events.
//!
//! Every number carries a source key beside it (`E1`, `L6`, `P8`, `S1`, `D2`, `M1`, `C2`,
//! `N7`, ...); the keys resolve in `SOURCES.md` at the root of this crate. "derived" marks
//! arithmetic on sourced numbers (including distribution parameters fitted to sourced
//! quantiles), "unsourced estimate" a default nobody has measured for us yet.
//!
//! | module | device | what it turns into time or events |
//! | --- | --- | --- |
//! | [`esp32`] | ESP-WROOM-32 and its 2.4 GHz Wi-Fi | a [`sim_core::LinkParams`] profile with power save as a parameter; CPU time per handled message |
//! | [`photo_interrupter`] | through-beam car sensor | beam-break and beam-restore edges of a passing car, with contact bounce, and the firmware's debouncer |
//! | [`servo`] | SG90 gate barrier | time to open and close from the rated speed and the angle |
//! | [`lcd`] | 16x2 HD44780 behind a PCF8574 I2C backpack | time to rewrite the display at the bus speed, for the two common libraries |
//! | [`pm10`] | SDS011 PM-10 sensor over the CityOS grid | a seeded spatial field with a daily cycle, and noisy quantised readings |
//! | [`camera`] | ESP32-CAM MJPEG over HTTP | a traffic source: (interval, bytes) per frame |
//! | [`links`] | loopback, LAN, campus Wi-Fi, WAN, ESP32 Wi-Fi | named [`sim_core::LinkParams`] presets that scenario files refer to |
//! | [`stats`] | - | sampling a link's round-trip times and quantiles, to check presets against their sources |
//!
//! Determinism: nothing here reads a clock or a thread RNG. Models that draw random numbers
//! take the caller's [`sim_core::SimRng`] (a node's or link's stream), or build their own
//! stream from a seed with [`sim_core::rng::component_rng`], so the same seed gives the
//! same numbers on every machine.

#![warn(missing_docs)]

pub mod camera;
pub mod esp32;
pub mod lcd;
pub mod links;
pub mod photo_interrupter;
pub mod pm10;
pub mod servo;
pub mod stats;

pub use links::{LINK_PRESETS, link_preset};
