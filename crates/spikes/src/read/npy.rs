//! A minimal reader of numpy `.npy` files: versions 1 to 3, integer and float dtypes of either byte order, vectors
//! (shapes `(n,)`, `(n, 1)` and `(1, n)`) for Kilosort/phy output and matrices for voltage traces, with errors that
//! say which file is wrong and how.

use std::path::Path;

use crate::error::{Location, ReadError};

/// The values of a `.npy` array in file order, integers kept exact.
#[derive(Debug)]
pub(crate) enum NpyVec {
    Int(Vec<i64>),
    UInt(Vec<u64>),
    Float(Vec<f64>),
}

impl NpyVec {
    pub(crate) fn len(&self) -> usize {
        match self {
            NpyVec::Int(v) => v.len(),
            NpyVec::UInt(v) => v.len(),
            NpyVec::Float(v) => v.len(),
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Int,
    UInt,
    Float,
}

/// A `.npy` array: its shape, whether it is stored column-major (`fortran_order`), and its values in file order.
#[derive(Debug)]
pub(crate) struct NpyArray {
    pub(crate) shape: Vec<usize>,
    pub(crate) fortran: bool,
    pub(crate) values: NpyVec,
}

/// A `.npy` vector.
pub(super) fn read(path: &Path) -> Result<NpyVec, ReadError> {
    let array = read_array(path)?;
    match array.shape.as_slice() {
        [_] | [_, 1] | [1, _] | [] => Ok(array.values),
        _ => Err(ReadError::invalid(
            path,
            Location::Header,
            format!(
                "shape ({}) is not a vector, expected (n,) or (n, 1)",
                array
                    .shape
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// A `.npy` array of any shape.
pub(crate) fn read_array(path: &Path) -> Result<NpyArray, ReadError> {
    let bytes = std::fs::read(path).map_err(|e| ReadError::io(path, e))?;
    let bad = |problem: String| ReadError::invalid(path, Location::Header, problem);
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(ReadError::invalid(
            path,
            Location::File,
            "not a numpy .npy file (no \\x93NUMPY magic)",
        ));
    }
    let major = bytes[6];
    let (header_len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad("truncated header".into()));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => {
            return Err(bad(format!(
                "unsupported .npy version {v}, expected 1, 2 or 3"
            )));
        }
    };
    let data_start = start + header_len;
    if bytes.len() < data_start {
        return Err(bad(format!(
            "truncated header: it should be {header_len} bytes but the file ends after {}",
            bytes.len() - start
        )));
    }
    let header = String::from_utf8_lossy(&bytes[start..data_start]);
    let descr = dict_value(&header, "descr")
        .and_then(|v| {
            v.trim()
                .strip_prefix('\'')
                .and_then(|v| v.split('\'').next())
                .map(str::to_string)
        })
        .ok_or_else(|| {
            bad(format!(
                "no 'descr' in the header {}",
                crate::error::excerpt(header.trim())
            ))
        })?;
    let fortran =
        dict_value(&header, "fortran_order").is_some_and(|v| v.trim_start().starts_with("True"));
    let shape_text = dict_value(&header, "shape")
        .and_then(|v| {
            v.trim_start()
                .strip_prefix('(')
                .and_then(|v| v.split(')').next())
                .map(str::to_string)
        })
        .ok_or_else(|| {
            bad(format!(
                "no 'shape' in the header {}",
                crate::error::excerpt(header.trim())
            ))
        })?;
    let mut shape = Vec::new();
    for dim in shape_text
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        shape.push(
            dim.parse::<usize>()
                .map_err(|_| bad(format!("bad shape ({shape_text})")))?,
        );
    }
    let count = shape
        .iter()
        .try_fold(1usize, |n, d| n.checked_mul(*d))
        .ok_or_else(|| bad(format!("shape ({shape_text}) is too large")))?;
    // A damaged header may start with a character of several bytes: no byte order then, not a panic.
    let (order, code) = descr.split_at_checked(1).unwrap_or(("", &descr));
    let big_endian = match order {
        "<" | "|" | "=" => false,
        ">" => true,
        _ => return Err(bad(format!("unsupported dtype {descr:?}"))),
    };
    let (kind, size) = match code {
        "i1" => (Kind::Int, 1),
        "i2" => (Kind::Int, 2),
        "i4" => (Kind::Int, 4),
        "i8" => (Kind::Int, 8),
        "u1" => (Kind::UInt, 1),
        "u2" => (Kind::UInt, 2),
        "u4" => (Kind::UInt, 4),
        "u8" => (Kind::UInt, 8),
        "f4" => (Kind::Float, 4),
        "f8" => (Kind::Float, 8),
        _ => {
            return Err(bad(format!(
                "unsupported dtype {descr:?}, expected integers or floats (e.g. '<i8', '<u8', '<f8')"
            )));
        }
    };
    let data = &bytes[data_start..];
    let needed = count.saturating_mul(size);
    if data.len() != needed {
        return Err(ReadError::invalid(
            path,
            Location::File,
            format!(
                "the header announces {count} values ({needed} bytes) but {} bytes of data follow{}",
                data.len(),
                if data.len() < needed {
                    " (truncated file?)"
                } else {
                    ""
                }
            ),
        ));
    }
    let word = |chunk: &[u8]| -> [u8; 8] {
        // Sign- or zero-extension is done by the callers; here only the byte order is fixed.
        let mut w = [0u8; 8];
        if big_endian {
            for (i, b) in chunk.iter().rev().enumerate() {
                w[i] = *b;
            }
        } else {
            w[..chunk.len()].copy_from_slice(chunk);
        }
        w
    };
    let chunks = data.chunks_exact(size);
    let values = match kind {
        Kind::UInt => NpyVec::UInt(chunks.map(|c| u64::from_le_bytes(word(c))).collect()),
        Kind::Int => NpyVec::Int(
            chunks
                .map(|c| {
                    let shift = 64 - 8 * size as u32;
                    (i64::from_le_bytes(word(c)) << shift) >> shift
                })
                .collect(),
        ),
        Kind::Float => NpyVec::Float(
            chunks
                .map(|c| {
                    let w = word(c);
                    if size == 4 {
                        f32::from_le_bytes([w[0], w[1], w[2], w[3]]) as f64
                    } else {
                        f64::from_le_bytes(w)
                    }
                })
                .collect(),
        ),
    };
    Ok(NpyArray {
        shape,
        fortran,
        values,
    })
}

/// The text after `'key':` in a numpy header dict.
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("'{key}':");
    header.find(&pat).map(|i| &header[i + pat.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn read_bytes(bytes: &[u8]) -> Result<NpyVec, ReadError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.npy");
        std::fs::write(&p, bytes).unwrap();
        read(&p)
    }

    #[test]
    fn reads_signed_and_big_endian() {
        let data: Vec<u8> = [-3i16, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        match read_bytes(&npy("<i2", "(2,)", &data)).unwrap() {
            NpyVec::Int(v) => assert_eq!(v, vec![-3, 7]),
            _ => panic!("expected ints"),
        }
        let data: Vec<u8> = [1.5f64, 2.25]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        match read_bytes(&npy(">f8", "(2, 1)", &data)).unwrap() {
            NpyVec::Float(v) => assert_eq!(v, vec![1.5, 2.25]),
            _ => panic!("expected floats"),
        }
    }

    #[test]
    fn truncated_data_is_an_error() {
        let data: Vec<u8> = [1u64, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
        let err = read_bytes(&npy("<u8", "(3,)", &data))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("announces 3 values (24 bytes) but 16 bytes"),
            "{err}"
        );
        let err = read_bytes(b"not numpy at all").unwrap_err().to_string();
        assert!(err.contains("not a numpy .npy file"), "{err}");
    }
}
