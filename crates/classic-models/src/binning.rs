//! Histogram bins of one feature column, shared by the histogram learners (the boosting
//! regressor and classifier, and the forest classifier).
//!
//! The bins follow LightGBM's rules (`FindBinWithZeroAsOneBin` and `GreedyFindBin` in its
//! `bin.cpp`) rather than plain quantiles, because plain quantiles waste bins on features with
//! heavy values (an `instrumentalness` of exactly 0 for a third of the tracks swallows a third of
//! the quantile positions, which then collapse into one bin):
//! - zero is a bin of its own (LightGBM's "zero as one bin"): the negative values share the
//!   bins below it in proportion to their rows, the positive values the bins above it, so a sign
//!   change is always a possible split;
//! - within each sign, with at most its share of bins in distinct values, one bin per value,
//!   merging a value into the next while the bin holds fewer than [`MIN_ROWS_PER_BIN`] rows;
//! - otherwise every value holding at least a mean bin's worth of rows gets a bin of its own, and
//!   the other values fill the remaining bins greedily, each about equally full.
//!
//! Edges lie halfway between the last value of a bin and the first of the next, and at
//! `±`[`ZERO`] around zero; a value `v` falls in the first bin `b` with `v <= edges[b]`, or in
//! the last bin.

/// Fewest rows a bin holds when the values allow it (LightGBM's `min_data_in_bin`).
pub(crate) const MIN_ROWS_PER_BIN: usize = 3;

/// Values within this of zero count as zero (LightGBM's `kZeroThreshold`).
pub(crate) const ZERO: f64 = 1e-35;

/// The bin edges of the finite values among `values`, for at most `max_bins` bins (`>= 2`), by
/// LightGBM's rules: the histogram learners of this crate bin every feature with it.
///
/// ```
/// // Zero is a bin of its own; the three positive values get a bin each, with edges one step
/// // of `f64` above halfway, so that 1.5 and 3.0 go left.
/// let edges = classic_models::bin_edges([0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 4.0, 4.0, 4.0], 255);
/// assert_eq!(edges, vec![1e-35, 1.5_f64.next_up(), 3.0_f64.next_up()]);
/// ```
pub fn bin_edges(values: impl IntoIterator<Item = f64>, max_bins: usize) -> Vec<f64> {
    let mut sorted: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let mut distinct: Vec<f64> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    for value in sorted {
        // Like LightGBM, values at most one step of `f64` apart count as one, the larger.
        if let Some(last) = distinct.last_mut().filter(|last| value <= last.next_up()) {
            *last = value;
            *counts.last_mut().expect("a count per distinct value") += 1;
        } else {
            distinct.push(value);
            counts.push(1);
        }
    }
    // One value (or none): nothing to split, and no bin is needed for its sign.
    if distinct.len() <= 1 {
        return Vec::new();
    }
    let max_bins = max_bins.max(2);
    let negative_end = distinct.partition_point(|&v| v <= -ZERO);
    let positive_start = distinct.partition_point(|&v| v <= ZERO);
    let rows = |range: std::ops::Range<usize>| counts[range].iter().sum::<usize>();
    let zero_rows = rows(negative_end..positive_start);
    let total = rows(0..counts.len());
    let mut edges = Vec::new();
    if negative_end > 0 {
        let share = rows(0..negative_end) as f64 / (total - zero_rows) as f64;
        let negative_bins = ((share * (max_bins - 1) as f64) as usize).max(1);
        edges = part_edges(
            &distinct[..negative_end],
            &counts[..negative_end],
            negative_bins,
        );
        // The last negative bin reaches up to zero.
        edges.push(-ZERO);
    }
    let positive_bins = max_bins - 1 - edges.len();
    if positive_start < distinct.len() && positive_bins > 0 {
        edges.push(ZERO);
        edges.extend(part_edges(
            &distinct[positive_start..],
            &counts[positive_start..],
            positive_bins,
        ));
    }
    edges
}

/// The inner edges of one sign's distinct values, for at most `max_bins` bins.
fn part_edges(distinct: &[f64], counts: &[usize], max_bins: usize) -> Vec<f64> {
    let cuts = if distinct.len() <= max_bins {
        cuts_by_value(counts)
    } else {
        cuts_greedy(counts, max_bins)
    };
    // The midpoint and one step of `f64` up (LightGBM's `GetDoubleUpperBound`), so that a value
    // exactly halfway goes left however its sum rounded.
    cuts.into_iter()
        .map(|i| ((distinct[i] + distinct[i + 1]) / 2.0).next_up())
        .collect()
}

/// The bin of `value`; NaN compares false everywhere, so it lands in the last bin, like values
/// above every edge.
pub(crate) fn bin_of(value: f64, edges: &[f64]) -> u8 {
    edges.partition_point(|&edge| value > edge || value.is_nan()) as u8
}

/// Cuts (a cut after distinct value `i`) with one bin per value, merging thin values forward.
fn cuts_by_value(counts: &[usize]) -> Vec<usize> {
    let mut cuts = Vec::new();
    let mut in_bin = 0;
    for (i, &count) in counts
        .iter()
        .enumerate()
        .take(counts.len().saturating_sub(1))
    {
        in_bin += count;
        if in_bin >= MIN_ROWS_PER_BIN {
            cuts.push(i);
            in_bin = 0;
        }
    }
    cuts
}

/// Cuts for more distinct values than bins: heavy values alone, the rest about equally full.
fn cuts_greedy(counts: &[usize], max_bins: usize) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    let max_bins = max_bins.min(total / MIN_ROWS_PER_BIN).max(1);
    if max_bins < 2 {
        return Vec::new();
    }
    let mean = total as f64 / max_bins as f64;
    let heavy: Vec<bool> = counts.iter().map(|&c| c as f64 >= mean).collect();
    let heavy_bins = heavy.iter().filter(|&&h| h).count();
    let heavy_rows: usize = counts
        .iter()
        .zip(&heavy)
        .filter(|(_, &h)| h)
        .map(|(c, _)| c)
        .sum();
    let mut rest_bins = max_bins.saturating_sub(heavy_bins).max(1);
    let mut rest_rows = total - heavy_rows;
    let mut target = rest_rows as f64 / rest_bins as f64;
    let mut cuts = Vec::new();
    let mut in_bin = 0usize;
    for i in 0..counts.len() - 1 {
        if !heavy[i] {
            rest_rows -= counts[i];
        }
        in_bin += counts[i];
        let full = in_bin as f64 >= target;
        let before_heavy = heavy[i + 1] && in_bin as f64 >= (target * 0.5).max(1.0);
        if heavy[i] || full || before_heavy {
            cuts.push(i);
            in_bin = 0;
            if !heavy[i] {
                rest_bins = rest_bins.saturating_sub(1).max(1);
                target = rest_rows as f64 / rest_bins as f64;
            }
            if cuts.len() + 1 >= max_bins {
                break;
            }
        }
    }
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows per bin of `values` under `edges`.
    fn fill(values: &[f64], edges: &[f64]) -> Vec<usize> {
        let mut fill = vec![0; edges.len() + 1];
        for &v in values {
            fill[bin_of(v, edges) as usize] += 1;
        }
        fill
    }

    #[test]
    fn few_distinct_values_get_a_bin_each_with_edges_just_above_halfway() {
        // Positive values: the bin at or below zero comes first, empty here.
        let values = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 4.0, 4.0, 4.0, f64::NAN];
        let up = |v: f64| v.next_up();
        assert_eq!(bin_edges(values, 255), vec![ZERO, up(1.5), up(3.0)]);
        assert_eq!(bin_of(1.5, &bin_edges(values, 255)), 1);
        let negated = values.map(|v| -v);
        assert_eq!(bin_edges(negated, 255), vec![up(-3.0), up(-1.5), -ZERO]);
    }

    #[test]
    fn thin_values_merge_into_the_next_bin() {
        // 0.5 holds one row, so it shares a bin with 1 (4 rows); 5 stays alone at the end.
        let values = [0.5, 1.0, 1.0, 1.0, 1.0, 5.0];
        assert_eq!(bin_edges(values, 255), vec![ZERO, 3.0_f64.next_up()]);
    }

    #[test]
    fn values_one_step_apart_count_as_one() {
        // 1 and the next f64 above it are one value of 4 rows, so 0.5 (1 row) joins them.
        let one_up = 1.0_f64.next_up();
        let values = [0.5, 1.0, 1.0, one_up, one_up, 5.0];
        assert_eq!(
            bin_edges(values, 255),
            vec![ZERO, ((one_up + 5.0) / 2.0).next_up()]
        );
    }

    #[test]
    fn zero_is_a_bin_of_its_own_and_the_signs_share_the_others_by_rows() {
        // 300 negative and 100 positive distinct values, 3 zeros, 21 bins: the 20 that are not
        // zero's go three quarters below zero and one quarter above.
        let mut values: Vec<f64> = (1..=300).map(|i| -f64::from(i)).collect();
        values.extend((1..=100).map(f64::from));
        values.extend([0.0, -0.0, 0.0]);
        let edges = bin_edges(values.iter().copied(), 21);
        let below = edges.iter().filter(|&&e| e < -ZERO).count();
        let above = edges.iter().filter(|&&e| e > ZERO).count();
        assert_eq!((below, above), (14, 4), "{edges:?}");
        assert!(edges.contains(&-ZERO) && edges.contains(&ZERO));
        let fill = fill(&values, &edges);
        assert_eq!(fill[below + 1], 3, "zero's bin: {fill:?}");
        assert!(fill.iter().all(|&n| n > 0), "{fill:?}");
    }

    #[test]
    fn a_heavy_value_gets_its_own_bin_and_the_rest_share_the_others() {
        // 400 zeros and 600 distinct values in (0, 1]: 10 bins of about 100 rows.
        let mut values = vec![0.0; 400];
        values.extend((1..=600).map(|i| f64::from(i) / 600.0));
        let edges = bin_edges(values.iter().copied(), 10);
        assert_eq!(edges.len(), 9, "{edges:?}");
        assert_eq!(edges[0], ZERO);
        let fill = fill(&values, &edges);
        assert_eq!(fill[0], 400);
        // The 600 others spread over the 9 remaining bins, none more than twice the mean.
        assert!(
            fill[1..].iter().all(|&n| (50..=140).contains(&n)),
            "{fill:?}"
        );
        // Plain quantiles would have given the 600 other values only 6 bins.
    }

    #[test]
    fn never_more_bins_than_asked_and_edges_increase() {
        let values: Vec<f64> = (0..10_000).map(|i| f64::from(i % 997).sqrt()).collect();
        for max_bins in [2, 3, 16, 255, 256] {
            let edges = bin_edges(values.iter().copied(), max_bins);
            assert!(edges.len() < max_bins, "{max_bins}: {} edges", edges.len());
            assert!(edges.windows(2).all(|w| w[0] < w[1]));
            assert!(fill(&values, &edges).iter().all(|&n| n > 0));
        }
    }

    #[test]
    fn empty_and_constant_columns_have_one_bin() {
        assert!(bin_edges([], 255).is_empty());
        assert!(bin_edges([f64::NAN, f64::INFINITY], 255).is_empty());
        assert!(bin_edges([3.0; 50], 255).is_empty());
        assert!(bin_edges([-3.0; 50], 255).is_empty());
        assert_eq!(bin_of(7.0, &[]), 0);
        assert_eq!(bin_of(f64::NAN, &[1.0, 2.0]), 2);
    }
}
