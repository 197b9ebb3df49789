//! Placeholder: filled in by the issue that owns this bench.
fn main() {}
