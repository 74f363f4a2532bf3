"""The library's tables: the `documents` migration set (documents, chunks, vectors, sentence vectors, the
FTS5 index, boilerplate line keys, web fetch state).

Kept apart from the store's queries so the schema's history reads in one place. Migrations are appended,
never edited once released; every statement is IF NOT EXISTS so a database made before migration sets
(v0.1) upgrades in place (see index/store/migrations.py).
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

from index.store.migrations import run_script

MIGRATIONS = Migrations("documents")


@MIGRATIONS(name="documents")
def _documents_schema(db: sqlite_utils.Database) -> None:
    """Documents, chunks, vectors, the FTS5 index, boilerplate line keys and meta.

    IF NOT EXISTS everywhere: a database made before migration sets already holds these tables
    (recorded as number 1 in the old `migrations` table) and must keep its content.
    """
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS documents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            source TEXT NOT NULL UNIQUE,
            content_hash TEXT NOT NULL,
            title TEXT NOT NULL,
            date TEXT,
            language TEXT NOT NULL,
            region TEXT,
            url TEXT,
            format TEXT NOT NULL,
            pages INTEGER,
            chunks INTEGER NOT NULL,
            size_bytes INTEGER NOT NULL,
            ingested_at TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS documents_content_hash ON documents(content_hash);
        CREATE TABLE IF NOT EXISTS chunks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            page INTEGER,
            text TEXT NOT NULL,
            embed_text TEXT NOT NULL,
            UNIQUE (doc_id, position)
        );
        CREATE TABLE IF NOT EXISTS vectors (
            chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL
        );
        CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
            body, title, tokenize = 'unicode61 remove_diacritics 0'
        );
        CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts_vocab USING fts5vocab(chunks_fts, 'row');
        CREATE TABLE IF NOT EXISTS doc_lines (
            doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            PRIMARY KEY (doc_id, key)
        );
        CREATE INDEX IF NOT EXISTS doc_lines_key ON doc_lines(key);
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)
        """,
    )


@MIGRATIONS(name="drop global migrations table")
def _drop_global_migrations(db: sqlite_utils.Database) -> None:
    """The single numbered sequence of v0.1 is superseded by the per-owner sets in `_migrations`."""
    db.execute("DROP TABLE IF EXISTS migrations")


@MIGRATIONS(name="web documents")
def _web_documents(db: sqlite_utils.Database) -> None:
    """A web page's validators and when it was fetched (refresh sends them back as a conditional request), and
    the sitemaps and feeds being followed with the pages taken from each, so that refresh adds only entries it
    has not seen (a page staff removed does not come back)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(documents)").fetchall()}
    for column in ("etag", "last_modified", "fetched_at"):
        if column not in columns:
            db.execute(f"ALTER TABLE documents ADD COLUMN {column} TEXT")
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS web_listings (
            address TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            kind TEXT NOT NULL,
            added_at TEXT NOT NULL,
            fetched_at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS web_listing_pages (
            listing TEXT NOT NULL REFERENCES web_listings(address) ON DELETE CASCADE,
            address TEXT NOT NULL,
            PRIMARY KEY (listing, address)
        )
        """,
    )


@MIGRATIONS(name="sentence vectors")
def _sentence_vectors(db: sqlite_utils.Database) -> None:
    """A vector per sentence of a chunk (text.split_sentences of its text, by position), from the model of
    the chunk's own vector: retrieval scores a passage by its best sentence and the answer window is chosen
    by meaning from them (issue 10). Removed with their chunk (ON DELETE CASCADE, and explicitly)."""
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS sentence_vectors (
            chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            model TEXT NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (chunk_id, model, position)
        )
        """,
    )
