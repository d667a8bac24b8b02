//! Embeds `weights/{stg,da}.safetensors` when they exist (generates `$OUT_DIR/embedded.rs`).
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("weights");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut code = String::new();
    for (name, konst) in [("stg", "STG"), ("da", "DA")] {
        let p = dir.join(format!("{name}.safetensors"));
        println!("cargo:rerun-if-changed={}", p.display());
        if p.is_file() {
            code.push_str(&format!(
                "/// Embedded {name} weights.\npub const {konst}: Option<&[u8]> = Some(include_bytes!({:?}));\n",
                p.display().to_string()
            ));
        } else {
            code.push_str(&format!(
                "/// No {name} weights were present at build time.\npub const {konst}: Option<&[u8]> = None;\n"
            ));
        }
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(out, code).unwrap();
}
