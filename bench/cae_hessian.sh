#!/usr/bin/env bash
# CAE vs CAE+H tangents (BENCHMARKS.md, "CAE+H"): per manifold × D ∈ {10, 100}, 2,000 points
# (noise 0.01), the mean principal angle between the true tangent planes and those of a one-layer
# tanh CAE (closed form, λ = LAMBDA, default 3) and of the same CAE with CAE+H's Hessian term
# (γ in GAMMAS, default "1 3"; σ = SIGMA, default 0.1; 4 copies), from the encoder's Jacobian
# and (`_r`) the reconstruction's; local PCA with 12 neighbours beside them. DEEP=1 uses the
# two-layer CAE of bench/dae_geometry.sh (128-16 tanh, the random-direction estimate, 4
# directions) instead, so the Hessian term goes through the estimate too.
#   bench/cae_hessian.sh [OUT_DIR]
set -euo pipefail
out=${1:-$(mktemp -d)}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/../target/release/autoencoder"
cfg="$here/configs/dae_geometry/tangent_cae1.toml"
[ "${DEEP:-0}" = 1 ] && cfg="$here/configs/dae_geometry/tangent_cae.toml"
angle() { python3 -c 'import json,sys; print(round(json.load(sys.stdin)["mean_principal_angle_degrees"], 2))'; }
for manifold in ${MANIFOLDS:-circle sphere swiss_roll}; do
  dim=2; [ $manifold = circle ] && dim=1
  for ambient in ${AMBIENTS:-10 100}; do
    x="$out/${manifold}_$ambient.npy"; t="$out/${manifold}_${ambient}_t.npy"
    "$bin" toy --manifold $manifold --ambient $ambient --noise 0.01 --n 2000 --seed 1 --out "$x" --tangents "$t"
    line="$manifold D=$ambient"
    for gamma in 0 ${GAMMAS:-1 3}; do
      run="$out/${manifold}_${ambient}_g$gamma"
      sed "s/^weight = 3.0/weight = ${LAMBDA:-3.0}/" "$cfg" > "$out/cfg.toml"
      [ "$gamma" != 0 ] && printf 'hessian_weight = %s\nhessian_noise = %s\n' "$gamma" "${SIGMA:-0.1}" >> "$out/cfg.toml"
      "$bin" train --quiet --config "$out/cfg.toml" --data "$x" --out "$run"
      for of in encoder reconstruction; do
        a=$("$bin" tangent --model "$run" --data "$x" --dim $dim --out "$out/est.npy" --true-tangents "$t" --of $of | angle)
        [ $of = encoder ] && line="$line g$gamma=$a" || line="$line g${gamma}_r=$a"
      done
    done
    a=$("$bin" tangent --local-pca 12 --data "$x" --dim $dim --out "$out/est.npy" --true-tangents "$t" | angle)
    echo "$line local_pca_k12=$a"
  done
done
