//! The boosting's random draws, made as LightGBM 4 makes them: its generator, its seeds derived
//! from one `seed`, its bagging (each row in the bag with probability `row_fraction`, from one
//! generator per block of 1,024 rows) and its per-tree feature sample. Given the same seed and
//! training rows, the two libraries bag the same rows and sample the same features for every
//! tree, so a comparison between them measures the learners, not the luck of two draws.
//!
//! Sources: `include/LightGBM/utils/random.h`, `src/io/config.cpp` (the seeds),
//! `src/boosting/bagging.hpp` and `src/treelearner/col_sampler.hpp` of LightGBM 4.7.

/// LightGBM's `Random`: a 32-bit linear congruential generator (the constants of MSVC's `rand`).
#[derive(Clone, Debug)]
pub(crate) struct LcgRandom {
    x: u32,
}

impl LcgRandom {
    /// The generator LightGBM's `Random(int seed)` makes; the seed's low 32 bits are the state.
    pub(crate) fn new(seed: u64) -> LcgRandom {
        LcgRandom { x: seed as u32 }
    }

    fn step(&mut self) -> u32 {
        self.x = self.x.wrapping_mul(214_013).wrapping_add(2_531_011);
        self.x
    }

    fn int16(&mut self) -> u32 {
        (self.step() >> 16) & 0x7FFF
    }

    fn int32(&mut self) -> u32 {
        self.step() & 0x7FFF_FFFF
    }

    /// An integer in `lower..upper` from 15 random bits (`NextShort`).
    pub(crate) fn next_short(&mut self, lower: u32, upper: u32) -> u32 {
        self.int16() % (upper - lower) + lower
    }

    /// An integer in `lower..upper` from 31 random bits (`NextInt`).
    fn next_int(&mut self, lower: u32, upper: u32) -> u32 {
        self.int32() % (upper - lower) + lower
    }

    /// A float in `[0, 1)` in steps of 1/32,768 (`NextFloat`).
    pub(crate) fn next_float(&mut self) -> f32 {
        self.int16() as f32 / 32_768.0
    }

    /// `k` of `0..n`, in ascending order (`Sample`): none when `k` is 0 or above `n`, all of
    /// them without a draw when `k == n`.
    pub(crate) fn sample(&mut self, n: usize, k: usize) -> Vec<usize> {
        if k > n || k == 0 {
            return Vec::new();
        }
        if k == n {
            return (0..n).collect();
        }
        let mut chosen = Vec::with_capacity(k);
        if k > 1 && k as f64 > n as f64 / (k as f64).log2() {
            // Selection sampling, one draw per candidate.
            for i in 0..n {
                let probability = (k - chosen.len()) as f64 / (n - i) as f64;
                if f64::from(self.next_float()) < probability {
                    chosen.push(i);
                }
            }
        } else {
            // Floyd's algorithm.
            let mut set = std::collections::BTreeSet::new();
            for r in n - k..n {
                let v = self.next_int(0, r as u32 + 1) as usize;
                if !set.insert(v) {
                    set.insert(r);
                }
            }
            chosen.extend(set);
        }
        chosen
    }
}

/// Rows per bagging generator (LightGBM's `bagging_rand_block_`).
const BAG_BLOCK: usize = 1024;

/// Feature samples LightGBM draws before its first tree's: the tree learner's set-up draws one
/// (`ColSampler::SetTrainingData`) that no tree uses.
const UNUSED_FEATURE_SAMPLES: usize = 1;

/// The bags and feature samples of one fit, tree after tree.
pub(crate) struct Draws {
    bagging: Vec<LcgRandom>,
    features: LcgRandom,
}

impl Draws {
    /// The draws of a fit on `n` rows with `seed`: the bagging and feature seeds are the second
    /// and fourth numbers of a generator seeded with `seed`, as LightGBM's `seed` sets
    /// `bagging_seed` and `feature_fraction_seed`.
    pub(crate) fn new(seed: u64, n: usize, valid_features: usize, feature_count: usize) -> Draws {
        let mut seeds = LcgRandom::new(seed);
        let mut next = || u64::from(seeds.next_short(0, i16::MAX as u32));
        let _data_seed = next();
        let bagging_seed = next();
        let _drop_seed = next();
        let feature_seed = next();
        let mut draws = Draws {
            bagging: (0..n.div_ceil(BAG_BLOCK) as u64)
                .map(|block| LcgRandom::new(bagging_seed + block))
                .collect(),
            features: LcgRandom::new(feature_seed),
        };
        for _ in 0..UNUSED_FEATURE_SAMPLES {
            draws.features.sample(valid_features, feature_count);
        }
        draws
    }

    /// The next tree's bag: each row with probability `fraction`, in row order; `in_bag` says
    /// which rows are in it.
    pub(crate) fn bag(&mut self, fraction: f64, in_bag: &mut [bool]) -> Vec<u32> {
        let mut bag = Vec::with_capacity((in_bag.len() as f64 * fraction) as usize + 1);
        for (row, chosen) in in_bag.iter_mut().enumerate() {
            *chosen = f64::from(self.bagging[row / BAG_BLOCK].next_float()) < fraction;
            if *chosen {
                bag.push(row as u32);
            }
        }
        bag
    }

    /// The next tree's features: `count` of `valid`, in the order of `valid`.
    pub(crate) fn features(&mut self, valid: &[usize], count: usize) -> Vec<usize> {
        self.features
            .sample(valid.len(), count)
            .into_iter()
            .map(|i| valid[i])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_lightgbms() {
        // x1 = 214013 * 1 + 2531011 = 2745024; 2745024 >> 16 = 41.
        let mut random = LcgRandom::new(1);
        assert_eq!(random.next_short(0, 32_767), 41);
        // x2 = 214013 * 2745024 + 2531011 mod 2^32 = 1210316419; >> 16 & 0x7FFF = 18467.
        assert_eq!(random.next_float(), 18_467.0 / 32_768.0);
    }

    #[test]
    fn samples_are_sorted_distinct_and_of_the_asked_size() {
        let mut random = LcgRandom::new(7);
        for (n, k) in [(36, 25), (12, 8), (100, 3), (10, 1), (5, 5)] {
            let chosen = random.sample(n, k);
            assert!(
                chosen.windows(2).all(|w| w[0] < w[1]),
                "{n} {k}: {chosen:?}"
            );
            assert!(chosen.iter().all(|&i| i < n));
            // Selection sampling picks with probability 1 once as many candidates are left as
            // picks are missing, so it always ends with k.
            assert_eq!(chosen.len(), k, "{n} {k}");
        }
        assert!(random.sample(3, 4).is_empty());
        assert!(random.sample(3, 0).is_empty());
    }

    #[test]
    fn bags_hold_about_the_fraction_and_change_per_tree() {
        let mut draws = Draws::new(42, 5000, 10, 7);
        let mut in_bag = vec![false; 5000];
        let first = draws.bag(0.8, &mut in_bag);
        let second = draws.bag(0.8, &mut in_bag);
        for bag in [&first, &second] {
            assert!((3800..4200).contains(&bag.len()), "{}", bag.len());
            assert!(bag.windows(2).all(|w| w[0] < w[1]));
        }
        assert_ne!(first, second);
        assert_eq!(in_bag.iter().filter(|&&b| b).count(), second.len());
    }
}
