//! Interest management: a uniform grid over entity positions, rebuilt every tick.
//!
//! With cells half as wide as the view radius, a client's view touches at most 5 × 5 cells, so
//! the cost of a query grows with the entities near the client, not with the room's size, and a
//! tick costs O(entities + Σ nearby) instead of O(entities × clients). Half-radius cells scan
//! about (2.5 r)² around a client instead of (3 r)² with radius-wide cells; a third of the
//! radius gains nothing more (`cargo bench --bench tick`).

use glam::Vec2;

/// Entity indices bucketed by cell, over the bounding box of this tick's positions.
#[derive(Debug)]
pub struct SpatialGrid {
    base_cell: f32,
    cell: f32,
    origin: Vec2,
    cols: i32,
    rows: i32,
    /// Each cell's entities with their positions, so a query reads one run of memory per cell.
    cells: Vec<Vec<(Vec2, u32)>>,
}

/// Most cells per side; a huge sparse world gets larger cells instead of a huge grid.
const MAX_SIDE: i32 = 1024;

impl SpatialGrid {
    /// A grid for views of radius `radius` (> 0).
    pub fn new(radius: f32) -> Self {
        let cell = (radius / 2.0).max(1.0);
        Self {
            base_cell: cell,
            cell,
            origin: Vec2::ZERO,
            cols: 0,
            rows: 0,
            cells: Vec::new(),
        }
    }

    fn coords(&self, p: Vec2) -> (i32, i32) {
        let c = ((p - self.origin) / self.cell).floor();
        (c.x as i32, c.y as i32)
    }

    /// Rebuilds from `positions` (entity `i` at `positions[i]`). Cell buffers are kept, and
    /// each cell lists its entities in increasing index order.
    pub fn rebuild(&mut self, positions: &[Vec2]) {
        for v in &mut self.cells {
            v.clear();
        }
        let finite = positions.iter().filter(|p| p.is_finite());
        let (lo, hi) = finite.fold(
            (Vec2::splat(f32::MAX), Vec2::splat(f32::MIN)),
            |(lo, hi), &p| (lo.min(p), hi.max(p)),
        );
        if lo.x > hi.x {
            self.cols = 0;
            self.rows = 0;
            return;
        }
        self.origin = lo;
        self.cell = self
            .base_cell
            .max((hi - lo).max_element() / (MAX_SIDE - 1) as f32);
        let span = (hi - lo) / self.cell;
        self.cols = (span.x.floor() as i32 + 1).clamp(1, MAX_SIDE);
        self.rows = (span.y.floor() as i32 + 1).clamp(1, MAX_SIDE);
        let n = (self.cols * self.rows) as usize;
        if self.cells.len() < n {
            self.cells.resize_with(n, Vec::new);
        }
        for (i, &p) in positions.iter().enumerate() {
            if !p.is_finite() {
                continue;
            }
            let (x, y) = self.coords(p);
            let (x, y) = (x.clamp(0, self.cols - 1), y.clamp(0, self.rows - 1));
            self.cells[(y * self.cols + x) as usize].push((p, i as u32));
        }
    }

    /// Writes into `out` (cleared first), in increasing order, the indices of the entities
    /// within `radius` of `center`.
    pub fn query(&self, center: Vec2, radius: f32, positions: &[Vec2], out: &mut Vec<u32>) {
        self.query_with(center, radius, positions, &mut Vec::new(), out);
    }

    /// [`SpatialGrid::query`] with a reusable bitmap (one bit per entity, left all clear), which
    /// puts the indices in order without sorting them when the room is not much larger than
    /// the view.
    pub fn query_with(
        &self,
        center: Vec2,
        radius: f32,
        positions: &[Vec2],
        marks: &mut Vec<u64>,
        out: &mut Vec<u32>,
    ) {
        out.clear();
        if self.cols == 0 || !center.is_finite() {
            return;
        }
        let r2 = radius * radius;
        let (x0, y0) = self.coords(center - Vec2::splat(radius));
        let (x1, y1) = self.coords(center + Vec2::splat(radius));
        let (x0, x1) = (x0.max(0), x1.min(self.cols - 1));
        let (y0, y1) = (y0.max(0), y1.min(self.rows - 1));
        for y in y0..=y1 {
            for x in x0..=x1 {
                let cell = &self.cells[(y * self.cols + x) as usize];
                out.extend(
                    cell.iter()
                        .filter(|(p, _)| p.distance_squared(center) <= r2)
                        .map(|&(_, i)| i),
                );
            }
        }
        let words = positions.len().div_ceil(64);
        // Scanning the bitmap beats sorting while it has a few words per index found.
        if words > 8 * out.len() {
            out.sort_unstable();
            return;
        }
        if marks.len() < words {
            marks.resize(words, 0);
        }
        let (mut lo, mut hi) = (usize::MAX, 0);
        for &i in out.iter() {
            let w = (i >> 6) as usize;
            marks[w] |= 1 << (i & 63);
            lo = lo.min(w);
            hi = hi.max(w);
        }
        out.clear();
        for (w, word) in marks.iter_mut().enumerate().take(hi + 1).skip(lo) {
            let mut bits = std::mem::take(word);
            while bits != 0 {
                out.push((w as u32) << 6 | bits.trailing_zeros());
                bits &= bits - 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exactly_the_entities_in_range() {
        let mut positions = Vec::new();
        let mut s = 12345u64;
        for _ in 0..2000 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let x = (s >> 33) as f32 / (1u64 << 31) as f32 * 4000.0;
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let y = (s >> 33) as f32 / (1u64 << 31) as f32 * 4000.0;
            positions.push(Vec2::new(x, y));
        }
        let mut grid = SpatialGrid::new(600.0);
        grid.rebuild(&positions);
        let (mut out, mut marks) = (Vec::new(), Vec::new());
        for center in [
            Vec2::new(0.0, 0.0),
            Vec2::new(2000.0, 2000.0),
            Vec2::new(3999.0, 10.0),
        ] {
            grid.query(center, 600.0, &positions, &mut out);
            let mut marked = Vec::new();
            grid.query_with(center, 600.0, &positions, &mut marks, &mut marked);
            assert_eq!(marked, out);
            assert!(marks.iter().all(|&w| w == 0), "the bitmap is left clear");
            let brute: Vec<u32> = (0..positions.len() as u32)
                .filter(|&i| positions[i as usize].distance_squared(center) <= 600.0 * 600.0)
                .collect();
            assert_eq!(out, brute);
            assert!(!out.is_empty());
        }
    }

    #[test]
    fn a_huge_sparse_world_gets_larger_cells() {
        let positions = vec![
            Vec2::new(-1e7, 0.0),
            Vec2::new(0.0, 0.0),
            Vec2::new(5.0, 5.0),
            Vec2::new(1e7, 1e7),
        ];
        let mut grid = SpatialGrid::new(10.0);
        grid.rebuild(&positions);
        assert!(grid.cols <= MAX_SIDE && grid.rows <= MAX_SIDE);
        let mut out = Vec::new();
        grid.query(Vec2::ZERO, 10.0, &positions, &mut out);
        assert_eq!(out, vec![1, 2]);
        grid.query(Vec2::new(1e7, 1e7), 1.0, &positions, &mut out);
        assert_eq!(out, vec![3]);
        grid.rebuild(&[]);
        grid.query(Vec2::ZERO, 10.0, &[], &mut out);
        assert!(out.is_empty());
    }
}
