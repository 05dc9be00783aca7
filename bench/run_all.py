#!/usr/bin/env python3
"""Interleaved anchor-workload comparison: ours (Rust CLI), PyTorch eager, JAX jit.

Each round runs ours, then torch_ae.py, then jax_ae.py, each as a subprocess that prints one
JSON line. Prints a JSON summary and a markdown table; --out writes the summary JSON.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FRAMEWORKS = ["ours", "torch", "jax"]


def command(fw, a):
    common = ["--data", a.data, "--epochs", str(a.epochs), "--threads", str(a.threads),
              "--seed", str(a.seed)]
    if a.limit is not None:
        common += ["--limit", str(a.limit)]
    if fw == "ours":
        return [a.binary, "bench"] + common + ["--json"]
    return [sys.executable, os.path.join(HERE, f"{fw}_ae.py")] + common


def run_one(fw, a):
    cmd = command(fw, a)
    load = os.getloadavg()[0]  # a busy machine distorts results (torch/OpenMP especially)
    t = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=a.timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return {"framework": fw, "error": f"{type(e).__name__}: {e}", "command": cmd}
    wall = time.perf_counter() - t
    result = None
    for line in reversed(p.stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                result = json.loads(line)
                break
            except json.JSONDecodeError:
                pass
    if p.returncode != 0 or result is None:
        return {"framework": fw, "error": f"exit {p.returncode}", "stderr_tail": p.stderr[-2000:],
                "stdout_tail": p.stdout[-1000:], "command": cmd}
    result["framework"] = fw
    result["process_wall_seconds"] = wall
    result["loadavg_1min_before"] = load
    return result


def med(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def ratio(num, den):
    return num / den if num and den else None


def summarize(runs, frameworks):
    per = {}
    for fw in frameworks:
        ok = [r for r in runs if r["framework"] == fw and "error" not in r]
        errors = [r for r in runs if r["framework"] == fw and "error" in r]
        per[fw] = {
            "ok_rounds": len(ok),
            "errors": errors,
            "version": ok[-1].get("version") if ok else None,
            "seconds_per_epoch": med([r["seconds_per_epoch"] for r in ok]),
            "seconds_per_epoch_rounds": [r["seconds_per_epoch"] for r in ok],
            "images_per_second": med([r["images_per_second"] for r in ok]),
            "gflops": med([r["gflops"] for r in ok]),
            "final_train_loss": med([r["final_train_loss"] for r in ok]),
            "test_squared_error_per_image": med([r["test_squared_error_per_image"] for r in ok]),
            "encode_images_per_second": med([r["encode_images_per_second"] for r in ok]),
            "peak_memory_mib": max([r["peak_memory_mib"] for r in ok
                                    if isinstance(r.get("peak_memory_mib"), (int, float))],
                                   default=None),
        }
    o = per.get("ours", {})
    ratios = {}
    for other in ("torch", "jax"):
        if other in per:
            # > 1 means ours is faster: their seconds per epoch / ours.
            ratios[f"ours_vs_{other}_train_speed"] = ratio(per[other]["seconds_per_epoch"],
                                                           o.get("seconds_per_epoch"))
            ratios[f"ours_vs_{other}_encode_speed"] = ratio(o.get("encode_images_per_second"),
                                                            per[other]["encode_images_per_second"])
    return per, ratios


def fmt(v, spec):
    return format(v, spec) if isinstance(v, (int, float)) else "n/a"


def markdown(per, ratios):
    lines = [
        "| framework | s/epoch (median) | GFLOP/s | test sq. err/image | encode img/s | peak MiB | train speed ours/x | encode speed ours/x |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for fw, s in per.items():
        name = fw + (f" {s['version']}" if s.get("version") else "")
        if not s["ok_rounds"]:
            lines.append(f"| {name} | failed: {s['errors'][0]['error'] if s['errors'] else '?'} | | | | | | |")
            continue
        tr = ratios.get(f"ours_vs_{fw}_train_speed") if fw != "ours" else 1.0
        er = ratios.get(f"ours_vs_{fw}_encode_speed") if fw != "ours" else 1.0
        lines.append(
            f"| {name} | {fmt(s['seconds_per_epoch'], '.3f')} | {fmt(s['gflops'], '.1f')} | "
            f"{fmt(s['test_squared_error_per_image'], '.2f')} | {fmt(s['encode_images_per_second'], '.0f')} | "
            f"{fmt(s['peak_memory_mib'], '.0f')} | {fmt(tr, '.2f')} | {fmt(er, '.2f')} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip", default="", help="comma list of frameworks to skip (ours,torch,jax)")
    p.add_argument("--binary", default="./target/release/autoencoder", help="relative to the repo root")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per subprocess")
    p.add_argument("--out", default=None, help="write the summary JSON here")
    a = p.parse_args()
    a.data = os.path.abspath(a.data)
    skip = {s.strip() for s in a.skip.split(",") if s.strip()}
    unknown = skip - set(FRAMEWORKS)
    if unknown:
        p.error(f"unknown --skip entries: {sorted(unknown)}")
    frameworks = [f for f in FRAMEWORKS if f not in skip]

    runs = []
    for rnd in range(a.rounds):
        for fw in frameworks:
            print(f"[round {rnd + 1}/{a.rounds}] {fw} ...", file=sys.stderr, flush=True)
            r = run_one(fw, a)
            r["round"] = rnd + 1
            runs.append(r)
            msg = r.get("error") or f"{r['seconds_per_epoch']:.3f} s/epoch, {r['gflops']:.1f} GFLOP/s"
            print(f"[round {rnd + 1}/{a.rounds}] {fw}: {msg}", file=sys.stderr, flush=True)

    per, ratios = summarize(runs, frameworks)
    summary = {
        "workload": "mnist-hs2006-784-1000-500-250-30-adam-b128",
        "config": {"data": a.data, "epochs": a.epochs, "rounds": a.rounds, "limit": a.limit,
                   "threads": a.threads, "seed": a.seed, "frameworks": frameworks},
        "host": {"machine": platform.machine(), "python": platform.python_version(),
                 "cpus": os.cpu_count()},
        "summary": per,
        "ratios": ratios,
        "runs": runs,
    }
    table = markdown(per, ratios)
    summary["markdown"] = table
    text = json.dumps(summary, indent=2)
    print(text)
    print()
    print(table)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
