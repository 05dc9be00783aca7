//! TensorBoard logs of a run: event files (scalars, images, histograms) and the embedding
//! projector's files, written without TensorFlow.
//!
//! An event file is a sequence of records, each `length: u64 LE`, `masked_crc32c(length): u32
//! LE`, `data`, `masked_crc32c(data): u32 LE`, where `data` is a serialized `tensorflow.Event`
//! (`tensorflow/core/util/event.proto`, `framework/summary.proto`) and the mask is
//! `((crc >> 15) | (crc << 17)) + 0xa282ead8`. The first event carries `file_version =
//! "brain.Event:2"`. Files are appended and flushed each epoch, never rewritten: a run killed
//! mid-record leaves a truncated last record, which TensorBoard's reader skips (the rest of
//! the run folder is written atomically as always).
//!
//! The projector reads `projector_config.pbtxt` in the log folder, which points at a
//! tab-separated tensor, its metadata (one label a line) and a sprite of the inputs.

use super::canvas::Canvas;
use crate::error::{Error, Result};
use crate::layers::Shape;
use crate::linalg::Matrix;
use crate::model::Autoencoder;
use crate::train::{EpochMetrics, Observer, TrainState};
use prost::Message;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// `tensorflow.Event`.
#[derive(Clone, PartialEq, Message)]
struct Event {
    #[prost(double, tag = "1")]
    wall_time: f64,
    #[prost(int64, tag = "2")]
    step: i64,
    #[prost(oneof = "What", tags = "3, 5")]
    what: Option<What>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum What {
    #[prost(string, tag = "3")]
    FileVersion(String),
    #[prost(message, tag = "5")]
    Summary(Summary),
}

/// `tensorflow.Summary`.
#[derive(Clone, PartialEq, Message)]
struct Summary {
    #[prost(message, repeated, tag = "1")]
    value: Vec<Value>,
}

/// `tensorflow.Summary.Value`.
#[derive(Clone, PartialEq, Message)]
struct Value {
    #[prost(string, tag = "1")]
    tag: String,
    #[prost(oneof = "Kind", tags = "2, 4, 5")]
    kind: Option<Kind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum Kind {
    #[prost(float, tag = "2")]
    SimpleValue(f32),
    #[prost(message, tag = "4")]
    Image(Image),
    #[prost(message, tag = "5")]
    Histo(Histogram),
}

/// `tensorflow.Summary.Image`: an encoded PNG.
#[derive(Clone, PartialEq, Message)]
struct Image {
    #[prost(int32, tag = "1")]
    height: i32,
    #[prost(int32, tag = "2")]
    width: i32,
    /// 3 = RGB.
    #[prost(int32, tag = "3")]
    colorspace: i32,
    #[prost(bytes = "vec", tag = "4")]
    encoded_image_string: Vec<u8>,
}

/// `tensorflow.HistogramProto`: bucket `i` counts values in `(limit[i-1], limit[i]]`.
#[derive(Clone, PartialEq, Message)]
struct Histogram {
    #[prost(double, tag = "1")]
    min: f64,
    #[prost(double, tag = "2")]
    max: f64,
    #[prost(double, tag = "3")]
    num: f64,
    #[prost(double, tag = "4")]
    sum: f64,
    #[prost(double, tag = "5")]
    sum_squares: f64,
    #[prost(double, repeated, tag = "6")]
    bucket_limit: Vec<f64>,
    #[prost(double, repeated, tag = "7")]
    bucket: Vec<f64>,
}

/// The CRC32C of `data`, masked as TensorFlow's record format masks it (a CRC of data that
/// itself holds CRCs is weak otherwise).
pub fn masked_crc32c(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// One framed record.
fn record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
    out
}

/// The records of an event file whose framing and CRCs check, in order, up to the first
/// truncated or corrupt one (where TensorBoard's reader stops too).
pub fn read_records(path: &Path) -> Result<Vec<Vec<u8>>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 12 <= bytes.len() {
        let len_bytes = &bytes[at..at + 8];
        let crc = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().expect("4 bytes"));
        if crc != masked_crc32c(len_bytes) {
            break;
        }
        let len = u64::from_le_bytes(len_bytes.try_into().expect("8 bytes"));
        let Some(end) = usize::try_from(len)
            .ok()
            .and_then(|l| (at + 12).checked_add(l))
            .filter(|e| e + 4 <= bytes.len())
        else {
            break;
        };
        let data = &bytes[at + 12..end];
        let crc = u32::from_le_bytes(bytes[end..end + 4].try_into().expect("4 bytes"));
        if crc != masked_crc32c(data) {
            break;
        }
        out.push(data.to_vec());
        at = end + 4;
    }
    Ok(out)
}

/// The scalars of an event file: `(tag, step, value)` in the order written.
pub fn read_scalars(path: &Path) -> Result<Vec<(String, i64, f32)>> {
    let mut out = Vec::new();
    for data in read_records(path)? {
        let event = Event::decode(data.as_slice())
            .map_err(|e| Error::format(path, format!("not an event: {e}")))?;
        if let Some(What::Summary(s)) = event.what {
            for v in s.value {
                if let Some(Kind::SimpleValue(x)) = v.kind {
                    out.push((v.tag, event.step, x));
                }
            }
        }
    }
    Ok(out)
}

/// The event files in `dir`, oldest name first.
pub fn event_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("events.out.tfevents."))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Appends events to a new `events.out.tfevents.*` file.
pub struct EventWriter {
    path: PathBuf,
    file: BufWriter<File>,
}

impl EventWriter {
    /// A new event file in `dir` (created if needed), its first event written.
    pub fn create(dir: &Path) -> Result<Self> {
        crate::fsutil::create_dir(dir)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or_else(|| "localhost".into());
        // unique per process and writer, so two writers in the same second never share a file
        static WRITERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = WRITERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.join(format!(
            "events.out.tfevents.{now:010}.{host}.{}.{n}",
            std::process::id()
        ));
        let file = std::fs::OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let mut w = EventWriter {
            path,
            file: BufWriter::new(file),
        };
        w.write(0, What::FileVersion("brain.Event:2".into()))?;
        w.flush()?;
        Ok(w)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self, step: i64, what: What) -> Result<()> {
        let wall_time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let event = Event {
            wall_time,
            step,
            what: Some(what),
        };
        self.file
            .write_all(&record(&event.encode_to_vec()))
            .map_err(|e| Error::io(&self.path, e))
    }

    fn summary(&mut self, step: i64, tag: &str, kind: Kind) -> Result<()> {
        let value = Value {
            tag: tag.into(),
            kind: Some(kind),
        };
        self.write(step, What::Summary(Summary { value: vec![value] }))
    }

    /// A scalar.
    pub fn scalar(&mut self, tag: &str, step: i64, value: f32) -> Result<()> {
        self.summary(step, tag, Kind::SimpleValue(value))
    }

    /// An image.
    pub fn image(&mut self, tag: &str, step: i64, canvas: &Canvas) -> Result<()> {
        let png = canvas
            .png_bytes()
            .map_err(|e| Error::format(&self.path, e.to_string()))?;
        let image = Image {
            height: canvas.height() as i32,
            width: canvas.width() as i32,
            colorspace: 3,
            encoded_image_string: png,
        };
        self.summary(step, tag, Kind::Image(image))
    }

    /// A histogram of the finite `values` in 30 equal buckets from their minimum to their
    /// maximum (nothing is written when none is finite).
    pub fn histogram(&mut self, tag: &str, step: i64, values: &[f32]) -> Result<()> {
        match histogram(values) {
            Some(h) => self.summary(step, tag, Kind::Histo(h)),
            None => Ok(()),
        }
    }

    /// Pushes what was written to the file.
    pub fn flush(&mut self) -> Result<()> {
        self.file.flush().map_err(|e| Error::io(&self.path, e))
    }
}

const BUCKETS: usize = 30;

fn histogram(values: &[f32]) -> Option<Histogram> {
    let finite = || values.iter().filter(|v| v.is_finite()).map(|&v| v as f64);
    let (min, max) = finite().fold(None, |acc: Option<(f64, f64)>, v| {
        Some(acc.map_or((v, v), |(a, b)| (a.min(v), b.max(v))))
    })?;
    let buckets = if max > min { BUCKETS } else { 1 };
    let width = (max - min) / buckets as f64;
    let bucket_limit: Vec<f64> = (1..=buckets)
        .map(|i| {
            if i == buckets {
                max
            } else {
                min + width * i as f64
            }
        })
        .collect();
    let mut bucket = vec![0.0; buckets];
    let (mut num, mut sum, mut sum_squares) = (0.0, 0.0, 0.0);
    for v in finite() {
        // the first bucket whose limit is at least v (the minimum lands in the first)
        let i = bucket_limit.partition_point(|&l| l < v).min(buckets - 1);
        bucket[i] += 1.0;
        num += 1.0;
        sum += v;
        sum_squares += v * v;
    }
    Some(Histogram {
        min,
        max,
        num,
        sum,
        sum_squares,
        bucket_limit,
        bucket,
    })
}

/// A run's TensorBoard log: per epoch every metric of `metrics.jsonl` as a scalar (tag = its
/// key, step = the epoch), the training loss every `every` steps (`step/train_loss`, step =
/// the global step), weight and code histograms, and for image data the reconstructions of a
/// few inputs and the first layer's filters; at the end, [`Self::projector`].
pub struct TensorBoard {
    dir: PathBuf,
    writer: EventWriter,
    every: usize,
    /// Inputs whose codes (histogram) and reconstructions (the first 16) are logged.
    sample: Matrix,
    /// The first write error of [`Observer::batch`], which cannot return it.
    error: Option<Error>,
}

/// How many rows [`TensorBoard::new`] keeps for the per-epoch code histogram.
pub const SAMPLE_ROWS: usize = 256;
/// How many points the projector shows at most.
pub const PROJECTOR_ROWS: usize = 2000;

impl TensorBoard {
    /// A log in `dir` (a new event file beside any earlier ones, as a resumed run adds),
    /// logging the training loss every `every` steps (0: per epoch only) and the codes and
    /// reconstructions of the first [`SAMPLE_ROWS`] rows of `sample`.
    pub fn new(dir: &Path, every: usize, sample: &Matrix) -> Result<Self> {
        let rows = sample.rows().min(SAMPLE_ROWS);
        Ok(TensorBoard {
            dir: dir.to_path_buf(),
            writer: EventWriter::create(dir)?,
            every,
            sample: sample.slice_rows(0, rows),
            error: None,
        })
    }

    /// The log folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The event file being written.
    pub fn path(&self) -> &Path {
        self.writer.path()
    }

    /// The training loss of step `batch` (from 1) of `batches` in `epoch`, when the step
    /// count is a multiple of `every`.
    pub fn step(&mut self, epoch: usize, batch: usize, batches: usize, loss: f64) {
        let global = (epoch.saturating_sub(1) * batches + batch) as i64;
        if self.every > 0 && global % self.every as i64 == 0 && self.error.is_none() {
            if let Err(e) = self.writer.scalar("step/train_loss", global, loss as f32) {
                self.error = Some(e);
            }
        }
    }

    /// Every numeric field of the epoch's `metrics.jsonl` row, then a flush.
    pub fn metrics(&mut self, m: &EpochMetrics) -> Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let step = m.epoch as i64;
        if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(m) {
            for (key, value) in fields {
                if let (true, Some(x)) = (key != "epoch", value.as_f64()) {
                    self.writer.scalar(&key, step, x as f32)?;
                }
            }
        }
        self.writer.flush()
    }

    /// The model's weight histograms (`weights/<tensor>`), the sample's code histogram
    /// (`codes`), and for image data its reconstructions and the first layer's filters.
    pub fn model(&mut self, epoch: usize, model: &Autoencoder) -> Result<()> {
        let step = epoch as i64;
        for t in model.tensors() {
            self.writer
                .histogram(&format!("weights/{}", t.name), step, &t.data)?;
        }
        if self.sample.rows() > 0 {
            let codes = model.encode(&self.sample)?;
            self.writer.histogram("codes", step, codes.as_slice())?;
            if let Some(shape) = image_shape(model) {
                let n = self.sample.rows().min(16);
                let originals = self.sample.slice_rows(0, n);
                let recon = model.reconstruct(&originals)?;
                let tiles: Vec<Vec<f32>> = [&originals, &recon]
                    .iter()
                    .flat_map(|m| (0..n).map(|i| m.row(i).to_vec()))
                    .collect();
                let canvas = super::plots::tiles_canvas(&tiles, shape, n, 0, 0);
                self.writer.image("reconstructions", step, &canvas)?;
                if let Some(canvas) = filters(model, shape) {
                    self.writer.image("filters", step, &canvas)?;
                }
            }
        }
        self.writer.flush()
    }

    /// The projector's files for the codes of `rows` (at most [`PROJECTOR_ROWS`]):
    /// `codes/tensors.tsv`, `codes/metadata.tsv` (with `labels`), `codes/sprite.png` (for
    /// image data) and `projector_config.pbtxt`, each written atomically.
    pub fn projector(
        &self,
        model: &Autoencoder,
        rows: &Matrix,
        labels: Option<&[String]>,
    ) -> Result<()> {
        let n = rows.rows().min(PROJECTOR_ROWS);
        if n == 0 {
            return Ok(());
        }
        let rows = rows.slice_rows(0, n);
        let codes = model.encode(&rows)?;
        let folder = self.dir.join("codes");
        crate::fsutil::create_dir(&folder)?;
        let mut tsv = String::new();
        for i in 0..n {
            let line: Vec<String> = codes.row(i).iter().map(|v| format!("{v}")).collect();
            tsv.push_str(&line.join("\t"));
            tsv.push('\n');
        }
        crate::fsutil::atomic_write(&folder.join("tensors.tsv"), tsv.as_bytes())?;
        let mut config = String::from(
            "embeddings {\n  tensor_name: \"codes\"\n  tensor_path: \"codes/tensors.tsv\"\n",
        );
        if let Some(labels) = labels.filter(|l| l.len() >= n) {
            // one column: no header line
            // a tab or newline inside a label would split it
            let text: String = labels[..n]
                .iter()
                .map(|l| l.replace(['\t', '\n', '\r'], " ") + "\n")
                .collect();
            crate::fsutil::atomic_write(&folder.join("metadata.tsv"), text.as_bytes())?;
            config.push_str("  metadata_path: \"codes/metadata.tsv\"\n");
        }
        if let Some((channels, height, width)) = image_shape(model) {
            // the projector allows sprites up to 8192 pixels a side
            let per_side = (n as f64).sqrt().ceil() as usize;
            if per_side * height.max(width) <= 8192 {
                let canvas = sprite(&rows, (channels, height, width), per_side);
                canvas.save_png(&folder.join("sprite.png"))?;
                config.push_str(&format!(
                    "  sprite {{\n    image_path: \"codes/sprite.png\"\n    single_image_dim: {width}\n    single_image_dim: {height}\n  }}\n"
                ));
            }
        }
        config.push_str("}\n");
        crate::fsutil::atomic_write(&self.dir.join("projector_config.pbtxt"), config.as_bytes())
    }
}

impl Observer for TensorBoard {
    fn batch(&mut self, epoch: usize, batch: usize, batches: usize, loss: f64) {
        self.step(epoch, batch, batches, loss);
    }
    fn epoch(&mut self, m: &EpochMetrics, model: &Autoencoder, _: &TrainState) -> Result<()> {
        self.metrics(m)?;
        self.model(m.epoch, model)
    }
}

/// `channels × height × width` of a model's inputs when they are images to draw: a conv
/// model's grey or colour images, or flat rows that are square grey images.
fn image_shape(model: &Autoencoder) -> Option<(usize, usize, usize)> {
    match model.spec().input_shape() {
        Shape::Image {
            channels: channels @ (1 | 3),
            height,
            width,
        } => Some((channels, height, width)),
        Shape::Image { .. } => None,
        Shape::Flat(d) => {
            let side = (d as f64).sqrt() as usize;
            (side * side == d && side >= 4).then_some((1, side, side))
        }
    }
}

/// The first layer's filters as tiles: a conv layer's kernels (1 or 3 input channels) or a
/// dense layer's rows on square inputs; each scaled to its own range.
fn filters(
    model: &Autoencoder,
    (channels, height, width): (usize, usize, usize),
) -> Option<Canvas> {
    let first = model.tensors().first()?;
    let (count, shape) = match first.shape[..] {
        [filters, c, kh, kw] if c == channels => (filters, (c, kh, kw)),
        [units, pixels] if pixels == channels * height * width && channels == 1 => {
            (units, (1, height, width))
        }
        _ => return None,
    };
    let len = shape.0 * shape.1 * shape.2;
    let tiles: Vec<Vec<f32>> = first
        .data
        .chunks_exact(len)
        .take(count.min(100))
        .map(super::plots::own_range)
        .collect();
    Some(super::plots::tiles_canvas(&tiles, shape, 10, 0, 0))
}

/// A square grid of `per_side × per_side` images at their own size (no borders), as the
/// projector cuts sprites; each image scaled to its own range.
fn sprite(
    rows: &Matrix,
    (channels, height, width): (usize, usize, usize),
    per_side: usize,
) -> Canvas {
    let mut canvas = Canvas::new(per_side * width, per_side * height);
    for i in 0..rows.rows() {
        let scaled = super::plots::own_range(rows.row(i));
        let (x, y) = (
            ((i % per_side) * width) as i64,
            ((i / per_side) * height) as i64,
        );
        if channels == 3 {
            canvas.rgb_tile(x, y, &scaled, width, height, 1);
        } else {
            canvas.gray_tile(x, y, &scaled, width, height, 1);
        }
    }
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_crc_matches_tensorflow() {
        // crc32c("123456789") = 0xe3069283 (the Castagnoli check value)
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        // ((crc >> 15) | (crc << 17)) + 0xa282ead8, worked out by hand (mod 2^32)
        assert_eq!(masked_crc32c(b"123456789"), 0xc78a_b0e5);
    }

    #[test]
    fn records_round_trip_and_stop_at_a_truncated_one() {
        let dir = std::env::temp_dir().join(format!("tb-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut w = EventWriter::create(&dir).unwrap();
        for step in 1..=3 {
            w.scalar("loss", step, 0.5 * step as f32).unwrap();
        }
        w.histogram("h", 1, &[1.0, 2.0, 2.0, 3.0, f32::NAN])
            .unwrap();
        w.flush().unwrap();
        let path = w.path().to_path_buf();
        assert_eq!(read_records(&path).unwrap().len(), 5);
        let scalars = read_scalars(&path).unwrap();
        assert_eq!(
            scalars,
            [1, 2, 3].map(|s| ("loss".to_string(), s, 0.5 * s as f32))
        );
        // a torn last record is dropped, the ones before it kept
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(read_records(&path).unwrap().len(), 4);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn histogram_counts_every_finite_value_once() {
        // 0, 1, …, 30: limits 1, 2, …, 30; the first bucket holds 0 and 1, each other one value
        let values: Vec<f32> = (0..=30).map(|i| i as f32).collect();
        let h = histogram(&values).unwrap();
        assert_eq!((h.min, h.max, h.num), (0.0, 30.0, 31.0));
        assert_eq!(h.bucket_limit, (1..=30).map(f64::from).collect::<Vec<_>>());
        let mut expected = vec![1.0; BUCKETS];
        expected[0] = 2.0;
        assert_eq!(h.bucket, expected);
        assert_eq!(h.sum, 465.0);
        assert_eq!(h.sum_squares, (0..=30).map(|i| (i * i) as f64).sum::<f64>());
        let constant = histogram(&[2.0, 2.0]).unwrap();
        assert_eq!((constant.bucket.clone(), constant.num), (vec![2.0], 2.0));
        assert!(histogram(&[f32::NAN]).is_none());
    }
}
