//! Progress lines of the pipelines on standard error, each tagged with the pipeline that says it.

/// Writes `[scope] message` to standard error: the one way the pipelines report progress that
/// a progress bar does not cover.
pub(crate) fn log(scope: &str, message: impl AsRef<str>) {
    eprintln!("[{scope}] {}", message.as_ref());
}
