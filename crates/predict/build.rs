//! Embeds every `weights/<model>.safetensors` as the built-in weights of the model of that name (generates
//! `$OUT_DIR/embedded.rs`: a table of names and bytes, so a new built-in model needs no code here).
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("weights");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
                .filter_map(|p| Some((p.file_stem()?.to_str()?.to_string(), p)))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut code = String::from(
        "/// Built-in weights: model name and safetensors bytes.\npub const ALL: &[(&str, &[u8])] = &[\n",
    );
    for (name, p) in &files {
        println!("cargo:rerun-if-changed={}", p.display());
        code.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            p.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(out, code).unwrap();
}
