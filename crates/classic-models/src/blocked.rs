//! Training rows laid out for exhaustive distance scans (k-NN, near twins).
//!
//! A row-by-row scan sums each row's squared differences in column order, one addition after
//! the other: a chain of dependent additions, so the core waits on each one. [`Blocked`]
//! interleaves [`LANES`] rows column by column, so that one pass over the columns keeps
//! [`LANES`] independent sums going side by side. Each sum is still taken in column order,
//! starting from zero, so every distance is bit for bit the row-by-row one.

use ndarray::ArrayView2;

/// Rows summed side by side.
pub(crate) const LANES: usize = 8;

/// Rows interleaved in blocks of [`LANES`]: `data[(block * n_cols + column) * LANES + lane]`
/// holds row `block * LANES + lane`'s value in `column` (the last block padded with zeros).
pub(crate) struct Blocked {
    n_rows: usize,
    n_cols: usize,
    data: Vec<f64>,
}

impl Blocked {
    /// The rows of `x`, interleaved.
    pub(crate) fn new(x: ArrayView2<'_, f64>) -> Blocked {
        let (n_rows, n_cols) = x.dim();
        let blocks = n_rows.div_ceil(LANES);
        let mut data = vec![0.0; blocks * n_cols * LANES];
        for ((row, column), &value) in x.indexed_iter() {
            let (block, lane) = (row / LANES, row % LANES);
            data[(block * n_cols + column) * LANES + lane] = value;
        }
        Blocked {
            n_rows,
            n_cols,
            data,
        }
    }

    /// The squared Euclidean distance of `query` to every row, in row order, into `out`
    /// (cleared first). Each is `Σ (row[j] − query[j])²` added in column order from zero, as a
    /// row-by-row loop adds it. `query` must have one value per column.
    pub(crate) fn squared_distances(&self, query: &[f64], out: &mut Vec<f64>) {
        out.clear();
        if query.len() != self.n_cols {
            out.resize(self.n_rows, f64::NAN);
            return;
        }
        let width = self.n_cols * LANES;
        for block in 0..self.n_rows.div_ceil(LANES) {
            let mut sums = [0.0f64; LANES];
            let values = &self.data[block * width..(block + 1) * width];
            for (column, &q) in values.chunks_exact(LANES).zip(query) {
                for (sum, &v) in sums.iter_mut().zip(column) {
                    let d = v - q;
                    *sum += d * d;
                }
            }
            let rows = LANES.min(self.n_rows - block * LANES);
            out.extend_from_slice(&sums[..rows]);
        }
    }
}

impl Blocked {
    /// Visits, in row order, the rows whose squared distance to `query` may be at most `*best`,
    /// with that distance (summed as [`Blocked::squared_distances`] sums it); `visit` may lower
    /// `*best`. A block is left as soon as every one of its partial sums exceeds `*best`: sums
    /// only grow, so none of its rows could have been at most `*best`.
    pub(crate) fn visit_within(
        &self,
        query: &[f64],
        best: &mut f64,
        mut visit: impl FnMut(usize, f64, &mut f64),
    ) {
        if query.len() != self.n_cols {
            return;
        }
        let width = self.n_cols * LANES;
        'blocks: for block in 0..self.n_rows.div_ceil(LANES) {
            let mut sums = [0.0f64; LANES];
            let values = &self.data[block * width..(block + 1) * width];
            for (c, (column, &q)) in values.chunks_exact(LANES).zip(query).enumerate() {
                for (sum, &v) in sums.iter_mut().zip(column) {
                    let d = v - q;
                    *sum += d * d;
                }
                if c % 4 == 3 && sums.iter().all(|s| *s > *best) {
                    continue 'blocks;
                }
            }
            let rows = LANES.min(self.n_rows - block * LANES);
            for (lane, &sum) in sums[..rows].iter().enumerate() {
                visit(block * LANES + lane, sum, best);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};

    #[test]
    fn every_distance_is_the_row_by_row_sum_bit_for_bit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for (rows, cols) in [(1, 1), (7, 3), (8, 36), (19, 36), (100, 5)] {
            let x = Array2::from_shape_fn((rows, cols), |_| rng.gen_range(-3.0..3.0));
            // Column-major too: the layout of the input does not matter.
            let x_t = x.t().to_owned();
            let blocked = Blocked::new(x.view());
            let from_transposed = Blocked::new(x_t.t());
            let query: Vec<f64> = (0..cols).map(|_| rng.gen_range(-3.0..3.0)).collect();
            let (mut out, mut again) = (Vec::new(), Vec::new());
            blocked.squared_distances(&query, &mut out);
            from_transposed.squared_distances(&query, &mut again);
            let expected: Vec<f64> = x
                .rows()
                .into_iter()
                .map(|row| {
                    row.iter()
                        .zip(&query)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                })
                .collect();
            assert_eq!(
                out.iter().map(|d| d.to_bits()).collect::<Vec<_>>(),
                expected.iter().map(|d| d.to_bits()).collect::<Vec<_>>(),
                "{rows} × {cols}"
            );
            assert_eq!(again, out);
        }
        let blocked = Blocked::new(Array2::<f64>::zeros((3, 2)).view());
        let mut out = Vec::new();
        blocked.squared_distances(&[1.0], &mut out);
        assert!(
            out.len() == 3 && out.iter().all(|d| d.is_nan()),
            "a query of another width"
        );
    }
}
