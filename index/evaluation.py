"""XQuAD retrieval and answer evaluation: the engine's parts side by side, with bm25s as the reference.

Every paragraph is one document; the paragraph a question came from is its one relevant document.
Directions: en→en, ru→ru, and the cross-lingual ru→en (Russian questions over English paragraphs)
and en→ru. XQuAD's question ids are the same in both languages, so a cross-lingual question is
judged against the gold answer in its paragraph's language.

Systems, each over the same store:
- lexical: the engine without a model (FTS5 BM25, glossary, re-ranking, the answer decision);
- dense: the FAISS ranking alone for the recall figures; its answer figures are the engine's answer
  when its keyword search finds nothing, so candidates come from the dense ranking only;
- hybrid: the engine as configured;
- bm25s: bm25s with the same stems and stopwords (its "answer" is its top paragraph).
Times are per question: lexical and hybrid the whole answer (hybrid with encoding the question),
dense encoding plus the FAISS search, bm25s its retrieval.

Passage vectors (paragraphs and their sentences) are kept in a cache between runs (vector_cache.py),
so only the first run with a model pays for embedding the 480 paragraphs.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import cast

import numpy as np

from index.dense.cache import CachingEncoder, VectorCache, cached_embedder
from index.dense.model import Embedder
from index.engine import Engine, EngineConfig
from index.store.database import Store
from index.text.tokens import terms

DIRECTIONS = {"en-en": ("en", "en"), "ru-ru": ("ru", "ru"), "ru-en": ("ru", "en"), "en-ru": ("en", "ru")}
ARROWS = {name: f"{q}→{d}" for name, (q, d) in DIRECTIONS.items()}
RANK_DEPTH = 10  # MRR@10: rankings are read this deep
ANSWER_PASSAGES = 10  # what answer_and_rank is asked for; its ranking is at least this long

# Progress of embedding one language's paragraphs: (label, done, total).
EmbedProgress = Callable[[str, int, int], None]


class System(str, Enum):
    LEXICAL = "lexical"
    DENSE = "dense"
    HYBRID = "hybrid"
    BM25S = "bm25s"

    __str__ = str.__str__


class UnknownDirection(ValueError):
    """A direction name that is not one of DIRECTIONS; the message lists them."""

    def __init__(self, name: str):
        super().__init__(f"unknown direction {name!r} (choose from: {', '.join(DIRECTIONS)})")


@dataclass
class Paragraph:
    key: str  # "article/paragraph index", the same across languages
    title: str
    text: str


@dataclass
class Question:
    id: str
    text: str
    answers: list[str]
    paragraph: str  # Paragraph.key


@dataclass(frozen=True)
class Figures:
    """One system in one direction. None: the figure does not apply (bm25s gives no answer decision)."""

    recall_at_1: float
    recall_at_5: float
    mrr_at_10: float
    answer_contains_gold: float | None
    answered: float | None
    ms_per_query: float

    def to_dict(self) -> dict:
        return {
            "recall@1": self.recall_at_1,
            "recall@5": self.recall_at_5,
            "mrr@10": self.mrr_at_10,
            "answer_contains_gold": self.answer_contains_gold,
            "answered": self.answered,
            "ms_per_query": self.ms_per_query,
        }


@dataclass
class DirectionResult:
    direction: str
    questions: int
    systems: dict[System, Figures] = field(default_factory=dict)


@dataclass
class EvalReport:
    model: str | None  # the embedder's label; None: lexical-only
    directions: list[DirectionResult] = field(default_factory=list)
    # Passage vectors (of chunks and whatever else the engine embeds, e.g. their sentences), in texts:
    from_cache: int = 0  # found in the cache
    embedded: int = 0  # encoded by the model in this run

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "vectors": {"from_cache": self.from_cache, "embedded": self.embedded},
            "directions": {
                r.direction: {
                    "questions": r.questions,
                    "systems": {str(name): figures.to_dict() for name, figures in r.systems.items()},
                }
                for r in self.directions
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


def find_eval_dir(start: Path | None = None) -> Path | None:
    here = Path(start or Path.cwd()).resolve()
    for candidate in (here.parent / "shared" / "eval", here / "shared" / "eval", here / "eval"):
        if (candidate / "xquad").is_dir():
            return candidate
    return None


def load_xquad(path: Path) -> tuple[list[Paragraph], list[Question]]:
    """Read a SQuAD-format file; some Russian contexts start with a BOM, which is stripped."""
    data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    paragraphs, questions = [], []
    for a, article in enumerate(data["data"]):
        for p, paragraph in enumerate(article["paragraphs"]):
            key = f"{a}/{p}"
            paragraphs.append(Paragraph(key, article.get("title", ""), paragraph["context"].lstrip("\ufeff")))
            for qa in paragraph["qas"]:
                answers = [ans["text"].lstrip("\ufeff") for ans in qa["answers"]]
                questions.append(Question(qa["id"], qa["question"].lstrip("\ufeff"), answers, key))
    return paragraphs, questions


def ranked_docs(chunk_ranking: Sequence[int], chunk_to_doc: dict[int, str], k: int = RANK_DEPTH) -> list[str]:
    """Documents in the order of their best chunk, at most k."""
    seen: list[str] = []
    for cid in chunk_ranking:
        doc = chunk_to_doc.get(cid)
        if doc is not None and doc not in seen:
            seen.append(doc)
            if len(seen) == k:
                break
    return seen


def recall_figures(rankings: list[list[str]], gold: list[str]) -> tuple[float, float, float]:
    """(recall@1, recall@5, MRR@10) of document rankings against the one relevant document each."""
    n = max(len(gold), 1)
    r1 = sum(1 for r, g in zip(rankings, gold, strict=True) if r[:1] == [g]) / n
    r5 = sum(1 for r, g in zip(rankings, gold, strict=True) if g in r[:5]) / n
    mrr = sum(1 / (r[:10].index(g) + 1) for r, g in zip(rankings, gold, strict=True) if g in r[:10]) / n
    return round(r1, 4), round(r5, 4), round(mrr, 4)


def golds_in(questions: Sequence[Question], answers_by_id: dict[str, list[str]]) -> list[list[str]]:
    """Each question's gold answers in the paragraphs' language: XQuAD's ids are the same in both files, so
    a Russian question over English paragraphs is judged by the English answer (its own, if the id is missing)."""
    return [answers_by_id.get(q.id, q.answers) for q in questions]


def contains_gold(text: str, answers: Sequence[str]) -> bool:
    low = text.lower()
    return any(a.strip().lower() in low for a in answers if a.strip())


class _KeywordSearchOff:
    """A store whose keyword search finds nothing: the engine over it answers from the dense ranking alone."""

    def __init__(self, store: Store):
        self._store = store

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    def lexical_search(self, query_terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
        return []


@dataclass
class Engines:
    """The systems over one language's paragraphs (one store)."""

    hybrid: Engine  # as configured; lexical-only when there is no model
    lexical: Engine
    dense: Engine | None  # keyword search off; None without a model
    chunk_to_doc: dict[int, str]


def build_engines(
    paragraphs: list[Paragraph],
    config: EngineConfig,
    embedder: Embedder | None,
    data_dir: Path,
    cache: VectorCache | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Engines, int, int]:
    """Index the paragraphs through the engine's normal path (chunking, stemming, FTS5, vectors).

    Returns the engines and the passage texts (from the cache, encoded by the model) their vectors took.
    With a cache, the model sees only the texts the cache lacks, and keeps them there.
    """
    config = replace(config, data_dir=data_dir)
    store = Store.in_dir(data_dir)
    builder = cached_embedder(embedder, cache) if embedder is not None and cache is not None else embedder
    hybrid = Engine(store, config, builder)
    for p in paragraphs:
        # The title is kept out of search: the reference sees the paragraph text only.
        hybrid.add_text(f"xquad:{p.key}", p.text, title=p.title, index_title=False, embed=False)
    from_cache = embedded = 0
    if builder is not None:  # that is, embedder is not None
        chunks = hybrid.sync_vectors(progress)
        if isinstance(builder.encoder, CachingEncoder):
            from_cache, embedded = builder.encoder.from_cache, builder.encoder.encoded
            if embedded:
                builder.encoder.cache.save()
        else:
            embedded = chunks
        hybrid = Engine(store, config, embedder)  # questions from the model itself, as always
        hybrid.vector_index()
    chunk_to_doc = {
        row["id"]: row["source"].removeprefix("xquad:")
        for row in store.db.query("SELECT c.id, d.source FROM chunks c JOIN documents d ON d.id = c.doc_id")
    }
    lexical = Engine(store, replace(config, model=None), None)
    # _KeywordSearchOff stands in for the store by delegation, not by inheritance.
    dense = Engine(cast(Store, _KeywordSearchOff(store)), config, embedder) if embedder is not None else None
    return Engines(hybrid if embedder is not None else lexical, lexical, dense, chunk_to_doc), from_cache, embedded


@dataclass
class EncodedQuestions:
    vectors: np.ndarray  # one row per question
    ms: list[float]  # encoding time of each, one question at a time as the bot does


def encode_questions(embedder: Embedder, questions: list[Question]) -> EncodedQuestions:
    vectors, ms = [], []
    for q in questions:
        started = time.perf_counter()
        vectors.append(embedder.encode_queries([q.text])[0])
        ms.append((time.perf_counter() - started) * 1000)
    return EncodedQuestions(np.stack(vectors) if vectors else np.zeros((0, embedder.dim), np.float32), ms)


def _engine_figures(
    engine: Engine,
    engines: Engines,
    questions: list[Question],
    golds: list[list[str]],
    encoded: EncodedQuestions | None,
) -> Figures:
    """Recall from the engine's re-ranked candidates, and its answer; with `encoded`, the question's
    vector is given and its encoding time counted."""
    rankings: list[list[str]] = []
    contains, answered, elapsed = 0, 0, 0.0
    for i, (q, gold) in enumerate(zip(questions, golds, strict=True)):
        vector = encoded.vectors[i] if encoded is not None else None
        started = time.perf_counter()
        result, order = engine.answer_and_rank(q.text, k=ANSWER_PASSAGES, query_vector=vector)
        elapsed += time.perf_counter() - started + (encoded.ms[i] / 1000 if encoded is not None else 0.0)
        rankings.append(ranked_docs(order, engines.chunk_to_doc))
        answered += result.answered
        contains += result.answered and contains_gold(result.answer, gold)
    n = max(len(questions), 1)
    return Figures(
        *recall_figures(rankings, [q.paragraph for q in questions]),
        answer_contains_gold=round(contains / n, 4),
        answered=round(answered / n, 4),
        ms_per_query=round(1000 * elapsed / n, 2),
    )


def _dense_figures(
    engines: Engines, questions: list[Question], golds: list[list[str]], encoded: EncodedQuestions
) -> Figures:
    if engines.dense is None:
        raise ValueError("dense figures need a model")
    index = engines.hybrid.vector_index()
    rankings: list[list[str]] = []
    elapsed = 0.0
    for i in range(len(questions)):
        started = time.perf_counter()
        hits = index.search(encoded.vectors[i], RANK_DEPTH * 2) if index is not None else []
        elapsed += time.perf_counter() - started + encoded.ms[i] / 1000
        rankings.append(ranked_docs([cid for cid, _ in hits], engines.chunk_to_doc))
    answers = _engine_figures(engines.dense, engines, questions, golds, encoded)
    n = max(len(questions), 1)
    return Figures(
        *recall_figures(rankings, [q.paragraph for q in questions]),
        answer_contains_gold=answers.answer_contains_gold,
        answered=answers.answered,
        ms_per_query=round(1000 * elapsed / n, 2),
    )


def bm25s_reference(paragraphs: list[Paragraph], questions: list[Question], golds: list[list[str]]) -> Figures:
    import bm25s

    retriever = bm25s.BM25()
    retriever.index([terms(p.text) for p in paragraphs], show_progress=False)
    rankings: list[list[str]] = []
    started = time.perf_counter()
    for q in questions:
        tokens = [t for t in terms(q.text) if t in retriever.vocab_dict]
        if not tokens:
            rankings.append([])
            continue
        docs, _ = retriever.retrieve([tokens], k=RANK_DEPTH, show_progress=False)
        rankings.append([paragraphs[i].key for i in docs[0]])
    elapsed = time.perf_counter() - started
    by_key = {p.key: p.text for p in paragraphs}
    n = max(len(questions), 1)
    contains = sum(1 for r, gold in zip(rankings, golds, strict=True) if r and contains_gold(by_key[r[0]], gold))
    return Figures(
        *recall_figures(rankings, [q.paragraph for q in questions]),
        answer_contains_gold=round(contains / n, 4),
        answered=None,
        ms_per_query=round(1000 * elapsed / n, 2),
    )


def run_eval(
    eval_dir: Path,
    config: EngineConfig,
    directions: Sequence[str] = tuple(DIRECTIONS),
    limit: int | None = None,
    *,
    embedder: Embedder | None = None,
    cache_dir: Path | None = None,
    fresh: bool = False,
    log: Callable[[str], None] = lambda _: None,
    progress: EmbedProgress | None = None,
) -> EvalReport:
    """Evaluate every system in each direction; `limit` takes the first N questions of a direction.

    Without `embedder` only lexical and bm25s are measured. cache_dir keeps passage vectors between
    runs (fresh=True re-embeds them); without it every run embeds.
    """
    for name in directions:
        if name not in DIRECTIONS:
            raise UnknownDirection(name)
    data = {lang: load_xquad(Path(eval_dir) / "xquad" / f"xquad.{lang}.json") for lang in ("en", "ru")}
    answers_by_id = {lang: {q.id: q.answers for q in data[lang][1]} for lang in data}
    report = EvalReport(model=embedder.label if embedder is not None else None)
    cache = None
    if embedder is not None and cache_dir is not None:
        cache = VectorCache.open(cache_dir, embedder, fresh=fresh)
        if cache.dropped:
            log(f"Vector cache {cache.path}: {cache.dropped}; embedding anew.")
    built: dict[str, Engines] = {}
    encoded: dict[str, EncodedQuestions] = {}
    with tempfile.TemporaryDirectory(prefix="investbot-eval-") as tmp:
        for name in directions:
            q_lang, d_lang = DIRECTIONS[name]
            paragraphs = data[d_lang][0]
            questions = data[q_lang][1][:limit] if limit else data[q_lang][1]
            golds = golds_in(questions, answers_by_id[d_lang])
            if d_lang not in built:
                log(f"Indexing {len(paragraphs)} {d_lang} paragraphs …")
                step = None
                if progress is not None:
                    step = lambda done, total, lang=d_lang: progress(f"{lang} paragraphs", done, total)  # noqa: E731
                built[d_lang], hits, fresh_vectors = build_engines(
                    paragraphs, config, embedder, Path(tmp) / d_lang, cache, step
                )
                report.from_cache += hits
                report.embedded += fresh_vectors
            engines = built[d_lang]
            result = DirectionResult(name, len(questions))
            log(f"{ARROWS[name]}: {len(questions)} questions …")
            result.systems[System.LEXICAL] = _engine_figures(engines.lexical, engines, questions, golds, None)
            if embedder is not None:
                if q_lang not in encoded:
                    encoded[q_lang] = encode_questions(embedder, questions)
                vectors = encoded[q_lang]
                result.systems[System.DENSE] = _dense_figures(engines, questions, golds, vectors)
                result.systems[System.HYBRID] = _engine_figures(engines.hybrid, engines, questions, golds, vectors)
            result.systems[System.BM25S] = bm25s_reference(paragraphs, questions, golds)
            report.directions.append(result)
        for engines in built.values():
            engines.hybrid.store.close()
    return report


def format_table(report: EvalReport) -> str:
    head = (
        f"{'direction':<14}{'system':<9}{'R@1':>7}{'R@5':>7}{'MRR@10':>8}{'gold in answer':>16}{'answered':>10}"
        f"{'ms/q':>9}"
    )
    lines = [head, "-" * len(head)]

    def cell(value: float | None, width: int) -> str:
        return f"{value:>{width}.3f}" if value is not None else f"{'—':>{width}}"

    for result in report.directions:
        label = f"{ARROWS[result.direction]} ({result.questions})"
        for name, m in result.systems.items():
            lines.append(
                f"{label:<14}{name!s:<9}{m.recall_at_1:>7.3f}{m.recall_at_5:>7.3f}{m.mrr_at_10:>8.3f}"
                f"{cell(m.answer_contains_gold, 16)}{cell(m.answered, 10)}{m.ms_per_query:>9.2f}"
            )
            label = ""
    lines += [
        "",
        "lexical: the engine without a model; dense: the FAISS ranking alone (its answer columns: the engine's",
        "answer from the dense ranking, keyword search off); hybrid: the engine as configured; bm25s: the same",
        "stems and stopwords. gold in answer: the answer text holds the gold answer, in the paragraph's language",
        "(unanswered counts as a miss; bm25s: its top paragraph). ms/q: lexical and hybrid the whole answer,",
        "hybrid and dense with encoding the question; dense and bm25s retrieval only.",
    ]
    if report.model is None:
        lines.append("No model: lexical and bm25s only.")
    return "\n".join(lines)
