//! A Python object as the engine's [`Reducer`]: `autoencoder.distributed.MpiReducer`,
//! `TorchReducer`, or any object with `rank`, `world_size`, `allreduce_mean(buf)` (a float32
//! array, averaged in place) and `allreduce(buf, op)` (float64, `"sum"` or `"max"`, in place).
//!
//! The gradient reaches Python without a copy: the array handed to `allreduce_mean` is a view
//! of the engine's flat gradient buffer, valid during the call only. A reducer that keeps a
//! reference to it past the call is refused (its reference count is checked).

use autoencoder::train::reducer::{ReduceOp, Reducer};
use autoencoder::Error;
use numpy::ndarray::ArrayViewMut1;
use numpy::{PyArray1, PyArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::sync::Mutex;

/// A Python reducer, with the first exception it raised (re-raised by `fit` as it was).
pub(crate) struct PyReducer {
    object: Py<PyAny>,
    rank: usize,
    world: usize,
    pub(crate) raised: Mutex<Option<PyErr>>,
}

impl PyReducer {
    /// Reads `rank` and `world_size` once and checks them.
    pub(crate) fn new(py: Python<'_>, object: Py<PyAny>) -> PyResult<Self> {
        let o = object.bind(py);
        for method in ["allreduce_mean", "allreduce"] {
            if !o.hasattr(method)? {
                return Err(PyValueError::new_err(format!(
                    "reducer: {} has no {method}() method",
                    o.get_type().name()?
                )));
            }
        }
        let rank: usize = o
            .getattr("rank")?
            .extract()
            .map_err(|_| PyValueError::new_err("reducer.rank: must be a non-negative integer"))?;
        let world: usize = o
            .getattr("world_size")?
            .extract()
            .map_err(|_| PyValueError::new_err("reducer.world_size: must be a positive integer"))?;
        if world == 0 || rank >= world {
            return Err(PyValueError::new_err(format!(
                "reducer: rank {rank} is not below world_size {world}"
            )));
        }
        Ok(PyReducer {
            object,
            rank,
            world,
            raised: Mutex::new(None),
        })
    }

    /// Runs `call` with the GIL; an exception is kept for `fit` and becomes an engine error.
    fn call(
        &self,
        what: &str,
        call: impl FnOnce(Python<'_>) -> PyResult<()>,
    ) -> autoencoder::Result<()> {
        Python::attach(call).map_err(|e| {
            let message = format!("rank {}: {what} failed: {e}", self.rank);
            if let Ok(mut slot) = self.raised.lock() {
                slot.get_or_insert(e);
            }
            Error::Invalid(message)
        })
    }
}

impl Reducer for PyReducer {
    fn rank(&self) -> usize {
        self.rank
    }
    fn world_size(&self) -> usize {
        self.world
    }
    fn all_reduce_mean(&self, values: &mut [f32]) -> autoencoder::Result<()> {
        self.call("allreduce_mean", |py| {
            let view = ArrayViewMut1::from(values);
            // SAFETY: the array views `values`, which outlives this call and is not moved
            // or resized during it; the array's base is a fresh object, and after the call
            // the reference count proves that nothing else holds the array (checked below)
            let array = unsafe { PyArray1::borrow_from_array(&view, py.None().into_bound(py)) };
            self.object
                .bind(py)
                .call_method1("allreduce_mean", (array.clone(),))?;
            // SAFETY: a live object's reference count
            if unsafe { pyo3::ffi::Py_REFCNT(array.as_ptr()) } > 1 {
                return Err(PyValueError::new_err(
                    "reducer.allreduce_mean kept a reference to the gradient buffer, which is \
                     only valid during the call",
                ));
            }
            Ok(())
        })
    }
    fn all_reduce_f64(&self, values: &mut [f64], op: ReduceOp) -> autoencoder::Result<()> {
        let op = match op {
            ReduceOp::Sum => "sum",
            ReduceOp::Max => "max",
        };
        self.call("allreduce", |py| {
            // a few scalars: copied both ways
            let array = PyArray1::from_slice(py, values);
            self.object
                .bind(py)
                .call_method1("allreduce", (array.clone(), op))?;
            let reduced = array
                .to_vec()
                .map_err(|e| PyValueError::new_err(format!("reducer.allreduce: {e}")))?;
            values.copy_from_slice(&reduced);
            Ok(())
        })
    }
}
