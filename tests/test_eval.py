"""`investbot eval` with a model (the tiny offline one: fast, and every code path of the real one), its
paragraph-vector cache, and the pieces it is built from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from index.dense.cache import VectorCache, cache_file, cached_embedder
from index.dense.model import Backend, Embedder
from index.engine import Engine, EngineConfig
from index.evaluation import Question, golds_in, ranked_docs, recall_figures
from index.store.database import Store
from tests.conftest import EVAL_DIR

# --- the CLI, end to end --------------------------------------------------------------------------


@pytest.fixture
def eval_run(tmp_path: Path, tiny_model: Path, monkeypatch):
    if not (EVAL_DIR / "xquad").is_dir():
        pytest.skip("shared/eval is not beside the repository")
    monkeypatch.setenv("INVESTBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INVESTBOT_MODEL", str(tiny_model))
    monkeypatch.setenv("INVESTBOT_BACKEND", "sentence-transformers")
    cache = tmp_path / "eval-cache"

    def invoke(*args: str):
        result = CliRunner().invoke(
            cli,
            ["eval", "--eval-dir", str(EVAL_DIR), "--limit", "5", "--cache-dir", str(cache), *args],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        return result

    return invoke


def test_eval_with_a_model_shows_all_four_systems_and_reuses_cached_vectors(eval_run):
    first = eval_run("--direction", "en-ru", "--json")
    again = eval_run("--direction", "en-ru", "--json")
    fresh = eval_run("--direction", "en-ru", "--json", "--fresh")
    figures = [json.loads(r.stdout) for r in (first, again, fresh)]
    # The model line comes before any work (only the model library's own loading bar may precede it).
    lines = first.stderr.splitlines()
    model_at = next(i for i, line in enumerate(lines) if line.startswith("Model: "))
    assert "via sentence-transformers (local folder)" in lines[model_at] and lines[model_at + 1].startswith("Indexing")
    chunks = figures[0]["vectors"]["embedded"]
    assert chunks >= 240  # one vector per chunk: a long paragraph is two chunks
    assert [f["vectors"] for f in figures] == [
        {"from_cache": 0, "embedded": chunks},
        {"from_cache": chunks, "embedded": 0},
        {"from_cache": 0, "embedded": chunks},
    ]
    systems = figures[0]["directions"]["en-ru"]["systems"]
    assert list(systems) == ["lexical", "dense", "hybrid", "bm25s"]
    assert all(s["answered"] is not None for name, s in systems.items() if name != "bm25s")

    def recalls(f):
        return {name: s["recall@5"] for name, s in f["directions"]["en-ru"]["systems"].items()}

    assert recalls(figures[0]) == recalls(figures[1]) == recalls(figures[2])  # cached vectors are the same vectors


def test_eval_table_names_directions_and_systems(eval_run):
    out = eval_run("--direction", "ru-en", "--direction", "en-en").stdout
    rows = [line.split() for line in out.splitlines() if line.split() and line.split()[-1].replace(".", "").isdigit()]
    assert [r[:2] for r in rows if "→" in r[0]] == [["ru→en", "(5)"], ["en→en", "(5)"]]
    assert [r[-7] for r in rows] == ["lexical", "dense", "hybrid", "bm25s"] * 2


# --- the pieces -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answers_by_id, expected",
    [
        ({"q1": ["десять"]}, [["десять"]]),  # en→ru: the Russian answer of the same question id
        ({}, [["ten"]]),  # no such id in the other file: the question's own answer
    ],
    ids=["answer-in-paragraph-language", "own-answer-when-id-missing"],
)
def test_golds_are_in_the_paragraphs_language(answers_by_id, expected):
    assert golds_in([Question("q1", "How many?", ["ten"], "0/0")], answers_by_id) == expected


@pytest.mark.parametrize(
    "ranking, gold, expected",
    [
        (["a", "b"], "a", (1.0, 1.0, 1.0)),
        (["b", "a"], "a", (0.0, 1.0, 0.5)),
        (["b", "c", "d", "e", "f", "a"], "a", (0.0, 0.0, 0.1667)),
        ([], "a", (0.0, 0.0, 0.0)),
    ],
    ids=["first", "second", "sixth", "nothing"],
)
def test_recall_figures(ranking, gold, expected):
    assert recall_figures([ranking], [gold]) == expected


def test_ranked_docs_keep_each_document_once_in_order_of_its_best_chunk():
    assert ranked_docs([5, 1, 6, 2, 9], {1: "a", 2: "b", 5: "b", 6: "a"}) == ["b", "a"]


# --- the vector cache -----------------------------------------------------------------------------


class CountingEncoder:
    """Deterministic vectors from the text's bytes; `shift` stands for other weights behind the same name."""

    adds_prefixes = True
    dim = 8

    def __init__(self, shift: float = 0.0):
        self.shift = shift
        self.passages = 0
        self.queries = 0

    def encode(self, texts: list[str], *, is_query: bool, show_progress: bool = False) -> np.ndarray:
        self.passages += 0 if is_query else len(texts)
        self.queries += len(texts) if is_query else 0
        rows = []
        for text in texts:
            v = np.frombuffer((text.encode("utf-8") * 8)[: self.dim].ljust(self.dim, b"\0"), np.uint8)
            v = v.astype(np.float32) + 1.0 + self.shift
            rows.append(v / np.linalg.norm(v))
        return np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)


def counting_embedder(shift: float = 0.0, name: str = "test/counting") -> Embedder:
    return Embedder(name, Backend.SENTENCE_TRANSFORMERS, CountingEncoder(shift))


def test_cache_round_trip_and_what_drops_it(tmp_path):
    embedder = counting_embedder()
    cache = VectorCache.open(tmp_path, embedder)
    cache.add(["alpha", "beta"], embedder.encode_passages(["alpha", "beta"]))
    cache.save()
    again = VectorCache.open(tmp_path, embedder)
    assert len(again) == 2 and again.dropped is None
    assert np.array_equal(again.get("beta"), embedder.encode_passages(["beta"])[0])
    assert again.get("gamma") is None

    changed = VectorCache.open(tmp_path, counting_embedder(shift=5.0))  # other weights, same name
    assert len(changed) == 0 and "probe" in changed.dropped
    assert len(VectorCache.open(tmp_path, embedder, fresh=True)) == 0
    other = counting_embedder(name="test/other")
    assert cache_file(tmp_path, other.name) != cache.path and len(VectorCache.open(tmp_path, other)) == 0


def test_caching_encoder_gives_the_model_only_texts_the_cache_lacks(tmp_path):
    def embedded_engine(folder: Path, texts: list[str], cache: VectorCache) -> Engine:
        embedder = cached_embedder(counting_embedder(), cache)
        engine = Engine(Store.in_dir(folder), EngineConfig(data_dir=folder), embedder)
        for i, text in enumerate(texts):
            engine.add_text(f"doc:{i}", text, title=f"Doc {i}", embed=False)
        engine.sync_vectors()
        cache.save()
        return engine

    texts = ["Kaluga has ten industrial parks.", "Vorsino park leases land.", "Lyudinovo is a special zone."]
    first = embedded_engine(tmp_path / "one", texts, VectorCache.open(tmp_path / "cache", counting_embedder()))
    seen = first.embedder.encoder.encoded
    assert seen >= 3 and first.embedder.encoder.from_cache == 0  # every chunk (and sentence) text, once

    same = embedded_engine(tmp_path / "two", texts, VectorCache.open(tmp_path / "cache", counting_embedder()))
    assert (same.embedder.encoder.from_cache, same.embedder.encoder.encoded) == (seen, 0)
    same.embedder.encode_queries(["How many industrial parks?"])  # questions always go to the model
    inner = same.embedder.encoder.inner
    assert (inner.passages, inner.queries) == (0, 1)  # no passage reached the model, the question did

    changed = embedded_engine(
        tmp_path / "three", [*texts[:2], "A new text."], VectorCache.open(tmp_path / "cache", counting_embedder())
    )
    assert 0 < changed.embedder.encoder.encoded < seen and changed.embedder.encoder.from_cache > 0
    model = first.embedder.name
    assert changed.store.missing_vector_count(model) == 0
    assert np.array_equal(changed.store.vectors_of([1, 2], model)[1], first.store.vectors_of([1, 2], model)[1])
