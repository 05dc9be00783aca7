//! Binary hashing for retrieval: the LSH / PCAH / ITQ encoders and the exact Hamming index,
//! with packed `uint8` codes in FAISS's bit order in and out.

use crate::{row_major, to_matrix, value_error};
use autoencoder::hashing::codes::check_same_width;
use autoencoder::hashing::knn::MISSING;
use autoencoder::hashing::{Codes, Encoder, FlatIndex, Method};
use numpy::ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

fn codes_from(codes: &PyReadonlyArray2<'_, u8>, what: &str) -> PyResult<Codes> {
    let shape = codes.shape();
    let (n, bytes) = (shape[0], shape[1]);
    Codes::from_bytes(n, bytes, row_major(codes))
        .map_err(|e| PyValueError::new_err(format!("{what}: {e}")))
}

/// `search`'s `(distances, ids)`.
type SearchResult<'py> = (Bound<'py, PyArray2<i32>>, Bound<'py, PyArray2<i64>>);
/// `radius_search`'s `(lims, distances, ids)`.
type RangeSearchResult<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i32>>,
    Bound<'py, PyArray1<i64>>,
);

fn packed<'py>(py: Python<'py>, codes: &Codes) -> Bound<'py, PyArray2<u8>> {
    Array2::from_shape_vec((codes.len(), codes.bytes_per_code()), codes.to_bytes())
        .expect("n × bytes packed codes")
        .into_pyarray(py)
}

/// A fitted hashing encoder: `bit j = x·W[:, j] ≥ offset[j]`.
#[pyclass(module = "autoencoder._native", name = "NativeHasher", frozen)]
pub struct NativeHasher {
    encoder: Encoder,
}

#[pymethods]
impl NativeHasher {
    /// Fits `method` (lsh, pcah, itq) with `bits`-bit codes on `x`.
    #[staticmethod]
    fn fit(
        py: Python<'_>,
        method: &str,
        x: PyReadonlyArray2<'_, f32>,
        bits: usize,
        seed: u64,
    ) -> PyResult<NativeHasher> {
        let method = Method::parse(method).map_err(value_error)?;
        let x = to_matrix(&x, "X")?;
        let encoder = py
            .detach(|| Encoder::fit(method, &x, bits, seed))
            .map_err(value_error)?;
        Ok(NativeHasher { encoder })
    }

    /// A hasher from its parts (what pickle stores).
    #[staticmethod]
    fn from_parts(
        method: &str,
        bits: usize,
        dims: usize,
        projection: PyReadonlyArray1<'_, f32>,
        offset: PyReadonlyArray1<'_, f32>,
    ) -> PyResult<NativeHasher> {
        let method = Method::parse(method).map_err(value_error)?;
        let projection = projection.as_array().to_vec();
        let offset = offset.as_array().to_vec();
        if projection.len() != dims * bits
            || offset.len() != bits
            || !bits.is_multiple_of(8)
            || bits == 0
        {
            return Err(PyValueError::new_err(format!(
                "hasher state does not fit {bits} bits of {dims} inputs"
            )));
        }
        Ok(NativeHasher {
            encoder: Encoder {
                method,
                bits,
                dims,
                projection,
                offset,
                itq_loss: Vec::new(),
            },
        })
    }

    /// Packed codes of `x` (`n × bits/8` uint8, FAISS bit order).
    fn encode<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
    ) -> PyResult<Bound<'py, PyArray2<u8>>> {
        let x = to_matrix(&x, "X")?;
        let codes = py.detach(|| self.encoder.encode(&x)).map_err(value_error)?;
        Ok(packed(py, &codes))
    }

    #[getter]
    fn method(&self) -> &'static str {
        self.encoder.method.name()
    }
    #[getter]
    fn bits(&self) -> usize {
        self.encoder.bits
    }
    #[getter]
    fn dims(&self) -> usize {
        self.encoder.dims
    }
    #[getter]
    fn projection<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        self.encoder.projection.clone().into_pyarray(py)
    }
    #[getter]
    fn offset<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        self.encoder.offset.clone().into_pyarray(py)
    }
    /// ITQ's quantization loss before the first and after each rotation update.
    #[getter]
    fn itq_loss<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.encoder.itq_loss.clone().into_pyarray(py)
    }
}

/// Exact Hamming search over packed codes (like FAISS's `IndexBinaryFlat`).
#[pyclass(module = "autoencoder._native", name = "NativeHammingIndex", frozen)]
pub struct NativeHammingIndex {
    codes: Codes,
    index: FlatIndex,
}

#[pymethods]
impl NativeHammingIndex {
    #[new]
    fn new(codes: PyReadonlyArray2<'_, u8>) -> PyResult<Self> {
        let codes = codes_from(&codes, "codes")?;
        if codes.len() >= MISSING as usize {
            return Err(PyValueError::new_err("at most 2^32 − 1 codes"));
        }
        let index = FlatIndex::new(&codes);
        Ok(NativeHammingIndex { codes, index })
    }

    /// `(distances, ids)`, each `queries × k`, nearest first (ties by smaller id); −1 where a
    /// query has fewer than k neighbours.
    fn search<'py>(
        &self,
        py: Python<'py>,
        queries: PyReadonlyArray2<'py, u8>,
        k: usize,
    ) -> PyResult<SearchResult<'py>> {
        let q = codes_from(&queries, "queries")?;
        check_same_width(&self.codes, &q).map_err(value_error)?;
        if k == 0 {
            return Err(PyValueError::new_err("k must be at least 1"));
        }
        autoencoder::limits::check_floats("k", q.len() as u128 * k as u128 * 3, "search results")
            .map_err(value_error)?;
        let r = py.detach(|| self.index.knn(&q, k));
        let d: Vec<i32> = r
            .distances
            .iter()
            .zip(&r.ids)
            .map(|(d, id)| if *id == MISSING { -1 } else { *d as i32 })
            .collect();
        let ids: Vec<i64> = r
            .ids
            .iter()
            .map(|id| if *id == MISSING { -1 } else { *id as i64 })
            .collect();
        let shape = (q.len(), k);
        Ok((
            Array2::from_shape_vec(shape, d)
                .expect("q × k")
                .into_pyarray(py),
            Array2::from_shape_vec(shape, ids)
                .expect("q × k")
                .into_pyarray(py),
        ))
    }

    /// FAISS's range-search layout: `(lims, distances, ids)`; query `i`'s results are
    /// `lims[i]:lims[i + 1]`, every code within Hamming distance `radius`, nearest first.
    fn radius_search<'py>(
        &self,
        py: Python<'py>,
        queries: PyReadonlyArray2<'py, u8>,
        radius: u32,
    ) -> PyResult<RangeSearchResult<'py>> {
        let q = codes_from(&queries, "queries")?;
        check_same_width(&self.codes, &q).map_err(value_error)?;
        let r = py.detach(|| self.index.range(&q, radius));
        let lims: Vec<i64> = r.offsets.iter().map(|o| *o as i64).collect();
        let d: Vec<i32> = r.distances.iter().map(|d| *d as i32).collect();
        let ids: Vec<i64> = r.ids.iter().map(|i| *i as i64).collect();
        Ok((
            lims.into_pyarray(py),
            d.into_pyarray(py),
            ids.into_pyarray(py),
        ))
    }

    /// The database's packed codes.
    fn codes<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<u8>> {
        packed(py, &self.codes)
    }

    fn __len__(&self) -> usize {
        self.codes.len()
    }

    #[getter]
    fn bits(&self) -> usize {
        self.codes.bits()
    }
}
