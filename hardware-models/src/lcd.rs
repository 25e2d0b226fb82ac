//! A 16x2 character LCD (HD44780 controller) behind a PCF8574 I2C backpack: how long a
//! rewrite of the display takes at the bus speed.
//!
//! The bus, not the controller, sets the pace. I2C moves 9 clocks per byte (8 data bits
//! and the acknowledge, D3); the PCF8574 is specified to 100 kHz, and 400 kHz is out of
//! its spec (D2). Each transaction also pays for its START and STOP conditions, about one
//! clock period each at 100 kHz (the Standard-mode set-up and hold times of 4.0-4.7 us,
//! D3); with that the model reproduces the derived figures of the hardware page.
//!
//! The library decides how many transactions a character costs:
//! - LiquidCrystal_I2C (D4) sends each 4-bit half with three one-byte writes (data,
//!   enable high, enable low), each its own two-byte transaction (address + data): six per
//!   character, plus two delays of 1 + 50 us. `clear()` and `home()` then wait 2 ms.
//! - LiquidCrystal_PCF8574 (D5) sends a whole character in one transaction: the address
//!   and 4-6 data bytes.
//!
//! 32 characters and 2 cursor commands at 100 kHz: LiquidCrystal_I2C about 44 ms (48 ms
//! with a clear), LiquidCrystal_PCF8574 16-22 ms; the controller alone would need about
//! 1.3 ms (all derived). The controller executes a data write in 37 + 4 us and other
//! instructions in 37 us at 270 kHz, return home in 1.52 ms (D1); clear display takes
//! 82 us-1.64 ms on a compatible controller (D6).

use serde::{Deserialize, Serialize};
use sim_core::SimTime;

/// Clocks per byte on I2C: 8 data bits and the acknowledge (D3).
pub const CLOCKS_PER_BYTE: u64 = 9;

/// Clocks charged per transaction for its START and STOP conditions (derived from the
/// Standard-mode set-up and hold times, 4.0-4.7 us each, D3).
pub const START_STOP_CLOCKS: u64 = 2;

/// Standard-mode I2C, and the PCF8574's maximum: 100 kHz (D2, D3).
pub const PCF8574_MAX_SCL_HZ: u32 = 100_000;

/// Fast-mode I2C: 400 kHz (D3); out of spec for the PCF8574 (D2).
pub const FAST_MODE_SCL_HZ: u32 = 400_000;

/// HD44780 execution of a data write at 270 kHz: 37 + 4 us (D1).
pub const HD44780_DATA_WRITE: SimTime = SimTime::from_micros(41);

/// HD44780 execution of most instructions (set DDRAM address, ...) at 270 kHz: 37 us (D1).
pub const HD44780_INSTRUCTION: SimTime = SimTime::from_micros(37);

/// HD44780 clear display, worst case on a compatible controller: 1.64 ms (D6).
pub const HD44780_CLEAR: SimTime = SimTime::from_micros(1640);

/// The Arduino library that drives the backpack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LcdLibrary {
    /// johnrickman/LiquidCrystal_I2C (D4): six two-byte writes and 2 x 51 us of delays
    /// per character or command; `clear()` waits 2 ms.
    LiquidCrystalI2c,
    /// mathertel/LiquidCrystal_PCF8574 (D5): one transaction per character or command,
    /// the address and `data_bytes` (4-6) data bytes. Its clear is assumed to wait the
    /// controller's worst case, 1.64 ms (D6).
    LiquidCrystalPcf8574 {
        /// Data bytes per transaction, 4-6 (D5).
        data_bytes: u32,
    },
}

/// A 16x2 HD44780 display on a PCF8574 backpack, driven at `scl_hz` by `library`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lcd1602 {
    /// I2C clock: 100 kHz by default, the PCF8574's maximum (D2).
    pub scl_hz: u32,
    /// The driving library; LiquidCrystal_I2C by default, the common one (D4).
    pub library: LcdLibrary,
}

impl Default for Lcd1602 {
    fn default() -> Self {
        Lcd1602 {
            scl_hz: PCF8574_MAX_SCL_HZ,
            library: LcdLibrary::LiquidCrystalI2c,
        }
    }
}

/// Characters on a 16x2 display.
pub const CHARACTERS: u32 = 32;

/// Cursor commands of a full rewrite: one `setCursor` per line.
pub const CURSOR_COMMANDS: u32 = 2;

impl Lcd1602 {
    /// A display driven by `library` at 100 kHz.
    pub fn with_library(library: LcdLibrary) -> Self {
        Lcd1602 {
            library,
            ..Lcd1602::default()
        }
    }

    /// The clock must be positive and a PCF8574 library must send 1 or more data bytes.
    pub fn validate(&self) -> Result<(), String> {
        if self.scl_hz == 0 {
            return Err("lcd scl_hz must be positive".into());
        }
        if let LcdLibrary::LiquidCrystalPcf8574 { data_bytes: 0 } = self.library {
            return Err("lcd LiquidCrystalPcf8574 data_bytes must be at least 1 (4-6, D5)".into());
        }
        Ok(())
    }

    /// Whether the bus runs within the PCF8574's specification, 100 kHz or slower (D2).
    pub fn within_spec(&self) -> bool {
        self.scl_hz <= PCF8574_MAX_SCL_HZ
    }

    /// Time for `clocks` bus clocks, rounded up to the nanosecond.
    fn clocks(&self, clocks: u64) -> SimTime {
        let hz = u128::from(self.scl_hz.max(1));
        SimTime((u128::from(clocks) * 1_000_000_000).div_ceil(hz) as u64)
    }

    /// Time of one I2C transaction carrying `bytes` bytes including the address.
    pub fn transaction_time(&self, bytes: u64) -> SimTime {
        self.clocks(bytes * CLOCKS_PER_BYTE + START_STOP_CLOCKS)
    }

    /// Time to send one character (a data write) or one ordinary command such as
    /// `setCursor`: the library sends both the same way.
    pub fn char_time(&self) -> SimTime {
        match self.library {
            LcdLibrary::LiquidCrystalI2c => {
                let writes = SimTime(6 * self.transaction_time(2).0);
                writes + SimTime::from_micros(2 * 51)
            }
            LcdLibrary::LiquidCrystalPcf8574 { data_bytes } => {
                self.transaction_time(1 + u64::from(data_bytes))
            }
        }
    }

    /// Time to send one command other than clear or home (see [`Lcd1602::char_time`]).
    pub fn command_time(&self) -> SimTime {
        self.char_time()
    }

    /// Time of `clear()`: the command and the library's wait (2 ms in LiquidCrystal_I2C,
    /// D4; the controller's worst case 1.64 ms for LiquidCrystal_PCF8574, D6).
    pub fn clear_time(&self) -> SimTime {
        let wait = match self.library {
            LcdLibrary::LiquidCrystalI2c => SimTime::from_millis(2),
            LcdLibrary::LiquidCrystalPcf8574 { .. } => HD44780_CLEAR,
        };
        self.command_time() + wait
    }

    /// Time to write `chars` characters and `commands` ordinary commands.
    pub fn write_time(&self, chars: u32, commands: u32) -> SimTime {
        SimTime(self.char_time().0 * u64::from(chars + commands))
    }

    /// Time to rewrite the whole display: 32 characters and a cursor command per line.
    pub fn full_rewrite(&self) -> SimTime {
        self.write_time(CHARACTERS, CURSOR_COMMANDS)
    }

    /// [`Lcd1602::full_rewrite`] preceded by `clear()`.
    pub fn full_rewrite_with_clear(&self) -> SimTime {
        self.clear_time() + self.full_rewrite()
    }
}

/// The controller's own execution time for `chars` data writes and `commands`
/// instructions at 270 kHz (D1): the floor no bus speed can beat. For 32 characters and 2
/// commands, 1.39 ms.
pub fn controller_floor(chars: u32, commands: u32) -> SimTime {
    SimTime(HD44780_DATA_WRITE.0 * u64::from(chars) + HD44780_INSTRUCTION.0 * u64::from(commands))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t: SimTime) -> f64 {
        t.as_millis_f64()
    }

    /// 32 characters + 2 cursor commands at 100 kHz: LiquidCrystal_I2C within 1 ms of the
    /// derived 44 ms (48 ms with clear); LiquidCrystal_PCF8574 within 1 ms of 16 ms with 4
    /// data bytes and of 22 ms with 6.
    #[test]
    fn full_rewrite_times_match_the_derived_figures() {
        let i2c = Lcd1602::default();
        assert!(
            (ms(i2c.full_rewrite()) - 44.0).abs() < 1.0,
            "{}",
            i2c.full_rewrite()
        );
        assert!(
            (ms(i2c.full_rewrite_with_clear()) - 48.0).abs() < 1.0,
            "{}",
            i2c.full_rewrite_with_clear()
        );
        for (data_bytes, expected) in [(4, 16.0), (6, 22.0)] {
            let lcd = Lcd1602::with_library(LcdLibrary::LiquidCrystalPcf8574 { data_bytes });
            let got = ms(lcd.full_rewrite());
            assert!((got - expected).abs() < 1.0, "{data_bytes} bytes: {got} ms");
            assert!((16.0 - 0.5..=22.0 + 0.5).contains(&got));
        }
        let floor = ms(controller_floor(CHARACTERS, CURSOR_COMMANDS));
        assert!((1.3..1.45).contains(&floor), "{floor}");
    }

    #[test]
    fn faster_bus_is_faster_but_out_of_spec() {
        let fast = Lcd1602 {
            scl_hz: FAST_MODE_SCL_HZ,
            ..Lcd1602::default()
        };
        assert!(!fast.within_spec());
        assert!(Lcd1602::default().within_spec());
        // The bus part shrinks four times; the fixed 2 x 51 us per character does not.
        let slow = Lcd1602::default().full_rewrite();
        assert!(fast.full_rewrite() < slow);
        assert!(fast.full_rewrite() > SimTime(slow.0 / 4));
        assert_eq!(
            Lcd1602::default().transaction_time(2),
            SimTime::from_micros(200)
        );
        assert!(
            Lcd1602 {
                scl_hz: 0,
                ..Lcd1602::default()
            }
            .validate()
            .is_err()
        );
    }
}
