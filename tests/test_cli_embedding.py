"""The CLI with a model: ingest commits first and then embeds behind a progress bar, and a run stopped while
embedding (kill -9, Ctrl-C) is continued by the next command. The tiny offline model keeps it fast."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from index.dense.model import Backend
from index.engine import Engine, EngineConfig
from tests.conftest import KNOWLEDGE


class Interrupted(Exception):
    """Stands for the process dying after its first committed batch of vectors."""


@pytest.fixture
def run_with_model(data_dir: Path, tiny_model: Path, monkeypatch):
    monkeypatch.setenv("INVESTBOT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("INVESTBOT_MODEL", str(tiny_model))
    monkeypatch.setenv("INVESTBOT_BACKEND", "sentence-transformers")

    def invoke(*args: str):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    return invoke


def test_ingest_embeds_every_chunk_behind_a_progress_bar(run_with_model, data_dir, tiny_model):
    result = run_with_model("ingest", str(KNOWLEDGE))
    assert "Embedding chunks" in result.stderr  # the bar (click shows its label alone when not on a terminal)
    engine = Engine.open(EngineConfig(data_dir=data_dir, model=str(tiny_model), backend=Backend.SENTENCE_TRANSFORMERS))
    assert engine.store.chunk_count() > 0 and engine.store.missing_vector_count(engine.embedder.name) == 0
    assert engine.check().ok


def test_embedding_stopped_after_a_batch_is_continued_by_reindex(run_with_model, data_dir, tiny_model):
    config = EngineConfig(data_dir=data_dir, model=str(tiny_model), backend=Backend.SENTENCE_TRANSFORMERS)
    engine = Engine.open(config)
    assert not engine.ingest([KNOWLEDGE], embed=False).failed

    def die(done: int, total: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        engine.sync_vectors(progress=die, batch=4)
    total, model = engine.store.chunk_count(), engine.embedder.name
    assert engine.store.missing_vector_count(model) == total - 4  # the first batch was committed
    engine.store.close()

    result = run_with_model("reindex")
    assert "Embedding chunks" in result.stderr
    assert f"Vector index rebuilt: {total} vectors" in result.stdout
    assert Engine.open(config).store.missing_vector_count(model) == 0
