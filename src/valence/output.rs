//! Where a run writes, and the plots of out-of-fold predictions its report shows.

use std::path::{Path, PathBuf};

use evaluation::report::Markdown;
use evaluation::EvalError;
use ndarray::Array1;

use super::PipelineError;

/// Where a run writes its files.
pub struct OutDir {
    root: PathBuf,
}

impl OutDir {
    /// Creates the directory if needed.
    pub fn create(root: &Path) -> Result<OutDir, PipelineError> {
        std::fs::create_dir_all(root).map_err(|e| EvalError::write(root, e))?;
        Ok(OutDir {
            root: root.to_path_buf(),
        })
    }

    /// A file inside it.
    pub fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

/// Adds the predicted-vs-actual and residual plots of out-of-fold predictions to `markdown`,
/// writing them as `<file_stem>_predicted_vs_actual.png` and `<file_stem>_residuals.png`.
pub fn plot_oof(
    out: &OutDir,
    markdown: &mut Markdown,
    label: &str,
    file_stem: &str,
    y: &Array1<f64>,
    oof: &Array1<f64>,
) -> Result<(), PipelineError> {
    let truth = y.to_vec();
    let predicted = oof.to_vec();
    let scatter = format!("{file_stem}_predicted_vs_actual.png");
    evaluation::plot::predicted_vs_actual(
        &out.file(&scatter),
        &format!("{label}: out-of-fold predicted vs true valence"),
        &truth,
        &predicted,
    )?;
    let residuals = format!("{file_stem}_residuals.png");
    evaluation::plot::residuals(
        &out.file(&residuals),
        &format!("{label}: out-of-fold residuals"),
        &truth,
        &predicted,
    )?;
    markdown.image(&format!("{label}: predicted vs actual"), &scatter);
    markdown.image(&format!("{label}: residuals"), &residuals);
    Ok(())
}
