"""The store's queries about web documents: their fetch state (ETag, Last-Modified, when fetched) and the
sitemaps and feeds being followed, with the pages taken from each.

A mixin of `Store` (index/store.py): the same connection and write transaction, kept in its own module so
the store's core (documents, chunks, vectors) stays readable.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils


class WebDocuments:
    """Web-document queries; `Store` provides `db` and `transaction()`."""

    db: sqlite_utils.Database

    def transaction(self):  # provided by Store
        raise NotImplementedError

    # --- web documents and listings ------------------------------------------------------------

    def web_documents(self, fetched_before: str | None = None) -> list[dict]:
        """Documents ingested from an http(s) address, least recently fetched first; with `fetched_before` (an ISO
        UTC time) only those fetched earlier (or never recorded)."""
        sql = "SELECT * FROM documents WHERE (source LIKE 'http://%' OR source LIKE 'https://%')"
        params: list = []
        if fetched_before is not None:
            sql += " AND (fetched_at IS NULL OR fetched_at < ?)"
            params.append(fetched_before)
        return list(self.db.query(sql + " ORDER BY fetched_at IS NOT NULL, fetched_at, id", params))

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
