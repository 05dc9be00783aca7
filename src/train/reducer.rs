//! Data-parallel training: each worker steps on its own rows, and a [`Reducer`] averages the
//! gradients across workers before every optimizer update.
//!
//! Workers start from the same seed, so their initial parameters and optimizer states are
//! equal; identical averaged gradients keep them equal without ever shipping parameters (as
//! PyTorch's `DistributedDataParallel` does). The global batch is `batch_size × world_size`;
//! its gradient is the mean of the workers' batch-mean gradients. What each worker decides from
//! the averaged numbers — the training loss, the validation scores (averaged over workers,
//! weighted by their validation rows), early stopping, NaN stops, a callback's stop — is the
//! same on every worker. A parameter checksum is compared at the start, every
//! [`CHECK_EVERY`] steps and after every epoch; a mismatch stops every worker with an error.
//! Running statistics (batch norm), which each worker accumulates from its own batches, are
//! averaged after every epoch.
//!
//! The loop's random stream stays the same on every worker (checkpoints resume on any of
//! them): each epoch draws one number from it and, with the worker's rank, seeds the epoch's own
//! stream (shuffles, corruption, dropout), so workers draw different noise.

use crate::error::{Error, Result};
use std::sync::{Condvar, Mutex};

/// Steps between parameter checksums (besides the start and each epoch's end).
pub const CHECK_EVERY: usize = 100;

/// How [`Reducer::all_reduce_f64`] combines the workers' values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    /// The sum.
    Sum,
    /// The maximum.
    Max,
}

/// Collectives across the workers of a data-parallel fit. Every worker calls the same
/// collectives in the same order with buffers of the same length; an implementation should
/// fail (rather than hang) when a worker does not come, naming it when it can.
pub trait Reducer: Send + Sync {
    /// This worker's index, from 0.
    fn rank(&self) -> usize;
    /// How many workers.
    fn world_size(&self) -> usize;
    /// Replaces `values` by their mean over the workers, element by element.
    fn all_reduce_mean(&self, values: &mut [f32]) -> Result<()>;
    /// Replaces `values` by their sum or maximum over the workers, element by element.
    fn all_reduce_f64(&self, values: &mut [f64], op: ReduceOp) -> Result<()>;
}

/// A checksum of parameters, small enough that sums of it and its square over thousands of
/// workers are exact in `f64` (FNV-1a over the bits, folded to 20 bits).
pub(crate) fn checksum(parameters: &[&[f32]]) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parameters {
        for v in p.iter() {
            h ^= v.to_bits() as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    ((h ^ (h >> 20) ^ (h >> 40)) & 0xf_ffff) as f64
}

/// Whether every worker holds the same parameters: with `c` each worker's checksum, `n · Σc²
/// = (Σc)²` exactly when all are equal (the sums are exact), so every worker reaches the same
/// answer from the same all-reduce. `extra` values ride along in the same collective (summed).
pub(crate) fn same_everywhere(
    reducer: &dyn Reducer,
    parameters: &[&[f32]],
    extra: &mut [f64],
) -> Result<bool> {
    let c = checksum(parameters);
    let mut values = vec![c, c * c];
    values.extend_from_slice(extra);
    reducer.all_reduce_f64(&mut values, ReduceOp::Sum)?;
    extra.copy_from_slice(&values[2..]);
    let n = reducer.world_size() as f64;
    Ok(n * values[1] == values[0] * values[0])
}

/// The seed of a worker's random stream for one epoch: `draw` (one number from the shared
/// stream) mixed with the rank (splitmix64's finalizer).
pub(crate) fn epoch_seed(draw: u64, rank: usize) -> u64 {
    let mut z = draw ^ (rank as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Workers as threads of one process, for tests and for trying a data-parallel fit on one
/// machine: [`LocalGroup::reducers`] gives one [`Reducer`] per worker. Sums run in rank order, so
/// results do not depend on which thread arrives first.
pub struct LocalGroup;

impl LocalGroup {
    /// Reducers for `world` workers (each to be moved to its own thread).
    pub fn reducers(world: usize) -> Vec<LocalReducer> {
        let shared = std::sync::Arc::new(Shared {
            state: Mutex::new(Round {
                generation: 0,
                arrived: 0,
                inputs: vec![Vec::new(); world],
                result: Vec::new(),
                op: None,
            }),
            ready: Condvar::new(),
        });
        (0..world)
            .map(|rank| LocalReducer {
                rank,
                world,
                shared: shared.clone(),
            })
            .collect()
    }
}

struct Round {
    generation: u64,
    arrived: usize,
    inputs: Vec<Vec<f64>>,
    result: Vec<f64>,
    op: Option<ReduceOp>,
}

struct Shared {
    state: Mutex<Round>,
    ready: Condvar,
}

/// One worker of a [`LocalGroup`].
pub struct LocalReducer {
    rank: usize,
    world: usize,
    shared: std::sync::Arc<Shared>,
}

impl LocalReducer {
    /// All-reduces `values` (as f64) with `op`; a worker that waits more than 60 s fails.
    fn reduce(&self, values: &[f64], op: ReduceOp) -> Result<Vec<f64>> {
        let mut round = self.shared.state.lock().map_err(|_| poisoned())?;
        let generation = round.generation;
        round.inputs[self.rank] = values.to_vec();
        round.op = Some(op);
        round.arrived += 1;
        if round.arrived == self.world {
            let len = values.len();
            if round.inputs.iter().any(|v| v.len() != len) {
                return Err(Error::Invalid(
                    "workers all-reduced buffers of different lengths".into(),
                ));
            }
            let mut result = round.inputs[0].clone();
            for input in &round.inputs[1..] {
                for (r, v) in result.iter_mut().zip(input) {
                    *r = match op {
                        ReduceOp::Sum => *r + v,
                        ReduceOp::Max => r.max(*v),
                    };
                }
            }
            round.result = result;
            round.inputs.iter_mut().for_each(Vec::clear);
            round.arrived = 0;
            round.generation += 1;
            self.shared.ready.notify_all();
            return Ok(round.result.clone());
        }
        let timeout = std::time::Duration::from_secs(60);
        let (round, waited) = self
            .shared
            .ready
            .wait_timeout_while(round, timeout, |r| r.generation == generation)
            .map_err(|_| poisoned())?;
        if waited.timed_out() {
            let missing: Vec<usize> = (0..self.world)
                .filter(|&r| round.inputs[r].is_empty() && r != self.rank)
                .collect();
            return Err(Error::Invalid(format!(
                "rank {}: no all-reduce from rank(s) {missing:?} within {} s",
                self.rank,
                timeout.as_secs()
            )));
        }
        Ok(round.result.clone())
    }
}

fn poisoned() -> Error {
    Error::Invalid("a worker thread panicked".into())
}

impl Reducer for LocalReducer {
    fn rank(&self) -> usize {
        self.rank
    }
    fn world_size(&self) -> usize {
        self.world
    }
    fn all_reduce_mean(&self, values: &mut [f32]) -> Result<()> {
        let wide: Vec<f64> = values.iter().map(|&v| v as f64).collect();
        let sum = self.reduce(&wide, ReduceOp::Sum)?;
        let n = self.world as f64;
        for (v, s) in values.iter_mut().zip(sum) {
            *v = (s / n) as f32;
        }
        Ok(())
    }
    fn all_reduce_f64(&self, values: &mut [f64], op: ReduceOp) -> Result<()> {
        let out = self.reduce(values, op)?;
        values.copy_from_slice(&out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_group_averages_and_sums_in_rank_order() {
        let reducers = LocalGroup::reducers(3);
        let results: Vec<(Vec<f32>, Vec<f64>)> = std::thread::scope(|s| {
            let handles: Vec<_> = reducers
                .iter()
                .map(|r| {
                    s.spawn(move || {
                        let mut g = vec![r.rank() as f32, 1.0];
                        r.all_reduce_mean(&mut g).unwrap();
                        let mut m = vec![r.rank() as f64, -(r.rank() as f64)];
                        r.all_reduce_f64(&mut m, ReduceOp::Max).unwrap();
                        (g, m)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (g, m) in results {
            assert_eq!(g, vec![1.0, 1.0]);
            assert_eq!(m, vec![2.0, 0.0]);
        }
    }

    #[test]
    fn the_checksum_test_sees_any_difference_on_every_worker() {
        let reducers = LocalGroup::reducers(3);
        let answers: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = reducers
                .iter()
                .map(|r| {
                    s.spawn(move || {
                        // ranks 1 and 2 differ from rank 0 in opposite directions
                        let p = [1.0f32, 2.0 + r.rank() as f32 * 1e-3];
                        same_everywhere(r, &[&p], &mut []).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(answers, vec![false; 3]);
        let p = [0.5f32; 4];
        assert_eq!(checksum(&[&p]), checksum(&[&p[..2], &p[2..]]));
        assert_ne!(epoch_seed(7, 0), epoch_seed(7, 1));
    }
}
