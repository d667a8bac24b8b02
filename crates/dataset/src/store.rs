//! Writing and reading rows: Parquet (low-level column API, no arrow) and the reference's CSV layout.
//!
//! A [`Sink`] writes into a temporary file beside its destination and moves it into place only in
//! [`Sink::commit`], so a file that exists is complete. A [`Source`] reads a file back in batches (one Parquet row
//! group, or [`CSV_BATCH`] CSV rows, at a time), so files larger than memory stream through merge and split.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::{Compression, Type as Physical};
use parquet::column::reader::{ColumnReader, get_typed_column_reader};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DataType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, RowGroupReader};
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::ColumnPath;
use spikepop_spikes::atomic;
use spikepop_spikes::features::Label;
use spikepop_spikes::{format_train, parse_train};
use tempfile::NamedTempFile;

use crate::error::{Error, Result};
use crate::row::{Layout, Row};
use crate::spec::Format;

/// Rows per row group of a finished Parquet file (about 25 MB of spike times for STG at typical rates).
pub const FINAL_GROUP_ROWS: usize = 32_768;
/// Rows per batch when reading a CSV file.
pub const CSV_BATCH: usize = 32_768;
/// Prefix of temporary files; a run removes leftovers with this prefix (or [`OLD_TMP_PREFIX`]) when it
/// resumes.
pub const TMP_PREFIX: &str = atomic::TMP_PREFIX;
/// Prefix of the temporary files of spikepop 0.1 before its outputs shared one atomic writer.
pub const OLD_TMP_PREFIX: &str = ".tmp-";

/// One column of the file, in order.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Col {
    Id,
    TargetGs,
    TargetGu,
    Cond(usize),
    Target,
    Model,
    Vth,
    Achieved(usize),
    Label,
    LabelRef,
    Finite,
    NSpikes,
    Feature(usize),
    Spikes,
}

impl Col {
    fn all(layout: &Layout) -> Vec<Col> {
        let mut c = vec![Col::Id, Col::TargetGs, Col::TargetGu];
        c.extend((0..layout.conductances.len()).map(Col::Cond));
        c.extend([
            Col::Target,
            Col::Model,
            Col::Vth,
            Col::Achieved(0),
            Col::Achieved(1),
            Col::Achieved(2),
            Col::Label,
            Col::LabelRef,
            Col::Finite,
            Col::NSpikes,
        ]);
        c.extend((0..layout.features.len()).map(Col::Feature));
        c.push(Col::Spikes);
        c
    }

    fn physical(self) -> Physical {
        match self {
            Col::Id | Col::Target | Col::Model | Col::NSpikes => Physical::INT64,
            Col::Label | Col::LabelRef => Physical::BYTE_ARRAY,
            Col::Finite => Physical::BOOLEAN,
            _ => Physical::DOUBLE,
        }
    }

    fn f64_of(self, r: &Row) -> f64 {
        match self {
            Col::TargetGs => r.target_g_s,
            Col::TargetGu => r.target_g_u,
            Col::Cond(i) => r.conductances[i],
            Col::Vth => r.vth,
            Col::Achieved(i) => r.achieved[i],
            Col::Feature(i) => r.features[i],
            _ => unreachable!("not a double column"),
        }
    }

    fn i64_of(self, r: &Row) -> i64 {
        match self {
            Col::Id => r.id as i64,
            Col::Target => r.target as i64,
            Col::Model => r.model as i64,
            Col::NSpikes => r.n_spikes as i64,
            _ => unreachable!("not an integer column"),
        }
    }
}

/// The Parquet schema of a layout: required flat columns, spike times as a standard 3-level list.
fn parquet_schema(layout: &Layout) -> String {
    let mut s = String::from("message spikepop_dataset {\n");
    for (name, col) in layout.columns().iter().zip(Col::all(layout)) {
        let line = match col.physical() {
            Physical::INT64 => format!("  required int64 {name};\n"),
            Physical::BYTE_ARRAY => format!("  required binary {name} (STRING);\n"),
            Physical::BOOLEAN => format!("  required boolean {name};\n"),
            _ if col == Col::Spikes => format!(
                "  required group {name} (LIST) {{\n    repeated group list {{\n      required double element;\n    }}\n  }}\n"
            ),
            _ => format!("  required double {name};\n"),
        };
        s.push_str(&line);
    }
    s.push('}');
    s
}

fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        // Dictionaries only pay for the labels; the doubles are nearly all distinct.
        .set_dictionary_enabled(false)
        .set_column_dictionary_enabled(ColumnPath::from("label"), true)
        .set_column_dictionary_enabled(ColumnPath::from("label_reference"), true)
        .build()
}

fn label_bytes(l: Label) -> ByteArray {
    ByteArray::from(l.as_str())
}

enum SinkKind {
    Parquet {
        writer: SerializedFileWriter<BufWriter<NamedTempFile>>,
        cols: Vec<Col>,
        buffer: Vec<Row>,
        group_rows: usize,
    },
    Csv(csv::Writer<BufWriter<NamedTempFile>>),
}

/// Writes rows to a file that appears at its path, complete, only on [`Sink::commit`].
pub struct Sink {
    kind: SinkKind,
    path: PathBuf,
    rows: u64,
}

/// A temporary file in the destination's folder, with a plain file's mode (data files are meant to be
/// shared).
fn temp_beside(path: &Path) -> Result<NamedTempFile> {
    Ok(atomic::temp_file_beside(path)?)
}

/// Writes `text` to `path` atomically (temporary file, fsync, rename).
pub fn write_file_atomic(path: &Path, text: &[u8]) -> Result<()> {
    Ok(atomic::write_bytes(path, text)?)
}

impl Sink {
    /// Starts a file of `format` at `path`. Parquet rows are written in row groups of `group_rows` rows (the
    /// last one may be shorter).
    pub fn create(path: &Path, format: Format, layout: &Layout, group_rows: usize) -> Result<Sink> {
        let tmp = temp_beside(path)?;
        let out = BufWriter::with_capacity(1 << 20, tmp);
        let kind = match format {
            Format::Parquet => {
                let schema =
                    parse_message_type(&parquet_schema(layout)).map_err(Error::parquet(path))?;
                let writer =
                    SerializedFileWriter::new(out, Arc::new(schema), Arc::new(writer_properties()))
                        .map_err(Error::parquet(path))?;
                SinkKind::Parquet {
                    writer,
                    cols: Col::all(layout),
                    buffer: Vec::new(),
                    group_rows: group_rows.max(1),
                }
            }
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(layout.columns()).map_err(Error::csv(path))?;
                SinkKind::Csv(w)
            }
        };
        Ok(Sink {
            kind,
            path: path.to_path_buf(),
            rows: 0,
        })
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes one row.
    pub fn push(&mut self, row: Row) -> Result<()> {
        self.rows += 1;
        match &mut self.kind {
            SinkKind::Parquet {
                writer,
                cols,
                buffer,
                group_rows,
            } => {
                buffer.push(row);
                if buffer.len() >= *group_rows {
                    write_row_group(writer, cols, buffer).map_err(Error::parquet(&self.path))?;
                    buffer.clear();
                }
                Ok(())
            }
            SinkKind::Csv(w) => write_csv_row(w, &row).map_err(Error::csv(&self.path)),
        }
    }

    /// Finishes the file (last row group, footer), syncs it and moves it into place. Returns the rows written.
    pub fn commit(self) -> Result<u64> {
        let path = self.path;
        let buffered = match self.kind {
            SinkKind::Parquet {
                mut writer,
                cols,
                buffer,
                ..
            } => {
                if !buffer.is_empty() {
                    write_row_group(&mut writer, &cols, &buffer).map_err(Error::parquet(&path))?;
                }
                writer.into_inner().map_err(Error::parquet(&path))?
            }
            SinkKind::Csv(w) => w
                .into_inner()
                .map_err(|e| Error::io(&path, "cannot write")(e.into_error()))?,
        };
        let tmp = buffered
            .into_inner()
            .map_err(|e| Error::io(&path, "cannot write")(e.into_error()))?;
        atomic::commit(tmp, &path)?;
        Ok(self.rows)
    }
}

fn write_row_group<W: Write + Send>(
    writer: &mut SerializedFileWriter<W>,
    cols: &[Col],
    rows: &[Row],
) -> parquet::errors::Result<()> {
    let mut rg = writer.next_row_group()?;
    let mut cols = cols.iter();
    while let Some(mut w) = rg.next_column()? {
        let col = *cols.next().expect("one writer per schema column");
        match col.physical() {
            Physical::INT64 => {
                let v: Vec<i64> = rows.iter().map(|r| col.i64_of(r)).collect();
                w.typed::<Int64Type>().write_batch(&v, None, None)?;
            }
            Physical::BYTE_ARRAY => {
                let v: Vec<ByteArray> = rows
                    .iter()
                    .map(|r| {
                        label_bytes(if col == Col::Label {
                            r.label
                        } else {
                            r.label_reference
                        })
                    })
                    .collect();
                w.typed::<ByteArrayType>().write_batch(&v, None, None)?;
            }
            Physical::BOOLEAN => {
                let v: Vec<bool> = rows.iter().map(|r| r.finite).collect();
                w.typed::<BoolType>().write_batch(&v, None, None)?;
            }
            _ if col == Col::Spikes => {
                // Standard list levels: an empty list is one level (def 0, rep 0) and no value; element j of a
                // list has def 1 and rep 0 for j = 0, 1 after.
                let n: usize = rows.iter().map(|r| r.spikes.len().max(1)).sum();
                let (mut values, mut def, mut rep) = (
                    Vec::with_capacity(n),
                    Vec::with_capacity(n),
                    Vec::with_capacity(n),
                );
                for r in rows {
                    if r.spikes.is_empty() {
                        def.push(0);
                        rep.push(0);
                    }
                    for (j, &t) in r.spikes.iter().enumerate() {
                        values.push(t);
                        def.push(1);
                        rep.push(i16::from(j > 0));
                    }
                }
                w.typed::<DoubleType>()
                    .write_batch(&values, Some(&def), Some(&rep))?;
            }
            _ => {
                let v: Vec<f64> = rows.iter().map(|r| col.f64_of(r)).collect();
                w.typed::<DoubleType>().write_batch(&v, None, None)?;
            }
        }
        w.close()?;
    }
    rg.close()?;
    Ok(())
}

fn write_csv_row<W: Write>(w: &mut csv::Writer<W>, r: &Row) -> csv::Result<()> {
    let mut f = |s: &str| w.write_field(s);
    f(&r.id.to_string())?;
    f(&r.target_g_s.to_string())?;
    f(&r.target_g_u.to_string())?;
    for g in &r.conductances {
        f(&g.to_string())?;
    }
    f(&r.target.to_string())?;
    f(&r.model.to_string())?;
    f(&r.vth.to_string())?;
    for a in &r.achieved {
        f(&a.to_string())?;
    }
    f(r.label.as_str())?;
    f(r.label_reference.as_str())?;
    f(if r.finite { "true" } else { "false" })?;
    f(&r.n_spikes.to_string())?;
    for x in &r.features {
        f(&x.to_string())?;
    }
    f(&format_train(&r.spikes))?;
    w.write_record(None::<&[u8]>)
}

/// Reads a dataset file back, batch by batch.
pub struct Source {
    path: PathBuf,
    layout: Layout,
    kind: SourceKind,
}

enum SourceKind {
    Parquet {
        reader: SerializedFileReader<File>,
        next_group: usize,
    },
    Csv(csv::Reader<File>),
}

impl Source {
    /// Opens a file of `format` and checks its columns.
    pub fn open(path: &Path, format: Format) -> Result<Source> {
        let file = File::open(path).map_err(Error::io(path, "cannot open"))?;
        let (layout, kind) = match format {
            Format::Parquet => {
                let reader = SerializedFileReader::new(file).map_err(Error::parquet(path))?;
                let schema = reader.metadata().file_metadata().schema_descr_ptr();
                let names: Vec<String> = schema
                    .columns()
                    .iter()
                    .map(|c| c.path().parts()[0].clone())
                    .collect();
                let layout = Layout::from_columns(&names).map_err(|m| Error::malformed(path, m))?;
                for (j, col) in Col::all(&layout).into_iter().enumerate() {
                    let c = schema.column(j);
                    let list = col == Col::Spikes;
                    if c.physical_type() != col.physical()
                        || (c.max_rep_level() > 0) != list
                        || c.max_def_level() != i16::from(list)
                    {
                        return Err(Error::malformed(
                            path,
                            format!(
                                "column `{}` is {:?} (definition level {}, repetition level {}); expected {}",
                                names[j],
                                c.physical_type(),
                                c.max_def_level(),
                                c.max_rep_level(),
                                if list {
                                    "a required list of DOUBLE".to_string()
                                } else {
                                    format!("a required {:?}", col.physical())
                                }
                            ),
                        ));
                    }
                }
                (
                    layout,
                    SourceKind::Parquet {
                        reader,
                        next_group: 0,
                    },
                )
            }
            Format::Csv => {
                let mut rdr = csv::ReaderBuilder::new().from_reader(file);
                let names: Vec<String> = rdr
                    .headers()
                    .map_err(Error::csv(path))?
                    .iter()
                    .map(String::from)
                    .collect();
                let layout = Layout::from_columns(&names).map_err(|m| Error::malformed(path, m))?;
                (layout, SourceKind::Csv(rdr))
            }
        };
        Ok(Source {
            path: path.to_path_buf(),
            layout,
            kind,
        })
    }

    /// The file's column layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Number of rows, when the file says it without being read (Parquet).
    pub fn rows_hint(&self) -> Option<u64> {
        match &self.kind {
            SourceKind::Parquet { reader, .. } => {
                Some(reader.metadata().file_metadata().num_rows() as u64)
            }
            SourceKind::Csv(_) => None,
        }
    }

    /// The next batch of rows; `None` at the end of the file.
    pub fn next_batch(&mut self) -> Result<Option<Vec<Row>>> {
        match &mut self.kind {
            SourceKind::Parquet { reader, next_group } => {
                if *next_group >= reader.num_row_groups() {
                    return Ok(None);
                }
                let rg = reader
                    .get_row_group(*next_group)
                    .map_err(Error::parquet(&self.path))?;
                *next_group += 1;
                read_row_group(&*rg, &self.layout)
                    .map(Some)
                    .map_err(|e| match e {
                        ReadErr::Parquet(p) => Error::parquet(&self.path)(p),
                        ReadErr::Bad(m) => Error::malformed(&self.path, m),
                    })
            }
            SourceKind::Csv(rdr) => {
                let mut rows = Vec::new();
                let mut rec = csv::StringRecord::new();
                while rows.len() < CSV_BATCH {
                    if !rdr.read_record(&mut rec).map_err(Error::csv(&self.path))? {
                        break;
                    }
                    let line = rec.position().map_or(0, |p| p.line());
                    rows.push(
                        parse_csv_row(&rec, &self.layout).map_err(|m| {
                            Error::malformed(&self.path, format!("line {line}: {m}"))
                        })?,
                    );
                }
                Ok((!rows.is_empty()).then_some(rows))
            }
        }
    }

    /// Every row of the file (for small files and tests).
    pub fn read_all(mut self) -> Result<Vec<Row>> {
        let mut all = Vec::new();
        while let Some(b) = self.next_batch()? {
            all.extend(b);
        }
        Ok(all)
    }
}

/// Reads every row of a dataset file (the format is told by the extension: `.csv` or else Parquet).
pub fn read_rows(path: &Path) -> Result<Vec<Row>> {
    let format = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        Format::Csv
    } else {
        Format::Parquet
    };
    Source::open(path, format)?.read_all()
}

enum ReadErr {
    Parquet(parquet::errors::ParquetError),
    Bad(String),
}

impl From<parquet::errors::ParquetError> for ReadErr {
    fn from(e: parquet::errors::ParquetError) -> Self {
        ReadErr::Parquet(e)
    }
}

/// Reads `n` values of a required flat column.
fn read_flat<T: DataType>(rg: &dyn RowGroupReader, j: usize, n: usize) -> Result<Vec<T::T>, ReadErr>
where
    T::T: Clone,
{
    let reader: ColumnReader = rg.get_column_reader(j)?;
    let mut r = get_typed_column_reader::<T>(reader);
    let mut out: Vec<T::T> = Vec::with_capacity(n);
    let mut records = 0;
    while records < n {
        let (got, _, _) = r.read_records(n - records, None, None, &mut out)?;
        if got == 0 {
            break;
        }
        records += got;
    }
    if out.len() != n {
        return Err(ReadErr::Bad(format!(
            "column {} holds {} values for {n} rows",
            j + 1,
            out.len()
        )));
    }
    Ok(out)
}

fn read_row_group(rg: &dyn RowGroupReader, layout: &Layout) -> Result<Vec<Row>, ReadErr> {
    let n = rg.metadata().num_rows() as usize;
    let cols = Col::all(layout);
    let mut rows: Vec<Row> = (0..n)
        .map(|_| Row {
            id: 0,
            target_g_s: 0.0,
            target_g_u: 0.0,
            conductances: vec![0.0; layout.conductances.len()],
            target: 0,
            model: 0,
            vth: 0.0,
            achieved: [0.0; 3],
            label: Label::Silent,
            label_reference: Label::Silent,
            finite: true,
            n_spikes: 0,
            features: vec![0.0; layout.features.len()],
            spikes: Vec::new(),
        })
        .collect();
    for (j, &col) in cols.iter().enumerate() {
        match col {
            Col::Id | Col::Target | Col::Model | Col::NSpikes => {
                let v = read_flat::<Int64Type>(rg, j, n)?;
                for (r, x) in rows.iter_mut().zip(v) {
                    if x < 0 || (col == Col::Model && x > u32::MAX as i64) {
                        return Err(ReadErr::Bad(format!(
                            "column {}: {x} is out of range",
                            j + 1
                        )));
                    }
                    match col {
                        Col::Id => r.id = x as u64,
                        Col::Target => r.target = x as u64,
                        Col::Model => r.model = x as u32,
                        _ => r.n_spikes = x as u64,
                    }
                }
            }
            Col::Label | Col::LabelRef => {
                let v = read_flat::<ByteArrayType>(rg, j, n)?;
                for (r, x) in rows.iter_mut().zip(v) {
                    let l: Label = std::str::from_utf8(x.data())
                        .map_err(|_| ReadErr::Bad("a label is not UTF-8".into()))?
                        .parse()
                        .map_err(ReadErr::Bad)?;
                    if col == Col::Label {
                        r.label = l;
                    } else {
                        r.label_reference = l;
                    }
                }
            }
            Col::Finite => {
                let v = read_flat::<BoolType>(rg, j, n)?;
                for (r, x) in rows.iter_mut().zip(v) {
                    r.finite = x;
                }
            }
            Col::Spikes => {
                let mut r = get_typed_column_reader::<DoubleType>(rg.get_column_reader(j)?);
                let (mut values, mut def, mut rep) = (Vec::new(), Vec::new(), Vec::new());
                let mut records = 0;
                while records < n {
                    let (got, _, _) =
                        r.read_records(n - records, Some(&mut def), Some(&mut rep), &mut values)?;
                    if got == 0 {
                        break;
                    }
                    records += got;
                }
                let mut vals = values.into_iter();
                let mut row = None::<usize>;
                for (&d, &p) in def.iter().zip(&rep) {
                    if p == 0 {
                        row = Some(row.map_or(0, |i| i + 1));
                    }
                    let i = row.ok_or_else(|| ReadErr::Bad("spike list starts mid-row".into()))?;
                    if i >= n {
                        return Err(ReadErr::Bad("more spike lists than rows".into()));
                    }
                    if d == 1 {
                        let t = vals
                            .next()
                            .ok_or_else(|| ReadErr::Bad("missing spike time values".into()))?;
                        rows[i].spikes.push(t);
                    }
                }
                if row.map_or(0, |i| i + 1) != n {
                    return Err(ReadErr::Bad(format!(
                        "{} spike lists for {n} rows",
                        row.map_or(0, |i| i + 1)
                    )));
                }
            }
            _ => {
                let v = read_flat::<DoubleType>(rg, j, n)?;
                for (r, x) in rows.iter_mut().zip(v) {
                    match col {
                        Col::TargetGs => r.target_g_s = x,
                        Col::TargetGu => r.target_g_u = x,
                        Col::Cond(i) => r.conductances[i] = x,
                        Col::Vth => r.vth = x,
                        Col::Achieved(i) => r.achieved[i] = x,
                        Col::Feature(i) => r.features[i] = x,
                        _ => unreachable!(),
                    }
                }
            }
        }
    }
    Ok(rows)
}

fn parse_csv_row(rec: &csv::StringRecord, layout: &Layout) -> Result<Row, String> {
    let names = layout.columns();
    if rec.len() != names.len() {
        return Err(format!(
            "{} fields; expected {} (one per column)",
            rec.len(),
            names.len()
        ));
    }
    let mut fields = rec.iter().zip(&names);
    let mut next = || fields.next().expect("length checked");
    fn num<T: std::str::FromStr>((raw, name): (&str, &String)) -> Result<T, String> {
        raw.parse()
            .map_err(|_| format!("field {name}: `{raw}` is not a valid number"))
    }
    fn label((raw, name): (&str, &String)) -> Result<Label, String> {
        raw.parse().map_err(|e| format!("field {name}: {e}"))
    }
    let id = num(next())?;
    let target_g_s = num(next())?;
    let target_g_u = num(next())?;
    let conductances = (0..layout.conductances.len())
        .map(|_| num(next()))
        .collect::<Result<_, _>>()?;
    let target = num(next())?;
    let model = num(next())?;
    let vth = num(next())?;
    let achieved = [num(next())?, num(next())?, num(next())?];
    let label_default = label(next())?;
    let label_reference = label(next())?;
    let finite = num(next())?;
    let n_spikes = num(next())?;
    let features = (0..layout.features.len())
        .map(|_| num(next()))
        .collect::<Result<_, _>>()?;
    let (raw, _) = next();
    let spikes = parse_train(raw).map_err(|e| format!("field spiking_times: {e}"))?;
    Ok(Row {
        id,
        target_g_s,
        target_g_u,
        conductances,
        target,
        model,
        vth,
        achieved,
        label: label_default,
        label_reference,
        finite,
        n_spikes,
        features,
        spikes,
    })
}
