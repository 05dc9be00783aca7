"""Data-parallel fits: a Python reducer's protocol in one process, then two MPI ranks on
loopback (mpi4py + the MPICH wheel) and two torch.distributed (gloo) processes where those are
installed, against one process fitting the same global batches; and a killed rank."""

import json
import os
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest

from autoencoder import Autoencoder

from test_autoencoder import mnist, weights

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "dist_worker.py")
PARAMS = dict(layers=[64], code=8, activation="tanh", epochs=3, learning_rate=3e-3,
              shuffle=False, validation_fraction=0.0, threads=1, seed=1)


class OneWorker:
    """A world of one: averages are the values themselves; counts the calls."""

    rank, world_size = 0, 1

    def __init__(self):
        self.mean_calls = self.f64_calls = 0
        self.kept = None

    def allreduce_mean(self, buf):
        assert buf.dtype == np.float32 and buf.flags.writeable
        self.mean_calls += 1

    def allreduce(self, buf, op):
        assert buf.dtype == np.float64 and op in ("sum", "max")
        self.f64_calls += 1


def test_a_world_of_one_is_the_plain_fit_and_averages_once_a_step():
    x, _ = mnist(200)
    r = OneWorker()
    with_reducer = Autoencoder(batch_size=20, **PARAMS).fit(x, reducer=r)
    plain = Autoencoder(batch_size=20, **PARAMS).fit(x)
    for name, w in weights(plain).items():
        np.testing.assert_array_equal(w, weights(with_reducer)[name], err_msg=name)
    assert r.mean_calls == 3 * 10  # 3 epochs of 10 steps
    assert r.f64_calls > 0


def test_reducer_errors_are_clear_and_propagate_as_raised():
    x, _ = mnist(100)

    class Kept(OneWorker):
        def allreduce_mean(self, buf):
            self.kept = buf

    with pytest.raises(ValueError, match="kept a reference to the gradient buffer"):
        Autoencoder(**PARAMS).fit(x, reducer=Kept())

    class Broken(OneWorker):
        def allreduce_mean(self, buf):
            raise ConnectionError("peer went away")

    with pytest.raises(ConnectionError, match="peer went away"):
        Autoencoder(**PARAMS).fit(x, reducer=Broken())

    class NoMethods:
        rank, world_size = 0, 1

    with pytest.raises(ValueError, match="has no allreduce_mean"):
        Autoencoder(**PARAMS).fit(x, reducer=NoMethods())

    class BadRank(OneWorker):
        rank, world_size = 2, 2

    with pytest.raises(ValueError, match="rank 2 is not below world_size 2"):
        Autoencoder(**PARAMS).fit(x, reducer=BadRank())
    with pytest.raises(ValueError, match="train.rule"):
        Autoencoder(rule="recirculation", **PARAMS).fit(x, reducer=OneWorker())


def _single_process_reference():
    """One process, batch 20, whose batch k is rank 0's batch k (10 rows) then rank 1's."""
    x, _ = mnist(200)
    halves = [x[:100], x[100:]]
    arranged = np.concatenate([h[k * 10:(k + 1) * 10] for k in range(10) for h in halves])
    return Autoencoder(batch_size=20, **PARAMS).fit(arranged)


def _check_ranks_against_one_process(out):
    ranks = [np.load(os.path.join(out, f"rank{r}.npz")) for r in range(2)]
    names = [k for k in ranks[0].files if k != "history"]
    for k in names:
        np.testing.assert_array_equal(ranks[0][k], ranks[1][k], err_msg=f"ranks differ in {k}")
    one = _single_process_reference()
    w = weights(one)
    worst = max(float(np.abs(w[k] - ranks[0][k]).max()) for k in names)
    assert worst < 1e-4, worst
    history = json.loads(str(ranks[0]["history"]))
    assert [m["epoch"] for m in history] == [1, 2, 3]
    np.testing.assert_allclose([m["train_loss"] for m in history], [m["train_loss"] for m in one.history_], rtol=1e-5)


def _mpirun():
    pytest.importorskip("mpi4py")
    path = os.path.join(os.path.dirname(sys.executable), "mpirun")
    return path if os.path.exists(path) else shutil.which("mpirun") or pytest.skip("no mpirun")


def test_two_mpi_ranks_fit_what_one_process_fits(tmp_path):
    subprocess.run([_mpirun(), "-np", "2", sys.executable, WORKER, "mpi", "fit", str(tmp_path)],
                   check=True, timeout=120)
    _check_ranks_against_one_process(tmp_path)


def test_a_killed_mpi_rank_is_named_and_a_restart_continues_from_the_last_epoch(tmp_path):
    mpirun = _mpirun()
    if "hydra" not in subprocess.run([mpirun, "--version"], capture_output=True, text=True).stdout.lower():
        pytest.skip("needs MPICH's mpirun (-disable-auto-cleanup)")
    checkpoint = tmp_path / "run"
    env = dict(os.environ, REDUCER_TIMEOUT="4", CHECKPOINT_DIR=str(checkpoint))
    killed = tmp_path / "killed"
    killed.mkdir()
    subprocess.run([mpirun, "-np", "2", "-disable-auto-cleanup", sys.executable, WORKER, "mpi", "kill", str(killed)],
                   timeout=120, env=env)
    seconds, message = (killed / "rank0.txt").read_text().splitlines()
    assert message.startswith("TimeoutError: rank 0:") and "rank(s) 1 did not answer" in message, message
    # the timeout (4 s) plus the pings (at most 4 s more), not a hang
    assert float(seconds) < 15.0, seconds
    # the run folder holds the last whole epoch (the first), and loads
    assert len((checkpoint / "metrics.jsonl").read_text().splitlines()) == 1
    assert Autoencoder.load(checkpoint).transform(mnist(10)[0]).shape == (10, 8)
    # a restart on the same world size continues from it and ends where an uninterrupted run does
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    subprocess.run([mpirun, "-np", "2", sys.executable, WORKER, "mpi", "fit", str(resumed)],
                   check=True, timeout=120, env=env)
    assert len((checkpoint / "metrics.jsonl").read_text().splitlines()) == 3
    whole = tmp_path / "whole"
    whole.mkdir()
    env.pop("CHECKPOINT_DIR")
    subprocess.run([mpirun, "-np", "2", sys.executable, WORKER, "mpi", "fit", str(whole)],
                   check=True, timeout=120, env=env)
    a, b = np.load(resumed / "rank0.npz"), np.load(whole / "rank0.npz")
    for k in (k for k in a.files if k != "history"):
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_two_torch_gloo_processes_fit_what_one_process_fits(tmp_path):
    pytest.importorskip("torch.distributed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    for rank in range(2):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        procs.append(subprocess.Popen([sys.executable, WORKER, "torch", "fit", str(tmp_path)], env=env))
    for p in procs:
        assert p.wait(timeout=120) == 0
    _check_ranks_against_one_process(tmp_path)


def _ray_worker(config):
    """A Ray Train worker: this rank's half of the rows, fitted with TorchReducer."""
    import sys

    sys.path.insert(0, config["here"])
    from test_autoencoder import mnist as rows

    from autoencoder.distributed import TorchReducer

    reducer = TorchReducer()
    x, _ = rows(200)
    mine = x[reducer.rank * 100:(reducer.rank + 1) * 100]
    ae = Autoencoder(batch_size=10, **PARAMS).fit(mine, reducer=reducer)
    np.savez(os.path.join(config["out"], f"rank{reducer.rank}.npz"), history=json.dumps(ae.history_),
             **{name: np.asarray(t) for name, t in ae.model_.tensors()})


def test_ray_train_workers_fit_what_one_process_fits(tmp_path):
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.train.torch")
    pytest.importorskip("torch.distributed")
    from ray.train import ScalingConfig
    from ray.train.torch import TorchTrainer

    # the workers import this module (where the worker function lives) from here
    path = os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")])
    ray.init(num_cpus=2, include_dashboard=False, runtime_env={"env_vars": {"PYTHONPATH": path}})
    try:
        TorchTrainer(
            _ray_worker,
            train_loop_config={"out": str(tmp_path), "here": HERE},
            scaling_config=ScalingConfig(num_workers=2, use_gpu=False),
        ).fit()
    finally:
        ray.shutdown()
    _check_ranks_against_one_process(tmp_path)


def test_checkpoint_dir_continues_a_single_process_fit_exactly(tmp_path):
    x, _ = mnist(200)
    params = dict(PARAMS, batch_size=20, shuffle=True, validation_fraction=0.2)
    first = Autoencoder(checkpoint_dir=tmp_path / "run", **dict(params, epochs=2)).fit(x)
    assert [m["epoch"] for m in first.history_] == [1, 2]
    more = Autoencoder(checkpoint_dir=tmp_path / "run", **dict(params, epochs=4)).fit(x)
    # the whole run's history, the checkpoint's epochs first
    assert [m["epoch"] for m in more.history_] == [1, 2, 3, 4]
    for got, want in zip(more.history_[:2], first.history_):
        # the checkpoint keeps each value to its last digit or so
        assert got == pytest.approx(want, rel=1e-12)
    whole = Autoencoder(**dict(params, epochs=4)).fit(x)
    for name, w in weights(whole).items():
        np.testing.assert_array_equal(w, weights(more)[name], err_msg=name)
    with pytest.raises(ValueError, match="checkpoint_dir: the checkpoint .* is of another model"):
        Autoencoder(checkpoint_dir=tmp_path / "run", **dict(params, code=4)).fit(x)


def test_a_list_of_npy_files_fits_the_model_their_rows_give(tmp_path):
    x, _ = mnist(300)
    paths = []
    for i, part in enumerate(np.array_split(x, 3)):
        paths.append(tmp_path / f"part{i}.npy")
        np.save(paths[-1], part)
    streamed = Autoencoder(batch_size=25, **dict(PARAMS, shuffle=True)).fit([str(p) for p in paths])
    loaded = Autoencoder(batch_size=25, **dict(PARAMS, shuffle=True)).fit(x)
    for name, w in weights(loaded).items():
        np.testing.assert_array_equal(w, weights(streamed)[name], err_msg=name)
    np.testing.assert_array_equal(streamed.decision_scores_, loaded.decision_scores_)
    assert streamed.n_features_in_ == 784
    with pytest.raises(ValueError, match="must hold .npy files"):
        Autoencoder(**PARAMS).fit([str(tmp_path / "rows.csv")])


def test_mpi_reducer_refuses_a_bad_timeout():
    pytest.importorskip("mpi4py")
    from autoencoder.distributed import MpiReducer

    with pytest.raises(ValueError, match="timeout = -1"):
        MpiReducer(timeout=-1)
    r = MpiReducer(timeout=None)  # a world of one, blocking
    buf = np.arange(4, dtype=np.float32)
    r.allreduce_mean(buf)
    np.testing.assert_array_equal(buf, np.arange(4, dtype=np.float32))
    assert r.stats.calls == 1 and r.stats.bytes == 16
