//! Row selection by track id: excluding held-out ids and removing duplicates.

use std::collections::{HashMap, HashSet};

use crate::features::Track;

/// A row that belongs to one Spotify track, so it can be selected by id.
pub trait Identified {
    /// The Spotify track id of the row.
    fn track_id(&self) -> &str;
}

impl Identified for Track {
    fn track_id(&self) -> &str {
        &self.id
    }
}

/// Removes every row whose id is in `excluded`, e.g. the evaluation ids before training.
pub fn exclude_ids<T: Identified, S: AsRef<str>>(rows: Vec<T>, excluded: &[S]) -> Vec<T> {
    let excluded: HashSet<&str> = excluded.iter().map(AsRef::as_ref).collect();
    rows.into_iter()
        .filter(|row| !excluded.contains(row.track_id()))
        .collect()
}

/// Keeps the first row of every id and drops the later ones, preserving order.
pub fn dedup_by_id<T: Identified>(rows: Vec<T>) -> Vec<T> {
    let mut seen = HashSet::with_capacity(rows.len());
    rows.into_iter()
        .filter(|row| seen.insert(row.track_id().to_string()))
        .collect()
}

/// Drops every row of every id that appears more than once, preserving order: the rule the
/// genre playlists' published protocol applies, since a repeated id may carry conflicting labels.
pub fn drop_repeated_ids<T: Identified>(rows: Vec<T>) -> Vec<T> {
    let mut counts: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    for row in &rows {
        *counts.entry(row.track_id().to_string()).or_insert(0) += 1;
    }
    rows.into_iter()
        .filter(|row| counts.get(row.track_id()) == Some(&1))
        .collect()
}

/// The number of distinct ids among `rows`.
pub fn unique_ids<T: Identified>(rows: &[T]) -> usize {
    rows.iter()
        .map(Identified::track_id)
        .collect::<HashSet<_>>()
        .len()
}

/// A group number per track: tracks whose audio features (all but valence) are identical get
/// the same number. The same recording is often released under several ids (single, album,
/// compilation), with identical features and valence; cross-validation that keeps such copies
/// together (see [`crate::split::group_k_fold`]) does not reward memorising them.
pub fn recording_groups(tracks: &[Track]) -> Vec<usize> {
    use crate::features::AudioFeature;
    let mut numbers: HashMap<Vec<u64>, usize> = HashMap::new();
    tracks
        .iter()
        .map(|track| {
            let key: Vec<u64> = AudioFeature::PREDICTORS
                .iter()
                .map(|&f| track.features.get(f).map_or(u64::MAX, f64::to_bits))
                .collect();
            let next = numbers.len();
            *numbers.entry(key).or_insert(next)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row(&'static str, u32);

    impl Identified for Row {
        fn track_id(&self) -> &str {
            self.0
        }
    }

    fn rows() -> Vec<Row> {
        vec![
            Row("a", 1),
            Row("b", 2),
            Row("a", 3),
            Row("c", 4),
            Row("b", 5),
        ]
    }

    fn tags(rows: &[Row]) -> Vec<u32> {
        rows.iter().map(|row| row.1).collect()
    }

    #[test]
    fn dedup_keeps_the_first_row_of_each_id() {
        assert_eq!(tags(&dedup_by_id(rows())), vec![1, 2, 4]);
    }

    #[test]
    fn drop_repeated_removes_every_row_of_a_repeated_id() {
        assert_eq!(tags(&drop_repeated_ids(rows())), vec![4]);
    }

    #[test]
    fn exclude_removes_listed_ids_only() {
        assert_eq!(tags(&exclude_ids(rows(), &["b"])), vec![1, 3, 4]);
        assert_eq!(unique_ids(&rows()), 3);
    }
}
