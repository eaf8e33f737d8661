//! A raster summary of an areal literal, so most features are decided without an exact test.
//!
//! The literal's envelope is cut into `CELLS` x `CELLS` cells. Every cell a segment of the literal
//! passes through, and its eight neighbours, is a *boundary* cell; every other cell lies wholly
//! inside the literal or wholly outside it, because no segment comes near it. Inside a run of
//! non-boundary cells along a row nothing changes, so one exact point test per run classifies the
//! whole run. Prefix sums over the inside and outside cells then answer, in constant time,
//! whether a rectangle covers only inside cells (a feature there meets the literal) or only
//! outside cells (it cannot). Anything touching a boundary cell is left to the exact test.
//!
//! This is the idea behind PostGIS's prepared geometries and cached point-in-polygon trees: a
//! drawn area is tested against thousands of candidates, so an index over it pays at once.

use geo::{Coord, Intersects, Rect};

/// Cells per side. At 128 a parcel inside a drawn district spans a few cells, so the one-cell
/// band of boundary cells around the outline leaves most parcels decided by the sums.
const CELLS: usize = 128;

#[derive(Debug, Clone)]
pub struct Grid {
    origin: Coord<f64>,
    cell: Coord<f64>,
    /// `(CELLS + 1)^2` prefix sums of inside cells and of outside cells (at most `CELLS^2`,
    /// which fits 16 bits: a grid costs 66 KB, held as long as its filter is cached).
    inside: Vec<u16>,
    outside: Vec<u16>,
}

#[derive(Clone, Copy, PartialEq)]
enum Cell {
    Boundary,
    Inside,
    Outside,
}

impl Grid {
    /// The grid of an areal `literal` whose segments are `edges`; `None` for a degenerate
    /// envelope (a grid over a line has no cells).
    pub fn new(
        literal: &geo::Geometry<f64>,
        envelope: Rect<f64>,
        edges: impl Iterator<Item = geo::Line<f64>>,
    ) -> Option<Self> {
        let size = Coord {
            x: envelope.width(),
            y: envelope.height(),
        };
        if !(size.x > 0.0 && size.y > 0.0 && size.x.is_finite() && size.y.is_finite()) {
            return None;
        }
        let mut grid = Grid {
            origin: envelope.min(),
            cell: Coord {
                x: size.x / CELLS as f64,
                y: size.y / CELLS as f64,
            },
            inside: Vec::new(),
            outside: Vec::new(),
        };
        let mut cells = vec![Cell::Inside; CELLS * CELLS];
        for edge in edges {
            grid.mark_boundary(edge, &mut cells);
        }
        grid.classify_runs(literal, &mut cells);
        grid.sum(&cells);
        Some(grid)
    }

    fn column(&self, x: f64) -> isize {
        ((x - self.origin.x) / self.cell.x).floor() as isize
    }

    fn row(&self, y: f64) -> isize {
        ((y - self.origin.y) / self.cell.y).floor() as isize
    }

    /// Marks the cells `edge` passes through, column by column, and their neighbours. Columns
    /// and rows are clamped to the grid (with the neighbour band): a segment's cells always lie
    /// within its literal's envelope, and the clamp keeps a rounding error (or a coordinate
    /// that escaped validation) from turning into a loop over billions of cells.
    fn mark_boundary(&self, edge: geo::Line<f64>, cells: &mut [Cell]) {
        let (a, b) = if edge.start.x <= edge.end.x {
            (edge.start, edge.end)
        } else {
            (edge.end, edge.start)
        };
        let clamp = |v: isize| v.clamp(-1, CELLS as isize);
        let (c0, c1) = (clamp(self.column(a.x)), clamp(self.column(b.x)));
        for c in c0..=c1 {
            // The part of the segment within this column's x-range, clamped to the segment.
            let x_lo = (self.origin.x + c as f64 * self.cell.x).max(a.x);
            let x_hi = (self.origin.x + (c + 1) as f64 * self.cell.x).min(b.x);
            let y_at = |x: f64| {
                if b.x == a.x {
                    None
                } else {
                    Some(a.y + (b.y - a.y) * (x - a.x) / (b.x - a.x))
                }
            };
            let (y_lo, y_hi) = match (y_at(x_lo), y_at(x_hi)) {
                (Some(p), Some(q)) => (p.min(q), p.max(q)),
                _ => (a.y.min(b.y), a.y.max(b.y)),
            };
            for r in clamp(self.row(y_lo))..=clamp(self.row(y_hi)) {
                for (dc, dr) in NEIGHBOURHOOD {
                    let (cc, rr) = (c + dc, r + dr);
                    if (0..CELLS as isize).contains(&cc) && (0..CELLS as isize).contains(&rr) {
                        cells[rr as usize * CELLS + cc as usize] = Cell::Boundary;
                    }
                }
            }
        }
    }

    /// Gives each run of non-boundary cells in a row the side of its first cell's centre.
    fn classify_runs(&self, literal: &geo::Geometry<f64>, cells: &mut [Cell]) {
        for r in 0..CELLS {
            let row = &mut cells[r * CELLS..(r + 1) * CELLS];
            let mut c = 0;
            while c < CELLS {
                if row[c] == Cell::Boundary {
                    c += 1;
                    continue;
                }
                let centre = Coord {
                    x: self.origin.x + (c as f64 + 0.5) * self.cell.x,
                    y: self.origin.y + (r as f64 + 0.5) * self.cell.y,
                };
                let side = if literal.intersects(&centre) {
                    Cell::Inside
                } else {
                    Cell::Outside
                };
                while c < CELLS && row[c] != Cell::Boundary {
                    row[c] = side;
                    c += 1;
                }
            }
        }
    }

    fn sum(&mut self, cells: &[Cell]) {
        let n = CELLS + 1;
        let mut inside = vec![0u16; n * n];
        let mut outside = vec![0u16; n * n];
        for r in 0..CELLS {
            for c in 0..CELLS {
                let (i, o) = match cells[r * CELLS + c] {
                    Cell::Inside => (1, 0),
                    Cell::Outside => (0, 1),
                    Cell::Boundary => (0, 0),
                };
                let at = (r + 1) * n + (c + 1);
                let sum = |s: &[u16], own: u16| {
                    own.wrapping_add(s[at - 1])
                        .wrapping_add(s[at - n])
                        .wrapping_sub(s[at - n - 1])
                };
                inside[at] = sum(&inside, i);
                outside[at] = sum(&outside, o);
            }
        }
        self.inside = inside;
        self.outside = outside;
    }

    fn count(sums: &[u16], c0: usize, r0: usize, c1: usize, r1: usize) -> u16 {
        let n = CELLS + 1;
        sums[(r1 + 1) * n + c1 + 1] + sums[r0 * n + c0]
            - sums[r0 * n + c1 + 1]
            - sums[(r1 + 1) * n + c0]
    }

    pub fn heap_bytes(&self) -> usize {
        (self.inside.capacity() + self.outside.capacity()) * std::mem::size_of::<u16>()
    }

    /// `Some(true)` if a non-empty geometry within `r` must meet the literal, `Some(false)` if
    /// it cannot, `None` if only an exact test can tell.
    pub fn classify(&self, r: Rect<f64>) -> Option<bool> {
        let (c0, c1) = (self.column(r.min().x), self.column(r.max().x));
        let (r0, r1) = (self.row(r.min().y), self.row(r.max().y));
        let last = CELLS as isize - 1;
        let within = c0 >= 0 && r0 >= 0 && c1 <= last && r1 <= last;
        // Beyond the grid there is no literal, so clamping keeps "only outside" true.
        let clamp = |v: isize| v.clamp(0, last) as usize;
        let (c0, c1, r0, r1) = (clamp(c0), clamp(c1), clamp(r0), clamp(r1));
        let area = ((c1 - c0 + 1) * (r1 - r0 + 1)) as u16;
        if Self::count(&self.outside, c0, r0, c1, r1) == area {
            Some(false)
        } else if within && Self::count(&self.inside, c0, r0, c1, r1) == area {
            Some(true)
        } else {
            None
        }
    }
}

const NEIGHBOURHOOD: [(isize, isize); 9] = [
    (-1, -1),
    (0, -1),
    (1, -1),
    (-1, 0),
    (0, 0),
    (1, 0),
    (-1, 1),
    (0, 1),
    (1, 1),
];
