"""Data-parallel training across processes: `Autoencoder.fit(X, reducer=...)`.

Each worker (an MPI rank, a `torchrun` process, a Ray Train or Spark worker) calls `fit` with
its own rows and a reducer; every step's gradient is averaged across the workers before the
optimizer applies it, so all workers keep identical weights (started from the same `seed`).
The global batch is `batch_size × world_size`. Validation scores are averaged over the workers,
and early stopping, NaN stops and callbacks decide the same on every worker. Only rank 0
writes TensorBoard logs; save the model on rank 0 (`if reducer.rank == 0: ae.save(...)`).

A reducer is any object with `rank`, `world_size`, `allreduce_mean(buf)` (a float32 array,
averaged in place; it is a view of the engine's gradient buffer, valid during the call only)
and `allreduce(buf, op)` (float64, `"sum"` or `"max"`, in place). Two ship here:

- `MpiReducer()`: mpi4py (`pip install mpi4py mpich` is enough), launched by
  `mpirun -np N python train.py`.
- `TorchReducer()`: `torch.distributed` with the gloo backend (`torchrun`, Ray Train's
  `TorchTrainer`, Spark's `TorchDistributor` set it up), on the numpy buffer without a copy.

A worker that dies or hangs makes the others fail within `timeout` seconds with an error naming
it (`TimeoutError` from `MpiReducer`; note that `mpirun` by default tears the whole job down
when a rank dies: MPICH's `-disable-auto-cleanup` keeps the survivors running to report it).
"""

from __future__ import annotations

import sys
import time

import numpy as np

__all__ = ["MpiReducer", "TorchReducer"]

_PING, _PONG = 31_337, 31_338


class _Stats:
    """What the gradient all-reduces cost this worker: `calls`, `bytes` (of gradient sent,
    each call's buffer) and `seconds` (wall time inside them, waiting for slower workers
    included)."""

    def __init__(self):
        self.calls, self.bytes, self.seconds = 0, 0, 0.0

    def timed(self, nbytes):
        # holds the size, not the buffer: nothing may keep the engine's buffer past the call
        return _Timer(self, nbytes)

    def __repr__(self):
        per = self.seconds / max(self.calls, 1) * 1e3
        return f"{self.calls} all-reduces, {self.bytes / max(self.calls, 1) / 1e6:.2f} MB each, {per:.2f} ms each"


class _Timer:
    def __init__(self, stats, nbytes):
        self.stats, self.nbytes = stats, nbytes

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        self.stats.calls += 1
        self.stats.bytes += self.nbytes
        self.stats.seconds += time.perf_counter() - self.start


class MpiReducer:
    """Averages gradients over an MPI communicator (mpi4py), with a timeout on every
    collective: a rank that does not join within `timeout` seconds is named in a
    `TimeoutError` (ranks still alive answer a ping while they wait). `timeout=None` uses
    blocking all-reduces instead: a little faster (no polling), and a dead rank then hangs the
    others until `mpirun` ends the job."""

    def __init__(self, comm=None, timeout=120.0):
        from mpi4py import MPI

        self._MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.comm.Set_errhandler(MPI.ERRORS_RETURN)
        self.rank = self.comm.Get_rank()
        self.world_size = self.comm.Get_size()
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout = {timeout}: must be positive (seconds), or None")
        self.timeout = None if timeout is None else float(timeout)
        self.stats = _Stats()

    def allreduce_mean(self, buf):
        with self.stats.timed(buf.nbytes):
            if self.timeout is None:
                self.comm.Allreduce(self._MPI.IN_PLACE, buf, op=self._MPI.SUM)
            else:
                self._wait(self.comm.Iallreduce(self._MPI.IN_PLACE, buf, op=self._MPI.SUM), "allreduce_mean")
            buf /= np.float32(self.world_size)

    def allreduce(self, buf, op):
        mpi_op = {"sum": self._MPI.SUM, "max": self._MPI.MAX}[op]
        if self.timeout is None:
            self.comm.Allreduce(self._MPI.IN_PLACE, buf, op=mpi_op)
        else:
            self._wait(self.comm.Iallreduce(self._MPI.IN_PLACE, buf, op=mpi_op), "allreduce")

    def _answer_pings(self):
        status = self._MPI.Status()
        while self.comm.Iprobe(source=self._MPI.ANY_SOURCE, tag=_PING, status=status):
            source = status.Get_source()
            self.comm.recv(source=source, tag=_PING)
            self.comm.isend(self.rank, dest=source, tag=_PONG)

    def _wait(self, request, what):
        start = time.monotonic()
        spins = 0
        try:
            while not request.Test():
                self._answer_pings()
                spins += 1
                if spins > 1000:  # past the first millisecond or so: stop burning the core
                    time.sleep(0.0005)
                if time.monotonic() - start > self.timeout:
                    raise TimeoutError(self._diagnose(what, f"no {what} within {self.timeout:g} s"))
        except self._MPI.Exception as e:
            raise TimeoutError(self._diagnose(what, f"{what} failed ({e.Get_error_string()})")) from None

    def _diagnose(self, what, problem):
        """Pings every other rank for a few seconds; names those that do not answer."""
        others = [r for r in range(self.world_size) if r != self.rank]
        answered = set()
        try:
            for r in others:
                self.comm.isend(self.rank, dest=r, tag=_PING)
            deadline = time.monotonic() + min(5.0, self.timeout)
            status = self._MPI.Status()
            while time.monotonic() < deadline and len(answered) < len(others):
                self._answer_pings()
                if self.comm.Iprobe(source=self._MPI.ANY_SOURCE, tag=_PONG, status=status):
                    answered.add(self.comm.recv(source=status.Get_source(), tag=_PONG))
                else:
                    time.sleep(0.01)
        except self._MPI.Exception:
            pass
        missing = [r for r in others if r not in answered]
        who = f"rank(s) {', '.join(map(str, missing))} did not answer" if missing else "every rank answered"
        return f"rank {self.rank}: {problem}; {who}"


class TorchReducer:
    """Averages gradients with `torch.distributed` (the default process group, or `group`),
    zero-copy on the numpy buffer. Use the gloo backend (CPU tensors); its collectives time
    out after the process group's `timeout`."""

    def __init__(self, group=None):
        import torch
        import torch.distributed as dist

        if not dist.is_available() or not dist.is_initialized():
            raise ValueError(
                "TorchReducer: torch.distributed is not initialized; call "
                "torch.distributed.init_process_group('gloo') first (torchrun and Ray Train do)"
            )
        self._torch, self._dist, self.group = torch, dist, group
        self.rank = dist.get_rank(group)
        self.world_size = dist.get_world_size(group)
        self.stats = _Stats()

    def _all_reduce(self, buf, op, what):
        base = sys.getrefcount(buf)
        try:
            tensor = self._torch.from_numpy(buf)
            work = self._dist.all_reduce(tensor, op=op, group=self.group, async_op=True)
            work.wait()
            del work, tensor
        except RuntimeError as e:
            raise TimeoutError(f"rank {self.rank}: {what} failed, {self._missing()} ({e})") from None
        # gloo's worker thread lets go of the tensor (and so of the engine's buffer, valid
        # during this call only) just after the work completes: wait for it
        deadline = time.monotonic() + 5.0
        while sys.getrefcount(buf) > base:
            if time.monotonic() > deadline:
                raise RuntimeError(f"rank {self.rank}: torch.distributed kept the gradient buffer after {what}")
            time.sleep(0)

    def _missing(self):
        """Which rank is gone: the other one of two; with more, gloo's error does not say (its
        monitored barrier fails on the broken group too), so the others are listed."""
        others = [r for r in range(self.world_size) if r != self.rank]
        if len(others) == 1:
            return f"rank {others[0]} has died or hung"
        return f"one of ranks {others} has died or hung"

    def allreduce_mean(self, buf):
        with self.stats.timed(buf.nbytes):
            self._all_reduce(buf, self._dist.ReduceOp.SUM, "allreduce_mean")
            buf /= np.float32(self.world_size)

    def allreduce(self, buf, op):
        ops = {"sum": self._dist.ReduceOp.SUM, "max": self._dist.ReduceOp.MAX}
        self._all_reduce(buf, ops[op], "allreduce")
