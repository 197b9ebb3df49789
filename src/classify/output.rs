//! Writing an experiment family's outputs: `metrics.json` ([`Metrics`]), `details.json`
//! ([`Details`]), `report.md` and the plots (confusion matrices, the network's curves,
//! permutation importance).

use std::path::Path;

use evaluation::plot;
use evaluation::report::{write_json, Markdown};
use evaluation::EvalError;

use crate::classify::experiment::ExperimentOutcome;
use crate::classify::report::{Details, ExperimentReport, Metrics, ModelSummary};

/// The words around a family's experiment sections in `report.md`.
#[derive(Clone, Debug, Default)]
pub struct FamilyText<'a> {
    /// The report's title.
    pub title: &'a str,
    /// The paragraph under the title.
    pub intro: &'a str,
    /// Markdown after the experiment sections (empty: none).
    pub extra: String,
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
pub fn plot_names(report: &ExperimentReport) -> [String; 4] {
    let name = report.name;
    [
        format!("plots/{name}_confusion.png"),
        format!("plots/{name}_network_loss.png"),
        format!("plots/{name}_network_accuracy.png"),
        format!("plots/{name}_importance.png"),
    ]
}

/// Draws the network's loss and accuracy curves, when the experiment has a network.
fn write_network_plots(
    out: &Path,
    report: &ExperimentReport,
    [loss, accuracy]: [&str; 2],
) -> Result<(), EvalError> {
    let network = &report.network;
    let history = &network.history;
    if history.is_empty() {
        return Ok(());
    }
    let train: Vec<f64> = history.iter().map(|r| r.train_loss).collect();
    let validation: Vec<f64> = history
        .iter()
        .map(|r| r.validation_loss.unwrap_or(f64::NAN))
        .collect();
    let best_epoch = network.best_epoch + 1;
    plot::learning_curves(
        &out.join(loss),
        &format!("{}: network loss (best epoch {best_epoch})", report.title),
        "cross-entropy",
        &[("train", &train), ("validation", &validation)],
    )?;
    let validation_accuracy: Vec<(f64, f64)> = history
        .iter()
        .enumerate()
        .map(|(e, r)| ((e + 1) as f64, r.validation_accuracy.unwrap_or(f64::NAN)))
        .collect();
    let train_accuracy: Vec<(f64, f64)> = network
        .train_accuracy_curve
        .iter()
        .map(|&(e, a)| (e as f64, a))
        .collect();
    plot::point_curves(
        &out.join(accuracy),
        &format!(
            "{}: network accuracy (best epoch {best_epoch})",
            report.title
        ),
        "epoch",
        "accuracy",
        &[
            ("validation", &validation_accuracy),
            ("train (replayed epochs)", &train_accuracy),
        ],
    )
}

/// The path of an experiment's reliability diagram, relative to the output directory.
pub fn reliability_plot_name(report: &ExperimentReport) -> String {
    format!("plots/{}_reliability.png", report.name)
}

/// Draws the best candidate's reliability diagram, before and after temperature scaling.
fn write_reliability_plot(out: &Path, report: &ExperimentReport) -> Result<(), EvalError> {
    let Some(best) = report.calibration.iter().find(|c| c.model == report.best) else {
        return Ok(());
    };
    plot::reliability(
        &out.join(reliability_plot_name(report)),
        &format!(
            "{}: reliability of {} (out-of-fold)",
            report.title, report.best
        ),
        &[
            ("as fitted", &best.reliability_before),
            ("temperature scaled", &best.reliability_after),
        ],
    )
}

/// The calibration and prediction-set table of an experiment's report, when it has one.
fn calibration_section(md: &mut Markdown, report: &ExperimentReport) {
    if report.calibration.is_empty() {
        return;
    }
    md.paragraph(&format!(
        "How sure the classifiers are, on the cross-validation's out-of-fold probabilities: expected calibration error (ECE, top class, {} equal-width bins), Brier score and log loss as fitted and after temperature scaling cross-fitted on the same folds (each fold's temperature fitted on the others); then conformal prediction sets, on the tempered probabilities when they lowered the log loss, each fold's threshold calibrated on the other folds: least-ambiguous sets (the classes likely enough; a set may be empty) and adaptive ones (the most likely classes while their total stays within the threshold, never empty). Each cell is the share of tracks whose set holds the true class, and the mean number of classes in a set.",
        report.calibration[0].bins
    ));
    let rows: Vec<Vec<String>> = report
        .calibration
        .iter()
        .map(|c| {
            let mut row = vec![
                c.model.to_string(),
                format!("{:.3} → {:.3}", c.before.ece, c.after.ece),
                format!("{:.3} → {:.3}", c.before.brier, c.after.brier),
                format!("{:.3} → {:.3}", c.before.log_loss, c.after.log_loss),
                format!(
                    "{:.2}–{:.2}{}",
                    c.temperatures.iter().copied().fold(f64::INFINITY, f64::min),
                    c.temperatures
                        .iter()
                        .copied()
                        .fold(f64::NEG_INFINITY, f64::max),
                    if c.calibrated { "" } else { " (not used)" }
                ),
            ];
            row.extend(
                c.sets
                    .iter()
                    .map(|s| format!("{:.3} ({:.2} classes)", s.achieved, s.mean_size)),
            );
            row
        })
        .collect();
    let coverages: Vec<String> = report.calibration[0]
        .sets
        .iter()
        .map(|s| {
            format!(
                "{} sets at {}",
                match s.method {
                    evaluation::calibration::SetMethod::Lac => "least-ambiguous",
                    evaluation::calibration::SetMethod::Aps => "adaptive",
                },
                s.coverage
            )
        })
        .collect();
    let mut header = vec!["model", "ECE", "Brier", "log loss", "temperature"];
    header.extend(coverages.iter().map(String::as_str));
    md.table(&header, &rows);
    md.image(
        &format!("{} reliability", report.title),
        &reliability_plot_name(report),
    );
}

/// Draws an experiment's plots into `out/plots/`.
pub fn write_plots(out: &Path, report: &ExperimentReport) -> Result<(), EvalError> {
    write_reliability_plot(out, report)?;
    let [confusion, loss, accuracy, importance] = plot_names(report);
    plot::confusion_matrix(
        &out.join(confusion),
        &format!(
            "{}: {} ({})",
            report.title, report.best, "rows true, columns predicted"
        ),
        &report.classes,
        &report.confusion,
    )?;
    write_network_plots(out, report, [&loss, &accuracy])?;
    plot::importance(
        &out.join(importance),
        &format!("{}: permutation importance ({})", report.title, report.best),
        "drop in accuracy when shuffled",
        &report.importance,
    )
}

/// How the best accuracy compares with the target, in a sentence.
pub fn target_sentence(report: &ExperimentReport) -> String {
    let best = report.best_summary().protocol.mean.accuracy;
    let published = report
        .published
        .map(|p| {
            format!(
                " The published accuracy is {}; this is {:+.2} points from it.",
                percent(p),
                100.0 * (best - p)
            )
        })
        .unwrap_or_default();
    match report.target {
        Some(target) if best >= target => format!(
            "**Target met**: {} reaches {} against a target of {} ({:+.2} points).{published}",
            report.best,
            percent(best),
            percent(target),
            100.0 * (best - target)
        ),
        Some(target) => format!(
            "**Target missed by {:.2} points**: {} reaches {} against a target of {}.{published} Tried: every model of the table (settings listed), their blend with weights chosen on held-out rows, the boosted trees refitted on every training row after early stopping, and a few settings of the trees, the forest and the network compared by 5-fold CV.",
            100.0 * (target - best),
            report.best,
            percent(best),
            percent(target)
        ),
        None => format!(
            "No accuracy target: {} reaches {}.{published}",
            report.best,
            percent(best)
        ),
    }
}

/// The sentence on the data: rows, classes and features.
fn data_sentence(report: &ExperimentReport) -> String {
    let counts: Vec<String> = report
        .classes
        .iter()
        .zip(&report.class_counts)
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    let rows: usize = report.class_counts.iter().sum();
    let features: Vec<String> = report
        .feature_names
        .iter()
        .map(|f| format!("`{f}`"))
        .collect();
    format!(
        "{rows} tracks, {} classes ({}); {} features: {}.",
        report.classes.len(),
        counts.join(", "),
        report.feature_names.len(),
        features.join(", ")
    )
}

/// One row of the model table.
fn model_row(
    report: &ExperimentReport,
    m: &ModelSummary,
    has_seed: bool,
    has_cv: bool,
) -> Vec<String> {
    let s = m.protocol.mean;
    let mut row = vec![
        if m.name == report.best {
            format!("**{}**", m.name)
        } else {
            m.name.to_string()
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
}

/// The table of every candidate's scores.
fn model_table(md: &mut Markdown, report: &ExperimentReport) {
    let has_seed = report.models.iter().any(|m| m.published_seed.is_some());
    let cv_folds = report
        .models
        .iter()
        .find_map(|m| m.cv.as_ref().map(|c| c.parts.len()));
    let mut header: Vec<String> = [
        "model", "accuracy", "± sd", "macro-F1", "ROC AUC", "log loss",
    ]
    .map(String::from)
    .to_vec();
    if has_seed {
        header.push("seed 12345".into());
    }
    if let Some(k) = cv_folds {
        header.push(format!("{k}-fold CV"));
    }
    header.push("settings".into());
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let table: Vec<Vec<String>> = report
        .models
        .iter()
        .map(|m| model_row(report, m, has_seed, cv_folds.is_some()))
        .collect();
    md.table(&header, &table);
}

/// The paragraph on the network's curves and their plots.
fn network_section(md: &mut Markdown, report: &ExperimentReport, [loss, accuracy]: [&str; 2]) {
    let n = &report.network;
    if n.history.is_empty() {
        return;
    }
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
    md.image(&format!("{} network loss", report.title), loss);
    md.image(&format!("{} network accuracy", report.title), accuracy);
}

/// Appends one experiment's section to a report.
pub fn report_section(md: &mut Markdown, report: &ExperimentReport) {
    md.heading(2, &format!("{} (`{}`)", report.title, report.name));
    md.paragraph(&data_sentence(report));
    if !report.notes.is_empty() {
        md.bullets(&report.notes);
    }
    md.paragraph(&format!("Protocol: {}.", report.protocol));
    model_table(md, report);
    md.paragraph(&format!(
        "Majority-class baseline: {}. Best classic model: {}. Blend: {}.",
        percent(report.majority_baseline),
        report.best_classic.map_or(String::new(), |l| l.to_string()),
        report.blend
    ));
    md.paragraph(&target_sentence(report));
    let [confusion, loss, accuracy, importance] = plot_names(report);
    md.paragraph(&format!(
        "Confusion matrix of {} on {} (rows: true class, columns: predicted):",
        report.best, report.confusion_source
    ));
    md.image(&format!("{} confusion matrix", report.title), &confusion);
    network_section(md, report, [&loss, &accuracy]);
    calibration_section(md, report);
    let top: Vec<String> = report
        .importance
        .iter()
        .take(3)
        .map(|i| format!("`{}` ({:+.1} points)", i.feature, 100.0 * i.mean))
        .collect();
    md.paragraph(&format!(
        "Permutation importance ({}): shuffling {} costs the most accuracy.",
        report.importance_source,
        top.join(", ")
    ));
    md.image(
        &format!("{} permutation importance", report.title),
        &importance,
    );
}

/// The summary table: each experiment's best candidate against its published accuracy, target
/// and majority baseline.
fn summary_table(md: &mut Markdown, reports: &[ExperimentReport]) {
    let summary: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            let best = r.best_summary().protocol.mean;
            vec![
                r.name.to_string(),
                r.best.to_string(),
                percent(best.accuracy),
                plain(best.macro_f1),
                plain(best.roc_auc),
                r.published.map_or("–".into(), percent),
                r.target.map_or("–".into(), percent),
                percent(r.majority_baseline),
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
}

/// Writes `metrics.json`, `details.json`, the plots and `report.md` (the text around the
/// experiment sections from `text`).
pub fn write_family(
    out: &Path,
    text: &FamilyText<'_>,
    outcomes: &[ExperimentOutcome],
) -> Result<(), EvalError> {
    std::fs::create_dir_all(out).map_err(|e| EvalError::write(out, e))?;
    let details = Details {
        experiments: outcomes.iter().map(|o| o.report.clone()).collect(),
    };
    write_json(
        &out.join("metrics.json"),
        &Metrics::of(&details.experiments),
    )?;
    write_json(&out.join("details.json"), &details)?;
    let mut md = Markdown::new();
    md.heading(1, text.title);
    md.paragraph(text.intro);
    summary_table(&mut md, &details.experiments);
    for report in &details.experiments {
        write_plots(out, report)?;
        report_section(&mut md, report);
    }
    if !text.extra.is_empty() {
        md.paragraph(&text.extra);
    }
    md.write(&out.join("report.md"))
}
