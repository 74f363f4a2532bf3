"""`investbot check [--repair]`: every kind of inconsistency is found, and repaired."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from tests.conftest import KNOWLEDGE


def damage_fts(store):
    store.db.execute("DELETE FROM chunks_fts WHERE rowid = (SELECT MIN(id) FROM chunks)")


def damage_orphan_fts(store):
    store.db.execute("INSERT INTO chunks_fts (rowid, body, title) VALUES (999999, 'ghost', '')")


def damage_orphan_vector(store):
    store.db.execute("PRAGMA foreign_keys=OFF")
    store.db.execute(
        "INSERT INTO vectors (chunk_id, model, dim, vector) VALUES (999999, 'm', 2, ?)",
        [np.zeros(2, dtype=np.float32).tobytes()],
    )
    store.db.execute("PRAGMA foreign_keys=ON")


def damage_half_document(store):
    store.db.execute("PRAGMA foreign_keys=OFF")
    cid = store.db.execute("SELECT MAX(id) FROM chunks").fetchone()[0]
    store.db.execute("DELETE FROM chunks WHERE id = ?", [cid])
    store.db.execute("PRAGMA foreign_keys=ON")


@pytest.mark.parametrize(
    "damage, rule",
    [
        (damage_fts, "chunks without a search entry"),
        (damage_orphan_fts, "search entries without a chunk"),
        (damage_orphan_vector, "vectors without a chunk"),
        (damage_half_document, "documents with a wrong chunk count"),
    ],
    ids=["missing-fts", "orphan-fts", "orphan-vector", "half-document"],
)
def test_check_finds_and_repair_fixes(lexical_engine, damage, rule):
    lexical_engine.ingest([KNOWLEDGE])
    assert lexical_engine.check().ok
    damage(lexical_engine.store)
    report = lexical_engine.check()
    assert not report.ok and report.problems[rule]
    repaired = lexical_engine.check(repair=True)
    assert repaired.ok, repaired
    assert any(repaired.fixed.values())
    # Repaired means usable: questions are answered again.
    assert lexical_engine.answer("How much French investment has Kaluga Region attracted?").answered


def test_check_with_model_rebuilds_a_stale_vector_index(dense_engine):
    dense_engine.ingest([KNOWLEDGE])
    assert dense_engine.check().ok
    # Vectors removed behind the engine's back: found, then embedded again by --repair.
    dense_engine.store.db.execute("DELETE FROM vectors WHERE chunk_id = (SELECT MIN(id) FROM chunks)")
    report = dense_engine.check()
    assert report.problems["chunks without a vector"]
    repaired = dense_engine.check(repair=True)
    assert repaired.ok and repaired.fixed["chunks embedded"] == 1
    # A deleted index file is simply rebuilt.
    dense_engine.index_path.unlink()
    dense_engine.vectors.forget()
    assert dense_engine.check().ok


def test_check_command(data_dir, monkeypatch):
    monkeypatch.setenv("INVESTBOT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("INVESTBOT_MODEL", "none")
    runner = CliRunner()
    runner.invoke(cli, ["ingest", str(KNOWLEDGE)])
    ok = runner.invoke(cli, ["check"])
    assert ok.exit_code == 0 and "Consistent: 5 documents" in ok.output
    from index.store.database import Store

    damage_fts(Store.in_dir(data_dir))
    bad = runner.invoke(cli, ["check"])
    assert bad.exit_code == 1 and "✗ chunks without a search entry: 1 found" in bad.output
    assert "investbot check --repair" in bad.output
    fixed = runner.invoke(cli, ["check", "--repair"])
    assert fixed.exit_code == 0 and "repaired" in fixed.output and "Consistent" in fixed.output
