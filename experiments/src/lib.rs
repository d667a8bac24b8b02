//! Research programs of spikepop: see the examples (`cargo run --manifest-path experiments/Cargo.toml --example NAME`).
