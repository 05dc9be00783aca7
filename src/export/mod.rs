//! Exports of trained models to other runtimes.

pub mod onnx;
