//! The HDF5 reading that the NWB readers share, through `hdf5-reader` (pure Rust, no C library): a file read
//! whole into memory (no memory map that a truncated file could turn into a crash), a read limit set by the
//! file's size, numbers of any stored width promoted to `f64` or `i64`, and string attributes.
//!
//! A damaged file is an error, never a crash: the decoder bounds every read by the file's bytes, and a panic
//! inside it (a decoder defect) is caught here and reported as damage.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use hdf5_reader::error::Error;
use hdf5_reader::group::Group;
use hdf5_reader::{Attribute, Dataset, Datatype, Hdf5File, OpenOptions};

/// The most a stored value may expand when decoded: deflate's limit (about 1032:1), rounded up. A dataset
/// that claims more decoded bytes than this times the file's size is damaged, and is refused before
/// anything is allocated for it.
const MAX_EXPANSION: usize = 1100;

/// Runs `f`, turning a panic inside the HDF5 decoder into an error message.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the decoder stopped".to_string());
        Err(format!("damaged HDF5 structure ({what})"))
    })
}

/// Opens `path` as HDF5, read whole into memory, with a read limit of [`MAX_EXPANSION`] times its size.
pub(crate) fn open(path: &Path) -> Result<Hdf5File, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the file ({e})"))?;
    let limit = bytes.len().max(1 << 16).saturating_mul(MAX_EXPANSION);
    let options = OpenOptions::default().with_max_read_bytes(limit);
    guarded(|| Hdf5File::from_vec_with_options(bytes, options).map_err(damaged))
}

/// A string attribute (fixed or variable length), or `None` when absent or not a string.
pub(crate) fn attr_string(attr: Result<Attribute, Error>) -> Option<String> {
    attr.ok()?.read_string().ok()
}

/// A numeric attribute promoted to `f64`, or `None` when absent or not a number.
pub(crate) fn attr_f64(attr: Result<Attribute, Error>) -> Option<f64> {
    attr.ok()?.read_as_f64().ok()
}

/// The string attribute `name` of a group.
pub(crate) fn group_string(g: &Group, name: &str) -> Option<String> {
    attr_string(g.attribute(name))
}

/// Whether `g` has a member (group or dataset) called `name`; an error when its members cannot be listed
/// (a damaged file).
pub(crate) fn has_member(g: &Group, name: &str) -> Result<bool, String> {
    guarded(|| {
        let (groups, sets) = g.member_names().map_err(damaged)?;
        Ok(groups.iter().chain(&sets).any(|n| n == name))
    })
}

/// The message of a file whose structure cannot be decoded.
pub(crate) fn damaged(e: impl std::fmt::Display) -> String {
    format!("not a readable NWB (HDF5) file, truncated or damaged? ({e})")
}

/// Every value of a numeric dataset, in storage order, promoted to `f64`.
pub(crate) fn floats(ds: &Dataset) -> Result<Vec<f64>, String> {
    fn all<T: hdf5_reader::H5Type + Copy>(
        ds: &Dataset,
        f: impl Fn(T) -> f64,
    ) -> Result<Vec<f64>, String> {
        Ok(ds
            .read_array::<T>()
            .map_err(|e| e.to_string())?
            .iter()
            .map(|&x| f(x))
            .collect())
    }
    match ds.dtype() {
        Datatype::FloatingPoint { size: 8, .. } => all::<f64>(ds, |x| x),
        Datatype::FloatingPoint { size: 4, .. } => all::<f32>(ds, f64::from),
        Datatype::FixedPoint { .. } => Ok(integers(ds)?.into_iter().map(|x| x as f64).collect()),
        other => Err(format!("expected numbers, found {}", type_name(other))),
    }
}

/// Every value of an integer dataset, in storage order, as `i64` (unsigned values above `i64::MAX` are
/// refused).
pub(crate) fn integers(ds: &Dataset) -> Result<Vec<i64>, String> {
    fn all<T: hdf5_reader::H5Type + Copy>(
        ds: &Dataset,
        f: impl Fn(T) -> Option<i64>,
    ) -> Result<Vec<i64>, String> {
        ds.read_array::<T>()
            .map_err(|e| e.to_string())?
            .iter()
            .map(|&x| f(x).ok_or_else(|| "an integer above 2^63".to_string()))
            .collect()
    }
    match ds.dtype() {
        Datatype::FixedPoint { size, signed, .. } => match (size, signed) {
            (1, true) => all::<i8>(ds, |x| Some(x.into())),
            (1, false) => all::<u8>(ds, |x| Some(x.into())),
            (2, true) => all::<i16>(ds, |x| Some(x.into())),
            (2, false) => all::<u16>(ds, |x| Some(x.into())),
            (4, true) => all::<i32>(ds, |x| Some(x.into())),
            (4, false) => all::<u32>(ds, |x| Some(x.into())),
            (8, true) => all::<i64>(ds, Some),
            (8, false) => all::<u64>(ds, |x| i64::try_from(x).ok()),
            _ => Err(format!("unsupported integer width of {size} bytes")),
        },
        other => Err(format!("expected integers, found {}", type_name(other))),
    }
}

/// A short name of a stored type for messages.
fn type_name(t: &Datatype) -> &'static str {
    match t {
        Datatype::FixedPoint { .. } => "integers",
        Datatype::FloatingPoint { .. } => "floating-point numbers",
        Datatype::String { .. } => "strings",
        Datatype::Compound { .. } => "a compound type",
        Datatype::Array { .. } => "an array type",
        Datatype::Enum { .. } => "an enumeration",
        Datatype::VarLen { .. } => "variable-length values",
        _ => "another type",
    }
}
