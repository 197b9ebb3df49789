//! Writing an experiment family's outputs: `metrics.json`, `details.json`, `report.md` and the
//! plots (confusion matrices, the network's curves, permutation importance).

use std::path::Path;

use evaluation::plot;
use evaluation::report::{write_json, Markdown};
use evaluation::EvalError;
use serde_json::{json, Map, Value};

use crate::classify::experiment::ExperimentOutcome;

/// The experiments `metrics.json` holds (others, such as the per-decade hit experiments, are
/// reported in `report.md` and `details.json` only).
pub const METRIC_NAMES: [&str; 7] = [
    "moods",
    "genre3",
    "genre5",
    "genre7",
    "activity4",
    "popularity",
    "hits",
];

fn number(value: f64) -> Value {
    if value.is_finite() {
        json!(value)
    } else {
        Value::Null
    }
}

/// The `metrics.json` value: `{"experiments": {NAME: {"best": {"model", "accuracy", "macro_f1",
/// "roc_auc"}, "models": {MODEL: {"accuracy", "macro_f1", "roc_auc"}}}}}`, each accuracy the
/// protocol's (CV mean, or mean over seeds).
pub fn metrics_json(outcomes: &[ExperimentOutcome]) -> Value {
    let mut experiments = Map::new();
    for outcome in outcomes
        .iter()
        .filter(|o| METRIC_NAMES.contains(&o.name.as_str()))
    {
        let mut models = Map::new();
        for model in &outcome.models {
            let m = model.protocol.mean;
            models.insert(
                model.name.clone(),
                json!({
                    "accuracy": number(m.accuracy),
                    "macro_f1": number(m.macro_f1),
                    "roc_auc": number(m.roc_auc),
                }),
            );
        }
        let best = outcome.best_summary().map(|m| m.protocol.mean);
        experiments.insert(
            outcome.name.clone(),
            json!({
                "best": {
                    "model": outcome.best,
                    "accuracy": number(best.map_or(f64::NAN, |b| b.accuracy)),
                    "macro_f1": number(best.map_or(f64::NAN, |b| b.macro_f1)),
                    "roc_auc": number(best.map_or(f64::NAN, |b| b.roc_auc)),
                },
                "models": models,
            }),
        );
    }
    json!({ "experiments": experiments })
}

fn percent(value: f64) -> String {
    if value.is_finite() {
        format!("{:.2}%", 100.0 * value)
    } else {
        "–".into()
    }
}

fn plain(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.4}")
    } else {
        "–".into()
    }
}

/// Plot file names of an experiment, relative to the output directory.
pub fn plot_names(name: &str) -> [String; 4] {
    [
        format!("plots/{name}_confusion.png"),
        format!("plots/{name}_network_loss.png"),
        format!("plots/{name}_network_accuracy.png"),
        format!("plots/{name}_importance.png"),
    ]
}

/// Draws an experiment's plots into `out/plots/`.
pub fn write_plots(out: &Path, outcome: &ExperimentOutcome) -> Result<(), EvalError> {
    let [confusion, loss, accuracy, importance] = plot_names(&outcome.name);
    plot::confusion_matrix(
        &out.join(confusion),
        &format!(
            "{}: {} ({})",
            outcome.title, outcome.best, "rows true, columns predicted"
        ),
        &outcome.classes,
        &outcome.confusion,
    )?;
    let history = &outcome.network.history;
    if !history.is_empty() {
        let train: Vec<f64> = history.iter().map(|r| r.train_loss).collect();
        let validation: Vec<f64> = history
            .iter()
            .map(|r| r.validation_loss.unwrap_or(f64::NAN))
            .collect();
        plot::learning_curves(
            &out.join(loss),
            &format!(
                "{}: network loss (best epoch {})",
                outcome.title,
                outcome.network.best_epoch + 1
            ),
            "cross-entropy",
            &[("train", &train), ("validation", &validation)],
        )?;
        let validation_accuracy: Vec<(f64, f64)> = history
            .iter()
            .enumerate()
            .map(|(e, r)| ((e + 1) as f64, r.validation_accuracy.unwrap_or(f64::NAN)))
            .collect();
        let train_accuracy: Vec<(f64, f64)> = outcome
            .network
            .train_accuracy_curve
            .iter()
            .map(|&(e, a)| (e as f64, a))
            .collect();
        plot::point_curves(
            &out.join(accuracy),
            &format!(
                "{}: network accuracy (best epoch {})",
                outcome.title,
                outcome.network.best_epoch + 1
            ),
            "epoch",
            "accuracy",
            &[
                ("validation", &validation_accuracy),
                ("train (replayed epochs)", &train_accuracy),
            ],
        )?;
    }
    plot::importance(
        &out.join(importance),
        &format!(
            "{}: permutation importance ({})",
            outcome.title, outcome.best
        ),
        "drop in accuracy when shuffled",
        &outcome.importance,
    )
}

/// How the best accuracy compares with the target, in a sentence.
pub fn target_sentence(outcome: &ExperimentOutcome) -> String {
    let best = outcome
        .best_summary()
        .map_or(f64::NAN, |m| m.protocol.mean.accuracy);
    let published = outcome
        .published
        .map(|p| {
            format!(
                " The published accuracy is {}; this is {:+.2} points from it.",
                percent(p),
                100.0 * (best - p)
            )
        })
        .unwrap_or_default();
    match outcome.target {
        Some(target) if best >= target => format!(
            "**Target met**: {} reaches {} against a target of {} ({:+.2} points).{published}",
            outcome.best,
            percent(best),
            percent(target),
            100.0 * (best - target)
        ),
        Some(target) => format!(
            "**Target missed by {:.2} points**: {} reaches {} against a target of {}.{published} Tried: every model of the table (settings listed), their blend with weights chosen on held-out rows, the boosted trees refitted on every training row after early stopping, and a few settings of the trees, the forest and the network compared by 5-fold CV.",
            100.0 * (target - best),
            outcome.best,
            percent(best),
            percent(target)
        ),
        None => format!(
            "No accuracy target: {} reaches {}.{published}",
            outcome.best,
            percent(best)
        ),
    }
}

/// Appends one experiment's section to a report.
pub fn report_section(md: &mut Markdown, outcome: &ExperimentOutcome) {
    md.heading(2, &format!("{} (`{}`)", outcome.title, outcome.name));
    let counts: Vec<String> = outcome
        .classes
        .iter()
        .zip(&outcome.class_counts)
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    let rows: usize = outcome.class_counts.iter().sum();
    md.paragraph(&format!(
        "{rows} tracks, {} classes ({}); {} features: {}.",
        outcome.classes.len(),
        counts.join(", "),
        outcome.feature_names.len(),
        outcome
            .feature_names
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if !outcome.notes.is_empty() {
        md.bullets(&outcome.notes);
    }
    md.paragraph(&format!("Protocol: {}.", outcome.protocol));
    let has_seed = outcome.models.iter().any(|m| m.published_seed.is_some());
    let has_cv = outcome.models.iter().any(|m| m.cv.is_some());
    let mut header = vec![
        "model", "accuracy", "± sd", "macro-F1", "ROC AUC", "log loss",
    ];
    if has_seed {
        header.push("seed 12345");
    }
    let cv_label;
    if has_cv {
        let k = outcome
            .models
            .iter()
            .find_map(|m| m.cv.as_ref().map(|c| c.parts.len()))
            .unwrap_or(5);
        cv_label = format!("{k}-fold CV");
        header.push(&cv_label);
    }
    header.push("settings");
    let table: Vec<Vec<String>> = outcome
        .models
        .iter()
        .map(|m| {
            let s = m.protocol.mean;
            let mut row = vec![
                if m.name == outcome.best {
                    format!("**{}**", m.name)
                } else {
                    m.name.clone()
                },
                percent(s.accuracy),
                format!("{:.2}", 100.0 * m.protocol.accuracy_sd),
                plain(s.macro_f1),
                plain(s.roc_auc),
                plain(s.log_loss),
            ];
            if has_seed {
                row.push(m.published_seed.map_or("–".into(), |p| percent(p.accuracy)));
            }
            if has_cv {
                row.push(m.cv.as_ref().map_or("–".into(), |c| {
                    format!(
                        "{} ± {:.2}",
                        percent(c.mean.accuracy),
                        100.0 * c.accuracy_sd
                    )
                }));
            }
            row.push(format!("`{}`", m.settings));
            row
        })
        .collect();
    md.table(&header, &table);
    md.paragraph(&format!(
        "Majority-class baseline: {}. Best classic model: {}. Blend: {}.",
        percent(outcome.majority_baseline),
        outcome.best_classic,
        outcome.blend
    ));
    md.paragraph(&target_sentence(outcome));
    let [confusion, loss, accuracy, importance] = plot_names(&outcome.name);
    md.paragraph(&format!(
        "Confusion matrix of {} on {} (rows: true class, columns: predicted):",
        outcome.best, outcome.confusion_source
    ));
    md.image(&format!("{} confusion matrix", outcome.title), &confusion);
    if !outcome.network.history.is_empty() {
        let n = &outcome.network;
        md.paragraph(&format!(
            "The network refitted on every row trained {} epochs and kept epoch {} (early stopping on 20% held out): accuracy {} on the rows it was fitted on and {} on the held-out rows. The trainer records the training and validation loss and the validation accuracy every epoch; the training accuracy is measured at {} epochs by replaying the fit without the held-out rows (same seed, same batches, constant learning rate), which {}.",
            n.history.len(),
            n.best_epoch + 1,
            percent(n.train_accuracy),
            percent(n.validation_accuracy),
            n.train_accuracy_curve.len(),
            if n.replay_exact {
                "reproduced the fit's training loss exactly at every replayed epoch"
            } else {
                "did not reproduce the fit's training loss exactly, so that curve is approximate"
            }
        ));
        md.image(&format!("{} network loss", outcome.title), &loss);
        md.image(&format!("{} network accuracy", outcome.title), &accuracy);
    }
    let top: Vec<String> = outcome
        .importance
        .iter()
        .take(3)
        .map(|i| format!("`{}` ({:+.1} points)", i.feature, 100.0 * i.mean))
        .collect();
    md.paragraph(&format!(
        "Permutation importance ({}): shuffling {} costs the most accuracy.",
        outcome.importance_source,
        top.join(", ")
    ));
    md.image(
        &format!("{} permutation importance", outcome.title),
        &importance,
    );
}

/// Writes `metrics.json`, `details.json`, the plots and `report.md` (with `intro` and `extra`
/// Markdown around the experiment sections).
pub fn write_family(
    out: &Path,
    title: &str,
    intro: &str,
    outcomes: &[ExperimentOutcome],
    extra: &str,
) -> Result<(), EvalError> {
    std::fs::create_dir_all(out).map_err(|e| EvalError::write(out, e))?;
    write_json(&out.join("metrics.json"), &metrics_json(outcomes))?;
    write_json(&out.join("details.json"), &outcomes)?;
    let mut md = Markdown::new();
    md.heading(1, title);
    md.paragraph(intro);
    let summary: Vec<Vec<String>> = outcomes
        .iter()
        .map(|o| {
            let best = o.best_summary().map(|m| m.protocol.mean);
            vec![
                o.name.clone(),
                o.best.clone(),
                percent(best.map_or(f64::NAN, |b| b.accuracy)),
                plain(best.map_or(f64::NAN, |b| b.macro_f1)),
                plain(best.map_or(f64::NAN, |b| b.roc_auc)),
                o.published.map_or("–".into(), percent),
                o.target.map_or("–".into(), percent),
                percent(o.majority_baseline),
            ]
        })
        .collect();
    md.table(
        &[
            "experiment",
            "best model",
            "accuracy",
            "macro-F1",
            "ROC AUC",
            "published",
            "target",
            "majority baseline",
        ],
        &summary,
    );
    for outcome in outcomes {
        write_plots(out, outcome)?;
        report_section(&mut md, outcome);
    }
    if !extra.is_empty() {
        md.paragraph(extra);
    }
    md.write(&out.join("report.md"))
}
