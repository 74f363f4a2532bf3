"""The library's result types: what a caller gets back from the store, search and answering.

Frozen on purpose: a result handed to the bot, the CLI or the question log is a record of what the
library decided, so a caller that wants a variant makes one with `dataclasses.replace` and the
original stays true. Rows become these types at the store's edge, so no caller indexes a dict by a
column name it has to remember.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any


def _from_row(cls: type, row: Mapping[str, Any]) -> Any:
    """Build a record from a database row, ignoring columns the type does not carry."""
    names = {f.name for f in fields(cls)}
    return cls(**{key: value for key, value in row.items() if key in names})


@dataclass(frozen=True)
class Document:
    """A stored document: where it came from, what it is called and how it was read."""

    id: int
    source: str  # absolute path, URL, or an application's own scheme ("upload:…", "agency:…")
    content_hash: str
    title: str
    date: str | None
    language: str
    format: str
    chunks: int
    size_bytes: int
    region: str | None = None
    url: str | None = None
    pages: int | None = None
    ingested_at: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Document:
        return _from_row(cls, row)

    def is_web(self) -> bool:
        return self.source.startswith(("http://", "https://"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Chunk:
    """A passage of a document, with the document fields an answer cites."""

    id: int
    doc_id: int
    position: int
    page: int | None
    text: str
    title: str
    date: str | None
    source: str
    url: str | None
    language: str | None
    region: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Chunk:
        return _from_row(cls, row)


@dataclass(frozen=True)
class Hit:
    """One search result: the chunk and how it scored. bm25 or dense is None when that search did not find it
    (or, for dense, when no model is loaded)."""

    chunk_id: int
    score: float
    bm25: float | None = None
    dense: float | None = None


@dataclass(frozen=True)
class Passage:
    """A passage an answer cites, with its source."""

    doc_id: int
    title: str
    date: str | None
    source: str
    url: str | None
    page: int | None
    text: str
    score: float
    chunk_id: int
    language: str | None = None

    @classmethod
    def of(cls, chunk: Chunk, score: float) -> Passage:
        return cls(
            doc_id=chunk.doc_id,
            title=chunk.title,
            date=chunk.date,
            source=chunk.source,
            url=chunk.url,
            page=chunk.page,
            text=chunk.text,
            score=round(score, 4),
            chunk_id=chunk.id,
            language=chunk.language,
        )


@dataclass(frozen=True)
class Answer:
    """What a question got. confidence: lexical-only, the passage's mean coverage (its bar is min_coverage);
    hybrid, the answer decision's probability (0.5 = its bar)."""

    question: str
    language: str
    answered: bool
    answer: str
    passages: tuple[Passage, ...] = ()
    confidence: float = 0.0
    mode: str = "lexical"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passages"] = [asdict(p) for p in self.passages]
        return data
