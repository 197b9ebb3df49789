//! A user's crate that depends only on `dataset`, `evaluation` and `classic-models`, with the
//! README's sample as its `main.rs`, must not pull libtorch or the web stack into its build.
//! (The sample itself compiles as a doctest of this package: the README is its crate docs.)

use std::path::{Path, PathBuf};
use std::process::Command;

/// The first ```` ```rust ```` block of the README: the sample a user copies.
fn readme_sample() -> String {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let start = readme
        .find("```rust")
        .expect("the README has a Rust sample");
    let body = &readme[start..];
    let body = &body[body.find('\n').expect("fence line") + 1..];
    body[..body.find("```").expect("closing fence")].to_string()
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes the user's crate into `dir`: path dependencies on the three crates and linfa, the
/// README sample as `src/main.rs`, and the workspace's lock file so that resolution needs no
/// network.
fn write_user_crate(dir: &Path) {
    let crates = workspace().join("crates");
    let manifest = format!(
        r#"[package]
name = "user-of-spotify-ml"
version = "0.1.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
dataset = {{ path = "{dataset}" }}
classic-models = {{ path = "{classic}" }}
evaluation = {{ path = "{evaluation}" }}
linfa = "0.8"
"#,
        dataset = crates.join("dataset").display(),
        classic = crates.join("classic-models").display(),
        evaluation = crates.join("evaluation").display(),
    );
    std::fs::create_dir_all(dir.join("src")).expect("src dir");
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("Cargo.toml");
    std::fs::write(dir.join("src/main.rs"), readme_sample()).expect("main.rs");
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).expect("Cargo.lock");
}

#[test]
fn a_crate_using_dataset_evaluation_and_classic_models_pulls_no_libtorch_or_web_stack() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_user_crate(dir.path());
    let output = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .args(["--format", "{p}"])
        .current_dir(dir.path())
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("cargo tree runs");
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let names: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(
        names.contains(&"classic-models"),
        "unexpected tree:\n{tree}"
    );
    for heavy in [
        "tch",
        "torch-sys",
        "axum",
        "tokio",
        "hyper",
        "neural-models",
    ] {
        assert!(
            !names.contains(&heavy),
            "`{heavy}` is in the user's dependency tree:\n{tree}"
        );
    }
}
