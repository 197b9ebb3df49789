//! Bakes libtorch's library folder into the examples, tests and benches of this package as an
//! rpath, so their binaries also run when started directly rather than through cargo.
//! `LIBTORCH` comes from `.cargo/config.toml` (set up by `./run setup`), as for the root package.

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if let Some(libtorch) = std::env::var_os("LIBTORCH") {
        let lib = std::path::PathBuf::from(libtorch).join("lib");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    }
}
