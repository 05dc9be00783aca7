//! Direct loops for thin convolutions (stride 1, one side with at most two channels: a first
//! layer reading one grey channel, a last layer writing it). There im2col + GEMM spends its
//! time writing and reading a column buffer `Ci·k²` times the image for a product with one or
//! two rows; these loops read the image from L1 instead.
//!
//! Per example, with the [`Geometry`] of `z = W ⋆ x` (`x: Ci × H × W`, `z: Co × Ho × Wo`,
//! `W: [Co, Ci, k, k]`, stride 1, padding `p`):
//! - [`conv`]: `z[o, y, x'] = Σ_{c,i,j} W[o,c,i,j] · x[c, y+i−p, x'+j−p]`
//! - [`adjoint`]: `x[c, y+i−p, x'+j−p] += W[o,c,i,j] · z[o, y, x']` (the transposed convolution)
//! - [`weight_grad`]: `∂W[o,c,i,j] += Σ_{y,x'} z[o, y, x'] · x[c, y+i−p, x'+j−p]`
//!
//! The trick that makes each tap one long vector operation: the image is copied into a
//! zero-padded plane of width `Wp = W + 2p`, and the feature side is held "wide", `Ho × Wp`
//! (columns `Wo..Wp` junk on the way out, zero on the way in). Then tap `(i, j)` reads the
//! padded plane at offset `i·Wp + j` for the whole `Ho·Wp` run at once: one `axpy` or `dot` of
//! a few hundred values instead of one per 28-value row (which LLVM leaves scalar).
//!
//! # Shapes (scratch, per example)
//! padded image `Ci × (H+2p) × Wp`, then the wide feature side `Co × Ho × Wp`.
//!
//! Sums run in a fixed order (taps, then positions), so results do not depend on threads.

use super::im2col::Geometry;
use crate::linalg::fastmath::simd_dispatch;

/// `dst += a · src` (inlined into the dispatched kernels, so it is compiled with their SIMD
/// features).
#[inline(always)]
fn axpy(dst: &mut [f32], a: f32, src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += a * *s;
    }
}

/// `Σ a·b` in 16 lanes (a fixed order).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..16 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    acc.iter().sum::<f32>() + tail
}

/// Padded width, padded plane and wide feature plane of `g`.
fn sizes(g: &Geometry) -> (usize, usize, usize) {
    let wp = g.w + 2 * g.pad;
    (wp, (g.h + 2 * g.pad) * wp, g.ho * wp)
}

/// Scratch values one example needs.
pub(crate) fn scratch_floats(g: &Geometry) -> usize {
    let (_, padded, wide) = sizes(g);
    g.ci * padded + g.co * wide
}

/// Whether the direct loops serve this geometry (stride 1, a thin side, and the scratch the
/// im2col path sizes for one example holds theirs).
pub(crate) fn serves(g: &Geometry) -> bool {
    let im2col = g.ho * g.wo * (g.ci * g.k * g.k + g.co);
    g.stride == 1 && g.ci.min(g.co) <= 2 && scratch_floats(g) <= im2col
}

/// Copies image `x` (`Ci × H × W`) into the zero-padded planes `xp`.
fn pad_image(g: &Geometry, x: &[f32], xp: &mut [f32]) {
    let (wp, padded, _) = sizes(g);
    xp.fill(0.0);
    for c in 0..g.ci {
        for y in 0..g.h {
            let dst = c * padded + (y + g.pad) * wp + g.pad;
            xp[dst..dst + g.w].copy_from_slice(&x[(c * g.h + y) * g.w..][..g.w]);
        }
    }
}

/// Copies the feature side `z` (`Co × Ho × Wo`) into wide planes with zero junk columns.
fn widen(g: &Geometry, z: &[f32], zw: &mut [f32]) {
    let (wp, _, wide) = sizes(g);
    zw.fill(0.0);
    for o in 0..g.co {
        for y in 0..g.ho {
            zw[o * wide + y * wp..][..g.wo].copy_from_slice(&z[(o * g.ho + y) * g.wo..][..g.wo]);
        }
    }
}

simd_dispatch! {
    /// `z = W ⋆ x` for one example (overwrites `z`); `scratch` holds
    /// [`scratch_floats`] values.
    pub(crate) fn conv(g: &Geometry, x: &[f32], weight: &[f32], z: &mut [f32], scratch: &mut [f32]) {
        let (wp, padded, wide) = sizes(g);
        let k = g.k;
        let (xp, zw) = scratch.split_at_mut(g.ci * padded);
        let zw = &mut zw[..g.co * wide];
        pad_image(g, x, xp);
        zw.fill(0.0);
        // a tap reads the padded plane from i·Wp + j on; the last reads end inside it
        let run = wide - (wp - g.wo);
        for o in 0..g.co {
            let zo = &mut zw[o * wide..o * wide + run];
            for c in 0..g.ci {
                let xc = &xp[c * padded..(c + 1) * padded];
                for i in 0..k {
                    for j in 0..k {
                        let w = weight[((o * g.ci + c) * k + i) * k + j];
                        axpy(zo, w, &xc[i * wp + j..i * wp + j + run]);
                    }
                }
            }
        }
        for o in 0..g.co {
            for y in 0..g.ho {
                z[(o * g.ho + y) * g.wo..][..g.wo].copy_from_slice(&zw[o * wide + y * wp..][..g.wo]);
            }
        }
    }
}

simd_dispatch! {
    /// `x = Wᵀ ⋆ᵀ z` for one example (overwrites `x`).
    pub(crate) fn adjoint(g: &Geometry, z: &[f32], weight: &[f32], x: &mut [f32], scratch: &mut [f32]) {
        let (wp, padded, wide) = sizes(g);
        let k = g.k;
        let (xp, zw) = scratch.split_at_mut(g.ci * padded);
        let zw = &mut zw[..g.co * wide];
        widen(g, z, zw);
        xp.fill(0.0);
        let run = wide - (wp - g.wo);
        for c in 0..g.ci {
            let xc = &mut xp[c * padded..(c + 1) * padded];
            for o in 0..g.co {
                let zo = &zw[o * wide..o * wide + run];
                for i in 0..k {
                    for j in 0..k {
                        let w = weight[((o * g.ci + c) * k + i) * k + j];
                        axpy(&mut xc[i * wp + j..i * wp + j + run], w, zo);
                    }
                }
            }
        }
        for c in 0..g.ci {
            for y in 0..g.h {
                x[(c * g.h + y) * g.w..][..g.w]
                    .copy_from_slice(&xp[c * padded + (y + g.pad) * wp + g.pad..][..g.w]);
            }
        }
    }
}

simd_dispatch! {
    /// `∂W += z ⊗ x` for one example (`z` the feature side, `x` the image side).
    pub(crate) fn weight_grad(g: &Geometry, x: &[f32], z: &[f32], dw: &mut [f32], scratch: &mut [f32]) {
        let (wp, padded, wide) = sizes(g);
        let k = g.k;
        let (xp, zw) = scratch.split_at_mut(g.ci * padded);
        let zw = &mut zw[..g.co * wide];
        pad_image(g, x, xp);
        widen(g, z, zw);
        let run = wide - (wp - g.wo);
        for o in 0..g.co {
            let zo = &zw[o * wide..o * wide + run];
            for c in 0..g.ci {
                let xc = &xp[c * padded..(c + 1) * padded];
                for i in 0..k {
                    for j in 0..k {
                        dw[((o * g.ci + c) * k + i) * k + j] += dot(zo, &xc[i * wp + j..i * wp + j + run]);
                    }
                }
            }
        }
    }
}
