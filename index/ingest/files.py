"""Files to documents: expand folders, read, skip what is already stored, prepare and commit.

A document is committed with its chunks and search entries but without vectors: from that moment it
is searchable lexically. Embedding is the vector module's job (vector_sync.py), afterwards and in
batches, because a real model is slow (a few passages a second on a CPU) and must neither count
against the per-file time limit nor hold a file's commit back. The time limit covers what a
hostile file can make slow: reading, cleaning and chunking.

Every file is handled on its own: one damaged or slow file becomes one failed result with a short
reason, and the others are still ingested. Web pages (webingest.py) are fetched and read there and
committed here, through the same `Ingester.commit_read`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from index.ingest.addresses import normalize_address
from index.ingest.chunking import chunk_pages
from index.ingest.clean import boilerplate_candidates, clean_text
from index.ingest.metadata import extract_title, find_date, parse_date
from index.readers import FileTooLarge, ParsedDocument, ReadError, is_supported, read_document
from index.results import Document
from index.store.database import DocumentRecord, Store
from index.text.tokens import detect_language, terms

log = logging.getLogger(__name__)
T = TypeVar("T")

# A short line found in at least this many documents is site boilerplate (menus, footers).
REPEATED_LINE_MIN_DOCS = 3

# What a commit changed, for whoever keeps a derived index in step: (removed chunk ids, new chunk ids).
ChangeListener = Callable[[Sequence[int], Sequence[int]], None]


class IngestStatus(StrEnum):
    """What happened to one file; str-valued, so `result.status == "added"` keeps working."""

    ADDED = "added"
    REPLACED = "replaced"  # a changed file at a known source: same document id, new content
    UNCHANGED = "unchanged"  # the same content at the same source: nothing to do
    DUPLICATE = "duplicate"  # the same content as another document (or another file of the batch)
    FAILED = "failed"
    SKIPPED = "skipped"  # an unsupported file inside a folder


@dataclass
class IngestResult:
    path: Path
    status: IngestStatus
    doc_id: int | None = None
    title: str | None = None
    date: str | None = None
    chunks: int = 0
    reason: str | None = None
    limit: str | None = None  # the EngineConfig limit a failed file hit ("file_timeout", "max_file_bytes")
    chunk_ids: list[int] = field(default_factory=list)  # the chunks a commit wrote (added or replaced)


@dataclass
class IngestReport:
    results: list[IngestResult] = field(default_factory=list)

    def count(self, status: IngestStatus | str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def failed(self) -> list[IngestResult]:
        return [r for r in self.results if r.status == IngestStatus.FAILED]


class FileTimeLimit(ReadError):
    """A file took longer than the per-file time limit to read, clean and chunk."""

    def __init__(self, limit: float):
        super().__init__(f"took longer than the {limit:.0f} s limit per file")
        self.limit = limit


class DocumentNotFound(KeyError):
    """No document has the id or source that was looked up."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        return f"no document with id or source '{self.key}'"


def iter_files(paths: Iterable[Path]) -> tuple[list[Path], list[IngestResult]]:
    """Expand folders recursively. Unsupported files inside folders are skipped quietly;
    a path named explicitly that cannot be read is an error the user must hear about."""
    files: list[Path] = []
    problems: list[IngestResult] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(part.startswith(".") for part in child.relative_to(path).parts):
                    if is_supported(child):
                        files.append(child.resolve())
                    else:
                        problems.append(IngestResult(child, IngestStatus.SKIPPED, reason="unsupported file type"))
        elif path.is_file():
            files.append(path.resolve())
        elif path.exists():
            problems.append(IngestResult(path, IngestStatus.FAILED, reason="not a regular file"))
        else:
            problems.append(IngestResult(path, IngestStatus.FAILED, reason="no such file or folder"))
    return list(dict.fromkeys(files)), problems


@dataclass
class ReadDocument:
    """A document read and waiting for its commit: what the file path and the web path (webingest.py) hand the
    one commit path they share (`Ingester.commit_read`), so boilerplate, metadata and replacement work alike."""

    path: Path  # what its IngestResult names
    source: str  # the stable key: a later document at the same source replaces this one
    digest: str  # sha256 of the original bytes: "unchanged" and "duplicate" compare it
    size: int  # bytes of the original
    doc: ParsedDocument
    parse_seconds: float = 0.0  # what reading used of the per-file time limit
    overrides: dict = field(default_factory=dict)  # metadata over what the reader found (title, date, url...)
    fields: dict = field(default_factory=dict)  # DocumentRecord fields beyond the text (a web page's fetch state)


def embed_text_for(title: str, chunk: str) -> str:
    """What the model sees: the title gives a chunk the context its sentences may lack."""
    return f"{title}\n\n{chunk}"


class Ingester:
    """Turns files (or in-memory texts) into committed documents in one store.

    on_change hears about every commit, so the process's vector index can follow it.
    """

    def __init__(
        self, store: Store, *, max_file_bytes: int, file_timeout: float, on_change: ChangeListener | None = None
    ):
        self.store = store
        self.max_file_bytes = max_file_bytes
        self.file_timeout = file_timeout
        self.on_change = on_change

    def ingest(
        self,
        paths: Sequence[Path],
        *,
        progress: Callable[[Path], None] | None = None,
        overrides: dict | None = None,
        sources: Mapping[Path, str] | None = None,
    ) -> IngestReport:
        """Ingest files and folders; each document is committed on its own, failures are collected.

        overrides (title, date, url, ...) apply to every file: the bot uses it for captions.
        sources names a file's source when its path is not it (an upload kept under a generated
        name is "upload:<its file name>", so sending the same name again replaces it).
        """
        files, problems = iter_files(paths)
        source_of = {Path(k).resolve(): v for k, v in (sources or {}).items()}
        report = IngestReport(results=list(problems))

        def done(result: IngestResult) -> None:
            report.results.append(result)
            if progress:
                progress(result.path)

        parsed: list[ReadDocument] = []
        batch_hashes: dict[str, Path] = {}
        for path in files:
            try:
                data = path.read_bytes()
                source = source_of.get(path, str(path))
                digest = hashlib.sha256(data).hexdigest()
                unchanged = self.check_unchanged(path, source, digest)
                if unchanged is not None:
                    done(unchanged)
                    continue
                if digest in batch_hashes:
                    done(IngestResult(path, IngestStatus.DUPLICATE, reason=f"same content as {batch_hashes[digest]}"))
                    continue
                batch_hashes[digest] = path
                started = time.monotonic()
                doc = run_with_timeout(
                    functools.partial(read_document, path, max_bytes=self.max_file_bytes),
                    self.file_timeout,
                    self.file_timeout,
                )
                parsed.append(
                    ReadDocument(path, source, digest, len(data), doc, time.monotonic() - started, overrides or {})
                )
            except ReadError as exc:
                done(failed_result(path, exc))
            except OSError as exc:
                done(IngestResult(path, IngestStatus.FAILED, reason=exc.strerror or str(exc)))
        self.commit_read(parsed, done)
        return report

    def commit_read(
        self, items: Sequence[ReadDocument], done: Callable[[IngestResult], None] | None = None
    ) -> list[IngestResult]:
        """Clean, chunk and commit documents already read, each on its own; results in the order of `items`.

        Lines repeated across many documents (site menus, footers), in the store and in this batch, are
        boilerplate and dropped. `done` hears each result as its commit finishes (a progress bar moves).
        """
        counts = self.store.line_key_counts()
        candidates = []
        for item in items:
            keys = set().union(set(), *(boilerplate_candidates(p.text) for p in item.doc.pages))
            candidates.append(keys)
            for key in keys:
                counts[key] = counts.get(key, 0) + 1
        repeated = {key for key, n in counts.items() if n >= REPEATED_LINE_MIN_DOCS}

        results = []
        for item, line_keys in zip(items, candidates, strict=True):
            try:
                # One time limit per file: what its parse used is not left for cleaning and chunking.
                budget = max(self.file_timeout - item.parse_seconds, self.file_timeout / 10)
                result = self._ingest_one(item, line_keys, repeated, budget)
            except ReadError as exc:
                result = failed_result(item.path, exc)
            except Exception as exc:  # one odd file must not stop the others
                log.exception("ingesting %s failed", item.path)
                result = IngestResult(
                    item.path, IngestStatus.FAILED, reason=f"internal error ({type(exc).__name__}: {exc})"
                )
            results.append(result)
            if done is not None:
                done(result)
        return results

    def check_unchanged(self, path: Path, source: str, digest: str) -> IngestResult | None:
        """The result for content the store already holds (at this source, or as another document), else None."""
        existing = self.store.document_by_source(source)
        if existing and existing.content_hash == digest:
            return IngestResult(
                path, IngestStatus.UNCHANGED, existing.id, existing.title, existing.date, existing.chunks
            )
        twin = self.store.document_by_hash(digest)
        if twin and not existing:
            return IngestResult(
                path,
                IngestStatus.DUPLICATE,
                twin.id,
                twin.title,
                twin.date,
                twin.chunks,
                reason=f"same content as document {twin.id} ({twin.source})",
            )
        return None

    def _ingest_one(self, item: ReadDocument, line_keys: set[str], repeated: set[str], budget: float) -> IngestResult:
        def prepare() -> DocumentRecord:
            doc = item.doc
            pages = [(p.number, clean_text(p.text, repeated)) for p in doc.pages]
            meta = {**doc.meta, **{k: v for k, v in item.overrides.items() if v}}
            record = prepare_record(item.source, item.digest, item.size, doc.format, pages, meta, line_keys)
            return dataclasses.replace(record, **item.fields) if item.fields else record

        record = run_with_timeout(prepare, budget, self.file_timeout)
        return self.commit(record, item.path)

    def add_text(
        self,
        source: str,
        text: str,
        *,
        title: str | None = None,
        date: str | None = None,
        language: str | None = None,
        index_title: bool = True,
    ) -> IngestResult:
        """Store an in-memory text as a document (evaluation, benchmarks, generated content).

        index_title=False keeps the title out of search, so a benchmark measures the text alone.
        """
        data = text.encode("utf-8")
        meta = {"title": title, "date": date, "language": language}
        pages: list[tuple[int | None, str]] = [(None, clean_text(text))]
        record = prepare_record(
            source, hashlib.sha256(data).hexdigest(), len(data), "txt", pages, meta, set(), index_title=index_title
        )
        return self.commit(record, Path(source))

    def commit(self, record: DocumentRecord, path: Path) -> IngestResult:
        existed = self.store.document_by_source(record.source) is not None
        doc_id, removed, added = self.store.save_document(record)
        if self.on_change is not None:
            self.on_change(removed, added)
        status = IngestStatus.REPLACED if existed else IngestStatus.ADDED
        return IngestResult(
            path, status, doc_id, record.title, record.date, len(record.chunk_texts), chunk_ids=list(added)
        )


def prepare_record(
    source: str,
    digest: str,
    size: int,
    fmt: str,
    pages: list[tuple[int | None, str]],
    meta: dict,
    line_keys: set[str],
    *,
    index_title: bool = True,
) -> DocumentRecord:
    """Everything up to the database write: pure work that may be given up on a time limit."""
    pages = [(n, t) for n, t in pages if t.strip()]
    full_text = "\n\n".join(t for _, t in pages)
    if not full_text.strip():
        raise ReadError("no text left after removing boilerplate")
    title = extract_title(full_text, meta.get("title"))
    date = parse_date(meta["date"]) if meta.get("date") else find_date(full_text)
    given_language: str | None = meta.get("language")
    language = given_language if given_language in ("ru", "en") else detect_language(full_text)
    chunks = chunk_pages(pages)
    if not chunks:
        raise ReadError("no text found")
    texts = [c.text for c in chunks]
    numbered = [n for n, _ in pages if n is not None]
    return DocumentRecord(
        source=source,
        content_hash=digest,
        title=title,
        date=date,
        language=language,
        region=meta.get("region"),
        url=meta.get("url"),
        format=fmt,
        pages=max(numbered) if numbered else None,
        size_bytes=size,
        chunk_texts=texts,
        chunk_pages=[c.page for c in chunks],
        embed_texts=[embed_text_for(title, t) if index_title else t for t in texts],
        fts_bodies=[" ".join(terms(t)) for t in texts],
        fts_title=" ".join(terms(title)) if index_title else "",
        line_keys=line_keys,
    )


def find_document(store: Store, id_or_source: str) -> Document | None:
    """A document by its id, its source as stored, or a path that resolves to its source."""
    key = str(id_or_source).strip()
    if key.isdigit():
        doc = store.document(int(key))
        if doc:
            return doc
    doc = store.document_by_source(key)
    if doc is None and key.lower().startswith(("http://", "https://")):
        doc = store.document_by_source(normalize_address(key))
    elif doc is None:
        doc = store.document_by_source(str(Path(key).expanduser().resolve()))
    return doc


def remove_document(store: Store, id_or_source: str, on_change: ChangeListener | None = None) -> Document:
    """Remove a document named by its id or its source; DocumentNotFound names what was not found."""
    doc = find_document(store, id_or_source)
    if doc is None:
        raise DocumentNotFound(str(id_or_source))
    removed = store.remove_document(doc.id)
    if on_change is not None:
        on_change(removed, [])
    return doc


def failed_result(path: Path, exc: ReadError) -> IngestResult:
    """The reason stays neutral; `limit` lets the application name the setting that changes the limit."""
    limit = None
    if isinstance(exc, FileTimeLimit):
        limit = "file_timeout"
    elif isinstance(exc, FileTooLarge):
        limit = "max_file_bytes"
    return IngestResult(path, IngestStatus.FAILED, reason=str(exc), limit=limit)


def run_with_timeout(work: Callable[[], T], seconds: float, limit: float) -> T:
    """Run `work` in a daemon thread and give up after `seconds` with FileTimeLimit (a ReadError).

    A pathological file (deeply nested HTML, a huge PDF) must not hold up the files after it. The
    abandoned thread cannot be killed and finishes in the background; nothing it computes is
    written, because the database write happens only after this returns.
    """
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="investbot-file")
    thread.start()
    thread.join(max(seconds, 0.0))
    if thread.is_alive():
        raise FileTimeLimit(limit)
    if "error" in box:
        raise box["error"]
    return box["value"]
