"""The engine: ingest documents, keep the derived vector index fresh, answer questions.

It wires the pure parts (read, clean, chunk, stem, select sentences) to the store and the
optional embedding model. It knows nothing about Telegram or the command line.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import answer as answering
from . import glossary
from .chunking import chunk_pages
from .clean import boilerplate_candidates, clean_text
from .embed import DEFAULT_MODEL, Embedder, ModelUnavailable, load_embedder
from .metadata import extract_title, find_date, parse_date
from .readers import ParsedDocument, ReadError, is_supported, read_document
from .store import DocumentRecord, Store
from .text import detect_language, terms
from .vectors import INDEX_FILENAME, VectorIndex

log = logging.getLogger(__name__)
T = TypeVar("T")

RRF_K = 60
CANDIDATES = 50
MAX_QUERY_TERMS = 64
RERANK = 10  # candidates whose sentences are read to pick the answering passage
# In a large collection, stems found in more than this share of chunks are left out of the FTS5
# query: they cost the longest posting lists and barely move BM25 (they still count in the
# re-ranking). Measured at 100k chunks: same right-first share, a third less latency.
COMMON_TERM_SHARE = 0.1
COMMON_TERM_MIN_CHUNKS = 20_000
# Re-ranking weights, chosen on XQuAD (every other question, en and ru): search rank as a prior,
# the passage's coverage, and twice its best answer window.
RANK_PRIOR = 0.1
PASSAGE_CACHE = 20_000  # chunks whose tokens stay in memory (a few KB each)
WINDOW_WEIGHT = 2.0
REPEATED_LINE_MIN_DOCS = 3


@dataclass
class EngineConfig:
    """What the engine needs to know; built by the application from its settings."""

    data_dir: Path
    model: str | None = DEFAULT_MODEL  # None: lexical-only by choice
    model_cache: Path | None = None
    backend: str = "torch"
    min_coverage: float = answering.DEFAULT_MIN_COVERAGE
    dense_threshold: float = 0.85
    max_file_bytes: int = 50 * 1024 * 1024
    file_timeout: float = 120.0  # seconds to parse, clean and chunk one file


@dataclass
class IngestResult:
    path: Path
    status: str  # added | replaced | unchanged | duplicate | failed | skipped
    doc_id: int | None = None
    title: str | None = None
    date: str | None = None
    chunks: int = 0
    reason: str | None = None


@dataclass
class IngestReport:
    results: list[IngestResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def failed(self) -> list[IngestResult]:
        return [r for r in self.results if r.status == "failed"]


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
                        problems.append(IngestResult(child, "skipped", reason="unsupported file type"))
        elif path.is_file():
            files.append(path.resolve())
        elif path.exists():
            problems.append(IngestResult(path, "failed", reason="not a regular file"))
        else:
            problems.append(IngestResult(path, "failed", reason="no such file or folder"))
    return list(dict.fromkeys(files)), problems


def embed_text_for(title: str, chunk: str) -> str:
    """What the model sees: the title gives a chunk the context its sentences may lack."""
    return f"{title}\n\n{chunk}"


class Engine:
    def __init__(self, store: Store, config: EngineConfig, embedder: Embedder | None = None, model_status: str = ""):
        self.store = store
        self.config = config
        self.embedder = embedder
        self.model_status = model_status
        self._index: VectorIndex | None = None
        self._index_lock = threading.Lock()  # the bot answers from several threads at once
        self._terms_cache: OrderedDict[int, answering.PassageTerms] = OrderedDict()
        self._cache_lock = threading.Lock()

    @classmethod
    def open(cls, config: EngineConfig, store: Store | None = None) -> "Engine":
        """Open the store and, if it can be loaded locally, the embedding model."""
        store = store or Store.in_dir(config.data_dir)
        embedder = None
        set_faiss_threads()
        if not config.model:
            status = "Dense search is off (no model configured): answering is lexical-only."
        else:
            try:
                embedder = load_embedder(config.model, cache_dir=config.model_cache, backend=config.backend)
                status = f"Embedding model: {config.model}."
            except ModelUnavailable as exc:
                status = f"Dense search is off: {str(exc).rstrip('.')}. Answering is lexical-only. {exc.hint}".rstrip()
        return cls(store, config, embedder, status)

    @property
    def mode(self) -> str:
        return "hybrid" if self.embedder is not None else "lexical"

    # --- ingest ----------------------------------------------------------------------------------

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

        parsed: list[tuple[Path, bytes, ParsedDocument, float]] = []  # with the seconds its parse took
        batch_hashes: dict[str, Path] = {}
        for path in files:
            try:
                data = path.read_bytes()
                unchanged = self._check_unchanged(path, source_of.get(path, str(path)), data)
                if unchanged is not None:
                    done(unchanged)
                    continue
                digest = hashlib.sha256(data).hexdigest()
                if digest in batch_hashes:
                    done(IngestResult(path, "duplicate", reason=f"same content as {batch_hashes[digest]}"))
                    continue
                batch_hashes[digest] = path
                started = time.monotonic()
                doc = run_with_timeout(
                    lambda p=path: read_document(p, max_bytes=self.config.max_file_bytes),
                    self.config.file_timeout, self.config.file_timeout,
                )
                parsed.append((path, data, doc, time.monotonic() - started))
            except ReadError as exc:
                done(IngestResult(path, "failed", reason=str(exc)))
            except OSError as exc:
                done(IngestResult(path, "failed", reason=exc.strerror or str(exc)))

        # Lines repeated across many documents (site menus, footers) are boilerplate.
        counts = self.store.line_key_counts()
        candidates = {}
        for path, _, doc, _ in parsed:
            candidates[path] = set().union(set(), *(boilerplate_candidates(p.text) for p in doc.pages))
            for key in candidates[path]:
                counts[key] = counts.get(key, 0) + 1
        repeated = {key for key, n in counts.items() if n >= REPEATED_LINE_MIN_DOCS}

        for path, data, doc, parse_seconds in parsed:
            try:
                source = source_of.get(path, str(path))
                # One time limit per file: what its parse used is not left for cleaning and chunking.
                budget = max(self.config.file_timeout - parse_seconds, self.config.file_timeout / 10)
                done(self._ingest_one(path, source, data, doc, candidates[path], repeated, overrides or {}, budget))
            except ReadError as exc:
                done(IngestResult(path, "failed", reason=str(exc)))
            except Exception as exc:  # one odd file must not stop the others
                log.exception("ingesting %s failed", path)
                done(IngestResult(path, "failed", reason=f"internal error ({type(exc).__name__}: {exc})"))
        return report

    def _check_unchanged(self, path: Path, source: str, data: bytes) -> IngestResult | None:
        digest = hashlib.sha256(data).hexdigest()
        existing = self.store.document_by_source(source)
        if existing and existing["content_hash"] == digest:
            return IngestResult(path, "unchanged", existing["id"], existing["title"], existing["date"], existing["chunks"])
        twin = self.store.document_by_hash(digest)
        if twin and not existing:
            return IngestResult(
                path, "duplicate", twin["id"], twin["title"], twin["date"], twin["chunks"],
                reason=f"same content as document {twin['id']} ({twin['source']})",
            )
        return None

    def _ingest_one(
        self, path: Path, source: str, data: bytes, doc: ParsedDocument, line_keys: set[str], repeated: set[str],
        overrides: dict, budget: float,
    ) -> IngestResult:
        def prepare() -> DocumentRecord:
            pages = [(p.number, clean_text(p.text, repeated)) for p in doc.pages]
            meta = {**doc.meta, **{k: v for k, v in overrides.items() if v}}
            return self._prepare(source, hashlib.sha256(data).hexdigest(), len(data), doc.format, pages, meta, line_keys)

        record = run_with_timeout(prepare, budget, self.config.file_timeout)
        return self._commit(record, path)

    def add_text(
        self, source: str, text: str, *, title: str | None = None, date: str | None = None,
        language: str | None = None, index_title: bool = True,
    ) -> IngestResult:
        """Store an in-memory text as a document (evaluation, benchmarks, generated content).

        index_title=False keeps the title out of search, so a benchmark measures the text alone.
        """
        data = text.encode("utf-8")
        meta = {"title": title, "date": date, "language": language}
        pages = [(None, clean_text(text))]
        return self._save(
            source, hashlib.sha256(data).hexdigest(), len(data), "txt", pages, meta, set(),
            path=Path(source), index_title=index_title,
        )

    def _save(
        self, source: str, digest: str, size: int, fmt: str, pages: list[tuple[int | None, str]], meta: dict,
        line_keys: set[str], *, path: Path, index_title: bool = True,
    ) -> IngestResult:
        record = self._prepare(source, digest, size, fmt, pages, meta, line_keys, index_title=index_title)
        return self._commit(record, path)

    def _prepare(
        self, source: str, digest: str, size: int, fmt: str, pages: list[tuple[int | None, str]], meta: dict,
        line_keys: set[str], *, index_title: bool = True,
    ) -> DocumentRecord:
        """Everything up to the database write: pure work that may be given up on a time limit."""
        pages = [(n, t) for n, t in pages if t.strip()]
        full_text = "\n\n".join(t for _, t in pages)
        if not full_text.strip():
            raise ReadError("no text left after removing boilerplate")
        title = extract_title(full_text, meta.get("title"))
        date = parse_date(meta["date"]) if meta.get("date") else find_date(full_text)
        language = meta.get("language") if meta.get("language") in ("ru", "en") else detect_language(full_text)
        chunks = chunk_pages(pages)
        if not chunks:
            raise ReadError("no text found")
        texts = [c.text for c in chunks]
        embed_texts = [embed_text_for(title, t) if index_title else t for t in texts]
        vectors = self.embedder.encode_passages(embed_texts) if self.embedder else None
        numbered = [n for n, _ in pages if n is not None]
        record = DocumentRecord(
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
            embed_texts=embed_texts,
            fts_bodies=[" ".join(terms(t)) for t in texts],
            fts_title=" ".join(terms(title)) if index_title else "",
            line_keys=line_keys,
            vectors=vectors,
            model=self.embedder.name if self.embedder else None,
        )
        return record

    def _commit(self, record: DocumentRecord, path: Path) -> IngestResult:
        existed = self.store.document_by_source(record.source) is not None
        doc_id, removed, added = self.store.save_document(record)
        self._apply_to_index(removed, added, record.vectors)
        status = "replaced" if existed else "added"
        return IngestResult(path, status, doc_id, record.title, record.date, len(record.chunk_texts))

    def remove(self, id_or_source: str) -> dict:
        """Remove a document named by its id or its source; raises KeyError naming what was not found."""
        doc = self.find_document(id_or_source)
        if doc is None:
            raise KeyError(id_or_source)
        removed = self.store.remove_document(doc["id"])
        self._apply_to_index(removed, [], None)
        return doc

    def find_document(self, id_or_source: str) -> dict | None:
        key = str(id_or_source).strip()
        if key.isdigit():
            doc = self.store.document(int(key))
            if doc:
                return doc
        doc = self.store.document_by_source(key)
        if doc is None and not key.startswith(("http://", "https://")):
            doc = self.store.document_by_source(str(Path(key).expanduser().resolve()))
        return doc

    # --- vectors ---------------------------------------------------------------------------------

    @property
    def index_path(self) -> Path:
        return Path(self.config.data_dir) / INDEX_FILENAME

    def sync_vectors(self, progress: Callable[[int], None] | None = None, batch: int = 256) -> int:
        """Embed chunks that lack a vector from the current model (new model, or ingested lexical-only)."""
        if self.embedder is None:
            return 0
        done = 0
        while True:
            todo = self.store.chunks_without_vectors(self.embedder.name, limit=batch)
            if not todo:
                break
            ids = [cid for cid, _ in todo]
            vectors = self.embedder.encode_passages([text for _, text in todo])
            self.store.put_vectors(ids, vectors, self.embedder.name)
            done += len(ids)
            if progress:
                progress(len(ids))
        return done

    def vector_index(self, rebuild: bool = False) -> VectorIndex | None:
        """The FAISS index for the current model, loaded or rebuilt so it matches the store."""
        if self.embedder is None:
            return None
        with self._index_lock:
            return self._fresh_index(rebuild)

    def _fresh_index(self, rebuild: bool) -> VectorIndex:
        generation = self.store.generation
        index = self._index
        fresh = lambda ix: ix is not None and ix.generation == generation and ix.model == self.embedder.name  # noqa: E731
        if not rebuild and fresh(index):
            return index
        if not rebuild:
            index = VectorIndex.load(self.index_path)
        if rebuild or not fresh(index) or index.count != self.store.vector_count(self.embedder.name):
            index = VectorIndex.build(self.store, self.embedder.name, self.embedder.dim)
            index.generation = generation
            index.save(self.index_path, generation)
        self._index = index
        return index

    def _apply_to_index(self, removed: Sequence[int], added: Sequence[int], vectors: np.ndarray | None) -> None:
        """Keep a loaded index in step with a change made by this process, instead of rebuilding."""
        with self._index_lock:
            self._apply_locked(removed, added, vectors)

    def _apply_locked(self, removed: Sequence[int], added: Sequence[int], vectors: np.ndarray | None) -> None:
        index = self._index
        if index is None or self.embedder is None:
            return
        if index.generation + 1 != self.store.generation or (added and vectors is None):
            self._index = None  # another writer got in between: rebuild lazily
            return
        index.remove(list(removed))
        if added:
            index.add(np.asarray(added, dtype=np.int64), vectors)
        index.generation = self.store.generation
        index.save(self.index_path, index.generation)

    # --- consistency -----------------------------------------------------------------------------

    def check(self, repair: bool = False) -> dict:
        """The store's consistency rules, and the vector index against the store.

        The vector index is derived: it is rebuilt whenever stale, so it is checked after being
        brought up to date. repair=True removes orphans and half-present documents, rebuilds the
        search index from the chunks, embeds chunks without vectors and rebuilds the vector index.
        """
        fixed: dict[str, int] = {}
        problems = self.store.check()
        if repair and any(problems.values()):
            fixed = self.store.repair(lambda _cid, text, title: (" ".join(terms(text)), " ".join(terms(title))))
            with self._cache_lock:
                self._terms_cache.clear()
            problems = self.store.check()
        if self.embedder is not None:
            if repair:
                fixed["chunks embedded"] = self.sync_vectors()
            missing = [cid for cid, _ in self.store.chunks_without_vectors(self.embedder.name)]
            problems["chunks without a vector"] = missing
            index = self.vector_index(rebuild=repair)
            stored = {cid for ids, _ in self.store.iter_vectors(self.embedder.name) for cid in ids.tolist()}
            indexed = set(index.ids().tolist())
            problems["vector index ids that differ from the stored vectors"] = sorted(stored ^ indexed)
        return {"problems": problems, "fixed": fixed, "ok": not any(problems.values())}

    # --- search and answer -----------------------------------------------------------------------

    def query_terms(self, question: str) -> list[str]:
        """Unique stems of the question; very long texts keep only their rarest terms."""
        unique = list(dict.fromkeys(terms(question)))
        if len(unique) > MAX_QUERY_TERMS:
            df = self.store.term_document_frequencies(unique)
            unique = sorted(unique, key=lambda t: df.get(t, 0))[:MAX_QUERY_TERMS]
        return unique

    def _query(self, question: str) -> tuple[dict[str, frozenset[str]], list[str]]:
        """The question's concepts (stem -> itself and its translations), and all those stems."""
        alternatives = glossary.alternatives(self.query_terms(question))
        forms = list(dict.fromkeys(f for forms in alternatives.values() for f in sorted(forms)))
        return alternatives, forms

    def _selective(self, stems: list[str], n: int, df: Mapping[str, int] | None = None) -> list[str]:
        """The stems worth a posting-list walk (see COMMON_TERM_SHARE); all of them in small stores."""
        if n < COMMON_TERM_MIN_CHUNKS or len(stems) < 2:
            return stems
        df = self.store.term_document_frequencies(stems) if df is None else df
        kept = [t for t in stems if df.get(t, 0) <= COMMON_TERM_SHARE * n]
        return kept or sorted((t for t in stems if df.get(t, 0)), key=lambda t: df[t])[:2]

    def search(self, question: str, k: int = 10) -> list[tuple[int, float]]:
        """Chunk ids with scores, best first: BM25 alone, or fused with dense ranks (RRF)."""
        return self._search(question, k, self._query(question)[1], n_chunks=self.store.chunk_count())[0]

    def _search(
        self, question: str, k: int, query_terms: list[str], query_vector: np.ndarray | None = None,
        *, n_chunks: int, df: Mapping[str, int] | None = None,
    ) -> tuple[list[tuple[int, float]], dict[int, float]]:
        """Also returns the dense cosine scores, which the answer decision uses."""
        lexical = self.store.lexical_search(self._selective(query_terms, n_chunks, df), max(CANDIDATES, k))
        index = self.vector_index()
        if index is None or index.count == 0:
            return lexical[:k], {}
        if query_vector is None:
            query_vector = self.embedder.encode_queries([question])[0]
        dense = index.search(query_vector, max(CANDIDATES, k))
        fused = reciprocal_rank_fusion([[cid for cid, _ in lexical], [cid for cid, _ in dense]])
        return fused[:k], dict(dense)

    def _passage_terms(self, chunk_id: int, chunk: dict) -> answering.PassageTerms:
        """Per-chunk tokens and stems, cached: chunk ids are never reused, so entries never go stale."""
        with self._cache_lock:
            cached = self._terms_cache.get(chunk_id)
            if cached is not None:
                self._terms_cache.move_to_end(chunk_id)
                return cached
        value = answering.PassageTerms.of(chunk["text"], chunk["title"])
        with self._cache_lock:
            self._terms_cache[chunk_id] = value
            if len(self._terms_cache) > PASSAGE_CACHE:
                self._terms_cache.popitem(last=False)
        return value

    def _analyse(self, question: str, k: int, query_vector: np.ndarray | None = None) -> list["_Candidate"]:
        """Candidates from search(), re-ordered by how well their best sentences answer."""
        alternatives, all_forms = self._query(question)
        # Once per question, shared by query pruning and the IDF weights (both cost on 100k rows).
        n_chunks = self.store.chunk_count()
        df = self.store.term_document_frequencies(all_forms)
        hits, dense = self._search(question, max(k, RERANK), all_forms, query_vector, n_chunks=n_chunks, df=df)
        chunks = self.store.chunks([cid for cid, _ in hits])
        hits = [(cid, s) for cid, s in hits if cid in chunks]
        weights = answering.idf_weights(alternatives, df, n_chunks)
        profile = answering.QuestionProfile.build(question, weights, alternatives)
        ranked = []
        for rank, (cid, _) in enumerate(hits):
            chunk = chunks[cid]
            analysis = answering.analyse_passage(profile, rank, self._passage_terms(cid, chunk))
            window = analysis.best.score if analysis.best else 0.0
            score = analysis.cover + WINDOW_WEIGHT * window + RANK_PRIOR / (1 + rank) + dense.get(cid, 0.0)
            ranked.append(_Candidate(cid, chunk, analysis, dense.get(cid, 0.0), score))
        ranked.sort(key=lambda c: -c.score)
        return ranked

    def answer(self, question: str, k: int = 3, query_vector: np.ndarray | None = None) -> answering.Answer:
        """query_vector: the question's embedding when the caller has it already (benchmarks)."""
        return self.answer_and_rank(question, k, query_vector)[0]

    def answer_and_rank(
        self, question: str, k: int = 3, query_vector: np.ndarray | None = None
    ) -> tuple[answering.Answer, list[int]]:
        """The answer, and the whole re-ranked candidate list (evaluation reads both)."""
        question = question.strip()
        language = detect_language(question)
        ranked = self._analyse(question, k, query_vector)
        order = [c.chunk_id for c in ranked]
        if not ranked:
            return answering.Answer(question, language, False, "", [], 0.0, self.mode), order
        lead = ranked[0]
        window = lead.analysis.best
        confidence = lead.confidence
        answered = window is not None and self._relevant(lead)
        if not answered:
            return answering.Answer(question, language, False, "", [], round(confidence, 4), self.mode), order
        passages = []
        # Further passages only when they would pass the same bar: no padding with loose matches.
        for cand in [lead] + [c for c in ranked[1:] if self._relevant(c)][: k - 1]:
            c = cand.chunk
            passages.append(
                answering.Passage(
                    doc_id=c["doc_id"], title=c["title"], date=c["date"], source=c["source"], url=c["url"],
                    page=c["page"], text=c["text"], score=round(cand.score, 4), chunk_id=cand.chunk_id,
                )
            )
        answer = answering.Answer(question, language, True, window.text, passages, round(confidence, 4), self.mode)
        return answer, order


    def _relevant(self, candidate: "_Candidate") -> bool:
        return candidate.confidence >= self.config.min_coverage or (
            self.embedder is not None and candidate.dense >= self.config.dense_threshold
        )


@dataclass
class _Candidate:
    chunk_id: int
    chunk: dict
    analysis: answering.PassageAnalysis
    dense: float
    score: float

    @property
    def confidence(self) -> float:
        """Mean coverage of the passage and of its best window: the calibrated answer decision."""
        best = self.analysis.best
        return (self.analysis.cover + best.own) / 2 if best else 0.0


def run_with_timeout(work: Callable[[], "T"], seconds: float, limit: float) -> "T":
    """Run `work` in a daemon thread and give up after `seconds` with a ReadError.

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
        raise ReadError(f"took longer than the {limit:.0f} s limit per file (INVESTBOT_FILE_TIMEOUT)")
    if "error" in box:
        raise box["error"]
    return box["value"]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def set_faiss_threads(threads: int = 1) -> None:
    """One OpenMP thread is faster for single queries on small machines (and avoids oversubscription)."""
    import faiss

    faiss.omp_set_num_threads(threads)
