//! Interest management: a uniform grid over entity positions, rebuilt every tick.
//!
//! With cells as wide as the view radius, a client's view touches at most 3 × 3 cells, so the
//! cost of a query grows with the entities near the client, not with the room's size, and a
//! tick costs O(entities + Σ nearby) instead of O(entities × clients).

use std::collections::HashMap;

use glam::Vec2;

/// Entity indices bucketed by cell.
#[derive(Debug)]
pub struct SpatialGrid {
    cell: f32,
    cells: HashMap<(i32, i32), Vec<u32>>,
}

impl SpatialGrid {
    /// A grid for views of radius `radius` (> 0).
    pub fn new(radius: f32) -> Self {
        Self {
            cell: radius.max(1.0),
            cells: HashMap::new(),
        }
    }

    fn key(&self, p: Vec2) -> (i32, i32) {
        (
            (p.x / self.cell).floor() as i32,
            (p.y / self.cell).floor() as i32,
        )
    }

    /// Rebuilds from `positions` (entity `i` at `positions[i]`). Cell buffers are kept.
    pub fn rebuild(&mut self, positions: &[Vec2]) {
        for v in self.cells.values_mut() {
            v.clear();
        }
        for (i, &p) in positions.iter().enumerate() {
            let k = self.key(p);
            self.cells.entry(k).or_default().push(i as u32);
        }
        // Forget cells that stayed empty so a moving crowd does not grow the map forever.
        if self.cells.len() > 4 * positions.len().max(16) {
            self.cells.retain(|_, v| !v.is_empty());
        }
    }

    /// Writes into `out` (cleared first), in increasing order, the indices of the entities
    /// within `radius` of `center`.
    pub fn query(&self, center: Vec2, radius: f32, positions: &[Vec2], out: &mut Vec<u32>) {
        out.clear();
        let r2 = radius * radius;
        let (cx, cy) = self.key(center);
        let reach = (radius / self.cell).ceil() as i32;
        for gx in cx - reach..=cx + reach {
            for gy in cy - reach..=cy + reach {
                if let Some(v) = self.cells.get(&(gx, gy)) {
                    out.extend(
                        v.iter()
                            .copied()
                            .filter(|&i| positions[i as usize].distance_squared(center) <= r2),
                    );
                }
            }
        }
        out.sort_unstable();
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
        let mut out = Vec::new();
        for center in [
            Vec2::new(0.0, 0.0),
            Vec2::new(2000.0, 2000.0),
            Vec2::new(3999.0, 10.0),
        ] {
            grid.query(center, 600.0, &positions, &mut out);
            let brute: Vec<u32> = (0..positions.len() as u32)
                .filter(|&i| positions[i as usize].distance_squared(center) <= 600.0 * 600.0)
                .collect();
            assert_eq!(out, brute);
            assert!(!out.is_empty());
        }
    }
}
