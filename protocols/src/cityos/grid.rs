//! The city: a 100 x 100 grid of cells `(u, v)`, and the Manhattan distance that the
//! 20-unit rule between edge nodes is measured in.

use hardware_models::pm10::GRID;
use serde::{Deserialize, Serialize};

/// Edge nodes may not be closer than this (Manhattan distance), or the server refuses
/// the newcomer with 403.
pub const MIN_NODE_DISTANCE: u64 = 20;

/// A grid cell. Coordinates are signed so that a malformed request (a negative or
/// out-of-grid position) can be represented and refused with 400, as the REST service
/// does; [`Cell::in_grid`] says whether it is a real cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Cell {
    /// Horizontal coordinate, 0..100.
    pub u: i64,
    /// Vertical coordinate, 0..100.
    pub v: i64,
}

impl Cell {
    /// The cell `(u, v)`.
    pub const fn new(u: i64, v: i64) -> Cell {
        Cell { u, v }
    }

    /// Whether both coordinates are inside the grid.
    pub fn in_grid(self) -> bool {
        let side = i64::from(GRID);
        (0..side).contains(&self.u) && (0..side).contains(&self.v)
    }

    /// Manhattan distance to `other`.
    pub fn distance(self, other: Cell) -> u64 {
        self.u.abs_diff(other.u) + self.v.abs_diff(other.v)
    }

    /// A uniformly random cell of the grid.
    pub fn random(rng: &mut sim_core::SimRng) -> Cell {
        use rand::RngExt;
        let side = i64::from(GRID);
        Cell::new(rng.random_range(0..side), rng.random_range(0..side))
    }

    /// The cell as unsigned grid coordinates (for the PM-10 field); `None` outside.
    pub fn as_grid(self) -> Option<(u32, u32)> {
        self.in_grid().then_some((self.u as u32, self.v as u32))
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}, {})", self.u, self.v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manhattan_distance_and_bounds() {
        assert_eq!(Cell::new(0, 0).distance(Cell::new(10, 10)), 20);
        assert_eq!(Cell::new(5, 90).distance(Cell::new(2, 99)), 12);
        assert!(Cell::new(99, 0).in_grid());
        assert!(!Cell::new(100, 0).in_grid());
        assert!(!Cell::new(0, -1).in_grid());
    }
}
