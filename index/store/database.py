"""The SQLite store: the one module that owns the database file.

SQLite is the source of truth for documents, chunks and their vectors; everything else (the FAISS
index) is derived from it and can be rebuilt. Writes that belong together happen in one transaction,
so a reader never sees half a document. The bot's question log shares the file but owns its tables,
through its own migration set, `transaction()` and `apply_migrations()`; no question-log SQL is here.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import sqlite_utils
from sqlite_utils.migrations import Migrations

from index.results import Chunk, Document
from index.store.migrations import applied_names, apply_migrations
from index.store.schema import MIGRATIONS

DB_FILENAME = "investbot.db"


@dataclass
class DocumentRecord:
    """What the engine writes for one document; chunk lists are parallel."""

    source: str
    content_hash: str
    title: str
    date: str | None
    language: str
    region: str | None
    url: str | None
    format: str
    pages: int | None
    size_bytes: int
    chunk_texts: list[str]
    chunk_pages: list[int | None]
    embed_texts: list[str]
    fts_bodies: list[str]
    fts_title: str
    line_keys: set[str]
    vectors: np.ndarray | None = None
    model: str | None = None
    # A web page's fetch state (None for files): validators for refresh's conditional request, and when.
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: str | None = None


class Store:
    """Access to the database. One connection per thread (the bot answers from worker threads)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self.migrate()

    @classmethod
    def in_dir(cls, data_dir: Path) -> Store:
        return cls(Path(data_dir) / DB_FILENAME)

    # --- connection ------------------------------------------------------------------------------

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            db = sqlite_utils.Database(conn)
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None

    def transaction(self) -> _Transaction:
        """A write transaction (BEGIN IMMEDIATE), serialised across this process's threads.

        Public so other owners of tables in the same file (the bot's question log) write the same way.
        """
        return _Transaction(self.db.conn, self._write_lock)

    _transaction = transaction

    def apply_migrations(self, migrations: Migrations) -> list[str]:
        """Run the set's pending migrations in one write transaction; returns the names that ran."""
        with self.transaction():
            return apply_migrations(self.db, migrations)

    def migrate(self) -> list[str]:
        return self.apply_migrations(MIGRATIONS)

    @property
    def schema_version(self) -> int:
        """How many of the library's own migrations this database has had."""
        return len(applied_names(self.db, MIGRATIONS))

    # --- meta ------------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction():
            self._set_meta(key, value)

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])

    @property
    def generation(self) -> int:
        """A counter bumped by every change to chunks or vectors: derived indexes compare it."""
        return int(self.get_meta("generation") or "0")

    def _bump_generation(self) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    # --- documents -------------------------------------------------------------------------------

    def documents(self) -> list[Document]:
        return [Document.from_row(row) for row in self.db.query("SELECT * FROM documents ORDER BY id")]

    def _document_where(self, condition: str, value: object) -> Document | None:
        rows = list(self.db.query(f"SELECT * FROM documents WHERE {condition} LIMIT 1", [value]))
        return Document.from_row(rows[0]) if rows else None

    def document(self, doc_id: int) -> Document | None:
        return self._document_where("id = ?", doc_id)

    def document_by_source(self, source: str) -> Document | None:
        return self._document_where("source = ?", source)

    def document_by_hash(self, content_hash: str) -> Document | None:
        return self._document_where("content_hash = ?", content_hash)

    def document_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]

    def chunk_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    def save_document(self, record: DocumentRecord) -> tuple[int, list[int], list[int]]:
        """Insert or replace the document at record.source in one transaction.

        Returns (doc_id, removed chunk ids, new chunk ids). A replaced document keeps its id, so
        links and commands that name it stay valid.
        """
        n = len(record.chunk_texts)
        if not (len(record.chunk_pages) == len(record.embed_texts) == len(record.fts_bodies) == n):
            raise ValueError(f"{record.source}: chunk lists differ in length")
        if record.vectors is not None and len(record.vectors) != n:
            raise ValueError(f"{record.source}: {len(record.vectors)} vectors for {n} chunks")
        with self._transaction():
            db = self.db
            old = db.execute("SELECT id FROM documents WHERE source = ?", [record.source]).fetchone()
            values = {
                "source": record.source,
                "content_hash": record.content_hash,
                "title": record.title,
                "date": record.date,
                "language": record.language,
                "region": record.region,
                "url": record.url,
                "format": record.format,
                "pages": record.pages,
                "chunks": len(record.chunk_texts),
                "size_bytes": record.size_bytes,
                "ingested_at": _now(),
                "etag": record.etag,
                "last_modified": record.last_modified,
                "fetched_at": record.fetched_at,
            }
            removed: list[int] = []
            kept_vectors: dict[str, tuple] = {}
            kept_sentences: dict[str, list[tuple]] = {}
            if old:
                doc_id = old[0]
                if record.vectors is None:
                    kept_vectors = self._vectors_by_embed_text(doc_id)
                    kept_sentences = self._sentence_vectors_by_text(doc_id)
                removed = self._delete_chunks(doc_id)
                db.execute("DELETE FROM doc_lines WHERE doc_id = ?", [doc_id])
                assignments = ", ".join(f"{key} = ?" for key in values)
                db.execute(f"UPDATE documents SET {assignments} WHERE id = ?", [*values.values(), doc_id])
            else:
                # Raw SQL, not table.insert(): sqlite-utils would commit our open transaction.
                columns = ", ".join(values)
                marks = ", ".join("?" * len(values))
                doc_id = db.execute(
                    f"INSERT INTO documents ({columns}) VALUES ({marks})", list(values.values())
                ).lastrowid
            new_ids: list[int] = []
            for position, (text, page, embed_text, body) in enumerate(
                zip(record.chunk_texts, record.chunk_pages, record.embed_texts, record.fts_bodies, strict=False)
            ):
                cur = db.execute(
                    "INSERT INTO chunks (doc_id, position, page, text, embed_text) VALUES (?, ?, ?, ?, ?)",
                    [doc_id, position, page, text, embed_text],
                )
                chunk_id = cur.lastrowid
                assert chunk_id is not None  # an INSERT always sets lastrowid
                new_ids.append(chunk_id)
                db.execute(
                    "INSERT INTO chunks_fts (rowid, body, title) VALUES (?, ?, ?)",
                    [chunk_id, body, record.fts_title],
                )
            if record.vectors is not None:
                self._put_vectors(new_ids, record.vectors, record.model)
            elif kept_vectors:
                # An edited document keeps the vectors of its unchanged chunks: embedding is slow.
                db.conn.executemany(
                    "INSERT INTO vectors (chunk_id, model, dim, vector) VALUES (?, ?, ?, ?)",
                    [
                        (chunk_id, *kept_vectors[text])
                        for chunk_id, text in zip(new_ids, record.embed_texts, strict=True)
                        if text in kept_vectors
                    ],
                )
                db.conn.executemany(
                    "INSERT INTO sentence_vectors (chunk_id, position, model, vector) VALUES (?, ?, ?, ?)",
                    [
                        (chunk_id, *row)
                        for chunk_id, text in zip(new_ids, record.chunk_texts, strict=True)
                        for row in kept_sentences.get(text, ())
                    ],
                )
            db.conn.executemany(
                "INSERT OR IGNORE INTO doc_lines (doc_id, key) VALUES (?, ?)",
                [(doc_id, key) for key in record.line_keys],
            )
            self._bump_generation()
        return doc_id, removed, new_ids

    def remove_document(self, doc_id: int) -> list[int]:
        """Delete a document with its chunks, FTS rows and vectors; returns the removed chunk ids."""
        with self._transaction():
            removed = self._delete_chunks(doc_id)
            self.db.execute("DELETE FROM doc_lines WHERE doc_id = ?", [doc_id])
            self.db.execute("DELETE FROM documents WHERE id = ?", [doc_id])
            self._bump_generation()
        return removed

    def _vectors_by_embed_text(self, doc_id: int) -> dict[str, tuple]:
        rows = self.db.execute(
            "SELECT c.embed_text, v.model, v.dim, v.vector FROM chunks c JOIN vectors v ON v.chunk_id = c.id "
            "WHERE c.doc_id = ?",
            [doc_id],
        ).fetchall()
        return {row[0]: tuple(row[1:]) for row in rows}

    def _sentence_vectors_by_text(self, doc_id: int) -> dict[str, list[tuple]]:
        """Chunk text -> its sentences' (position, model, vector) rows: an edited document keeps them too."""
        rows = self.db.execute(
            "SELECT c.text, s.position, s.model, s.vector FROM chunks c JOIN sentence_vectors s ON s.chunk_id = c.id "
            "WHERE c.doc_id = ? ORDER BY c.id, s.position",
            [doc_id],
        ).fetchall()
        kept: dict[str, list[tuple]] = {}
        for text, *row in rows:
            kept.setdefault(text, []).append(tuple(row))
        return kept

    def _delete_chunks(self, doc_id: int) -> list[int]:
        db = self.db
        ids = [row[0] for row in db.execute("SELECT id FROM chunks WHERE doc_id = ?", [doc_id]).fetchall()]
        for batch in _batches(ids, 500):
            marks = ",".join("?" * len(batch))
            db.execute(f"DELETE FROM chunks_fts WHERE rowid IN ({marks})", batch)
            db.execute(f"DELETE FROM vectors WHERE chunk_id IN ({marks})", batch)
            db.execute(f"DELETE FROM sentence_vectors WHERE chunk_id IN ({marks})", batch)
        db.execute("DELETE FROM chunks WHERE doc_id = ?", [doc_id])
        return ids

    def line_key_counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT key, COUNT(*) FROM doc_lines GROUP BY key").fetchall()
        return {key: count for key, count in rows}

    # --- chunks ----------------------------------------------------------------------------------

    def chunks(self, ids: Sequence[int]) -> dict[int, Chunk]:
        """Chunks with their document's fields, keyed by chunk id."""
        out: dict[int, Chunk] = {}
        for batch in _batches(list(ids), 500):
            marks = ",".join("?" * len(batch))
            rows = self.db.query(
                f"""SELECT c.id, c.doc_id, c.position, c.page, c.text, d.title, d.date, d.source,
                           d.url, d.language, d.region
                    FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id IN ({marks})""",
                batch,
            )
            for row in rows:
                out[row["id"]] = Chunk.from_row(row)
        return out

    def lexical_search(self, query_terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
        """BM25 over the stemmed FTS5 index; returns (chunk id, score) with higher = better.

        Terms are quoted, so no user text is ever parsed as FTS5 syntax.
        """
        unique = list(dict.fromkeys(t.replace("\x00", "") for t in query_terms if t))
        unique = [t for t in unique if t]
        if not unique:
            return []
        expression = " OR ".join('"' + t.replace('"', '""') + '"' for t in unique)
        rows = self.db.execute(
            "SELECT rowid, bm25(chunks_fts, 1.0, 0.3) AS s FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY s LIMIT ?",
            [expression, limit],
        ).fetchall()
        return [(rowid, -score) for rowid, score in rows]

    def term_document_frequencies(self, query_terms: Iterable[str]) -> dict[str, int]:
        unique = list(dict.fromkeys(query_terms))
        if not unique:
            return {}
        marks = ",".join("?" * len(unique))
        rows = self.db.execute(f"SELECT term, doc FROM chunks_fts_vocab WHERE term IN ({marks})", unique).fetchall()
        return {term: doc for term, doc in rows}

    # --- vectors ---------------------------------------------------------------------------------

    def _put_vectors(self, chunk_ids: Sequence[int], vectors: np.ndarray, model: str | None) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = int(vectors.shape[1])
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO vectors (chunk_id, model, dim, vector) VALUES (?, ?, ?, ?)",
            [(cid, model, dim, vec.tobytes()) for cid, vec in zip(chunk_ids, vectors, strict=False)],
        )

    def put_vectors(
        self,
        chunk_ids: Sequence[int],
        vectors: np.ndarray,
        model: str,
        sentences: Sequence[np.ndarray] | None = None,
    ) -> None:
        """Store chunk vectors, and with `sentences` (one matrix per chunk, a row per sentence) their sentence
        vectors, in one transaction: a chunk counts as embedded only with both (see chunks_without_vectors)."""
        with self._transaction():
            self._put_vectors(chunk_ids, vectors, model)
            if sentences is not None:
                self._put_sentence_vectors(chunk_ids, sentences, model)
            self._bump_generation()

    def _put_sentence_vectors(self, chunk_ids: Sequence[int], sentences: Sequence[np.ndarray], model: str) -> None:
        if len(sentences) != len(chunk_ids):
            raise ValueError(f"{len(sentences)} sentence matrices for {len(chunk_ids)} chunks")
        for batch in _batches(list(chunk_ids), 500):  # one model's sentence vectors per chunk, as for chunks
            self.db.execute(f"DELETE FROM sentence_vectors WHERE chunk_id IN ({','.join('?' * len(batch))})", batch)
        self.db.conn.executemany(
            "INSERT INTO sentence_vectors (chunk_id, position, model, vector) VALUES (?, ?, ?, ?)",
            [
                (cid, position, model, np.ascontiguousarray(vec, dtype=np.float32).tobytes())
                for cid, matrix in zip(chunk_ids, sentences, strict=False)
                for position, vec in enumerate(matrix)
            ],
        )

    def sentence_vectors_of(self, chunk_ids: Sequence[int], model: str, dim: int) -> dict[int, np.ndarray]:
        """Chunk id -> its sentence vectors (a row per sentence, in order), for the chunks that have them."""
        out: dict[int, list[bytes]] = {}
        for batch in _batches(list(chunk_ids), 500):
            marks = ",".join("?" * len(batch))
            rows = self.db.execute(
                f"SELECT chunk_id, vector FROM sentence_vectors WHERE model = ? AND chunk_id IN ({marks}) "
                "ORDER BY chunk_id, position",
                [model, *batch],
            ).fetchall()
            for cid, blob in rows:
                out.setdefault(cid, []).append(blob)
        return {
            cid: np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim) for cid, blobs in out.items()
        }

    def sentence_vector_count(self, model: str) -> int:
        return self.db.execute("SELECT COUNT(*) FROM sentence_vectors WHERE model = ?", [model]).fetchone()[0]

    def chunks_to_embed(
        self, model: str, limit: int | None = None, among: Sequence[int] | None = None
    ) -> list[tuple[int, str, str]]:
        """(id, embed text, text) of the chunks lacking a vector or sentence vectors from `model`, in id order."""
        if among is None:
            return self._to_embed(model, "", [], limit)
        found: list[tuple[int, str, str]] = []
        for batch in _batches(sorted(among), 500):
            found += self._to_embed(model, f"AND c.id IN ({','.join('?' * len(batch))})", batch, None)
        return found[:limit] if limit else found

    _PENDING = (
        "(v.chunk_id IS NULL OR v.model != ? OR NOT EXISTS "
        "(SELECT 1 FROM sentence_vectors s WHERE s.chunk_id = c.id AND s.model = ?))"
    )

    def _to_embed(self, model: str, condition: str, params: list, limit: int | None) -> list[tuple[int, str, str]]:
        sql = (
            "SELECT c.id, c.embed_text, c.text FROM chunks c LEFT JOIN vectors v ON v.chunk_id = c.id "
            f"WHERE {self._PENDING} {condition} ORDER BY c.id"
        )
        args = [model, model, *params]
        if limit:
            sql += " LIMIT ?"
            args.append(limit)
        return [(row[0], row[1], row[2]) for row in self.db.execute(sql, args).fetchall()]

    def chunks_to_embed_count(self, model: str) -> int:
        """How many chunks chunks_to_embed(model) would return: the total of a progress bar."""
        return self.db.execute(
            f"SELECT COUNT(*) FROM chunks c LEFT JOIN vectors v ON v.chunk_id = c.id WHERE {self._PENDING}",
            [model, model],
        ).fetchone()[0]

    def chunks_without_vectors(
        self, model: str, limit: int | None = None, among: Sequence[int] | None = None
    ) -> list[tuple[int, str]]:
        """(id, embed text) of chunks not fully embedded by `model` (no vector, a vector of an older model, or
        no sentence vectors), in id order; `among` restricts the answer to those chunk ids."""
        return [(cid, embed_text) for cid, embed_text, _ in self.chunks_to_embed(model, limit, among)]

    def missing_vector_count(self, model: str) -> int:
        """How many chunks chunks_without_vectors(model) would return: the total of a progress bar."""
        return self.chunks_to_embed_count(model)

    def vectors_of(self, chunk_ids: Sequence[int], model: str) -> tuple[np.ndarray, np.ndarray | None]:
        """(ids, matrix) of the vectors `model` has for these chunks, in id order; (empty, None) if none."""
        rows: list = []
        for batch in _batches(sorted(chunk_ids), 500):
            marks = ",".join("?" * len(batch))
            rows += self.db.execute(
                "SELECT chunk_id, dim, vector FROM vectors "
                f"WHERE model = ? AND chunk_id IN ({marks}) ORDER BY chunk_id",
                [model, *batch],
            ).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if not rows:
            return ids, None
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), rows[0][1])
        return ids, matrix

    def iter_vectors(self, model: str, batch_size: int = 20000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (ids, matrix) batches of the vectors stored for `model`."""
        last = -1
        while True:
            rows = self.db.execute(
                "SELECT chunk_id, dim, vector FROM vectors WHERE model = ? AND chunk_id > ? ORDER BY chunk_id LIMIT ?",
                [model, last, batch_size],
            ).fetchall()
            if not rows:
                return
            dim = rows[0][1]
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            mat = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), dim)
            yield ids, mat
            last = int(ids[-1])

    def vector_sample(self, model: str, n: int) -> np.ndarray:
        """Up to n of `model`'s chunk vectors, a fixed pseudo-random choice (by a hash of the chunk id), so the
        same store gives the same sample: the reference a question's cosines are compared with."""
        rows = self.db.execute(
            "SELECT dim, vector FROM vectors WHERE model = ? ORDER BY (chunk_id * 2654435761) % 4294967296 LIMIT ?",
            [model, n],
        ).fetchall()
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), rows[0][0])

    def vector_count(self, model: str) -> int:
        return self.db.execute("SELECT COUNT(*) FROM vectors WHERE model = ?", [model]).fetchone()[0]

    def vector_models(self) -> dict[str, int]:
        return {m: n for m, n in self.db.execute("SELECT model, COUNT(*) FROM vectors GROUP BY model")}

    # --- consistency -----------------------------------------------------------------------------

    CHECKS: ClassVar[dict[str, str]] = {
        "chunks without a search entry": "SELECT id FROM chunks WHERE id NOT IN (SELECT rowid FROM chunks_fts)",
        "search entries without a chunk": "SELECT rowid FROM chunks_fts WHERE rowid NOT IN (SELECT id FROM chunks)",
        "vectors without a chunk": "SELECT chunk_id FROM vectors WHERE chunk_id NOT IN (SELECT id FROM chunks)",
        "sentence vectors without a chunk": (
            "SELECT DISTINCT chunk_id FROM sentence_vectors WHERE chunk_id NOT IN (SELECT id FROM chunks)"
        ),
        "chunks without a document": "SELECT id FROM chunks WHERE doc_id NOT IN (SELECT id FROM documents)",
        "documents with a wrong chunk count": (
            "SELECT d.id FROM documents d LEFT JOIN (SELECT doc_id, COUNT(*) AS n FROM chunks GROUP BY doc_id) c "
            "ON c.doc_id = d.id WHERE COALESCE(c.n, 0) != d.chunks"
        ),
    }

    def check(self) -> dict[str, list[int]]:
        """Every consistency rule with the ids that break it (empty lists: all is well)."""
        problems = {name: [row[0] for row in self.db.execute(sql).fetchall()] for name, sql in self.CHECKS.items()}
        integrity = self.db.execute("PRAGMA quick_check").fetchone()[0]
        problems["database integrity"] = [] if integrity == "ok" else [0]
        try:
            self.db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')")
            problems["search index integrity"] = []
        except sqlite3.DatabaseError:
            problems["search index integrity"] = [0]
        return problems

    def repair(self, fts_text: Callable[[int, str, str], tuple[str, str]]) -> dict[str, int]:
        """Remove orphans and half-present documents, and rebuild the search index from the chunks.

        fts_text(chunk id, chunk text, title) gives the (body, title) stems to index: stemming is
        the engine's business, not the store's.
        """
        fixed: dict[str, int] = {}
        with self._transaction():
            db = self.db
            bad_docs = [row[0] for row in db.execute(self.CHECKS["documents with a wrong chunk count"]).fetchall()]
            for doc_id in bad_docs:
                self._delete_chunks(doc_id)
                db.execute("DELETE FROM doc_lines WHERE doc_id = ?", [doc_id])
                db.execute("DELETE FROM documents WHERE id = ?", [doc_id])
            fixed["half-present documents removed (ingest them again)"] = len(bad_docs)
            fixed["orphan vectors removed"] = db.execute(
                "DELETE FROM vectors WHERE chunk_id NOT IN (SELECT id FROM chunks)"
            ).rowcount
            fixed["orphan sentence vectors removed"] = db.execute(
                "DELETE FROM sentence_vectors WHERE chunk_id NOT IN (SELECT id FROM chunks)"
            ).rowcount
            fixed["orphan chunks removed"] = db.execute(
                "DELETE FROM chunks WHERE doc_id NOT IN (SELECT id FROM documents)"
            ).rowcount
            db.execute("DELETE FROM chunks_fts")
            rows = db.execute(
                "SELECT c.id, c.text, d.title FROM chunks c JOIN documents d ON d.id = c.doc_id"
            ).fetchall()
            for chunk_id, text, title in rows:
                body, title_terms = fts_text(chunk_id, text, title)
                db.execute(
                    "INSERT INTO chunks_fts (rowid, body, title) VALUES (?, ?, ?)", [chunk_id, body, title_terms]
                )
            fixed["search entries rebuilt"] = len(rows)
            self._bump_generation()
        return fixed

    # --- web documents and listings ------------------------------------------------------------

    def web_documents(self, fetched_before: str | None = None) -> list[Document]:
        """Documents ingested from an http(s) address, least recently fetched first; with `fetched_before` (an ISO
        UTC time) only those fetched earlier (or never recorded)."""
        sql = "SELECT * FROM documents WHERE (source LIKE 'http://%' OR source LIKE 'https://%')"
        params: list[str] = []
        if fetched_before is not None:
            sql += " AND (fetched_at IS NULL OR fetched_at < ?)"
            params.append(fetched_before)
        return [
            Document.from_row(r)
            for r in self.db.query(sql + " ORDER BY fetched_at IS NOT NULL, fetched_at, id", params)
        ]

    def mark_fetched(
        self, doc_id: int, *, fetched_at: str, etag: str | None, last_modified: str | None, url: str | None
    ) -> None:
        """A web document found unchanged: new validators and fetch time; its text, chunks and vectors stay."""
        with self.transaction():
            self.db.execute(
                "UPDATE documents SET fetched_at = ?, etag = ?, last_modified = ?, url = COALESCE(?, url) WHERE id = ?",
                [fetched_at, etag, last_modified, url, doc_id],
            )

    def listings(self, fetched_before: str | None = None) -> list[dict]:
        """The sitemaps and feeds followed, least recently read first (see web_documents for `fetched_before`)."""
        sql, params = "SELECT * FROM web_listings", []
        if fetched_before is not None:
            sql, params = sql + " WHERE fetched_at < ?", [fetched_before]
        return list(self.db.query(sql + " ORDER BY fetched_at, address", params))

    def listing(self, address: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM web_listings WHERE address = ?", [address]))
        return rows[0] if rows else None

    def save_listing(self, address: str, *, url: str, kind: str, fetched_at: str) -> None:
        """Follow a sitemap or feed (address as given), or record that it was read again."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO web_listings (address, url, kind, added_at, fetched_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(address) DO UPDATE SET url = excluded.url, kind = excluded.kind, "
                "fetched_at = excluded.fetched_at",
                [address, url, kind, fetched_at, fetched_at],
            )

    def remove_listing(self, address: str) -> bool:
        """Stop following a listing; the pages ingested from it stay. False when it was not followed."""
        with self.transaction():
            self.db.execute("DELETE FROM web_listing_pages WHERE listing = ?", [address])
            return self.db.execute("DELETE FROM web_listings WHERE address = ?", [address]).rowcount > 0

    def listing_pages(self, address: str) -> set[str]:
        """The page addresses already taken from a listing (ingested, or found to be stored already)."""
        rows = self.db.execute("SELECT address FROM web_listing_pages WHERE listing = ?", [address]).fetchall()
        return {row[0] for row in rows}

    def add_listing_pages(self, address: str, pages: Iterable[str]) -> None:
        with self.transaction():
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO web_listing_pages (listing, address) VALUES (?, ?)",
                [(address, page) for page in pages],
            )


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT/ROLLBACK, serialised across this process's threads."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock):
        self.conn = conn
        self.lock = lock
        self.depth = 0

    def __enter__(self):
        self.lock.acquire()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.conn.execute("COMMIT")
            else:
                self.conn.execute("ROLLBACK")
        finally:
            self.lock.release()
        return False


def _batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
