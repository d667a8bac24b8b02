//! The registry of models: the built-in model files by name, and model files by path. Every command that
//! takes `--model` resolves it here, so a model is found in one place.

use crate::Model;
use crate::file::{ModelFileError, parse};

/// The built-in model files: short name and text. Each reads to the model of the same name in this crate
/// (tested: the same channels, numbers and recipe, so the same spikes and DICs).
pub const BUILT_IN: [(&str, &str); 2] = [
    ("stg", include_str!("../models/stg.toml")),
    ("da", include_str!("../models/da.toml")),
];

/// The built-in models, in the order of [`BUILT_IN`].
pub const ALL: [&Model; 2] = [&crate::STG, &crate::DA];

/// A built-in model by its short name (any case).
pub fn built_in(name: &str) -> Option<&'static Model> {
    let name = name.to_ascii_lowercase();
    BUILT_IN
        .iter()
        .zip(ALL)
        .find(|((n, _), _)| *n == name)
        .map(|(_, m)| m)
}

/// The text of a built-in model's file.
pub fn built_in_file(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    BUILT_IN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Why `--model` could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Neither a built-in name nor an existing file.
    #[error("unknown model `{0}`: expected {names} or the path of a model file (.toml)", names = names())]
    Unknown(String),
    /// The file could not be read.
    #[error("cannot read model file {path}: {cause}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        cause: std::io::Error,
    },
    /// The file was read but is not a valid model.
    #[error(transparent)]
    Invalid(#[from] ModelFileError),
}

fn names() -> String {
    let n: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
    n.join(", ")
}

/// A built-in model by name, or a model file by path (anything with a `/`, a `\` or a `.toml` ending, or
/// an existing file). A file's model lives as long as the program.
pub fn resolve(name_or_path: &str) -> Result<&'static Model, ResolveError> {
    if let Some(m) = built_in(name_or_path) {
        return Ok(m);
    }
    let path = std::path::Path::new(name_or_path);
    let looks_like_path = name_or_path.contains(['/', '\\']) || name_or_path.ends_with(".toml");
    if !looks_like_path && !path.is_file() {
        return Err(ResolveError::Unknown(name_or_path.to_string()));
    }
    let text = std::fs::read_to_string(path).map_err(|cause| ResolveError::Io {
        path: name_or_path.to_string(),
        cause,
    })?;
    let model = parse(&text, name_or_path)?;
    Ok(Box::leak(Box::new(model)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_files_and_errors() {
        assert_eq!(resolve("STG").unwrap(), &crate::STG);
        assert_eq!(resolve("da").unwrap(), &crate::DA);
        let e = resolve("hh").unwrap_err().to_string();
        assert!(
            e.contains("unknown model `hh`: expected stg, da or the path"),
            "{e}"
        );
        let e = resolve("nowhere/x.toml").unwrap_err().to_string();
        assert!(
            e.starts_with("cannot read model file nowhere/x.toml"),
            "{e}"
        );
        let dir = std::env::temp_dir().join(format!("spikepop-registry-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("mine.toml");
        let text =
            built_in_file("stg")
                .unwrap()
                .replacen("reversal = -80.0", "reversal = -85.0", 1);
        std::fs::write(&p, &text).unwrap();
        let m = resolve(p.to_str().unwrap()).unwrap();
        assert_eq!(m.channels[1].reversal, -85.0);
        assert_eq!(m.channels[0], crate::STG.channels[0]);
        std::fs::write(&p, "name = 3").unwrap();
        let e = resolve(p.to_str().unwrap()).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}, line 1: file: ", p.display())),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
