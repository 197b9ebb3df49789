//! Which features move valence: permutation importance, gain importance and partial dependence
//! of the boosting model, and sentences generated from them.

use classic_models::{Boosting, BoostingParams};
use evaluation::{Importance, ParamSet, PartialDependence, Tunable};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::{Budget, FeatureSetId, PipelineError, ValenceInputs};

/// What the feature-influence section is built from, for one feature set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Influence {
    /// The feature set.
    pub feature_set: FeatureSetId,
    /// Permutation importance of the boosting model on held-out folds.
    pub permutation: Vec<Importance>,
    /// The boosting model's own importance: total split gain, normalised to sum to 1.
    pub gain: Vec<Importance>,
    /// Partial dependence of the most important features.
    pub partial_dependence: Vec<PartialDependence>,
}

/// How thoroughly to explain.
#[derive(Clone, Copy, Debug)]
pub struct Explanation {
    /// Shuffles of each feature in permutation importance.
    pub repeats: usize,
    /// Features whose partial dependence is drawn, most important first.
    pub top: usize,
    /// Seed of the shuffles.
    pub seed: u64,
}

impl Explanation {
    /// The explanation a budget affords.
    pub fn at(budget: Budget, seed: u64) -> Explanation {
        let (repeats, top) = match budget {
            Budget::Full => (3, 6),
            Budget::Quick => (1, 3),
        };
        Explanation { repeats, top, seed }
    }
}

/// Explains the boosting model with parameters `params`, fitted on all rows of `x` as
/// `fitted`: permutation importance on the held-out folds, its own gain importance and
/// partial dependence of the top features.
pub fn explain_boosting(
    params: &ParamSet,
    features: FeatureSetId,
    x: &Array2<f64>,
    inputs: &ValenceInputs,
    fitted: &Boosting,
    explanation: Explanation,
) -> Result<Influence, PipelineError> {
    let names = features.set().names();
    let learner = BoostingParams::from_params(params)?;
    let permutation = evaluation::permutation_importance(
        &learner,
        x,
        &inputs.y,
        &names,
        &inputs.folds,
        explanation.repeats,
        explanation.seed,
    )?;
    let total_gain: f64 = fitted
        .gain_importance()
        .iter()
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    let mut gain: Vec<Importance> = names
        .iter()
        .zip(fitted.gain_importance())
        .map(|(name, g)| Importance {
            feature: name.clone(),
            mean: g / total_gain,
            sd: 0.0,
        })
        .collect();
    gain.sort_by(|a, b| b.mean.total_cmp(&a.mean));
    let partial_dependence = permutation
        .iter()
        .take(explanation.top)
        .map(|importance| {
            let column = names
                .iter()
                .position(|n| *n == importance.feature)
                .expect("permutation importance names the feature set's own columns");
            evaluation::partial_dependence(fitted, x, column, &importance.feature, 12)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Influence {
        feature_set: features,
        permutation,
        gain,
        partial_dependence,
    })
}

/// Sentences, generated from the numbers, saying which features raise valence, which lower it
/// and by how much.
pub fn influence_sentences(influence: &Influence) -> Vec<String> {
    let mut sentences: Vec<String> = influence
        .partial_dependence
        .iter()
        .enumerate()
        .filter_map(|(rank, curve)| {
            let importance = influence
                .permutation
                .iter()
                .find(|i| i.feature == curve.feature);
            curve_sentence(rank, curve, importance)
        })
        .collect();
    let negligible: Vec<String> = influence
        .permutation
        .iter()
        .filter(|i| i.mean < 0.0005)
        .map(|i| format!("`{}`", i.feature))
        .collect();
    if !negligible.is_empty() {
        sentences.push(format!(
            "Shuffling {} changes the held-out MAE by less than 0.0005: they carry almost nothing the other features do not.",
            negligible.join(", ")
        ));
    }
    sentences
}

/// The sentence on one feature's partial dependence (`None` for an empty curve).
fn curve_sentence(
    rank: usize,
    curve: &PartialDependence,
    importance: Option<&Importance>,
) -> Option<String> {
    let (first, last) = (curve.grid.first()?, curve.grid.last()?);
    let effect = curve.effect();
    let direction = if effect.abs() < 0.25 * curve.range() || effect.abs() < 0.005 {
        format!(
            "has no steady direction: moving it from {} to {} (5th to 95th percentile) changes predicted valence by {:+.3} overall, within a swing of {:.3}",
            format_value(*first),
            format_value(*last),
            effect,
            curve.range()
        )
    } else {
        let verb = if effect > 0.0 { "raises" } else { "lowers" };
        format!(
            "{verb} valence: moving it from {} to {} (5th to 95th percentile) {verb} the average prediction by {:.3}",
            format_value(*first),
            format_value(*last),
            effect.abs()
        )
    };
    let weight = importance.map_or(String::new(), |i| {
        format!(
            "; shuffling it on held-out tracks worsens MAE by {:.4} ± {:.4}",
            i.mean, i.sd
        )
    });
    Some(format!(
        "{}. `{}` {direction}{weight}.",
        rank + 1,
        curve.feature
    ))
}

fn format_value(value: f64) -> String {
    if value.abs() >= 1000.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}
