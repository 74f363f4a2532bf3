"""index/vectors.py: FAISS search checked against numpy brute force, removal, and the index file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from index.dense.faiss_index import INDEX_FILENAME, MAGIC, VectorIndex


def unit_vectors(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def chunk_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Arbitrary, non-contiguous, unsorted, large int64 ids (never -1, FAISS's "no result")."""
    return rng.choice(2**62, size=n, replace=False).astype(np.int64)


def brute_force(ids: np.ndarray, vectors: np.ndarray, query: np.ndarray) -> dict[int, float]:
    scores = vectors.astype(np.float64) @ query.astype(np.float64)
    return {int(i): float(s) for i, s in zip(ids, scores, strict=False)}


def assert_matches_brute_force(results, truth: dict[int, float], k: int) -> None:
    """Same scores as numpy's top k; ids agree with their own scores (ties may come in any order)."""
    expected = sorted(truth.values(), reverse=True)[: min(k, len(truth))]
    got_ids = [cid for cid, _ in results]
    got_scores = np.array([s for _, s in results])
    assert len(results) == len(expected)
    assert len(set(got_ids)) == len(got_ids), "no id twice"
    assert np.allclose(got_scores, expected, atol=1e-5)
    assert all(cid in truth for cid in got_ids)
    assert np.allclose([truth[cid] for cid in got_ids], got_scores, atol=1e-5)
    if len(expected) < len(truth):
        # Every id strictly better than the k-th score must be there, whatever the tie order.
        cutoff = expected[-1]
        must = {cid for cid, s in truth.items() if s > cutoff + 1e-5}
        assert must <= set(got_ids)


SIZES = [
    pytest.param(1, 8, 1, id="n1-k1"),
    pytest.param(10, 16, 3, id="n10-k3"),
    pytest.param(100, 32, 10, id="n100-k10"),
    pytest.param(1000, 64, 50, id="n1000-k50"),
    pytest.param(2000, 384, 20, id="n2000-d384-k20"),
    pytest.param(30, 8, 100, id="k-above-n"),
    pytest.param(30, 8, 30, id="k-equals-n"),
]


@pytest.mark.parametrize(("n", "dim", "k"), SIZES)
@pytest.mark.parametrize("seed", [0, 1], ids=["seed0", "seed1"])
def test_search_equals_numpy_brute_force(n, dim, k, seed):
    rng = np.random.default_rng(seed * 1000 + n)
    ids, vectors = chunk_ids(rng, n), unit_vectors(rng, n, dim)
    index = VectorIndex(dim, "m")
    index.add(ids, vectors)
    assert index.count == n
    assert set(index.ids().tolist()) == set(ids.tolist())
    for query in unit_vectors(rng, 5, dim):
        results = index.search(query, k)
        assert_matches_brute_force(results, brute_force(ids, vectors, query), k)
        assert [s for _, s in results] == sorted((s for _, s in results), reverse=True)


def test_search_with_ties():
    rng = np.random.default_rng(3)
    distinct = unit_vectors(rng, 5, 16)
    vectors = np.repeat(distinct, 4, axis=0)  # every vector four times, under different ids
    ids = chunk_ids(rng, len(vectors))
    index = VectorIndex(16, "m")
    index.add(ids, vectors)
    for query in list(distinct) + list(unit_vectors(rng, 3, 16)):
        for k in (1, 3, 4, 6, 20):
            assert_matches_brute_force(index.search(query, k), brute_force(ids, vectors, query), k)


def test_add_in_batches_equals_one_add():
    rng = np.random.default_rng(4)
    ids, vectors = chunk_ids(rng, 120), unit_vectors(rng, 120, 16)
    one, batched = VectorIndex(16, "m"), VectorIndex(16, "m")
    one.add(ids, vectors)
    for start in range(0, 120, 50):
        batched.add(ids[start : start + 50], vectors[start : start + 50])
    batched.add(np.array([], dtype=np.int64), np.zeros((0, 16), dtype=np.float32))
    query = unit_vectors(rng, 1, 16)[0]
    assert one.search(query, 10) == batched.search(query, 10)


@pytest.mark.parametrize("k", [0, -1], ids=["k0", "k-negative"])
def test_search_with_no_k_or_empty_index(k):
    empty = VectorIndex(8, "m")
    assert empty.search(np.ones(8, dtype=np.float32), 5) == []
    index = VectorIndex(8, "m")
    index.add(np.array([5]), unit_vectors(np.random.default_rng(0), 1, 8))
    assert index.search(np.ones(8, dtype=np.float32), k) == []


@pytest.mark.parametrize(
    ("n", "removed"), [(10, 1), (100, 37), (200, 199), (50, 50)], ids=["one-of-10", "37-of-100", "all-but-one", "all"]
)
def test_removed_ids_are_never_returned(n, removed):
    rng = np.random.default_rng(n)
    ids, vectors = chunk_ids(rng, n), unit_vectors(rng, n, 16)
    index = VectorIndex(16, "m")
    index.add(ids, vectors)
    gone = set(rng.choice(ids, size=removed, replace=False).tolist())
    index.remove(sorted(gone))
    index.remove([123, 456])  # ids it never had: no-op
    index.remove([])
    keep = np.array([i not in gone for i in ids.tolist()])
    assert index.count == n - removed
    assert set(index.ids().tolist()) == set(ids[keep].tolist())
    for query in unit_vectors(rng, 5, 16):
        results = index.search(query, n)
        assert not gone & {cid for cid, _ in results}
        assert_matches_brute_force(results, brute_force(ids[keep], vectors[keep], query), n)


def test_dimension_mismatch_raises_value_error():
    index = VectorIndex(16, "m")
    with pytest.raises(ValueError, match="dimension"):
        index.add(np.array([1, 2]), np.ones((2, 8), dtype=np.float32))
    assert index.count == 0


# --- the index file ----------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    rng = np.random.default_rng(11)
    ids, vectors = chunk_ids(rng, 300), unit_vectors(rng, 300, 24)
    index = VectorIndex(24, "some/model")
    index.add(ids, vectors)
    path = tmp_path / INDEX_FILENAME
    index.save(path, generation=42)
    return index, path, unit_vectors(rng, 5, 24)


def test_save_load_round_trip(saved):
    index, path, queries = saved
    loaded = VectorIndex.load(path)
    assert loaded is not None
    assert (loaded.dim, loaded.model, loaded.generation, loaded.count) == (24, "some/model", 42, 300)
    assert sorted(loaded.ids().tolist()) == sorted(index.ids().tolist())
    for query in queries:
        assert loaded.search(query, 10) == index.search(query, 10)
    header = VectorIndex.read_header(path)
    assert (header.model, header.dim, header.generation, header.count) == ("some/model", 24, 42, 300)


def test_loaded_index_stays_usable(saved):
    _index, path, queries = saved
    loaded = VectorIndex.load(path)
    first = loaded.search(queries[0], 1)[0][0]
    loaded.remove([first])
    loaded.add(np.array([7], dtype=np.int64), queries[0].reshape(1, -1))
    assert loaded.search(queries[0], 1)[0][0] == 7
    assert first not in {cid for cid, _ in loaded.search(queries[0], 300)}


def test_save_after_removal_round_trips(saved, tmp_path):
    index, path, queries = saved
    gone = index.ids()[:100].tolist()
    index.remove(gone)
    index.save(path, generation=43)
    loaded = VectorIndex.load(path)
    assert loaded.count == 200 and loaded.generation == 43
    assert not set(gone) & set(loaded.ids().tolist())
    for query in queries:
        assert loaded.search(query, 20) == index.search(query, 20)


def test_save_is_atomic_and_leaves_no_temp_file(saved):
    index, path, _ = saved
    assert sorted(p.name for p in path.parent.iterdir()) == [INDEX_FILENAME]
    index.save(path, generation=43)  # overwrite
    assert sorted(p.name for p in path.parent.iterdir()) == [INDEX_FILENAME]
    assert VectorIndex.load(path).generation == 43


def test_failed_save_keeps_the_old_file_and_no_temp_file(saved, monkeypatch):
    index, path, _ = saved
    before = path.read_bytes()

    def failing_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr("index.dense.faiss_index.os.fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        index.save(path, generation=99)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [INDEX_FILENAME]


def test_save_creates_the_folder(tmp_path):
    index = VectorIndex(4, "m")
    path = tmp_path / "deep" / "er" / INDEX_FILENAME
    index.save(path, generation=0)
    loaded = VectorIndex.load(path)
    assert loaded is not None and loaded.count == 0 and loaded.dim == 4


def test_load_missing_file_is_none(tmp_path):
    assert VectorIndex.load(tmp_path / "nothing.faiss") is None
    assert VectorIndex.read_header(tmp_path / "nothing.faiss") is None
    assert VectorIndex.load(tmp_path) is None  # a folder, not a file


def _magic_len():
    return len(MAGIC)


TRUNCATIONS = [
    pytest.param(lambda data: 0, id="empty"),
    pytest.param(lambda data: 5, id="inside-magic"),
    pytest.param(lambda data: _magic_len(), id="magic-only"),
    pytest.param(lambda data: _magic_len() + 10, id="inside-header"),
    pytest.param(lambda data: data.index(b"\n", _magic_len()) + 1, id="header-only"),
    pytest.param(lambda data: data.index(b"\n", _magic_len()) + 20, id="payload-start"),
    pytest.param(lambda data: len(data) // 2, id="half"),
    pytest.param(lambda data: len(data) - 1, id="one-byte-short"),
]


@pytest.mark.parametrize("cut", TRUNCATIONS)
def test_load_truncated_file_is_none(saved, cut):
    _, path, _ = saved
    data = path.read_bytes()
    path.write_bytes(data[: cut(data)])
    assert VectorIndex.load(path) is None


CORRUPTIONS = [
    pytest.param(lambda data: b"X" + data[1:], id="wrong-magic"),
    pytest.param(lambda data: b"INVESTBOT-FAISS-0\n" + data[len(MAGIC) :], id="other-version"),
    pytest.param(lambda data: data[len(MAGIC) :], id="no-magic"),
    pytest.param(lambda data: MAGIC + b"{not json\n" + data.split(b"\n", 2)[2], id="bad-header-json"),
    pytest.param(
        lambda data: MAGIC + json.dumps({"model": "m"}).encode() + b"\n" + data.split(b"\n", 2)[2],
        id="header-missing-fields",
    ),
    pytest.param(
        lambda data: data.split(b"\n", 2)[0] + b"\n" + data.split(b"\n", 2)[1] + b"\n" + b"\x00" * 200,
        id="garbage-payload",
    ),
    pytest.param(lambda data: b"\x00" * len(data), id="all-zeros"),
]


@pytest.mark.parametrize("corrupt", CORRUPTIONS)
def test_load_corrupt_file_is_none(saved, corrupt):
    _, path, _ = saved
    path.write_bytes(corrupt(path.read_bytes()))
    assert VectorIndex.load(path) is None


def test_build_from_store(store):
    from index.store.database import DocumentRecord

    rng = np.random.default_rng(5)
    vectors = unit_vectors(rng, 3, 8)
    record = DocumentRecord(
        source="s",
        content_hash="h",
        title="T",
        date=None,
        language="en",
        region=None,
        url=None,
        format="txt",
        pages=None,
        size_bytes=1,
        chunk_texts=["A.", "B.", "C."],
        chunk_pages=[None] * 3,
        embed_texts=["A.", "B.", "C."],
        fts_bodies=["a", "b", "c"],
        fts_title="t",
        line_keys=set(),
        vectors=vectors,
        model="m",
    )
    _, _, ids = store.save_document(record)
    index = VectorIndex.build(store, "m", 8)
    assert sorted(index.ids().tolist()) == sorted(ids)
    assert index.search(vectors[1], 1)[0][0] == ids[1]
    assert VectorIndex.build(store, "other-model", 8).count == 0


def _clustered(rng: np.random.Generator, n: int, dim: int, centers: int = 50) -> np.ndarray:
    """Vectors around a few centres, as real embeddings are (random ones are the IVF worst case)."""
    middle = unit_vectors(rng, centers, dim)
    points = middle[rng.integers(0, centers, n)] + 0.5 / np.sqrt(dim) * rng.standard_normal((n, dim)).astype(np.float32)
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def test_ivf_recall_against_brute_force(tmp_path):
    from index.dense.faiss_index import choose_kind

    rng = np.random.default_rng(3)
    n, dim = 6000, 32
    vectors, ids = _clustered(rng, n, dim), chunk_ids(rng, n)
    index = VectorIndex.ivf(dim, "m", vectors)
    index.add(ids, vectors)
    assert index.kind == "ivf" and index.count == n and set(index.ids()) == set(ids)
    queries = _clustered(rng, 50, dim)
    recall = []
    for q in queries:
        truth = sorted(brute_force(ids, vectors, q).items(), key=lambda kv: -kv[1])[:10]
        got = {cid for cid, _ in index.search(q, 10)}
        recall.append(len(got & {cid for cid, _ in truth}) / 10)
    assert np.mean(recall) >= 0.9
    removed = ids[:100]
    index.remove(removed)
    assert index.count == n - 100 and not set(removed) & set(index.ids())
    path = tmp_path / INDEX_FILENAME
    index.save(path, generation=9)
    loaded = VectorIndex.load(path)
    assert loaded.kind == "ivf" and loaded.nprobe == index.nprobe and loaded.generation == 9
    assert loaded.search(queries[0], 10) == index.search(queries[0], 10)
    assert choose_kind(10) == "flat" and choose_kind(10_000_000) == "ivf"


def test_build_chooses_ivf_for_large_collections(store, monkeypatch):
    import index.dense.faiss_index as vectors_module
    from index.store.database import DocumentRecord

    rng = np.random.default_rng(5)
    vectors = _clustered(rng, 400, 16)
    texts = [f"chunk {i}" for i in range(400)]
    store.save_document(
        DocumentRecord(
            source="s",
            content_hash="h",
            title="t",
            date=None,
            language="en",
            region=None,
            url=None,
            format="txt",
            pages=None,
            size_bytes=1,
            chunk_texts=texts,
            chunk_pages=[None] * 400,
            embed_texts=texts,
            fts_bodies=texts,
            fts_title="t",
            line_keys=set(),
            vectors=vectors,
            model="m",
        )
    )
    monkeypatch.setattr(vectors_module, "IVF_MIN_VECTORS", 100)
    index = VectorIndex.build(store, "m", 16)
    assert index.kind == "ivf" and index.count == 400
    monkeypatch.setattr(vectors_module, "IVF_MIN_VECTORS", 1000)
    assert VectorIndex.build(store, "m", 16).kind == "flat"
