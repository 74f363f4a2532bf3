"""Embedding speed per backend (torch, onnx) on one local model folder, offline.

    python bench/model_speed.py      # tiny random 384-d BERT built in a temp dir, texts from knowledge/

`measure_backends(model_dir, texts)` is the function to call from other benchmarks. A backend that
cannot load here (e.g. onnx without its packages) is reported as {"error": "..."}, not raised.
Timings use 2 torch threads (the target machine has 2 cores).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "2")  # before torch is imported; THREADS below

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.embed import Embedder, ModelUnavailable, load_embedder  # noqa: E402

BACKENDS = ("torch", "onnx")
THREADS = 2
QUERY_RUNS = 100
WARMUP = 5


def measure_backends(model_dir: Path, texts: list[str], repeats: int = 5) -> dict:
    """Load `model_dir` with each backend, check the vectors agree, time passages and single queries.

    passages_per_s: all texts in one encode call (the embedder's batch size), best of `repeats`.
    query_ms_p50/p95: single-text encodes of the first ~100 texts (cycled), after a warm-up.
    max_abs_diff: largest |onnx - torch| over the normalised passage vectors (None unless both load).
    """
    import torch

    torch.set_num_threads(THREADS)
    texts = list(texts)
    queries = [texts[i % len(texts)] for i in range(QUERY_RUNS)]
    result: dict = {"texts": len(texts), "repeats": repeats, "threads": THREADS}
    vectors: dict[str, np.ndarray] = {}
    for backend in BACKENDS:
        try:
            started = time.perf_counter()
            embedder = load_embedder(str(model_dir), backend=backend)
            load_s = time.perf_counter() - started
        except ModelUnavailable as exc:
            result[backend] = {"error": str(exc)}
            continue
        result[backend] = {"load_s": round(load_s, 3), **_time_backend(embedder, texts, queries, repeats)}
        vectors[backend] = embedder.encode_passages(texts)
    if len(vectors) == 2:
        result["max_abs_diff"] = float(np.abs(vectors["onnx"] - vectors["torch"]).max())
        result["onnx_vs_torch_query_speedup"] = round(
            result["torch"]["query_ms_p50"] / result["onnx"]["query_ms_p50"], 3
        )
        result["onnx_vs_torch_passage_speedup"] = round(
            result["onnx"]["passages_per_s"] / result["torch"]["passages_per_s"], 3
        )
    else:
        result["max_abs_diff"] = None
        result["onnx_vs_torch_query_speedup"] = None
        result["onnx_vs_torch_passage_speedup"] = None
    return result


def _time_backend(embedder: Embedder, texts: list[str], queries: list[str], repeats: int) -> dict:
    embedder.encode_passages(texts[:64])  # warm-up: first calls allocate and pick kernels
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
        "passages_per_s": round(len(texts) / min(batch_times), 1),
        "passages_s_median": round(statistics.median(batch_times), 3),
        "query_ms_p50": round(float(np.percentile(query_ms, 50)), 3),
        "query_ms_p95": round(float(np.percentile(query_ms, 95)), 3),
    }


def knowledge_texts(folder: Path = ROOT / "knowledge", n: int = 500) -> list[str]:
    """Paragraphs, sentences and 2-3 sentence windows of folder/*.md, in file order, cycled up to n."""
    paragraphs: list[str] = []
    sentences: list[str] = []
    for path in sorted(folder.glob("*.md")):
        body = re.sub(r"\A---.*?---\s*", "", path.read_text(encoding="utf-8"), flags=re.S)  # front matter
        for block in re.split(r"\n\s*\n", body):
            block = " ".join(block.split()).lstrip("# ")
            if len(block) < 20:
                continue
            paragraphs.append(block)
            sentences += [s for s in re.split(r"(?<=[.!?…])\s+", block) if len(s) >= 20]
    windows = [" ".join(sentences[i : i + size]) for size in (2, 3) for i in range(len(sentences) - size + 1)]
    pool = paragraphs + sentences + windows
    if not pool:
        raise SystemExit(f"no texts in {folder}")
    return [pool[i % len(pool)] for i in range(n)]


def main() -> None:
    from tests.tiny_model import build_tiny_model

    texts = knowledge_texts()
    with tempfile.TemporaryDirectory(prefix="model-speed-") as tmp:
        model_dir = build_tiny_model(Path(tmp), texts, dim=384, layers=2)
        result = measure_backends(model_dir, texts)
    result["model"] = "tiny random BERT, 384-d, 2 layers (tests/tiny_model.py)"
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
