"""Hashers and the Hamming index against brute force and the CLI."""

import os
import pickle
import subprocess

import numpy as np
import pytest

from autoencoder import ITQ, LSH, PCAH, HammingIndex

from test_autoencoder import cli_binary, mnist


def popcount_distances(db, q):
    """Hamming distances by unpacking bits in numpy (the reference)."""
    a = np.unpackbits(db, axis=1, bitorder="little").astype(np.int32)
    b = np.unpackbits(q, axis=1, bitorder="little").astype(np.int32)
    return (b[:, None, :] != a[None, :, :]).sum(-1)


@pytest.mark.parametrize("cls", [LSH, PCAH, ITQ])
def test_hashers_emit_packed_codes_that_equal_the_clis(cls, tmp_path):
    x, _ = mnist(500)
    h = cls(n_bits=32, seed=3).fit(x)
    codes = h.transform(x)
    assert codes.shape == (500, 4) and codes.dtype == np.uint8
    # bits are balanced-ish and not constant
    bits = np.unpackbits(codes, axis=1, bitorder="little")
    assert 0.05 < bits.mean() < 0.95
    again = pickle.loads(pickle.dumps(h))
    assert np.array_equal(again.transform(x), codes)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "codes.npy"
    subprocess.run(
        [cli_binary(), "hash", "--method", cls.__name__.lower(), "--bits", "32", "--seed", "3",
         "--fit", str(tmp_path / "x.npy"), "--data", str(tmp_path / "x.npy"), "--out", str(out)],
        check=True, capture_output=True,
    )
    assert np.array_equal(np.load(out), codes)


def test_hamming_index_matches_brute_force():
    rng = np.random.default_rng(0)
    db = rng.integers(0, 256, size=(300, 8), dtype=np.uint8)
    q = rng.integers(0, 256, size=(20, 8), dtype=np.uint8)
    index = HammingIndex(db)
    assert len(index) == 300 and index.n_bits == 64
    d, ids = index.search(q, 5)
    ref = popcount_distances(db, q)
    for i in range(20):
        order = sorted(range(300), key=lambda j: (ref[i, j], j))[:5]
        assert list(ids[i]) == order
        assert list(d[i]) == [ref[i, j] for j in order]
    lims, rd, rids = index.radius_search(q, 26)
    for i in range(20):
        want = sorted((ref[i, j], j) for j in range(300) if ref[i, j] <= 26)
        got = list(zip(rd[lims[i]:lims[i + 1]], rids[lims[i]:lims[i + 1]]))
        assert got == want
    d, ids = index.search(q[:2], 400)
    assert (ids[:, 300:] == -1).all() and (d[:, 300:] == -1).all()
    with pytest.raises(ValueError, match="bits"):
        index.search(q[:, :4], 3)
    with pytest.raises(ValueError, match="uint8"):
        HammingIndex(db.astype(np.int32))


def test_hamming_index_save_load_and_pickle(tmp_path):
    rng = np.random.default_rng(1)
    db = rng.integers(0, 256, size=(50, 4), dtype=np.uint8)
    index = HammingIndex(db)
    index.save(tmp_path / "db.npy")
    for other in (HammingIndex.load(tmp_path / "db.npy"), pickle.loads(pickle.dumps(index))):
        a, b = index.search(db[:5], 3), other.search(db[:5], 3)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
