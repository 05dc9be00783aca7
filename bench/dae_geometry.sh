#!/usr/bin/env bash
# What DAEs and CAEs know about toy data (BENCHMARKS.md, "Score, sampling, tangents"):
#   bench/dae_geometry.sh score|sample|tangent [OUT_DIR]
# score:   per density × σ, a DAE's (r(x) − x)/σ² against the true score on 5,000 test draws.
# sample:  5,000 chains (from data, 100 steps) per density at σ = 0.05 and 0.1; energy distance to 5,000
#          true draws, beside that of two independent true draws.
# tangent: per manifold × D ∈ {10, 100}, 2,000 points (noise 0.01): mean principal angle of the
#          tangent estimates of a plain AE, a DAE, a CAE (each from the encoder's Jacobian, and
#          `_r` from the reconstruction's, `tangent --of reconstruction`) and local PCA (12 and
#          30 neighbours).
set -euo pipefail
what=${1:?score|sample|tangent}
out=${2:-$(mktemp -d)}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/../target/release/autoencoder"
cfg="$here/configs/dae_geometry"
case "$what" in
score|sample)
  for density in mixture ring spiral; do
    "$bin" toy --density $density --n 20000 --seed 1 --out "$out/$density.npy"
    "$bin" toy --density $density --n 5000 --seed 2 --out "$out/${density}_test.npy"
    sigmas="0.05 0.1 0.2"; [ "$what" = sample ] && sigmas="0.05 0.1"
    for sigma in $sigmas; do
      run="$out/${density}_s$sigma"
      [ -f "$run/model.safetensors" ] || { sed "s/^level = 0.1/level = $sigma/" "$cfg/score_dae.toml" > "$out/cfg.toml"
        "$bin" train --quiet --config "$out/cfg.toml" --data "$out/$density.npy" --out "$run"; }
      if [ "$what" = score ]; then
        echo "score $density sigma=$sigma $("$bin" score --model "$run" --data "$out/${density}_test.npy" \
          --out "$out/s.npy" --true-density $density --plot "$out/${density}_s${sigma}_field.png")"
      else
        echo "chain $density sigma=$sigma $("$bin" sample --model "$run" --data "$out/$density.npy" --n 5000 \
          --chain-steps 100 --seed 3 --out "$out/${density}_chain.npy" --reference "$out/${density}_test.npy")"
        echo "true  $density $("$bin" toy --density $density --n 5000 --seed 4 --out "$out/b.npy" \
          --reference "$out/${density}_test.npy")"
      fi
    done
  done ;;
tangent)
  for manifold in circle sphere swiss_roll torus; do
    dim=2; [ $manifold = circle ] && dim=1
    for ambient in 10 100; do
      x="$out/${manifold}_$ambient.npy"; t="$out/${manifold}_${ambient}_t.npy"
      "$bin" toy --manifold $manifold --ambient $ambient --noise 0.01 --n 2000 --seed 1 --out "$x" --tangents "$t"
      line="$manifold D=$ambient"
      for kind in ae dae cae; do
        run="$out/${manifold}_${ambient}_$kind"
        sed "s/^weight = 3.0/weight = ${LAMBDA:-3.0}/" "$cfg/tangent_$kind.toml" > "$out/cfg.toml"
        "$bin" train --quiet --config "$out/cfg.toml" --data "$x" --out "$run"
        for of in encoder reconstruction; do
          a=$("$bin" tangent --model "$run" --data "$x" --dim $dim --out "$out/est.npy" --true-tangents "$t" --of $of \
            | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["mean_principal_angle_degrees"], 2))')
          [ $of = encoder ] && line="$line $kind=$a" || line="$line ${kind}_r=$a"
        done
      done
      for k in 12 30; do
        a=$("$bin" tangent --local-pca $k --data "$x" --dim $dim --out "$out/est.npy" --true-tangents "$t" \
          | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["mean_principal_angle_degrees"], 2))')
        line="$line local_pca_k$k=$a"
      done
      echo "tangent $line"
    done
  done ;;
*) echo "unknown: $what" >&2; exit 2 ;;
esac
