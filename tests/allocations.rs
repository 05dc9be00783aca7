//! The default training step allocates nothing: every buffer lives in the workspace, sized
//! once per batch shape (DEVELOPERS: hot loops allocate nothing). Counted with a global
//! allocator over steps taken after a warm-up step, on a one-thread rayon pool. (On more
//! threads faer's parallel GEMM allocates its own packing buffers: 153 allocations a step of
//! this network on 2 threads, measured 2026-12-01 with `ALLOC_THREADS=2`; those are faer's, not
//! ours, and not asserted here.)

use autoencoder::linalg::{Cpu, Rng};
use autoencoder::model::Autoencoder;
use autoencoder::nn::{Activation, Init, Optimizer, OptimizerKind};
use autoencoder::{AutoencoderSpec, Likelihood, Matrix, Objective};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Counting;
static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `steps` training steps after one warm-up step.
fn allocations_per_steps(spec: AutoencoderSpec, objective: &Objective, steps: usize) -> usize {
    let threads: usize = std::env::var("ALLOC_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut rng = Rng::new(1);
        let x = Matrix::from_vec(
            64,
            spec.input_size,
            (0..64 * spec.input_size).map(|_| rng.uniform()).collect(),
        );
        let mut model = Autoencoder::new(spec, 0).unwrap();
        let mut ws = model.workspace_with_samples(64, objective.importance_samples);
        let mut opt = Optimizer::new(OptimizerKind::adam(), &model.tensor_lengths());
        let backend = Cpu::new(0);
        let mut step = |model: &mut Autoencoder, rng: &mut Rng, opt: &mut Optimizer| {
            model
                .train_step(&backend, &mut ws, &x, objective, rng, Some((opt, 1e-3)))
                .unwrap();
        };
        step(&mut model, &mut rng, &mut opt);
        ALLOCATIONS.store(0, Ordering::SeqCst);
        COUNTING.store(true, Ordering::SeqCst);
        for _ in 0..steps {
            step(&mut model, &mut rng, &mut opt);
        }
        COUNTING.store(false, Ordering::SeqCst);
        ALLOCATIONS.load(Ordering::SeqCst)
    })
}

#[test]
fn the_default_training_step_allocates_nothing() {
    let mut spec = AutoencoderSpec::new(300, &[256, 128], 16, Likelihood::Bernoulli);
    spec.activation = Activation::Sigmoid;
    spec.init = Init::Glorot;
    let n = allocations_per_steps(spec, &Objective::plain(), 5);
    assert_eq!(n, 0, "{n} allocations in 5 steps");
    // the counter sees an allocation when there is one (this file holds one test, so no other
    // test's allocations run beside it)
    COUNTING.store(true, Ordering::SeqCst);
    let v: Vec<u64> = std::hint::black_box(Vec::with_capacity(3));
    COUNTING.store(false, Ordering::SeqCst);
    drop(v);
    assert!(ALLOCATIONS.load(Ordering::SeqCst) >= 1);
}
