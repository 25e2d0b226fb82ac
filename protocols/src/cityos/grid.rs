//! The city: a square grid of cells `(u, v)` (100 x 100 in the report), and the
//! Manhattan distance that the 20-unit rule between edge nodes is measured in.

use hardware_models::pm10::GRID;
use serde::{Deserialize, Serialize};

/// Edge nodes may not be closer than this (Manhattan distance), or the server refuses
/// the newcomer with 403.
pub const MIN_NODE_DISTANCE: u64 = 20;

/// A grid cell. Coordinates are signed so that a malformed request (a negative or
/// out-of-grid position) can be represented and refused with 400, as the REST service
/// does; [`Grid::contains`] says whether it is a real cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Cell {
    /// Horizontal coordinate, `0..side`.
    pub u: i64,
    /// Vertical coordinate, `0..side`.
    pub v: i64,
}

impl Cell {
    /// The cell `(u, v)`.
    pub const fn new(u: i64, v: i64) -> Cell {
        Cell { u, v }
    }

    /// Manhattan distance to `other`.
    pub fn distance(self, other: Cell) -> u64 {
        self.u.abs_diff(other.u) + self.v.abs_diff(other.v)
    }
}

/// The city's grid: `side` x `side` cells. The report's city is 100 x 100, which holds
/// only a few dozen edge nodes at [`MIN_NODE_DISTANCE`]; a larger city is a larger
/// grid, over which the PM-10 field (defined on 100 x 100 cells) is stretched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    side: i64,
}

impl Default for Grid {
    /// The report's 100 x 100 city.
    fn default() -> Grid {
        Grid::new(GRID)
    }
}

impl Grid {
    /// A grid of `side` x `side` cells (`side` at least 1).
    pub fn new(side: u32) -> Grid {
        Grid {
            side: i64::from(side.max(1)),
        }
    }

    /// Whether both coordinates of `cell` are inside the grid.
    pub fn contains(self, cell: Cell) -> bool {
        (0..self.side).contains(&cell.u) && (0..self.side).contains(&cell.v)
    }

    /// A uniformly random cell of the grid.
    pub fn random_cell(self, rng: &mut sim_core::SimRng) -> Cell {
        use rand::RngExt;
        Cell::new(
            rng.random_range(0..self.side),
            rng.random_range(0..self.side),
        )
    }

    /// The cell of the PM-10 field under `cell` (the field's 100 x 100 cells stretched
    /// over the grid); `None` outside the grid.
    pub fn field_cell(self, cell: Cell) -> Option<(u32, u32)> {
        let scale = |x: i64| (x * i64::from(GRID) / self.side) as u32;
        self.contains(cell).then(|| (scale(cell.u), scale(cell.v)))
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
        let city = Grid::default();
        assert!(city.contains(Cell::new(99, 0)));
        assert!(!city.contains(Cell::new(100, 0)));
        assert!(!city.contains(Cell::new(0, -1)));
        assert!(Grid::new(400).contains(Cell::new(399, 0)));
    }

    /// The field covers a larger grid stretched: the report's grid maps one to one,
    /// a grid four times as wide maps four cells to one field cell.
    #[test]
    fn field_cells_stretch_over_the_grid() {
        assert_eq!(
            Grid::default().field_cell(Cell::new(37, 99)),
            Some((37, 99))
        );
        let big = Grid::new(400);
        assert_eq!(big.field_cell(Cell::new(0, 3)), Some((0, 0)));
        assert_eq!(big.field_cell(Cell::new(399, 4)), Some((99, 1)));
        assert_eq!(big.field_cell(Cell::new(400, 0)), None);
    }
}
