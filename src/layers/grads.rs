//! The gradient buffers of one training step, one per parameter tensor, and which of them this
//! step has written. Terms attached to parameters (Ω(θ): weight decay, the contractive penalty)
//! write first; the backward pass then adds to a written buffer and overwrites an unwritten one,
//! which saves zero-filling every buffer and a pass over its memory each step.

/// Borrowed gradient buffers and their written flags (same length).
pub struct GradSlots<'a> {
    /// One gradient buffer per parameter tensor.
    pub bufs: &'a mut [Vec<f32>],
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
        let (w, b) = two_mut(self.bufs, weight, bias);
        (w, b, aw, ab)
    }
}

fn two_mut(v: &mut [Vec<f32>], a: usize, b: usize) -> (&mut [f32], &mut [f32]) {
    assert_ne!(a, b, "a weight and a bias are two tensors");
    if a < b {
        let (x, y) = v.split_at_mut(b);
        (&mut x[a], &mut y[0])
    } else {
        let (x, y) = v.split_at_mut(a);
        (&mut y[0], &mut x[b])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_add_in_order_and_the_first_one_overwrites() {
        let mut bufs = vec![vec![9.0f32; 2], vec![9.0f32; 2]];
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
    }
}
