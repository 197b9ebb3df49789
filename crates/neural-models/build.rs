//! Lets `cargo test`, `cargo bench` and `cargo run` find libtorch's shared libraries for this
//! crate and every crate that depends on it.
//!
//! `.cargo/config.toml` sets `LD_LIBRARY_PATH` for that, but Cargo replaces the variable when it
//! runs a test or bench binary, keeping only link-search paths that lie inside the target
//! directory. So this script links `$OUT_DIR/libtorch-lib` to `$LIBTORCH/lib` and declares it as a
//! search path: Cargo then puts it on the library path of everything built against this crate.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let (Some(libtorch), Some(out_dir)) =
        (std::env::var_os("LIBTORCH"), std::env::var_os("OUT_DIR"))
    else {
        // Without LIBTORCH, torch-sys finds libtorch its own way and so must the loader.
        return;
    };
    let lib = PathBuf::from(libtorch).join("lib");
    // This crate's own test binaries also get it as an rpath, so they run without cargo.
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    let link = PathBuf::from(out_dir).join("libtorch-lib");
    // A stale link from an earlier LIBTORCH is replaced; a missing one is fine.
    let _ = std::fs::remove_file(&link);
    #[cfg(unix)]
    let linked = std::os::unix::fs::symlink(&lib, &link);
    #[cfg(not(unix))]
    let linked: std::io::Result<()> = Err(std::io::ErrorKind::Unsupported.into());
    match linked {
        Ok(()) => println!("cargo:rustc-link-search=native={}", link.display()),
        Err(error) => println!(
            "cargo:warning=could not link {} into OUT_DIR ({error}); set LD_LIBRARY_PATH to it to run tests",
            lib.display()
        ),
    }
}
