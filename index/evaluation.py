"""XQuAD retrieval evaluation, with bm25s (same stemmer, same stopwords) as the reference.

Every paragraph is one document; the paragraph a question came from is its one relevant document.
Directions: en→en, ru→ru, and ru→en (Russian questions against English paragraphs).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .engine import Engine, EngineConfig
from .store import Store
from .text import terms

DIRECTIONS = {"en-en": ("en", "en"), "ru-ru": ("ru", "ru"), "ru-en": ("ru", "en")}


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


def _ranked_docs(chunk_ranking: Sequence[int], chunk_to_doc: dict[int, str], k: int) -> list[str]:
    seen: list[str] = []
    for cid in chunk_ranking:
        doc = chunk_to_doc.get(cid)
        if doc is not None and doc not in seen:
            seen.append(doc)
            if len(seen) == k:
                break
    return seen


def _metrics(rankings: list[list[str]], gold: list[str]) -> dict[str, float]:
    n = len(gold)
    r1 = sum(1 for r, g in zip(rankings, gold) if r[:1] == [g]) / n
    r5 = sum(1 for r, g in zip(rankings, gold) if g in r[:5]) / n
    mrr = sum(1 / (r[:10].index(g) + 1) for r, g in zip(rankings, gold) if g in r[:10]) / n
    return {"recall@1": round(r1, 4), "recall@5": round(r5, 4), "mrr@10": round(mrr, 4)}


def contains_gold(text: str, answers: Sequence[str]) -> bool:
    low = text.lower()
    return any(a.strip().lower() in low for a in answers if a.strip())


def build_engine(paragraphs: list[Paragraph], config: EngineConfig, data_dir: Path) -> tuple[Engine, dict[int, str]]:
    """Index paragraphs through the engine's normal path (chunking, stemming, FTS, vectors)."""
    engine = Engine.open(replace(config, data_dir=data_dir), Store.in_dir(data_dir))
    for p in paragraphs:
        # The title is kept out of search: the reference sees the paragraph text only.
        engine.add_text(f"xquad:{p.key}", p.text, title=p.title, index_title=False)
    chunk_to_doc = {
        row["id"]: row["source"].removeprefix("xquad:")
        for row in engine.store.db.query("SELECT c.id, d.source FROM chunks c JOIN documents d ON d.id = c.doc_id")
    }
    return engine, chunk_to_doc


def bm25s_reference(paragraphs: list[Paragraph], questions: list[Question]) -> tuple[dict, float]:
    import bm25s

    corpus_tokens = [terms(p.text) for p in paragraphs]
    retriever = bm25s.BM25()
    retriever.index(corpus_tokens, show_progress=False)
    rankings = []
    start = time.perf_counter()
    for q in questions:
        tokens = [t for t in terms(q.text) if t in retriever.vocab_dict] or ["\x00"]
        if tokens == ["\x00"]:
            rankings.append([])
            continue
        docs, _ = retriever.retrieve([tokens], k=10, show_progress=False)
        rankings.append([paragraphs[i].key for i in docs[0]])
    elapsed = time.perf_counter() - start
    gold = [q.paragraph for q in questions]
    metrics = _metrics(rankings, gold)
    by_key = {p.key: p.text for p in paragraphs}
    metrics["answer_contains_gold"] = round(
        sum(1 for r, q in zip(rankings, questions) if r and contains_gold(by_key[r[0]], q.answers)) / len(questions), 4
    )
    metrics["ms_per_query"] = round(1000 * elapsed / max(len(questions), 1), 2)
    return metrics, elapsed


def evaluate_direction(
    engine: Engine, chunk_to_doc: dict[int, str], questions: list[Question]
) -> dict[str, float]:
    rankings, contains, answered = [], 0, 0
    start = time.perf_counter()
    for q in questions:
        result, order = engine.answer_and_rank(q.text, k=10)
        rankings.append(_ranked_docs(order, chunk_to_doc, 10))
        answered += result.answered
        contains += result.answered and contains_gold(result.answer, q.answers)
    search_elapsed = time.perf_counter() - start
    metrics = _metrics(rankings, [q.paragraph for q in questions])
    metrics["answer_contains_gold"] = round(contains / len(questions), 4)
    metrics["answered"] = round(answered / len(questions), 4)
    metrics["ms_per_query"] = round(1000 * search_elapsed / max(len(questions), 1), 2)
    return metrics


def run_eval(
    eval_dir: Path,
    config: EngineConfig,
    directions: Sequence[str] = ("en-en", "ru-ru", "ru-en"),
    limit: int | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> dict:
    data = {lang: load_xquad(Path(eval_dir) / "xquad" / f"xquad.{lang}.json") for lang in ("en", "ru")}
    results: dict = {}
    engines: dict[str, tuple[Engine, dict[int, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="investbot-eval-") as tmp:
        for direction in directions:
            q_lang, d_lang = DIRECTIONS[direction]
            paragraphs = data[d_lang][0]
            questions = data[q_lang][1][:limit] if limit else data[q_lang][1]
            if d_lang not in engines:
                log(f"Indexing {len(paragraphs)} {d_lang} paragraphs …")
                engines[d_lang] = build_engine(paragraphs, config, Path(tmp) / d_lang)
            engine, chunk_to_doc = engines[d_lang]
            log(f"{direction}: {len(questions)} questions ({engine.mode}) …")
            ours = evaluate_direction(engine, chunk_to_doc, questions)
            reference, _ = bm25s_reference(paragraphs, questions)
            results[direction] = {"questions": len(questions), "mode": engine.mode, "investbot": ours, "bm25s": reference}
    return results


def format_table(results: dict) -> str:
    head = f"{'direction':<10}{'system':<22}{'R@1':>7}{'R@5':>7}{'MRR@10':>8}{'gold in answer':>16}{'answered':>10}{'ms/q':>8}"
    lines = [head, "-" * len(head)]
    for direction, r in results.items():
        for system, m in (("investbot (" + r["mode"] + ")", r["investbot"]), ("bm25s (same stems)", r["bm25s"])):
            answered = f"{m['answered']:.3f}" if "answered" in m else "—"
            lines.append(
                f"{direction:<10}{system:<22}{m['recall@1']:>7.3f}{m['recall@5']:>7.3f}{m['mrr@10']:>8.3f}"
                f"{m['answer_contains_gold']:>16.3f}{answered:>10}{m['ms_per_query']:>8.2f}"
            )
    lines.append("")
    lines.append("gold in answer: investbot = its 1–3 answer sentences contain the gold answer (unanswered counts as")
    lines.append("a miss); bm25s = its top paragraph contains it. ms/q = whole answer (investbot), retrieval only (bm25s).")
    return "\n".join(lines)
