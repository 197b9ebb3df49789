//! Behaviour of the trainers on small synthetic problems (CPU, one torch thread each).

use evaluation::classification::holdout;
use linfa::traits::{Fit, Predict, PredictInplace};
use linfa::DatasetBase;
use ndarray::{Array1, Array2, Axis};
use neural_models::{
    Activation, ClassWeights, DeviceChoice, Loss, MlpClassifierParams, MlpConfig, MlpRegressor,
    MlpRegressorParams, NeuralError, Normalisation, Optimiser, OutputHead,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A standard normal draw (Box–Muller), to avoid a distributions dependency.
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = rng.gen_range(f64::EPSILON..1.0);
    let v: f64 = rng.gen();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn normal_matrix(rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || normal(rng))
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// `y = sigmoid(x · w) + noise`, with inputs of very different scales so that scaling matters.
fn sigmoid_problem(rows: usize, noise: f64, seed: u64) -> (Array2<f64>, Array1<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = normal_matrix(rows, 4, &mut rng);
    x.column_mut(3).mapv_inplace(|v| 100.0 + 30.0 * v);
    let y = x
        .rows()
        .into_iter()
        .map(|r| {
            sigmoid(1.5 * r[0] - r[1] + 0.5 * r[2] + (r[3] - 100.0) / 30.0)
                + noise * normal(&mut rng)
        })
        .collect();
    (x, y)
}

fn mean_absolute_error(a: &Array1<f64>, b: &Array1<f64>) -> f64 {
    (a - b).mapv(f64::abs).mean().unwrap_or(f64::NAN)
}

fn small_regressor(hidden: Vec<usize>) -> MlpRegressorParams {
    MlpRegressorParams::new(MlpConfig::new(hidden))
        .threads(1)
        .batch_size(64)
}

#[test]
fn regressor_learns_sigmoid_of_linear_function() {
    let (x, y) = sigmoid_problem(2_000, 0.02, 1);
    let (x_test, y_test) = sigmoid_problem(500, 0.0, 2);
    let model = small_regressor(vec![32, 16])
        .config(MlpConfig::new(vec![32, 16]).output_head(OutputHead::Sigmoid))
        .optimiser(Optimiser::Adam)
        .learning_rate(3e-3)
        .max_epochs(60)
        .patience(10)
        .validation_fraction(0.2)
        .seed(3)
        .fit(&DatasetBase::new(x, y))
        .unwrap();
    let mae = mean_absolute_error(&model.predict(&x_test), &y_test);
    assert!(mae < 0.03, "test MAE {mae}");
    let best = &model.history()[model.best_epoch()];
    assert!(best.validation_mae.unwrap() < 0.04, "{best:?}");
}

#[test]
fn every_architecture_option_trains_to_finite_predictions() {
    let (x, y) = sigmoid_problem(300, 0.02, 4);
    let activations = [
        Activation::Relu,
        Activation::Gelu,
        Activation::Silu,
        Activation::Tanh,
        Activation::LeakyRelu,
    ];
    let norms = [
        Normalisation::None,
        Normalisation::Batch,
        Normalisation::Layer,
    ];
    let heads = [OutputHead::None, OutputHead::Sigmoid, OutputHead::Clipped];
    let losses = [Loss::L1, Loss::Huber { delta: 0.1 }, Loss::Mse];
    for (i, activation) in activations.into_iter().enumerate() {
        let config = MlpConfig::new(vec![8, 8])
            .activation(activation)
            .dropout(0.1)
            .normalisation(norms[i % 3])
            .output_head(heads[i % 3]);
        let model = small_regressor(vec![8])
            .config(config.clone())
            .loss(losses[i % 3])
            .max_epochs(3)
            .fit(&DatasetBase::new(x.clone(), y.clone()))
            .unwrap();
        let predictions = model.predict(&x);
        assert!(predictions.iter().all(|p| p.is_finite()), "{config:?}");
        if config.output_head == OutputHead::Clipped {
            assert!(predictions.iter().all(|p| (0.0..=1.0).contains(p)));
        }
    }
}

#[test]
fn parameters_are_counted_as_pytorch_counts_them() {
    let (x, y) = sigmoid_problem(100, 0.02, 5);
    let data = DatasetBase::new(x, y);
    let count = |normalisation| {
        small_regressor(vec![8, 6])
            .config(MlpConfig::new(vec![8, 6]).normalisation(normalisation))
            .max_epochs(1)
            .fit(&data)
            .unwrap()
            .n_parameters()
    };
    // 4 inputs -> 8 -> 6 -> 1: weights and biases of three linear layers.
    let linear = (4 * 8 + 8) + (8 * 6 + 6) + (6 + 1);
    assert_eq!(count(Normalisation::None), linear);
    // A scale and a shift per hidden unit; batch normalisation's running mean and variance
    // are buffers, not parameters.
    assert_eq!(count(Normalisation::Batch), linear + 2 * (8 + 6));
    assert_eq!(count(Normalisation::Layer), linear + 2 * (8 + 6));
}

/// Pure-noise targets on few rows: a wide network memorises them and validation loss rises.
fn overfitting_problem() -> (Array2<f64>, Array1<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let x = normal_matrix(80, 6, &mut rng);
    let y = Array1::from_shape_simple_fn(80, || rng.gen::<f64>());
    (x, y)
}

#[test]
fn early_stopping_restores_best_epoch() {
    let (x, y) = overfitting_problem();
    let (max_epochs, patience, fraction, seed) = (400, 8, 0.3, 11);
    let model = small_regressor(vec![128, 128])
        .learning_rate(1e-2)
        .batch_size(16)
        .max_epochs(max_epochs)
        .patience(patience)
        .validation_fraction(fraction)
        .seed(seed)
        .fit(&DatasetBase::new(x.clone(), y.clone()))
        .unwrap();
    let history = model.history();
    assert!(
        history.len() < max_epochs,
        "ran all {} epochs",
        history.len()
    );
    assert_eq!(history.len(), model.best_epoch() + patience + 1);
    let best_loss = history[model.best_epoch()].validation_loss.unwrap();
    assert!(history
        .iter()
        .all(|epoch| epoch.validation_loss.unwrap() >= best_loss));
    assert!(history.last().unwrap().validation_loss.unwrap() > best_loss);

    // The returned weights are the best epoch's: recompute its validation loss (MSE).
    let rows = holdout(x.nrows(), fraction, seed).validation;
    let predictions = model.predict(&x.select(Axis(0), &rows));
    let targets = y.select(Axis(0), &rows);
    let mse = (&predictions - &targets).mapv(|d| d * d).mean().unwrap();
    assert!(
        (mse - best_loss).abs() <= 1e-5 * best_loss.max(1.0),
        "restored model's validation loss {mse}, best in history {best_loss}"
    );
}

#[test]
fn plateau_schedule_lowers_learning_rate_but_not_below_minimum() {
    let (x, y) = overfitting_problem();
    let model = small_regressor(vec![64])
        .learning_rate(1e-2)
        .batch_size(16)
        .max_epochs(40)
        .patience(40)
        .reduce_on_plateau(0.5, 1, 2e-3)
        .fit(&DatasetBase::new(x, y))
        .unwrap();
    let rates: Vec<f64> = model.history().iter().map(|e| e.learning_rate).collect();
    assert_eq!(rates[0], 1e-2);
    assert!(rates.windows(2).all(|w| w[1] <= w[0]), "{rates:?}");
    assert!(rates.iter().any(|&r| r < 1e-2), "{rates:?}");
    assert!(rates.iter().all(|&r| r >= 2e-3), "{rates:?}");
}

#[test]
fn fixed_seed_fit_is_reproducible_on_cpu() {
    let (x, y) = sigmoid_problem(400, 0.05, 6);
    let params = small_regressor(vec![16, 16])
        .config(
            MlpConfig::new(vec![16, 16])
                .dropout(0.2)
                .normalisation(Normalisation::Batch),
        )
        .optimiser(Optimiser::AdamW { weight_decay: 0.01 })
        .max_epochs(5)
        .seed(42);
    let data = DatasetBase::new(x.clone(), y);
    let first = params.fit(&data).unwrap();
    let second = params.fit(&data).unwrap();
    assert_eq!(first.predict(&x), second.predict(&x));
    assert_eq!(first.history(), second.history());
    let other_seed = params.clone().seed(43).fit(&data).unwrap();
    assert_ne!(first.predict(&x), other_seed.predict(&x));
}

#[test]
fn wrong_input_width_predicts_nan_and_try_predict_says_why() {
    let (x, y) = sigmoid_problem(100, 0.0, 7);
    let model = small_regressor(vec![4])
        .max_epochs(1)
        .fit(&DatasetBase::new(x, y))
        .unwrap();
    let narrow = Array2::zeros((3, 2));
    assert!(model.predict(&narrow).iter().all(|p| p.is_nan()));
    let error = model.try_predict(narrow.view()).unwrap_err();
    assert!(matches!(
        error,
        NeuralError::WidthMismatch {
            expected: 4,
            found: 2
        }
    ));
    assert_eq!(
        model
            .try_predict(Array2::zeros((0, 4)).view())
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn invalid_parameters_and_data_are_rejected_with_their_names() {
    let (x, y) = sigmoid_problem(50, 0.0, 8);
    let data = DatasetBase::new(x.clone(), y.clone());
    let message = |params: MlpRegressorParams| params.fit(&data).unwrap_err().to_string();
    assert!(message(small_regressor(vec![4]).learning_rate(0.0)).contains("learning_rate"));
    assert!(message(small_regressor(vec![4]).batch_size(0)).contains("batch_size"));
    assert!(message(small_regressor(vec![4]).validation_fraction(1.0)).contains("validation"));
    assert!(message(small_regressor(vec![0])).contains("hidden"));
    assert!(message(small_regressor(vec![4]).loss(Loss::Huber { delta: 0.0 })).contains("delta"));
    assert!(
        message(small_regressor(vec![4]).config(MlpConfig::new(vec![4]).dropout(1.0)))
            .contains("dropout")
    );
    assert!(
        message(small_regressor(vec![4]).with_feature_names(vec!["a".into()]))
            .contains("feature_names")
    );

    let mut bad_x = x;
    bad_x[[7, 2]] = f64::NAN;
    let error = small_regressor(vec![4])
        .fit(&DatasetBase::new(bad_x, y))
        .unwrap_err()
        .to_string();
    assert!(error.contains("row 7, column 2"), "{error}");
}

/// Three well-separated Gaussian blobs in the plane, with unequal class sizes.
fn blobs(seed: u64) -> (Array2<f64>, Array1<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres = [(0.0, 4.0), (-4.0, -3.0), (4.0, -3.0)];
    let sizes = [300, 150, 60];
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for (class, (&(cx, cy), &size)) in centres.iter().zip(&sizes).enumerate() {
        for _ in 0..size {
            rows.push([cx + normal(&mut rng), cy + normal(&mut rng)]);
            labels.push(class);
        }
    }
    (Array2::from(rows), Array1::from(labels))
}

#[test]
fn classifier_learns_separable_three_class_problem() {
    let (x, y) = blobs(9);
    let (x_test, y_test) = blobs(10);
    for weights in [ClassWeights::Uniform, ClassWeights::Balanced] {
        let model = MlpClassifierParams::new(MlpConfig::new(vec![16]))
            .class_weights(weights.clone())
            .threads(1)
            .batch_size(32)
            .learning_rate(1e-2)
            .max_epochs(30)
            .seed(1)
            .fit(&DatasetBase::new(x.clone(), y.clone()))
            .unwrap();
        assert_eq!(model.n_classes(), 3);
        let predicted: Array1<usize> = model.predict(&x_test);
        let accuracy = predicted
            .iter()
            .zip(&y_test)
            .filter(|(p, t)| p == t)
            .count() as f64
            / y_test.len() as f64;
        assert!(accuracy > 0.97, "{weights:?}: accuracy {accuracy}");
        let best = &model.history()[model.best_epoch()];
        assert!(best.validation_accuracy.unwrap() > 0.95, "{best:?}");
        assert!(best.validation_mae.is_none());

        let proba = model.predict_proba(x_test.view()).unwrap();
        assert_eq!(proba.dim(), (x_test.nrows(), 3));
        assert!(proba
            .sum_axis(Axis(1))
            .iter()
            .all(|s| (s - 1.0).abs() < 1e-9));
    }
}

#[test]
fn classifier_accepts_custom_weights_and_rejects_wrong_count() {
    let (x, y) = blobs(11);
    let data = DatasetBase::new(x.clone(), y);
    let params = MlpClassifierParams::new(MlpConfig::new(vec![8]))
        .threads(1)
        .max_epochs(2);
    let model = params
        .clone()
        .class_weights(ClassWeights::Custom(vec![1.0, 2.0, 5.0]))
        .fit(&data)
        .unwrap();
    let mut labels = Array1::zeros(x.nrows());
    model.predict_inplace(&x, &mut labels);
    assert!(labels.iter().all(|&l| l < 3));
    let error = params
        .class_weights(ClassWeights::Custom(vec![1.0, 2.0]))
        .fit(&data)
        .unwrap_err();
    assert!(error.to_string().contains("class_weights"), "{error}");
}

/// What the `evaluation` crate relies on: linfa bounds, and models it can send across threads.
#[test]
fn trainers_meet_the_workspace_fit_predict_bounds() {
    fn cross_check<P>(params: &P, data: &DatasetBase<Array2<f64>, Array1<f64>>) -> Array1<f64>
    where
        P: Fit<Array2<f64>, Array1<f64>, NeuralError> + Sync,
        P::Object: PredictInplace<Array2<f64>, Array1<f64>> + Send + Sync,
    {
        let model = params.fit(data).unwrap();
        std::thread::scope(|scope| {
            scope
                .spawn(|| model.predict(data.records()))
                .join()
                .unwrap()
        })
    }
    let (x, y) = sigmoid_problem(64, 0.0, 12);
    let params = small_regressor(vec![4])
        .max_epochs(1)
        .device(DeviceChoice::Cpu);
    let predictions = cross_check(&params, &DatasetBase::new(x, y));
    assert_eq!(predictions.len(), 64);
    let _: Option<MlpRegressor> = None;
}

#[test]
fn concurrent_fits_with_one_seed_match_a_sequential_fit() {
    let (x, y) = sigmoid_problem(300, 0.05, 13);
    let params = small_regressor(vec![16])
        .config(MlpConfig::new(vec![16]).dropout(0.3))
        .max_epochs(4)
        .seed(5);
    let data = DatasetBase::new(x.clone(), y);
    let alone = params.fit(&data).unwrap().predict(&x);
    let together: Vec<Array1<f64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| params.fit(&data).unwrap().predict(&x)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(together.iter().all(|predictions| *predictions == alone));
}
