//! Binary codes as memory addresses (chapter 14.5, semantic hashing): packed codes, exact
//! Hamming k-NN and range search by linear scan, Hamming-ball lookup in a hash table,
//! multi-index hashing for long codes, the classical encoders (LSH, PCA hashing, ITQ) and the
//! retrieval metrics they are judged by.
//!
//! ```
//! use autoencoder::hashing::{knn, Codes};
//! let db = Codes::from_bytes(3, 1, vec![0b0000_0000, 0b0000_0111, 0b0000_0001]).unwrap();
//! let q = Codes::from_bytes(1, 1, vec![0b0000_0011]).unwrap();
//! let r = knn::FlatIndex::new(&db).knn(&q, 2);
//! assert_eq!(r.ids, vec![1, 2]); // distance 1 each: the smaller index first
//! assert_eq!(r.distances, vec![1, 1]);
//! ```

pub mod ball;
pub mod codes;
pub mod encoders;
pub mod knn;
pub mod labels;
pub mod metrics;
pub mod mih;
mod popcount;
pub mod rerank;
pub(crate) mod table;

pub use codes::Codes;
pub use encoders::{Encoder, Method};
pub use knn::{FlatIndex, KnnResult, RangeResult};
