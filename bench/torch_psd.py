"""Predictive sparse decomposition (Kavukcuoglu et al. 2008; ours: src/sparse_coding/psd.rs) in
PyTorch, for the training-speed comparison of BENCHMARKS.md: the same algorithm step for step.

Per batch: f = g ⊙ tanh(x Wᵀ + b); h* = FISTA on ‖x − D h‖² + λ‖h‖₁ + γ‖h − f‖² warm-started at
f (Gram form: G = DᵀD + γI, one batched matmul per iteration, step 1/L with
L = 2 λ_max(DᵀD) + 2γ, function-value restart per row, a row frozen once its relative change is
≤ tolerance, at most `fista_iterations`); then one Adam step on D and the predictor for the
batch mean of eq. 14.19 with h* fixed, and D's columns rescaled to unit norm.

    python bench/torch_psd.py --data MNIST_DIR [--epochs 1] [--threads 2] [--atoms 256]

Prints one JSON object: seconds per epoch, the last epoch's mean objective, FISTA iterations.
"""

import argparse
import json
import time

import numpy as np
import torch

from common import load_mnist

p = argparse.ArgumentParser()
p.add_argument("--data", required=True)
p.add_argument("--epochs", type=int, default=1)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--atoms", type=int, default=256)
p.add_argument("--batch-size", type=int, default=100)
p.add_argument("--lambda", dest="lam", type=float, default=0.5)
p.add_argument("--gamma", type=float, default=1.0)
p.add_argument("--fista-iterations", type=int, default=100)
p.add_argument("--tolerance", type=float, default=1e-4)
p.add_argument("--learning-rate", type=float, default=1e-3)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)

x_all, _ = load_mnist(a.data)
x_all = torch.from_numpy(x_all)
n, d = x_all.shape
m = a.atoms
D = torch.randn(d, m)
D /= D.norm(dim=0, keepdim=True)
D.requires_grad_(True)
W = (torch.randn(m, d) / d ** 0.5).requires_grad_(True)
b = torch.zeros(m, requires_grad=True)
g = torch.ones(m, requires_grad=True)
opt = torch.optim.Adam([D, W, b, g], lr=a.learning_rate)


def objective(z, p, c, xx, lam):
    """Each row's ‖x − Dz‖² + γ‖z − f‖² + λ‖z‖₁ from P = z G and c = x D + γ f."""
    return (xx + (z * (p - 2 * c)).sum(1)).clamp_min(0) + lam * z.abs().sum(1)


@torch.no_grad()
def fista(x, Dm, f):
    rows = x.shape[0]
    gram = Dm.T @ Dm
    lipschitz = 2 * torch.linalg.eigvalsh(gram.double()).max().item() * (1 + 1e-5) + 2 * a.gamma
    G = gram + a.gamma * torch.eye(m)
    c = x @ Dm + a.gamma * f
    xx = (x * x).sum(1) + a.gamma * (f * f).sum(1)
    inv_l = 1.0 / lipschitz
    theta = a.lam * inv_l
    z = f.clone()
    z_prev = z.clone()
    p = z @ G
    p_prev = p.clone()
    energy = objective(z, p, c, xx, a.lam)
    t = torch.ones(rows)
    active = torch.ones(rows, dtype=torch.bool)
    iterations = torch.full((rows,), a.fista_iterations)
    for k in range(a.fista_iterations):
        t_next = 0.5 * (1 + torch.sqrt(1 + 4 * t * t))
        beta = torch.where(active, (t - 1) / t_next, torch.zeros(rows))[:, None]
        y = z + beta * (z - z_prev)
        yg = (1 + beta) * p - beta * p_prev
        v = y - inv_l * 2 * (yg - c)
        cand = torch.sign(v) * (v.abs() - theta).clamp_min(0)
        cand = torch.where(active[:, None], cand, z)
        pc = cand @ G
        e = objective(cand, pc, c, xx, a.lam)
        plain = beta[:, 0] == 0
        reject = active & ~plain & (e > energy)
        accept = active & ~reject
        change = (cand - z).norm(dim=1)
        norm = z.norm(dim=1).clamp_min(1e-12)
        converged = accept & (change <= a.tolerance * norm)
        z_prev = torch.where(active[:, None], z, z_prev)
        p_prev = torch.where(active[:, None], p, p_prev)
        z = torch.where(accept[:, None], cand, z)
        p = torch.where(accept[:, None], pc, p)
        energy = torch.where(accept, e, energy)
        t = torch.where(reject, torch.ones(rows), torch.where(active, t_next, t))
        iterations = torch.where(converged, torch.full_like(iterations, k + 1), iterations)
        active = active & ~converged
        if not bool(active.any()):
            break
    return z, iterations


epoch_seconds, losses, mean_iterations = [], [], []
gen = torch.Generator().manual_seed(a.seed)
for epoch in range(a.epochs):
    start = time.perf_counter()
    order = torch.randperm(n, generator=gen)
    total, its = 0.0, 0.0
    for s in range(0, n, a.batch_size):
        x = x_all[order[s:s + a.batch_size]]
        f = g * torch.tanh(x @ W.T + b)
        h, iters = fista(x, D.detach(), f.detach())
        loss_rows = ((x - h @ D.T) ** 2).sum(1) + a.lam * h.abs().sum(1) + a.gamma * ((h - f) ** 2).sum(1)
        loss = loss_rows.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            D /= D.norm(dim=0, keepdim=True)
        total += loss_rows.sum().item()
        its += iters.float().sum().item()
    epoch_seconds.append(time.perf_counter() - start)
    losses.append(total / n)
    mean_iterations.append(its / n)
print(json.dumps({
    "framework": "torch", "version": torch.__version__, "threads": a.threads,
    "seconds_per_epoch": float(np.median(epoch_seconds)), "epoch_seconds": epoch_seconds,
    "train_objective": losses[-1], "mean_fista_iterations": mean_iterations[-1], "examples": n,
}))
