#!/usr/bin/env python3
"""Mean and spread over seeds of bench/regularized.sh's JSON lines.

usage: python3 bench/seed_means.py SWEEP.jsonl [SWEEP.jsonl ...]
Groups lines by (model, fine-tune epochs, probe flags); prints one Markdown row per group with
the fine-tuned and linear-probe test errors (mean, and min–max over seeds), the fine-tuned
validation error (mean) and the seeds it saw.
"""
import json
import sys
from collections import defaultdict

def canonical(flags):
    """The flags in a fixed order, so that `--a 1 --b 2` and `--b 2 --a 1` group together."""
    parts = [p.strip() for p in flags.split("--") if p.strip()]
    return " ".join("--" + p for p in sorted(parts))


groups = defaultdict(list)
for path in sys.argv[1:]:
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        groups[(r["model"], r["fine_tune_epochs"], canonical(r.get("probe_args", "")))].append(r)


def pct(values):
    if not values:  # a probe-only run (no fine-tuning)
        return "–"
    mean = 100 * sum(values) / len(values)
    return f"{mean:.2f} ({100 * min(values):.2f}–{100 * max(values):.2f})"


print("| model | FT epochs | probe flags | fine-tuned test % | linear probe test % | FT validation % | seeds |")
print("|---|---|---|---|---|---|---|")
for (model, ft, flags), rows in sorted(groups.items()):
    fine = [r["fine_tuned_test_error"] for r in rows if "fine_tuned_test_error" in r]
    probe = [r["linear_probe_test_error"] for r in rows]
    val = [r["fine_tuned_validation_error"] for r in rows if "fine_tuned_validation_error" in r]
    val_mean = f"{100 * sum(val) / len(val):.2f}" if val else "–"
    seeds = ",".join(str(r.get("seed", 0)) for r in rows)
    print(f"| {model} | {ft} | {flags or '–'} | {pct(fine)} | {pct(probe)} | {val_mean} | {seeds} |")
