//! The gradient buffers of one training step, one per parameter tensor, and which of them this
//! step has written. Terms attached to parameters (Ω(θ): weight decay, the contractive penalty)
//! write first; the backward pass then adds to a written buffer and overwrites an unwritten one,
//! which saves zero-filling every buffer and a pass over its memory each step.
//!
//! The buffers are slices of one flat `f32` buffer ([`Grads`]), so a data-parallel step
//! averages a whole gradient across workers in one all-reduce, without copies.

use std::ops::{Index, IndexMut, Range};

/// Every parameter tensor's gradient in one flat buffer: tensor `t`'s is
/// `flat[offsets[t]..offsets[t + 1]]`, optionally followed by a few values that travel with
/// the gradient (a data-parallel step's loss).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Grads {
    flat: Vec<f32>,
    offsets: Vec<usize>,
}

impl Grads {
    /// Buffers of `lengths` (one a tensor), each filled with `value`.
    pub fn filled(lengths: impl IntoIterator<Item = usize>, value: f32) -> Self {
        Self::with_tail(lengths, 0, value)
    }

    /// Buffers of `lengths` filled with `value`, then `tail` more values.
    pub fn with_tail(lengths: impl IntoIterator<Item = usize>, tail: usize, value: f32) -> Self {
        let mut offsets = vec![0];
        for len in lengths {
            offsets.push(offsets[offsets.len() - 1] + len);
        }
        Grads {
            flat: vec![value; offsets[offsets.len() - 1] + tail],
            offsets,
        }
    }

    /// The values after the last tensor's.
    pub fn tail(&self) -> &[f32] {
        &self.flat[self.offsets[self.offsets.len() - 1]..]
    }

    /// The same, mutable.
    pub fn tail_mut(&mut self) -> &mut [f32] {
        let at = self.offsets[self.offsets.len() - 1];
        &mut self.flat[at..]
    }

    /// Zeroed buffers of `lengths`.
    pub fn zeros(lengths: impl IntoIterator<Item = usize>) -> Self {
        Self::filled(lengths, 0.0)
    }

    /// How many tensors.
    pub fn tensors(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Where tensor `t`'s gradient lies in [`Self::as_slice`].
    pub fn range(&self, t: usize) -> Range<usize> {
        self.offsets[t]..self.offsets[t + 1]
    }

    /// Every gradient, tensor after tensor, then the tail.
    pub fn as_slice(&self) -> &[f32] {
        &self.flat
    }

    /// The same, mutable (an all-reduce averages it in place).
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.flat
    }

    /// Tensors `a` and `b` (different) mutable at once.
    fn two_mut(&mut self, a: usize, b: usize) -> (&mut [f32], &mut [f32]) {
        assert_ne!(a, b, "a weight and a bias are two tensors");
        let (ra, rb) = (self.range(a), self.range(b));
        if a < b {
            let (x, y) = self.flat.split_at_mut(rb.start);
            (&mut x[ra], &mut y[..rb.len()])
        } else {
            let (x, y) = self.flat.split_at_mut(ra.start);
            (&mut y[..ra.len()], &mut x[rb])
        }
    }
}

impl Index<usize> for Grads {
    type Output = [f32];
    fn index(&self, t: usize) -> &[f32] {
        &self.flat[self.range(t)]
    }
}

impl IndexMut<usize> for Grads {
    fn index_mut(&mut self, t: usize) -> &mut [f32] {
        let r = self.range(t);
        &mut self.flat[r]
    }
}

/// Borrowed gradient buffers and their written flags (one a tensor).
pub struct GradSlots<'a> {
    /// One gradient buffer per parameter tensor.
    pub bufs: &'a mut Grads,
    /// Whether this step has written each buffer yet.
    pub written: &'a mut [bool],
}

impl GradSlots<'_> {
    /// Marks every buffer unwritten (the start of a step).
    pub fn reset(&mut self) {
        self.written.iter_mut().for_each(|w| *w = false);
    }

    /// Hands tensor `t`'s gradient to `add` to add its term into (zeroed first when nothing
    /// has been written to it this step).
    pub fn accumulate<R>(&mut self, t: usize, add: impl FnOnce(&mut [f32]) -> R) -> R {
        let g = &mut self.bufs[t];
        if !self.written[t] {
            g.fill(0.0);
            self.written[t] = true;
        }
        add(g)
    }

    /// Adds `term` to tensor `t`'s gradient (copies it when nothing has been written yet).
    pub fn add(&mut self, t: usize, term: &[f32]) {
        let g = &mut self.bufs[t];
        if self.written[t] {
            g.iter_mut().zip(term).for_each(|(d, s)| *d += s);
        } else {
            g.copy_from_slice(term);
            self.written[t] = true;
        }
    }

    /// A layer's weight and bias gradients for its backward pass, with whether each already
    /// holds terms (then the pass adds to it); both count as written afterwards.
    pub fn layer(&mut self, weight: usize, bias: usize) -> (&mut [f32], &mut [f32], bool, bool) {
        let (aw, ab) = (self.written[weight], self.written[bias]);
        self.written[weight] = true;
        self.written[bias] = true;
        let (w, b) = self.bufs.two_mut(weight, bias);
        (w, b, aw, ab)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_add_in_order_and_the_first_one_overwrites() {
        let mut bufs = Grads::filled([2, 2], 9.0);
        let mut written = vec![true, true];
        let mut g = GradSlots {
            bufs: &mut bufs,
            written: &mut written,
        };
        g.reset();
        g.accumulate(0, |b| b.iter_mut().for_each(|v| *v += 1.0));
        g.add(0, &[0.5, 0.25]);
        g.add(1, &[2.0, 3.0]);
        let (w, b, aw, ab) = g.layer(0, 1);
        assert_eq!(
            (w.to_vec(), b.to_vec(), aw, ab),
            (vec![1.5, 1.25], vec![2.0, 3.0], true, true)
        );
        g.reset();
        let (_, _, aw, ab) = g.layer(1, 0);
        assert!(!aw && !ab);
        // the two tensors lie one after the other in the flat buffer
        assert_eq!(bufs.as_slice(), [1.5, 1.25, 2.0, 3.0]);
        assert_eq!((bufs.range(1), &bufs[1]), (2..4, &[2.0f32, 3.0][..]));
    }
}
