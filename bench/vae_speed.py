#!/usr/bin/env python3
"""Training speed: the PyTorch examples VAE, ours (Rust CLI) vs PyTorch eager, interleaved.

Each round runs ours (`autoencoder train --config bench/vae_pytorch_example.toml`, per-epoch
training seconds from the run's metrics.jsonl, then `autoencoder eval --importance-samples 1`
on the 10k test images for a single-sample negative ELBO), then bench/torch_vae.py (one JSON
line). Per framework: median over rounds of each run's median epoch seconds. Ratio =
torch s/epoch / ours s/epoch (> 1: ours faster; goal >= 1.5). Prints a JSON summary and a
markdown table; --out writes the summary JSON.
"""

import argparse
import gzip
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GOAL = 1.5


def loadavg():
    """(1, 5, 15)-minute load averages from /proc/loadavg (os.getloadavg elsewhere)."""
    try:
        with open("/proc/loadavg") as f:
            return [float(v) for v in f.read().split()[:3]]
    except OSError:
        return list(os.getloadavg())


def find_mnist(folder, prefix):
    names = sorted(n for n in os.listdir(folder) if n.startswith(prefix + "-images"))
    if not names:
        raise FileNotFoundError(f"no {prefix}-images file in {folder}")
    return os.path.join(folder, names[0])


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                pass
    return None


def idx_rows(path):
    """Number of images in an IDX file (gzipped or raw), from its header."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        head = f.read(8)
    return int.from_bytes(head[4:8], "big")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run(cmd, timeout):
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    return p, time.perf_counter() - t


def run_ours(a, binary, config, work, rnd):
    out = os.path.join(work, f"ours_round{rnd}")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [binary, "train", "--config", config, "--data", a.train_file, "--out", out,
           "--epochs", str(a.epochs), "--seed", str(a.seed), "--quiet"]
    load = loadavg()
    try:
        p, wall = run(cmd, a.timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return {"framework": "ours", "error": f"{type(e).__name__}: {e}", "command": cmd}
    metrics_path = os.path.join(out, "metrics.jsonl")
    if p.returncode != 0 or not os.path.exists(metrics_path):
        return {"framework": "ours", "error": f"exit {p.returncode}", "command": cmd,
                "stderr_tail": p.stderr[-2000:], "stdout_tail": p.stdout[-1000:]}
    with open(metrics_path) as f:
        metrics = [json.loads(line) for line in f if line.strip()]
    secs = [m["seconds"] for m in metrics]
    r = {
        "framework": "ours",
        "epochs": len(metrics),
        "epoch_seconds": secs,
        "seconds_per_epoch": statistics.median(secs) if secs else None,
        "final_train_loss": metrics[-1]["train_loss"] if metrics else None,
        "process_wall_seconds": wall,
        "loadavg_before": load,
        "command": cmd,
    }
    if r["seconds_per_epoch"]:
        r["images_per_second"] = a.train_rows / r["seconds_per_epoch"]
    # Test loss: single-sample negative ELBO (the same estimator as torch_vae.py's test loss).
    ecmd = [binary, "eval", "--model", out, "--data", a.test_file, "--importance-samples", "1",
            "--seed", str(a.seed), "--json"]
    try:
        ep, _ = run(ecmd, a.timeout)
        ev = last_json(ep.stdout) if ep.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        ev = None
    if ev:
        r["test_loss_per_example"] = ev.get("negative_elbo_per_example")
        r["test_cross_entropy_per_example_at_mean_code"] = ev.get("cross_entropy_per_example")
    else:
        r["test_loss_error"] = "eval failed"
    if not a.keep_runs:
        shutil.rmtree(out, ignore_errors=True)
    return r


def run_torch(a, rnd):
    cmd = [sys.executable, os.path.join(HERE, "torch_vae.py"), "--data", a.data,
           "--epochs", str(a.epochs), "--threads", str(a.threads), "--seed", str(a.seed)]
    load = loadavg()
    try:
        p, wall = run(cmd, a.timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return {"framework": "torch", "error": f"{type(e).__name__}: {e}", "command": cmd}
    r = last_json(p.stdout)
    if p.returncode != 0 or r is None:
        return {"framework": "torch", "error": f"exit {p.returncode}", "command": cmd,
                "stderr_tail": p.stderr[-2000:], "stdout_tail": p.stdout[-1000:]}
    r["process_wall_seconds"] = wall
    r["loadavg_before"] = load
    return r


def med(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def summarize(runs):
    per = {}
    for fw in ("ours", "torch"):
        ok = [r for r in runs if r["framework"] == fw and "error" not in r]
        per[fw] = {
            "ok_rounds": len(ok),
            "errors": [r for r in runs if r["framework"] == fw and "error" in r],
            "version": ok[-1].get("version") if ok else None,
            "seconds_per_epoch": med([r["seconds_per_epoch"] for r in ok]),
            "seconds_per_epoch_rounds": [r["seconds_per_epoch"] for r in ok],
            "epoch_seconds_all": [s for r in ok for s in r["epoch_seconds"]],
            "images_per_second": med([r.get("images_per_second") for r in ok]),
            "final_train_loss": med([r.get("final_train_loss") for r in ok]),
            "test_loss_per_example": med([r.get("test_loss_per_example") for r in ok]),
        }
    o, t = per["ours"]["seconds_per_epoch"], per["torch"]["seconds_per_epoch"]
    ratio = t / o if o and t else None
    return per, ratio


def fmt(v, spec):
    return format(v, spec) if isinstance(v, (int, float)) else "n/a"


def markdown(per, ratio, load_start, load_end):
    lines = [
        "| framework | s/epoch (median) | per-round medians | img/s | final train loss | test -ELBO/image (1 sample) | time relative to ours |",
        "|---|---|---|---|---|---|---|",
    ]
    for fw, s in per.items():
        name = fw + (f" {s['version']}" if s.get("version") else "")
        if not s["ok_rounds"]:
            err = s["errors"][0]["error"] if s["errors"] else "?"
            lines.append(f"| {name} | failed: {err} | | | | | |")
            continue
        rounds = ", ".join(fmt(v, ".3f") for v in s["seconds_per_epoch_rounds"])
        rel = "1.00" if fw == "ours" else fmt(ratio, ".2f")
        lines.append(
            f"| {name} | {fmt(s['seconds_per_epoch'], '.3f')} | {rounds} | "
            f"{fmt(s['images_per_second'], '.0f')} | {fmt(s['final_train_loss'], '.2f')} | "
            f"{fmt(s['test_loss_per_example'], '.2f')} | {rel} |")
    lines.append("")
    verdict = "n/a" if ratio is None else ("met" if ratio >= GOAL else "NOT met")
    lines.append(f"**torch s/epoch / ours s/epoch = {fmt(ratio, '.2f')}** (goal >= {GOAL}: {verdict})")
    lines.append("")
    lines.append(f"load average (1/5/15 min) at start: {' '.join(fmt(v, '.2f') for v in load_start)}; "
                 f"at end: {' '.join(fmt(v, '.2f') for v in load_end)}")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True, help="folder with train-images* / t10k-images* IDX files")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2, help="both: torch threads, ours [train] threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--config", default=os.path.join(HERE, "vae_pytorch_example.toml"))
    p.add_argument("--binary", default="./target/release/autoencoder", help="relative to the repo root")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per subprocess")
    p.add_argument("--keep-runs", action="store_true", help="keep ours' run folders (in the temp dir)")
    p.add_argument("--out", default=None, help="write the summary JSON here")
    a = p.parse_args()
    a.data = os.path.abspath(a.data)
    a.train_file = find_mnist(a.data, "train")
    a.test_file = find_mnist(a.data, "t10k")
    a.train_rows = idx_rows(a.train_file)  # ours always trains on the whole file

    binary = os.path.join(ROOT, a.binary)
    if not os.path.exists(binary):
        p.error(f"{binary} not found (cargo build --release)")
    work = tempfile.mkdtemp(prefix="vae_speed_")
    # Snapshot the binary so a concurrent `cargo build` cannot swap it between rounds.
    snap = os.path.join(work, "autoencoder")
    shutil.copy2(binary, snap)
    binary_sha = sha256(snap)
    binary_mtime = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(os.path.getmtime(snap)))
    # Our thread count lives in the config; rewrite it to --threads.
    with open(a.config) as f:
        text = f.read()
    text, nsub = re.subn(r"(?m)^threads\s*=.*$", f"threads = {a.threads}", text)
    if nsub != 1:
        p.error(f"{a.config}: expected exactly one 'threads = ...' line")
    config = os.path.join(work, "config.toml")
    with open(config, "w") as f:
        f.write(text)

    load_start = loadavg()
    runs = []
    try:
        for rnd in range(1, a.rounds + 1):
            for fw in ("ours", "torch"):
                print(f"[round {rnd}/{a.rounds}] {fw} ...", file=sys.stderr, flush=True)
                r = run_ours(a, snap, config, work, rnd) if fw == "ours" else run_torch(a, rnd)
                r["round"] = rnd
                runs.append(r)
                msg = r.get("error") or f"{r['seconds_per_epoch']:.3f} s/epoch (median of {r['epoch_seconds']})"
                print(f"[round {rnd}/{a.rounds}] {fw}: {msg}", file=sys.stderr, flush=True)
    finally:
        if not a.keep_runs:
            shutil.rmtree(work, ignore_errors=True)
    load_end = loadavg()

    per, ratio = summarize(runs)
    summary = {
        "workload": "pytorch-examples-vae-784-400-20-relu-bernoulli-adam1e-3-b128",
        "config": {"data": a.data, "train_file": a.train_file, "test_file": a.test_file,
                   "epochs": a.epochs, "rounds": a.rounds, "threads": a.threads, "seed": a.seed,
                   "ours_config": os.path.relpath(a.config, ROOT), "binary": a.binary,
                   "binary_sha256": binary_sha, "binary_mtime": binary_mtime},
        "host": {"machine": platform.machine(), "python": platform.python_version(),
                 "cpus": os.cpu_count(), "loadavg_start": load_start, "loadavg_end": load_end},
        "summary": per,
        "ratio_torch_over_ours": ratio,
        "goal": GOAL,
        "meets_goal": ratio is not None and ratio >= GOAL,
        "runs": runs,
    }
    table = markdown(per, ratio, load_start, load_end)
    summary["markdown"] = table
    text = json.dumps(summary, indent=2)
    print(text)
    print()
    print(table)
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
