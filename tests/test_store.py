"""index/store.py: migrations, transactions, replace/remove, FTS safety and vectors."""

from __future__ import annotations

import random
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils
from sqlite_utils.migrations import Migrations

from index.store import database as store_module
from index.store.database import MIGRATIONS, DocumentRecord, Store
from index.store.migrations import LEGACY_TABLE, applied_names
from index.text.tokens import terms

# --- helpers -----------------------------------------------------------------------------------


def make_record(
    source: str = "doc-a",
    texts: list[str] | None = None,
    *,
    title: str = "Kaluga industrial parks",
    vectors: np.ndarray | None = None,
    model: str | None = None,
    line_keys: set[str] | None = None,
    fts_title: str | None = None,
    content_hash: str | None = None,
) -> DocumentRecord:
    texts = texts if texts is not None else ["Kaluga has ten industrial parks.", "Investors get tax benefits."]
    return DocumentRecord(
        source=source,
        content_hash=content_hash or f"hash-{source}-{len(texts)}-{texts[0] if texts else ''}",
        title=title,
        date="2014-04-08",
        language="en",
        region="Kaluga",
        url=None,
        format="txt",
        pages=None,
        size_bytes=sum(len(t) for t in texts),
        chunk_texts=texts,
        chunk_pages=[None] * len(texts),
        embed_texts=[f"{title}\n\n{t}" for t in texts],
        fts_bodies=[" ".join(terms(t)) for t in texts],
        fts_title=" ".join(terms(title)) if fts_title is None else fts_title,
        line_keys=line_keys if line_keys is not None else {"menu home", f"footer {source}"},
        vectors=vectors,
        model=model,
    )


def unit_vectors(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def count(store: Store, sql: str, params=()) -> int:
    return store.db.execute(sql, list(params)).fetchone()[0]


def ids_in(store: Store, table: str, column: str) -> set[int]:
    return {row[0] for row in store.db.execute(f"SELECT {column} FROM {table}").fetchall()}


def snapshot(store: Store) -> dict:
    """Everything a save could touch, to compare before and after a failed one."""
    db = store.db
    return {
        "documents": db.execute("SELECT * FROM documents ORDER BY id").fetchall(),
        "chunks": db.execute("SELECT * FROM chunks ORDER BY id").fetchall(),
        "fts": db.execute("SELECT rowid, body, title FROM chunks_fts ORDER BY rowid").fetchall(),
        "vectors": db.execute("SELECT * FROM vectors ORDER BY chunk_id").fetchall(),
        "doc_lines": db.execute("SELECT * FROM doc_lines ORDER BY doc_id, key").fetchall(),
        "generation": store.generation,
    }


def assert_no_orphans(store: Store) -> None:
    assert count(store, "SELECT COUNT(*) FROM chunks WHERE doc_id NOT IN (SELECT id FROM documents)") == 0
    assert count(store, "SELECT COUNT(*) FROM chunks_fts WHERE rowid NOT IN (SELECT id FROM chunks)") == 0
    assert count(store, "SELECT COUNT(*) FROM chunks WHERE id NOT IN (SELECT rowid FROM chunks_fts)") == 0
    assert count(store, "SELECT COUNT(*) FROM vectors WHERE chunk_id NOT IN (SELECT id FROM chunks)") == 0
    assert count(store, "SELECT COUNT(*) FROM doc_lines WHERE doc_id NOT IN (SELECT id FROM documents)") == 0


# --- migrations and connection -----------------------------------------------------------------


def test_migrations_are_recorded_and_idempotent(data_dir):
    first = Store.in_dir(data_dir)
    assert first.schema_version == len(registered(MIGRATIONS))
    first.close()
    second = Store.in_dir(data_dir)  # would raise "table already exists" if a migration re-ran
    try:
        assert second.schema_version == len(registered(MIGRATIONS))
        assert applied_names(second.db, MIGRATIONS) == registered(MIGRATIONS)
        assert second.migrate() == []
        tables = {r[0] for r in second.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"documents", "chunks", "vectors", "chunks_fts", "doc_lines", "meta"} <= tables
        assert "migrations" not in tables
    finally:
        second.close()


def registered(migrations: Migrations) -> list[str]:
    """Every migration of a set, in order: all of them are pending on an empty database."""
    return [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))]


def with_extra_step(name: str, fn) -> Migrations:
    extended = Migrations(MIGRATIONS.name)
    for migration in MIGRATIONS.pending(sqlite_utils.Database(memory=True)):
        extended(name=migration.name)(migration.fn)
    extended(name=name)(fn)
    return extended


def test_appended_migration_runs_exactly_once(data_dir, monkeypatch):
    Store.in_dir(data_dir).close()
    calls = []

    def migration_extra(db):
        calls.append(1)
        db.execute("CREATE TABLE extra (x INTEGER)")

    monkeypatch.setattr(store_module, "MIGRATIONS", with_extra_step("extra", migration_extra))
    for _ in range(2):
        s = Store.in_dir(data_dir)
        assert s.schema_version == len(registered(MIGRATIONS)) + 1
        s.close()
    assert calls == [1]


def test_failing_migration_rolls_back(data_dir, monkeypatch):
    Store.in_dir(data_dir).close()

    def broken(db):
        db.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("migration failed")

    monkeypatch.setattr(store_module, "MIGRATIONS", with_extra_step("broken", broken))
    with pytest.raises(RuntimeError, match="migration failed"):
        Store.in_dir(data_dir)
    monkeypatch.undo()
    s = Store.in_dir(data_dir)
    try:
        assert s.schema_version == len(registered(MIGRATIONS))
        assert s.db.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchone() is None
    finally:
        s.close()


def test_store_made_by_v0_1_upgrades_in_place(data_dir):
    """v0.1 recorded numbers 1-3 in `migrations`; the documents set adopts its tables and keeps every row."""
    shutil.copy(Path(__file__).parent / "data" / "store-v0.1.db", data_dir / "investbot.db")
    old = sqlite3.connect(data_dir / "investbot.db")
    before = {t: old.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("documents", "chunks", "vectors")}
    old.close()
    assert before["chunks"] > 0
    s = Store.in_dir(data_dir)
    try:
        assert applied_names(s.db, MIGRATIONS) == registered(MIGRATIONS)
        after = {t: count(s, f"SELECT COUNT(*) FROM {t}") for t in ("documents", "chunks", "vectors")}
        assert after == before
        assert s.check() == {name: [] for name in s.check()}
        assert s.db.execute("SELECT name FROM sqlite_master WHERE name = 'migrations'").fetchone() is None
        assert s.lexical_search(terms("industrial parks"), 5)
    finally:
        s.close()


def test_apply_migrations_runs_another_owners_set_in_the_same_file(store):
    other = Migrations("other_owner")

    @other(name="notes")
    def notes(db):
        db.execute("CREATE TABLE IF NOT EXISTS notes (x INTEGER)")

    assert store.apply_migrations(other) == ["notes"]
    assert store.apply_migrations(other) == []
    with store.transaction():
        store.db.execute("INSERT INTO notes VALUES (1)")
    assert count(store, "SELECT COUNT(*) FROM notes") == 1
    assert store.schema_version == len(registered(MIGRATIONS))


def test_store_made_by_v0_2_keeps_its_migration_history(data_dir):
    """Up to v0.2 the sets were recorded in a hand-written `_migrations` table: its records move to sqlite-utils'
    table, nothing runs again (a re-run CREATE without IF NOT EXISTS would fail) and no row is lost."""
    Store.in_dir(data_dir).close()
    db = sqlite_utils.Database(data_dir / "investbot.db")
    rows = db.execute("SELECT migration_set, name, applied_at FROM _sqlite_migrations ORDER BY id").fetchall()
    db.execute("DROP TABLE _sqlite_migrations")
    db.execute(
        f"CREATE TABLE {LEGACY_TABLE} (id INTEGER PRIMARY KEY AUTOINCREMENT, migration_set TEXT NOT NULL, "
        "name TEXT NOT NULL, applied_at TEXT NOT NULL, UNIQUE (migration_set, name))"
    )
    db.conn.executemany(f"INSERT INTO {LEGACY_TABLE} (migration_set, name, applied_at) VALUES (?, ?, ?)", rows)
    db.execute("CREATE TABLE marker (x INTEGER)")
    db.execute("INSERT INTO meta (key, value) VALUES ('kept', 'yes')")
    db.conn.commit()
    db.close()
    s = Store.in_dir(data_dir)
    try:
        assert s.migrate() == []
        assert applied_names(s.db, MIGRATIONS) == registered(MIGRATIONS)
        assert s.get_meta("kept") == "yes"
        assert s.db.execute(f"SELECT name FROM sqlite_master WHERE name = '{LEGACY_TABLE}'").fetchone() is None
    finally:
        s.close()


def test_wal_mode_and_foreign_keys(store):
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    # A second, independent connection sees the database in WAL mode too (it is persistent).
    other = sqlite3.connect(store.path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    finally:
        other.close()


def test_meta_and_generation_start_at_zero(store):
    assert store.generation == 0
    assert store.get_meta("missing", "dflt") == "dflt"
    store.set_meta("k", "v")
    assert store.get_meta("k") == "v"


# --- save / replace / remove -------------------------------------------------------------------


def test_save_inserts_document_chunks_fts_and_vectors(store):
    record = make_record(vectors=unit_vectors(2), model="m")
    doc_id, removed, new_ids = store.save_document(record)
    assert removed == []
    assert len(new_ids) == 2
    doc = store.document(doc_id)
    assert doc.source == "doc-a" and doc.chunks == 2
    assert store.document_by_source("doc-a").id == doc_id
    assert store.document_by_hash(record.content_hash).id == doc_id
    assert ids_in(store, "chunks", "id") == set(new_ids)
    assert ids_in(store, "chunks_fts", "rowid") == set(new_ids)
    assert ids_in(store, "vectors", "chunk_id") == set(new_ids)
    chunks = store.chunks(new_ids)
    assert [chunks[i].position for i in new_ids] == [0, 1]
    assert [chunks[i].text for i in new_ids] == record.chunk_texts
    assert all(chunks[i].title == record.title for i in new_ids)
    assert store.generation == 1


def test_replace_keeps_id_and_removes_old_rows(store):
    other_id, _, other_chunks = store.save_document(make_record("doc-b", ["Ryazan exports grain."]))
    doc_id, _, old_ids = store.save_document(
        make_record(
            "doc-a", ["One old chunk.", "Two old chunk.", "Three old chunk."], vectors=unit_vectors(3), model="m"
        )
    )
    generation = store.generation

    new_texts = ["A new text about pharmaceutical clusters.", "Second fresh paragraph."]
    same_id, removed, new_ids = store.save_document(
        make_record("doc-a", new_texts, vectors=unit_vectors(2, seed=1), model="m", line_keys={"new key"})
    )

    assert same_id == doc_id
    assert sorted(removed) == sorted(old_ids)
    assert not set(new_ids) & set(old_ids)
    assert store.generation == generation + 1
    assert store.document_count() == 2
    assert store.document(doc_id).chunks == 2
    for table, column in [("chunks", "id"), ("chunks_fts", "rowid"), ("vectors", "chunk_id")]:
        assert ids_in(store, table, column) == set(new_ids) | (set(other_chunks) if table != "vectors" else set())
    assert count(store, "SELECT COUNT(*) FROM chunks") == 3
    assert count(store, "SELECT COUNT(*) FROM chunks_fts") == 3
    assert count(store, "SELECT COUNT(*) FROM vectors") == 2
    assert {r[0] for r in store.db.execute("SELECT key FROM doc_lines WHERE doc_id = ?", [doc_id])} == {"new key"}
    # The old text is gone from full-text search, the new one is found.
    assert store.lexical_search(terms("old"), 10) == []
    assert {cid for cid, _ in store.lexical_search(terms("pharmaceutical"), 10)} == {new_ids[0]}
    assert store.document(other_id).chunks == 1
    assert_no_orphans(store)


def test_every_save_bumps_generation(store):
    generations = [store.generation]
    for i in range(3):
        store.save_document(make_record("doc-a", [f"Version {i} of the text."]))
        generations.append(store.generation)
    assert generations == [0, 1, 2, 3]


def test_remove_document_cascades(store):
    keep_id, _, keep_chunks = store.save_document(
        make_record("keep", ["Kept document text."], vectors=unit_vectors(1), model="m")
    )
    gone_id, _, gone_chunks = store.save_document(
        make_record(
            "gone",
            ["Removed one.", "Removed two."],
            vectors=unit_vectors(2, seed=2),
            model="m",
            line_keys={"a", "b", "c"},
        )
    )
    generation = store.generation

    removed = store.remove_document(gone_id)

    assert sorted(removed) == sorted(gone_chunks)
    assert store.document(gone_id) is None
    assert store.document_count() == 1
    assert store.generation == generation + 1
    for table, column in [("chunks", "id"), ("chunks_fts", "rowid"), ("vectors", "chunk_id")]:
        assert ids_in(store, table, column) == set(keep_chunks)
    assert count(store, "SELECT COUNT(*) FROM doc_lines WHERE doc_id = ?", [gone_id]) == 0
    assert count(store, "SELECT COUNT(*) FROM doc_lines WHERE doc_id = ?", [keep_id]) == 2
    assert store.lexical_search(terms("removed"), 10) == []
    assert_no_orphans(store)


def test_remove_missing_document_is_harmless(store):
    store.save_document(make_record())
    before = snapshot(store)
    assert store.remove_document(9999) == []
    after = snapshot(store)
    assert {k: v for k, v in after.items() if k != "generation"} == {
        k: v for k, v in before.items() if k != "generation"
    }


def _raise(*args, **kwargs):
    raise RuntimeError("boom inside the transaction")


FAILURES = [
    pytest.param("_put_vectors", False, id="insert-vectors-write-fails"),
    pytest.param("_bump_generation", False, id="insert-last-step-fails"),
    pytest.param("_put_vectors", True, id="replace-vectors-write-fails"),
    pytest.param("_bump_generation", True, id="replace-last-step-fails"),
    pytest.param("_delete_chunks", True, id="replace-delete-old-chunks-fails"),
]


@pytest.mark.parametrize(("method", "replace"), FAILURES)
def test_failed_save_rolls_back_completely(store, monkeypatch, method, replace):
    store.save_document(make_record("other", ["Another document."], vectors=unit_vectors(1), model="m"))
    if replace:
        store.save_document(
            make_record("doc-a", ["Old text one.", "Old text two."], vectors=unit_vectors(2), model="m")
        )
    before = snapshot(store)
    monkeypatch.setattr(Store, method, _raise)
    record = make_record("doc-a", ["Pharma one.", "Pharma two.", "Pharma three."], vectors=unit_vectors(3), model="m")
    with pytest.raises(RuntimeError, match="boom"):
        store.save_document(record)
    monkeypatch.undo()
    assert snapshot(store) == before
    assert store.lexical_search(terms("pharma"), 10) == []
    # The store is usable afterwards: the write lock was released and no transaction is left open.
    assert not store.db.conn.in_transaction
    assert store._write_lock.acquire(timeout=1), "the write lock was left held"
    store._write_lock.release()
    store.save_document(record)
    assert store.document_by_source("doc-a").chunks == 3
    assert_no_orphans(store)


def test_save_with_malformed_vectors_rolls_back(store):
    store.save_document(make_record("doc-a", ["Old text one.", "Old text two."]))
    before = snapshot(store)
    flat = np.zeros(2, dtype=np.float32)  # one value per chunk, but no vector dimension: fails mid-write
    with pytest.raises(IndexError):
        store.save_document(make_record("doc-a", ["New one.", "New two."], vectors=flat, model="m"))
    assert snapshot(store) == before


def _shorten(field):
    def change(record):
        setattr(record, field, getattr(record, field)[:-1])

    return change


MISMATCHES = [
    pytest.param(lambda r: setattr(r, "vectors", unit_vectors(2)), id="too-few-vectors"),
    pytest.param(lambda r: setattr(r, "vectors", unit_vectors(4)), id="too-many-vectors"),
    pytest.param(_shorten("chunk_pages"), id="short-pages"),
    pytest.param(_shorten("embed_texts"), id="short-embed-texts"),
    pytest.param(_shorten("fts_bodies"), id="short-fts-bodies"),
]


@pytest.mark.parametrize("mismatch", MISMATCHES)
@pytest.mark.parametrize("replace", [False, True], ids=["insert", "replace"])
def test_save_with_mismatched_chunk_lists_is_refused(store, mismatch, replace):
    if replace:
        store.save_document(make_record("doc-a", ["Old one.", "Old two."], vectors=unit_vectors(2), model="m"))
    before = snapshot(store)
    record = make_record("doc-a", ["One.", "Two.", "Three."], vectors=unit_vectors(3), model="m")
    mismatch(record)
    with pytest.raises(ValueError):
        store.save_document(record)
    assert snapshot(store) == before


def test_line_keys_and_repeated_lines(store):
    store.save_document(make_record("a", ["Text a."], line_keys={"menu", "only a"}))
    store.save_document(make_record("b", ["Text b."], line_keys={"menu", "only b"}))
    store.save_document(make_record("c", ["Text c."], line_keys={"menu"}))
    assert store.line_key_counts() == {"menu": 3, "only a": 1, "only b": 1}


# --- lexical search ----------------------------------------------------------------------------

rng = random.Random(7)
_ALPHABET = list("abcdefgh ijklmnop АБВГДабвгдеёжз 0123456789 \"'*-^:()[]{}.,;!?/\\|&%$#@+=~` \n\t")
MIXED_5000 = "".join(rng.choice(_ALPHABET) for _ in range(5000)) + " NEAR(a b) OR AND NOT col:val"

HOSTILE = [
    ('"', "double-quote"),
    ("'", "single-quote"),
    ("*", "star"),
    ("-", "minus"),
    ("NEAR(a b)", "near"),
    ("a OR b", "or"),
    ("(", "open-paren"),
    (")", "close-paren"),
    ("^", "caret"),
    (":", "colon"),
    ("AND", "and"),
    ("NOT", "not"),
    ("OR", "or-alone"),
    ("col:val", "column-filter"),
    ("body:kaluga", "real-column-filter"),
    ('"unbalanced phrase', "unbalanced-quote"),
    ('kaluga" OR "x', "quote-injection"),
    ("parks*", "prefix-star"),
    ("{body title}: park", "column-set"),
    ("park + industrial", "plus"),
    ("\\", "backslash"),
    ("\x00", "nul"),
    ("kaluga\x00parks", "nul-inside"),
    (MIXED_5000, "5000-mixed"),
    ("🚀🏭💰 инвестиции 🇷🇺", "emoji"),
    ("\ud800 lone surrogate", "lone-surrogate"),
    ("", "empty"),
    ("   \n\t ", "whitespace"),
]


@pytest.mark.parametrize("text", [t for t, _ in HOSTILE], ids=[i for _, i in HOSTILE])
def test_lexical_search_is_safe_for_hostile_queries(knowledge_engine, text):
    results = knowledge_engine.store.lexical_search(terms(text), 20)
    assert isinstance(results, list)
    assert all(isinstance(cid, int) and isinstance(score, float) for cid, score in results)
    assert [s for _, s in results] == sorted((s for _, s in results), reverse=True)


# Raw strings handed to lexical_search directly (not through terms()) are quoted, never parsed.
RAW_SAFE = [t for t, i in HOSTILE if i not in {"nul", "nul-inside", "lone-surrogate"}]
RAW_IDS = [i for t, i in HOSTILE if i not in {"nul", "nul-inside", "lone-surrogate"}]


@pytest.mark.parametrize("text", RAW_SAFE, ids=RAW_IDS)
def test_lexical_search_quotes_raw_terms(knowledge_engine, text):
    assert isinstance(knowledge_engine.store.lexical_search([text, "park"], 20), list)


@pytest.mark.parametrize("text", [t for t, _ in HOSTILE], ids=[i for _, i in HOSTILE])
def test_answer_is_safe_for_hostile_questions(knowledge_engine, text):
    answer = knowledge_engine.answer(text)
    assert answer.mode == "lexical"
    assert isinstance(answer.answered, bool)
    if not text.strip():
        assert not answer.answered


def test_lexical_engine_answers_after_ingest_and_survives_hostile_text(lexical_engine):
    lexical_engine.add_text(
        "mem://parks", "Kaluga Region has 10 industrial parks. They host 89 projects.", title="Parks"
    )
    lexical_engine.add_text("mem://ryazan", "Ryazan exports grain and fertilisers.", title="Ryazan")
    for text, _ in HOSTILE:
        lexical_engine.answer(text)
    answer = lexical_engine.answer("How many industrial parks does Kaluga Region have?")
    assert answer.answered and "10" in answer.answer


def test_lexical_search_ranks_and_limits(store):
    _, _, ids_a = store.save_document(make_record("a", ["Kaluga parks. Kaluga parks. Kaluga investors."]))
    _, _, ids_b = store.save_document(make_record("b", ["Ryazan grain exports and one park."], title="Ryazan"))
    results = store.lexical_search(terms("Kaluga park"), 10)
    assert [cid for cid, _ in results] == [ids_a[0], ids_b[0]]
    assert results[0][1] > results[1][1] > 0
    assert len(store.lexical_search(terms("Kaluga park"), 1)) == 1
    assert store.lexical_search([], 10) == []
    assert store.lexical_search(["", ""], 10) == []


def test_term_document_frequencies(store):
    store.save_document(make_record("a", ["Kaluga park.", "Kaluga only.", "Nothing here."], fts_title=""))
    store.save_document(make_record("b", ["Park export."], fts_title=""))
    store.save_document(make_record("c", ["Unrelated text."], fts_title="kaluga"))
    df = store.term_document_frequencies(["kaluga", "park", "export", "missing", "kaluga"])
    # Rows (chunks) that contain the term in the body or the title.
    assert df == {"kaluga": 3, "park": 2, "export": 1}
    assert store.term_document_frequencies([]) == {}


def test_term_document_frequencies_follow_replace_and_remove(store):
    doc_id, _, _ = store.save_document(make_record("a", ["Kaluga park.", "Kaluga."], fts_title=""))
    assert store.term_document_frequencies(["kaluga"]) == {"kaluga": 2}
    store.save_document(make_record("a", ["Kaluga."], fts_title=""))
    assert store.term_document_frequencies(["kaluga", "park"]) == {"kaluga": 1}
    store.remove_document(doc_id)
    assert store.term_document_frequencies(["kaluga"]) == {}


# --- vectors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "dim", "batch_size"),
    [(2, 4, 10), (7, 16, 3), (50, 32, 50), (50, 32, 7)],
    ids=["two", "batched-3", "one-batch", "batched-7"],
)
def test_iter_vectors_round_trip(store, n, dim, batch_size):
    texts = [f"Chunk number {i}." for i in range(n)]
    _, _, ids = store.save_document(make_record("a", texts))
    vectors = np.random.default_rng(n).normal(size=(n, dim))  # float64 in: stored as float32
    store.put_vectors(ids, vectors, "model-x")
    store.put_vectors(ids[:1], np.ones((1, 3)), "model-y")  # replaces chunk 0's vector: other model
    batches = list(store.iter_vectors("model-x", batch_size=batch_size))
    assert all(len(b[0]) <= batch_size for b in batches)
    got_ids = np.concatenate([b[0] for b in batches])
    got = np.concatenate([b[1] for b in batches])
    assert got_ids.dtype == np.int64 and got.dtype == np.float32
    assert got_ids.tolist() == ids[1:]
    np.testing.assert_array_equal(got, vectors[1:].astype(np.float32))
    y_ids, y = next(store.iter_vectors("model-y"))
    assert y_ids.tolist() == ids[:1] and y.shape == (1, 3)
    assert list(store.iter_vectors("no-such-model")) == []
    assert store.vector_models() == {"model-x": n - 1, "model-y": 1}


def test_put_vectors_bumps_generation(store):
    _, _, ids = store.save_document(make_record())
    generation = store.generation
    store.put_vectors(ids, unit_vectors(len(ids)), "m")
    assert store.generation == generation + 1


def put_embedded(store, ids, vectors, model):
    """Vectors as embedding stores them: each chunk's with its sentence vectors (one sentence per test chunk)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    store.put_vectors(ids, vectors, model, [v[None, :] for v in vectors])


def test_chunks_without_vectors_detects_a_model_change(store):
    _, _, ids = store.save_document(make_record("a", ["One.", "Two.", "Three."]))
    put_embedded(store, ids, unit_vectors(3), "old")
    embed_texts = make_record("a", ["One.", "Two.", "Three."]).embed_texts
    assert store.chunks_without_vectors("old") == []
    assert store.chunks_without_vectors("new") == list(zip(ids, embed_texts, strict=False))
    assert store.chunks_without_vectors("new", limit=2) == list(zip(ids, embed_texts, strict=False))[:2]
    put_embedded(store, ids[:1], unit_vectors(1, dim=4), "new")
    assert [cid for cid, _ in store.chunks_without_vectors("new")] == ids[1:]
    assert [cid for cid, _ in store.chunks_without_vectors("old")] == ids[:1]


def test_chunks_without_vectors_lists_lexical_only_chunks(store):
    _, _, ids = store.save_document(make_record("a", ["One.", "Two."]))  # ingested without a model
    assert [cid for cid, _ in store.chunks_without_vectors("any-model")] == ids


@pytest.mark.parametrize(
    ("among", "limit", "expected_positions"),
    [
        pytest.param(None, None, [1, 2, 3], id="all"),
        pytest.param([0, 2, 3], None, [2, 3], id="among-skips-those-with-vectors"),
        pytest.param([3, 1], None, [1, 3], id="among-in-id-order"),
        pytest.param([1, 2, 3], 2, [1, 2], id="among-with-limit"),
        pytest.param([], None, [], id="among-none"),
    ],
)
def test_chunks_without_vectors_among(store, among, limit, expected_positions):
    _, _, ids = store.save_document(make_record("a", ["Zero.", "One.", "Two.", "Three."]))
    put_embedded(store, ids[:1], unit_vectors(1), "m")
    chosen = None if among is None else [ids[p] for p in among]
    got = store.chunks_without_vectors("m", limit=limit, among=chosen)
    assert [cid for cid, _ in got] == [ids[p] for p in expected_positions]
    assert store.missing_vector_count("m") == 3


def test_vectors_of_returns_the_stored_rows_of_one_model(store):
    _, _, ids = store.save_document(make_record("a", ["One.", "Two.", "Three."]))
    vectors = unit_vectors(3)
    store.put_vectors(ids[1:], vectors[1:], "m")
    got_ids, matrix = store.vectors_of([ids[2], ids[0], ids[1]], "m")
    assert got_ids.tolist() == ids[1:]
    np.testing.assert_array_equal(matrix, vectors[1:])
    empty_ids, none = store.vectors_of(ids, "other-model")
    assert len(empty_ids) == 0 and none is None


def test_replacing_a_document_keeps_the_vectors_of_unchanged_chunks(store):
    """Embedding is slow: an edit to one paragraph must not cost the vectors of the others."""
    _, _, old_ids = store.save_document(make_record("a", ["Same one.", "Old two.", "Same three."]))
    vectors = unit_vectors(3)
    put_embedded(store, old_ids, vectors, "m")
    _, removed, new_ids = store.save_document(make_record("a", ["Same one.", "New two.", "Same three."]))
    assert removed == old_ids and not set(new_ids) & set(old_ids)
    assert [cid for cid, _ in store.chunks_without_vectors("m")] == [new_ids[1]]
    got_ids, matrix = store.vectors_of(new_ids, "m")
    assert got_ids.tolist() == [new_ids[0], new_ids[2]]
    np.testing.assert_array_equal(matrix, vectors[[0, 2]])
    kept = store.sentence_vectors_of(new_ids, "m", vectors.shape[1])  # and their sentence vectors
    assert sorted(kept) == [new_ids[0], new_ids[2]]
    np.testing.assert_array_equal(kept[new_ids[2]], vectors[2:3])
    assert_no_orphans(store)
