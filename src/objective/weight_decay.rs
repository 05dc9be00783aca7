//! Weight decay `Ω = (λ/2) Σ ‖W‖²` over weight matrices (biases are not decayed).

/// Adds only the gradient `λ·w` of `(λ/2)‖w‖²` to `grad`, for rules that do not report the
/// penalty's value (contrastive divergence, recirculation).
pub fn add_grad(weight: f32, param: &[f32], grad: &mut [f32]) {
    for (g, w) in grad.iter_mut().zip(param) {
        *g += weight * *w;
    }
}

/// Adds `λ·w` to `grad` and returns `(λ/2) Σ w²` for one weight tensor.
pub fn value_and_grad(weight: f32, param: &[f32], grad: &mut [f32]) -> f64 {
    let mut sum = 0.0f64;
    for (g, w) in grad.iter_mut().zip(param) {
        sum += (*w as f64) * (*w as f64);
        *g += weight * *w;
    }
    0.5 * weight as f64 * sum
}

/// `[[regularizer]] kind = "weight_decay"`: `(λ/2) Σ ‖W‖²` on every weight matrix.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightDecayConfig {
    /// `λ`.
    pub weight: f32,
}

impl super::regularizer::RegularizerTerm for WeightDecayConfig {
    fn weight(&self) -> f32 {
        self.weight
    }

    /// Adds the term (several add up).
    fn apply(
        &self,
        _key: &str,
        _run: &super::regularizer::RunContext,
        objective: &mut super::Objective,
    ) -> crate::Result<()> {
        objective.parameter_penalties_from(self);
        Ok(())
    }

    fn parameter_penalty(&self) -> Option<super::ParameterPenalty> {
        Some(super::ParameterPenalty::WeightDecay {
            weight: self.weight,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn gradient_matches_finite_differences() {
        let w = [0.5f32, -1.5, 2.0];
        let mut g = [0.0f32; 3];
        super::value_and_grad(0.1, &w, &mut g);
        for i in 0..3 {
            let (mut up, mut down) = (w, w);
            up[i] += 1e-3;
            down[i] -= 1e-3;
            let mut d = [0.0f32; 3];
            let fd = (super::value_and_grad(0.1, &up, &mut d)
                - super::value_and_grad(0.1, &down, &mut d))
                / 2e-3;
            assert!((fd - g[i] as f64).abs() < 1e-4);
        }
    }
}
