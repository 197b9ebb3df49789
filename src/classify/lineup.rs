//! The line-up: the learners every experiment compares (boosted trees, random forest, logistic
//! regression, k-NN, network) with settings sized to the data, the models they fit, and the
//! learners a blend may use.

use classic_models::FittedClassifier;
#[cfg(feature = "neural")]
use classic_models::{
    BoostingClassifierParams, ForestClassifierParams, KnnClassifierParams, LogisticParams, Scaled,
};
use evaluation::classification::PredictProba;
#[cfg(feature = "neural")]
use evaluation::classification::{cross_validate_classifier, ClassCvOutcome};
#[cfg(feature = "neural")]
use evaluation::{EvalError, Fold};
#[cfg(feature = "neural")]
use linfa::traits::Fit;
#[cfg(feature = "neural")]
use linfa::DatasetBase;
#[cfg(feature = "neural")]
use ndarray::Array1;
use ndarray::Array2;

#[cfg(feature = "neural")]
use crate::classify::error::LearnerError;
use crate::classify::identity::Learner;
#[cfg(feature = "neural")]
use crate::classify::network::{FittedNetwork, Network};
#[cfg(feature = "neural")]
use crate::classify::problem::Problem;

/// One learner of the line-up, with its settings.
#[cfg(feature = "neural")]
#[derive(Clone, Debug)]
pub enum Model {
    /// Gradient-boosted trees (softmax), early stopping on 20% of the training rows.
    Boosting(BoostingClassifierParams),
    /// Random forest.
    Forest(ForestClassifierParams),
    /// Multinomial logistic regression on standardised inputs.
    Logistic(LogisticParams),
    /// k-NN on standardised inputs.
    Knn(KnnClassifierParams),
    /// A multilayer perceptron, early stopping on 20% of the training rows.
    Network(Network),
}

#[cfg(feature = "neural")]
impl Model {
    /// Which learner it is.
    pub fn learner(&self) -> Learner {
        match self {
            Model::Boosting(_) => Learner::Boosting,
            Model::Forest(_) => Learner::RandomForest,
            Model::Logistic(_) => Learner::Logistic,
            Model::Knn(_) => Learner::Knn,
            Model::Network(_) => Learner::Network,
        }
    }

    /// The same learner with its seeds set to `seed`.
    pub fn reseeded(&self, seed: u64) -> Model {
        match self {
            Model::Boosting(p) => Model::Boosting(p.clone().seed(seed)),
            Model::Forest(p) => Model::Forest(p.clone().seed(seed)),
            Model::Network(n) => Model::Network(n.clone().with(|p| p.seed(seed))),
            other => other.clone(),
        }
    }

    /// A one-line description of its settings.
    pub fn describe(&self) -> String {
        match self {
            Model::Boosting(p) => format!("{p:?}"),
            Model::Forest(p) => format!("{p:?}"),
            Model::Logistic(p) => format!("{p:?}"),
            Model::Knn(p) => format!("{p:?}"),
            Model::Network(n) => describe_network(n),
        }
        .replace(['\n', '|'], " ")
        .replace(", seed: 0", "")
    }

    /// Cross-validates on `folds`.
    pub fn cross_validate(
        &self,
        problem: &Problem,
        folds: &[Fold],
    ) -> Result<ClassCvOutcome, EvalError> {
        let (x, y, k) = (&problem.x, &problem.y, problem.n_classes());
        match self {
            Model::Boosting(p) => cross_validate_classifier(p, x, y, k, folds),
            Model::Forest(p) => cross_validate_classifier(p, x, y, k, folds),
            Model::Logistic(p) => {
                cross_validate_classifier(&Scaled::new(p.clone()), x, y, k, folds)
            }
            Model::Knn(p) => cross_validate_classifier(&Scaled::new(p.clone()), x, y, k, folds),
            Model::Network(n) => cross_validate_classifier(n, x, y, k, folds),
        }
    }

    /// Fits on a matrix and labels.
    pub fn fit(&self, x: Array2<f64>, y: Array1<usize>) -> Result<Fitted, LearnerError> {
        let data = DatasetBase::new(x, y);
        Ok(match self {
            Model::Boosting(p) => Fitted::Classic(FittedClassifier::Boosting(p.fit(&data)?)),
            Model::Forest(p) => Fitted::Classic(FittedClassifier::Forest(p.fit(&data)?)),
            Model::Logistic(p) => Fitted::Classic(FittedClassifier::Logistic(
                Scaled::new(p.clone()).fit(&data)?,
            )),
            Model::Knn(p) => {
                Fitted::Classic(FittedClassifier::Knn(Scaled::new(p.clone()).fit(&data)?))
            }
            Model::Network(n) => Fitted::Network(n.fit(&data)?),
        })
    }
}

#[cfg(feature = "neural")]
fn describe_network(network: &Network) -> String {
    let architecture = network.params.architecture();
    let training = network.params.training_params();
    format!(
        "hidden {:?}, {:?}, dropout {}, {:?}, lr {}, batch {}, ≤{} epochs, patience {}",
        architecture.hidden,
        architecture.activation,
        architecture.dropout,
        training.optimiser,
        training.learning_rate,
        training.batch_size,
        training.max_epochs,
        training.patience
    )
}

/// A fitted learner of the line-up, or a weighted blend of them.
// With networks, the network variant is as large as the classic one; without them, boxing the
// classic one would change the type for one build only.
#[cfg_attr(not(feature = "neural"), allow(clippy::large_enum_variant))]
#[derive(Debug)]
pub enum Fitted {
    /// A classic classifier.
    Classic(FittedClassifier),
    /// A network.
    #[cfg(feature = "neural")]
    Network(FittedNetwork),
    /// A weighted mean of members' probabilities: at least one member, weights summing to one.
    Blend(Vec<(f64, Fitted)>),
}

#[cfg(feature = "neural")]
impl Fitted {
    /// The network it is or holds (a blend's first network member), if any.
    pub fn network(&self) -> Option<&FittedNetwork> {
        match self {
            Fitted::Network(network) => Some(network),
            Fitted::Blend(members) => members.iter().find_map(|(_, m)| match m {
                Fitted::Network(network) => Some(network),
                _ => None,
            }),
            Fitted::Classic(_) => None,
        }
    }
}

impl PredictProba for Fitted {
    fn n_classes(&self) -> usize {
        match self {
            Fitted::Classic(m) => m.n_classes(),
            #[cfg(feature = "neural")]
            Fitted::Network(m) => m.n_classes(),
            Fitted::Blend(members) => members
                .first()
                .expect("a blend has at least one member")
                .1
                .n_classes(),
        }
    }

    fn predict_proba(&self, x: &Array2<f64>) -> Result<Array2<f64>, evaluation::ProbaError> {
        match self {
            Fitted::Classic(m) => m.predict_proba(x),
            #[cfg(feature = "neural")]
            Fitted::Network(m) => m.predict_proba(x),
            Fitted::Blend(members) => {
                let mut total = Array2::zeros((x.nrows(), self.n_classes()));
                for (weight, member) in members {
                    if *weight > 0.0 {
                        total.scaled_add(*weight, &member.predict_proba(x)?);
                    }
                }
                Ok(total)
            }
        }
    }
}

/// The learners a blend may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlendPool {
    /// Every learner of the line-up.
    All,
    /// Only these.
    Only(Vec<Learner>),
}

impl BlendPool {
    /// Whether a learner may join the blend.
    pub fn admits(&self, learner: Learner) -> bool {
        match self {
            BlendPool::All => true,
            BlendPool::Only(learners) => learners.contains(&learner),
        }
    }
}

/// Sizes the line-up to the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Hundreds to a few thousand rows (moods, genres).
    Small,
    /// Tens of thousands of rows (popularity, hits).
    Large,
}

/// The line-up: four classic learners and a network, with settings for the data's size; token
/// settings when `quick`.
#[cfg(feature = "neural")]
pub fn lineup(n_classes: usize, scale: Scale, quick: bool) -> Vec<Model> {
    match (quick, scale) {
        (true, _) => quick_lineup(n_classes),
        (false, Scale::Small) => small_lineup(n_classes),
        (false, Scale::Large) => large_lineup(n_classes),
    }
}

#[cfg(feature = "neural")]
fn quick_lineup(k: usize) -> Vec<Model> {
    vec![
        Model::Boosting(
            BoostingClassifierParams::new()
                .n_classes(k)
                .n_rounds(30)
                .learning_rate(0.2),
        ),
        Model::Forest(ForestClassifierParams::new().n_classes(k).n_trees(20)),
        Model::Logistic(LogisticParams::new().n_classes(k).iterations(100)),
        Model::Knn(KnnClassifierParams::new().n_classes(k)),
        Model::Network(Network::new(vec![16], 0.0, k, 0).with(|p| p.max_epochs(3).batch_size(256))),
    ]
}

#[cfg(feature = "neural")]
fn small_lineup(k: usize) -> Vec<Model> {
    vec![
        Model::Boosting(
            BoostingClassifierParams::new()
                .n_classes(k)
                .n_rounds(3000)
                .learning_rate(0.02)
                .max_leaves(8)
                .min_leaf_rows(5)
                .row_fraction(0.8)
                .feature_fraction(0.7)
                .l2_regularisation(1.0)
                .early_stopping_rounds(150)
                .refit(true),
        ),
        Model::Forest(
            ForestClassifierParams::new()
                .n_classes(k)
                .n_trees(500)
                .features_per_split(Some(2)),
        ),
        Model::Logistic(LogisticParams::new().n_classes(k).l2(1e-3)),
        Model::Knn(KnnClassifierParams::new().n_classes(k).k(15)),
        Model::Network(Network::new(vec![128, 64], 0.2, k, 0)),
    ]
}

#[cfg(feature = "neural")]
fn large_lineup(k: usize) -> Vec<Model> {
    vec![
        Model::Boosting(
            BoostingClassifierParams::new()
                .n_classes(k)
                .n_rounds(2000)
                .learning_rate(0.05)
                .max_leaves(31)
                .min_leaf_rows(20)
                .row_fraction(0.8)
                .feature_fraction(0.8)
                .early_stopping_rounds(50)
                .refit(true),
        ),
        Model::Forest(
            ForestClassifierParams::new()
                .n_classes(k)
                .n_trees(100)
                .min_leaf_rows(2),
        ),
        Model::Logistic(LogisticParams::new().n_classes(k).l2(1e-4)),
        Model::Knn(KnnClassifierParams::new().n_classes(k).k(31)),
        Model::Network(
            Network::new(vec![256, 128, 64], 0.1, k, 0)
                .with(|p| p.batch_size(256).learning_rate(1e-3).patience(20)),
        ),
    ]
}

/// The model of a learner in a line-up.
#[cfg(feature = "neural")]
pub fn model_of(models: &[Model], learner: Learner) -> Option<&Model> {
    models.iter().find(|m| m.learner() == learner)
}

#[cfg(all(test, feature = "neural"))]
mod tests {
    use super::*;

    #[test]
    fn every_lineup_has_each_learner_once_in_order() {
        for (scale, quick) in [
            (Scale::Small, false),
            (Scale::Large, false),
            (Scale::Small, true),
        ] {
            let learners: Vec<Learner> =
                lineup(3, scale, quick).iter().map(Model::learner).collect();
            assert_eq!(learners, Learner::ALL, "{scale:?} quick {quick}");
        }
    }

    #[test]
    fn a_pool_of_some_learners_admits_only_those() {
        let pool = BlendPool::Only(vec![Learner::Boosting, Learner::Network]);
        assert!(pool.admits(Learner::Network));
        assert!(!pool.admits(Learner::Knn));
        assert!(BlendPool::All.admits(Learner::Knn));
    }
}
