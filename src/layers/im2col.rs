//! The im2col/col2im kernel pair shared by [`conv`](super::conv) and
//! [`conv_transpose`](super::conv_transpose): one convolution [`Geometry`] and its passes.
//!
//! A geometry describes a convolution from its *image side* `x` (`Ci × H × W`) to its
//! *feature side* `z` (`Co × Ho × Wo`) with a weight `W` of shape `[Co, Ci, k, k]`,
//! stride `s` and zero padding `p`:
//!
//! `z[o, y, x'] = Σ_{c, i, j} W[o, c, i, j] · x[c, y·s + i − p, x'·s + j − p]` (out of range
//! reads are 0). A conv layer runs it image → feature; a transposed conv runs its adjoint
//! feature → image (`x = Wᵀ ⋆ᵀ z`, col2im), with its weight `[Cin', Cout', k, k]` being exactly
//! the `[Co, Ci, k, k]` weight of the conv it is the adjoint of.
//!
//! # Shapes
//! Per group of `n` examples (`P = Ho·Wo` positions, `K = Ci·k·k` taps):
//! - columns `cols [K, n·P]`: `cols[(c·k + i)·k + j, e·P + y·Wo + x'] = x_e[c, y·s+i−p, x'·s+j−p]`
//!   (tap-major, so a row is contiguous copies of input rows);
//! - feature rows `Z [Co, n·P]`: `Z[o, e·P + q] = z_e[o, q]` (each example's NCHW planes laid
//!   side by side per channel);
//! - `Z = W·cols` (conv), `cols = Wᵀ·Z` then col2im (adjoint), `∂W += Z_δ·colsᵀ` (weight
//!   gradient); `W` read as `[Co, K]`.
//!
//! Scratch is `n·P·(K + Co)` values: `cols` then `Z`. Examples are processed in groups of a
//! size fixed by the shapes (so results never depend on scheduling or thread count, except
//! for the GEMM's own threading); im2col, col2im and the layout copies run over whole rows
//! through [`Backend::for_row_chunks`].

use super::conv_direct as direct;
use crate::linalg::backend::{Backend, Cpu};
use crate::linalg::fastmath::simd_dispatch;
use crate::linalg::gemm::View;
use crate::nn::Activation;

/// Scratch values a group aims at (4 MB): GEMMs stay large, buffers stay in cache.
const GROUP_FLOATS: usize = 1 << 20;

/// The most parts a group is split into (one per thread, each with sequential GEMMs).
const MAX_PARTS: usize = 16;

/// A convolution's sizes: image side `ci × h × w`, feature side `co × ho × wo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// Image-side channels `Ci`.
    pub ci: usize,
    /// Image height `H`.
    pub h: usize,
    /// Image width `W`.
    pub w: usize,
    /// Feature-side channels `Co`.
    pub co: usize,
    /// Feature height `Ho = (H + 2p − k)/s + 1`.
    pub ho: usize,
    /// Feature width `Wo`.
    pub wo: usize,
    /// Kernel size `k`.
    pub k: usize,
    /// Stride `s`.
    pub stride: usize,
    /// Zero padding `p` on each side.
    pub pad: usize,
}

/// The outputs `lo..hi` whose tap `tap` reads inside an input of `n_in` (with `stride`, `pad`).
#[inline]
fn valid_range(n_in: usize, n_out: usize, tap: usize, stride: usize, pad: usize) -> (usize, usize) {
    let lo = if tap >= pad {
        0
    } else {
        (pad - tap).div_ceil(stride)
    };
    let hi = if n_in + pad <= tap {
        0
    } else {
        (n_in + pad - tap).div_ceil(stride)
    }
    .min(n_out);
    (lo.min(hi), hi)
}

/// Weight-gradient and bias-gradient destinations of a backward pass, with whether each
/// already holds terms (then added to) or not (then overwritten).
pub(crate) struct ParamGrads<'a> {
    pub weight: &'a mut [f32],
    pub accumulate_weight: bool,
    pub bias: &'a mut [f32],
    pub accumulate_bias: bool,
}

impl ParamGrads<'_> {
    fn start(&mut self) {
        if !self.accumulate_weight {
            self.weight.fill(0.0);
            self.accumulate_weight = true;
        }
        if !self.accumulate_bias {
            self.bias.fill(0.0);
            self.accumulate_bias = true;
        }
    }
}

impl Geometry {
    /// A geometry from the image side and the kernel; `None` when the kernel does not fit the
    /// padded image.
    pub fn new(
        ci: usize,
        h: usize,
        w: usize,
        co: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Option<Self> {
        if h + 2 * pad < k || w + 2 * pad < k || stride == 0 {
            return None;
        }
        Some(Geometry {
            ci,
            h,
            w,
            co,
            ho: (h + 2 * pad - k) / stride + 1,
            wo: (w + 2 * pad - k) / stride + 1,
            k,
            stride,
            pad,
        })
    }

    /// Values of one image-side example.
    pub fn image_len(&self) -> usize {
        self.ci * self.h * self.w
    }
    /// Values of one feature-side example.
    pub fn feature_len(&self) -> usize {
        self.co * self.ho * self.wo
    }
    fn taps(&self) -> usize {
        self.ci * self.k * self.k
    }
    fn positions(&self) -> usize {
        self.ho * self.wo
    }
    /// Examples per group for a pass over `rows`.
    fn group(&self, rows: usize) -> usize {
        let per = self.positions() * (self.taps() + self.co);
        (GROUP_FLOATS / per.max(1)).clamp(1, rows.max(1))
    }
    /// Multiply-adds of one example's convolution.
    pub fn macs(&self) -> usize {
        self.positions() * self.taps() * self.co
    }

    /// Values of one part's parameter-gradient partial sums (weight, then the larger bias).
    fn partial_len(&self) -> usize {
        self.co * self.taps() + self.co.max(self.ci)
    }

    /// Scratch values any pass over `rows` examples needs.
    pub fn scratch_floats(&self, rows: usize) -> usize {
        if rows == 0 {
            return 0;
        }
        self.group(rows) * self.positions() * (self.taps() + self.co)
            + MAX_PARTS * self.partial_len()
    }

    /// Runs `part` over the parts of a group of `n` examples, in parallel when the backend has
    /// threads: `part(first, count, scratch, out, partial)` gets its examples' scratch
    /// (`per_scratch` each), output rows (`per_out` each; empty when `out` is) and its own
    /// `per_partial` values of `partials`. The split depends only on `n` and the thread count.
    #[allow(clippy::too_many_arguments)]
    fn in_parts(
        &self,
        backend: &dyn Backend,
        n: usize,
        scratch: &mut [f32],
        out: &mut [f32],
        per_out: usize,
        partials: &mut [f32],
        per_partial: usize,
        part: &Part<'_>,
    ) -> usize {
        let t = backend.threads().clamp(1, MAX_PARTS).min(n.max(1));
        let size = n.div_ceil(t).max(1);
        let per_scratch = self.positions() * (self.taps() + self.co);
        split_run(
            0,
            size,
            n,
            &mut scratch[..n * per_scratch],
            out,
            per_out,
            partials,
            per_partial,
            per_scratch,
            part,
        );
        n.div_ceil(size)
    }

    /// `z = act(W ⋆ x + b)` (feature side from image side), `x: rows × image_len`,
    /// `z: rows × feature_len`, `bias` over the `Co` channels.
    #[allow(clippy::too_many_arguments)]
    pub fn convolve(
        &self,
        backend: &dyn Backend,
        rows: usize,
        x: &[f32],
        weight: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
        z: &mut [f32],
        scratch: &mut [f32],
    ) {
        let (p, k, il, fl) = (
            self.positions(),
            self.taps(),
            self.image_len(),
            self.feature_len(),
        );
        let g = self.group(rows);
        // thin stride-1 layers: direct loops instead of im2col + GEMM
        let direct = direct::serves(self);
        for first in (0..rows).step_by(g) {
            let n = g.min(rows - first);
            let z = &mut z[first * fl..(first + n) * fl];
            self.in_parts(
                backend,
                n,
                scratch,
                z,
                fl,
                &mut [],
                0,
                &|f, m, sc, out, _| {
                    if direct {
                        for (e, ze) in out.chunks_exact_mut(fl).enumerate() {
                            let xe = &x[(first + f + e) * il..(first + f + e + 1) * il];
                            direct::conv(
                                self,
                                xe,
                                weight,
                                ze,
                                &mut sc[..direct::scratch_floats(self)],
                            );
                            for (c, d) in ze.chunks_exact_mut(p).enumerate() {
                                bias_activation(d, bias.map_or(0.0, |b| b[c]), act);
                            }
                        }
                        return;
                    }
                    let seq = Cpu::new(1);
                    let (cols, feat) = sc.split_at_mut(m * p * k);
                    self.im2col(&seq, &x[(first + f) * il..(first + f + m) * il], m, cols);
                    seq.gemm(
                        feat,
                        false,
                        View::new(weight, self.co, k),
                        false,
                        View::new(cols, k, m * p),
                        false,
                        1.0,
                    );
                    scatter(&seq, feat, m, self.co, p, out, bias, act);
                },
            );
        }
    }

    /// `x = act(Wᵀ ⋆ᵀ z + b)` (image side from feature side: the adjoint of [`Self::convolve`]),
    /// `z: rows × feature_len`, `x: rows × image_len`, `bias` over the `Ci` channels.
    #[allow(clippy::too_many_arguments)]
    pub fn convolve_adjoint(
        &self,
        backend: &dyn Backend,
        rows: usize,
        z: &[f32],
        weight: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
        x: &mut [f32],
        scratch: &mut [f32],
    ) {
        let (p, k, il, fl) = (
            self.positions(),
            self.taps(),
            self.image_len(),
            self.feature_len(),
        );
        let g = self.group(rows);
        // thin stride-1 layers: direct loops instead of im2col + GEMM
        let direct = direct::serves(self);
        for first in (0..rows).step_by(g) {
            let n = g.min(rows - first);
            let x = &mut x[first * il..(first + n) * il];
            self.in_parts(
                backend,
                n,
                scratch,
                x,
                il,
                &mut [],
                0,
                &|f, m, sc, out, _| {
                    if direct {
                        for (e, xe) in out.chunks_exact_mut(il).enumerate() {
                            let ze = &z[(first + f + e) * fl..(first + f + e + 1) * fl];
                            direct::adjoint(
                                self,
                                ze,
                                weight,
                                xe,
                                &mut sc[..direct::scratch_floats(self)],
                            );
                            for (c, d) in xe.chunks_exact_mut(self.h * self.w).enumerate() {
                                bias_activation(d, bias.map_or(0.0, |b| b[c]), act);
                            }
                        }
                        return;
                    }
                    let seq = Cpu::new(1);
                    let (cols, feat) = sc.split_at_mut(m * p * k);
                    let z = &z[(first + f) * fl..(first + f + m) * fl];
                    gather(&seq, z, m, self.co, p, feat);
                    seq.gemm(
                        cols,
                        false,
                        View::new(weight, self.co, k),
                        true,
                        View::new(feat, self.co, m * p),
                        false,
                        1.0,
                    );
                    self.col2im(&seq, cols, m, out, bias, act);
                },
            );
        }
    }

    /// Adds the parts' partial sums to the gradients, in part order.
    fn add_partials(&self, partials: &[f32], parts: usize, grads: &mut ParamGrads<'_>) {
        let wl = self.co * self.taps();
        for partial in partials.chunks_exact(self.partial_len()).take(parts) {
            add_assign(grads.weight, &partial[..wl]);
            let b = grads.bias.len();
            add_assign(grads.bias, &partial[wl..wl + b]);
        }
    }

    /// Backward of [`Self::convolve`] from `dz = ∂L/∂(W ⋆ x + b)` (already through the
    /// activation): `∂W += Σ dz ⊗ cols(x)`, `∂b[o] += Σ dz[o, ·]`, and when given
    /// `dx = Wᵀ ⋆ᵀ dz` (overwritten).
    #[allow(clippy::too_many_arguments)]
    pub fn convolve_backward(
        &self,
        backend: &dyn Backend,
        rows: usize,
        x: &[f32],
        dz: &[f32],
        weight: &[f32],
        mut grads: ParamGrads<'_>,
        mut dx: Option<&mut [f32]>,
        scratch: &mut [f32],
    ) {
        grads.start();
        let (p, k, il, fl) = (
            self.positions(),
            self.taps(),
            self.image_len(),
            self.feature_len(),
        );
        let (wl, pl) = (self.co * k, self.partial_len());
        let g = self.group(rows);
        // thin stride-1 layers: direct loops instead of im2col + GEMM
        let direct = direct::serves(self);
        let (scratch, partials) = scratch.split_at_mut(g * p * (k + self.co));
        let want_dx = dx.is_some();
        for first in (0..rows).step_by(g) {
            let n = g.min(rows - first);
            let out: &mut [f32] = match dx.as_deref_mut() {
                Some(dx) => &mut dx[first * il..(first + n) * il],
                None => &mut [],
            };
            let parts = self.in_parts(
                backend,
                n,
                scratch,
                out,
                il,
                partials,
                pl,
                &|f, m, sc, out, partial| {
                    if direct {
                        let sc = &mut sc[..direct::scratch_floats(self)];
                        let (pw, pb) = partial.split_at_mut(wl);
                        pw.fill(0.0);
                        pb.fill(0.0);
                        for e in 0..m {
                            let xe = &x[(first + f + e) * il..(first + f + e + 1) * il];
                            let dze = &dz[(first + f + e) * fl..(first + f + e + 1) * fl];
                            direct::weight_grad(self, xe, dze, pw, sc);
                            for (b, plane) in pb.iter_mut().zip(dze.chunks_exact(p)) {
                                *b += sum(plane);
                            }
                            if want_dx {
                                direct::adjoint(
                                    self,
                                    dze,
                                    weight,
                                    &mut out[e * il..(e + 1) * il],
                                    sc,
                                );
                            }
                        }
                        return;
                    }
                    let seq = Cpu::new(1);
                    let (cols, feat) = sc.split_at_mut(m * p * k);
                    self.im2col(&seq, &x[(first + f) * il..(first + f + m) * il], m, cols);
                    gather(
                        &seq,
                        &dz[(first + f) * fl..(first + f + m) * fl],
                        m,
                        self.co,
                        p,
                        feat,
                    );
                    let (pw, pb) = partial.split_at_mut(wl);
                    seq.gemm(
                        pw,
                        false,
                        View::new(feat, self.co, m * p),
                        false,
                        View::new(cols, k, m * p),
                        true,
                        1.0,
                    );
                    for (b, row) in pb.iter_mut().zip(feat.chunks_exact(m * p)) {
                        *b = sum(row);
                    }
                    if want_dx {
                        seq.gemm(
                            cols,
                            false,
                            View::new(weight, self.co, k),
                            true,
                            View::new(feat, self.co, m * p),
                            false,
                            1.0,
                        );
                        self.col2im(&seq, cols, m, out, None, Activation::Linear);
                    }
                },
            );
            self.add_partials(partials, parts, &mut grads);
        }
    }

    /// Backward of [`Self::convolve_adjoint`] from `dx = ∂L/∂(Wᵀ ⋆ᵀ z + b)` (already through
    /// the activation): `∂W += Σ z ⊗ cols(dx)`, `∂b[c] += Σ dx[c, ·]`, and when given
    /// `dz = W ⋆ dx` (overwritten).
    #[allow(clippy::too_many_arguments)]
    pub fn convolve_adjoint_backward(
        &self,
        backend: &dyn Backend,
        rows: usize,
        z: &[f32],
        dx: &[f32],
        weight: &[f32],
        mut grads: ParamGrads<'_>,
        mut dz: Option<&mut [f32]>,
        scratch: &mut [f32],
    ) {
        grads.start();
        let (p, k, il, fl) = (
            self.positions(),
            self.taps(),
            self.image_len(),
            self.feature_len(),
        );
        let (wl, pl, plane) = (self.co * k, self.partial_len(), self.h * self.w);
        let g = self.group(rows);
        // thin stride-1 layers: direct loops instead of im2col + GEMM
        let direct = direct::serves(self);
        let (scratch, partials) = scratch.split_at_mut(g * p * (k + self.co));
        let want_dz = dz.is_some();
        for first in (0..rows).step_by(g) {
            let n = g.min(rows - first);
            let out: &mut [f32] = match dz.as_deref_mut() {
                Some(dz) => &mut dz[first * fl..(first + n) * fl],
                None => &mut [],
            };
            let parts = self.in_parts(
                backend,
                n,
                scratch,
                out,
                fl,
                partials,
                pl,
                &|f, m, sc, out, partial| {
                    if direct {
                        let sc = &mut sc[..direct::scratch_floats(self)];
                        let (pw, pb) = partial.split_at_mut(wl);
                        pw.fill(0.0);
                        pb.fill(0.0);
                        for e in 0..m {
                            let dxe = &dx[(first + f + e) * il..(first + f + e + 1) * il];
                            let ze = &z[(first + f + e) * fl..(first + f + e + 1) * fl];
                            direct::weight_grad(self, dxe, ze, pw, sc);
                            for (b, ch) in pb.iter_mut().zip(dxe.chunks_exact(plane)) {
                                *b += sum(ch);
                            }
                            if want_dz {
                                direct::conv(self, dxe, weight, &mut out[e * fl..(e + 1) * fl], sc);
                            }
                        }
                        return;
                    }
                    let seq = Cpu::new(1);
                    let (cols, feat) = sc.split_at_mut(m * p * k);
                    let dx = &dx[(first + f) * il..(first + f + m) * il];
                    self.im2col(&seq, dx, m, cols);
                    gather(
                        &seq,
                        &z[(first + f) * fl..(first + f + m) * fl],
                        m,
                        self.co,
                        p,
                        feat,
                    );
                    let (pw, pb) = partial.split_at_mut(wl);
                    seq.gemm(
                        pw,
                        false,
                        View::new(feat, self.co, m * p),
                        false,
                        View::new(cols, k, m * p),
                        true,
                        1.0,
                    );
                    pb.fill(0.0);
                    for example in dx.chunks_exact(il) {
                        for (b, ch) in pb.iter_mut().zip(example.chunks_exact(plane)) {
                            *b += sum(ch);
                        }
                    }
                    if want_dz {
                        seq.gemm(
                            feat,
                            false,
                            View::new(weight, self.co, k),
                            false,
                            View::new(cols, k, m * p),
                            false,
                            1.0,
                        );
                        scatter(&seq, feat, m, self.co, p, out, None, Activation::Linear);
                    }
                },
            );
            self.add_partials(partials, parts, &mut grads);
        }
    }

    /// `cols [K, n·P]` from `n` image-side examples (parallel over taps).
    fn im2col(&self, backend: &dyn Backend, x: &[f32], n: usize, cols: &mut [f32]) {
        let g = *self;
        let (p, il, kk) = (g.positions(), g.image_len(), g.k * g.k);
        backend.for_row_chunks(cols, n * p, &mut [], &|first_tap, chunk, _| {
            for (t, row) in chunk.chunks_exact_mut(n * p).enumerate() {
                let tap = first_tap + t;
                let (c, i, j) = (tap / kk, tap % kk / g.k, tap % g.k);
                let (ylo, yhi) = valid_range(g.h, g.ho, i, g.stride, g.pad);
                let (xlo, xhi) = valid_range(g.w, g.wo, j, g.stride, g.pad);
                // stride 1 with rows as wide as the input's ("same" padding): the tap's rows are
                // one run of the input plane, so one copy, then zero the wrapped columns
                let one_run = g.stride == 1 && g.w == g.wo && xlo < xhi && ylo < yhi;
                for (e, dst) in row.chunks_exact_mut(p).enumerate() {
                    let src = &x[e * il + c * g.h * g.w..][..g.h * g.w];
                    dst[..ylo * g.wo].fill(0.0);
                    dst[yhi * g.wo..].fill(0.0);
                    if one_run {
                        let (start, end) = (ylo * g.wo + xlo, (yhi - 1) * g.wo + xhi);
                        let from = (ylo + i - g.pad) * g.w + xlo + j - g.pad;
                        dst[start..end].copy_from_slice(&src[from..from + end - start]);
                        for y in ylo..yhi {
                            dst[y * g.wo..y * g.wo + xlo].fill(0.0);
                            dst[y * g.wo + xhi..(y + 1) * g.wo].fill(0.0);
                        }
                        continue;
                    }
                    for y in ylo..yhi {
                        let iy = y * g.stride + i - g.pad;
                        let srow = &src[iy * g.w..(iy + 1) * g.w];
                        let d = &mut dst[y * g.wo..(y + 1) * g.wo];
                        d[..xlo].fill(0.0);
                        d[xhi..].fill(0.0);
                        if xlo == xhi {
                            continue;
                        }
                        if g.stride == 1 {
                            d[xlo..xhi].copy_from_slice(&srow[xlo + j - g.pad..xhi + j - g.pad]);
                        } else {
                            let start = xlo * g.stride + j - g.pad;
                            for (d, s) in d[xlo..xhi]
                                .iter_mut()
                                .zip(srow[start..].iter().step_by(g.stride))
                            {
                                *d = *s;
                            }
                        }
                    }
                }
            }
        });
    }

    /// `n` image-side examples `x = act(col2im(cols) + b)` (overwritten; parallel over
    /// examples, each entry summed in tap order).
    fn col2im(
        &self,
        backend: &dyn Backend,
        cols: &[f32],
        n: usize,
        x: &mut [f32],
        bias: Option<&[f32]>,
        act: Activation,
    ) {
        let g = *self;
        let (p, il, plane) = (g.positions(), g.image_len(), g.h * g.w);
        backend.for_row_chunks(x, il, &mut [], &|first, chunk, _| {
            for (e, dst) in chunk.chunks_exact_mut(il).enumerate() {
                let e = first + e;
                dst.fill(0.0);
                for c in 0..g.ci {
                    let img = &mut dst[c * plane..(c + 1) * plane];
                    for i in 0..g.k {
                        let (ylo, yhi) = valid_range(g.h, g.ho, i, g.stride, g.pad);
                        for j in 0..g.k {
                            let (xlo, xhi) = valid_range(g.w, g.wo, j, g.stride, g.pad);
                            if xlo == xhi {
                                continue;
                            }
                            let tap = (c * g.k + i) * g.k + j;
                            let src = &cols[tap * n * p + e * p..][..p];
                            for y in ylo..yhi {
                                let iy = y * g.stride + i - g.pad;
                                let srow = &src[y * g.wo + xlo..y * g.wo + xhi];
                                let start = iy * g.w + xlo * g.stride + j - g.pad;
                                if g.stride == 1 {
                                    add_assign(&mut img[start..start + srow.len()], srow);
                                } else {
                                    for (d, s) in
                                        img[start..].iter_mut().step_by(g.stride).zip(srow)
                                    {
                                        *d += *s;
                                    }
                                }
                            }
                        }
                    }
                    if let Some(b) = bias {
                        bias_activation(img, b[c], act);
                    } else if act != Activation::Linear {
                        bias_activation(img, 0.0, act);
                    }
                }
            }
        });
    }
}

/// One part of a group: `(first, count, scratch, out, partial)`.
type Part<'a> = dyn Fn(usize, usize, &mut [f32], &mut [f32], &mut [f32]) + Sync + 'a;

/// Splits `n` examples into parts of `size` (the last shorter) and runs them by
/// `rayon::join`, halving: no allocation, a split fixed by `n` and `size`.
#[allow(clippy::too_many_arguments)]
fn split_run(
    first: usize,
    size: usize,
    n: usize,
    scratch: &mut [f32],
    out: &mut [f32],
    per_out: usize,
    partials: &mut [f32],
    per_partial: usize,
    per_scratch: usize,
    part: &Part<'_>,
) {
    let parts = n.div_ceil(size);
    if parts <= 1 {
        crate::linalg::fastmath::clear_upper_state();
        let out_len = out.len().min(n * per_out);
        part(
            first,
            n,
            scratch,
            &mut out[..out_len],
            &mut partials[..per_partial],
        );
        return;
    }
    let left = parts / 2 * size;
    let (s1, s2) = scratch.split_at_mut(left * per_scratch);
    let (o1, o2) = out.split_at_mut(out.len().min(left * per_out));
    let (p1, p2) = partials.split_at_mut(parts / 2 * per_partial);
    rayon::join(
        || {
            split_run(
                first,
                size,
                left,
                s1,
                o1,
                per_out,
                p1,
                per_partial,
                per_scratch,
                part,
            )
        },
        || {
            split_run(
                first + left,
                size,
                n - left,
                s2,
                o2,
                per_out,
                p2,
                per_partial,
                per_scratch,
                part,
            )
        },
    );
}

/// `n` NCHW examples (`channels × plane` each) → rows `[channels, n·plane]`.
fn gather(
    backend: &dyn Backend,
    src: &[f32],
    n: usize,
    channels: usize,
    plane: usize,
    dst: &mut [f32],
) {
    backend.for_row_chunks(dst, n * plane, &mut [], &|first, chunk, _| {
        for (c, row) in chunk.chunks_exact_mut(n * plane).enumerate() {
            let c = first + c;
            for (e, d) in row.chunks_exact_mut(plane).enumerate() {
                d.copy_from_slice(&src[(e * channels + c) * plane..][..plane]);
            }
        }
    });
}

/// Rows `[channels, n·plane]` → `n` NCHW examples, `act(· + bias[c])` on the way.
#[allow(clippy::too_many_arguments)]
fn scatter(
    backend: &dyn Backend,
    src: &[f32],
    n: usize,
    channels: usize,
    plane: usize,
    dst: &mut [f32],
    bias: Option<&[f32]>,
    act: Activation,
) {
    backend.for_row_chunks(dst, channels * plane, &mut [], &|first, chunk, _| {
        for (e, example) in chunk.chunks_exact_mut(channels * plane).enumerate() {
            let e = first + e;
            for (c, d) in example.chunks_exact_mut(plane).enumerate() {
                d.copy_from_slice(&src[c * n * plane + e * plane..][..plane]);
                match bias {
                    Some(b) => bias_activation(d, b[c], act),
                    None if act != Activation::Linear => bias_activation(d, 0.0, act),
                    None => {}
                }
            }
        }
    });
}

simd_dispatch! {
    /// `dst += src`.
    fn add_assign(dst: &mut [f32], src: &[f32]) {
        for (d, s) in dst.iter_mut().zip(src) {
            *d += *s;
        }
    }
}

simd_dispatch! {
    /// The sum of `x` in a fixed order (16 running sums, then the tail).
    pub(crate) fn sum(x: &[f32]) -> f32 {
        let mut acc = [0.0f32; 16];
        let mut chunks = x.chunks_exact(16);
        for c in &mut chunks {
            for (a, v) in acc.iter_mut().zip(c) {
                *a += *v;
            }
        }
        let mut s = 0.0f32;
        for a in acc {
            s += a;
        }
        for v in chunks.remainder() {
            s += *v;
        }
        s
    }
}

simd_dispatch! {
    /// `plane[i] = act(plane[i] + b)`.
    fn bias_activation(plane: &mut [f32], b: f32, act: Activation) {
        macro_rules! each {
            ($a:expr) => {
                for z in plane.iter_mut() {
                    *z = $a.apply(*z + b);
                }
            };
        }
        match act {
            Activation::Sigmoid => each!(Activation::Sigmoid),
            Activation::Tanh => each!(Activation::Tanh),
            Activation::Relu => each!(Activation::Relu),
            Activation::Softplus => each!(Activation::Softplus),
            Activation::Linear => each!(Activation::Linear),
        }
    }
}
