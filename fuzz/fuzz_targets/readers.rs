//! Fuzzes the IDX (raw and gzipped), NPY and CSV readers: any bytes must give a value or an
//! error, never a panic, a hang or an out-of-memory.
#![no_main]

use autoencoder::data::{csv, idx, npy};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz");
    if let Ok(bytes) = idx::gunzip_if_gzipped(path, data.to_vec()) {
        let _ = idx::parse(path, &bytes);
    }
    let _ = npy::parse(path, data);
    let _ = csv::parse(path, data, None);
    let _ = csv::parse(path, data, Some(csv::LabelColumn::Last));
});
