"""The benchmarks: speed, memory and scale, side by side with bm25s and FAISS flat search.

    python bench/run.py                         # 1k, 10k, 100k chunks; ~20 min on 2 cores
    python bench/run.py --sizes 1000,10000      # a quicker run
    python bench/run.py --no-write              # print only
    python bench/run.py --model intfloat/multilingual-e5-small   # the real model, where it is cached

Prints a table and writes docs/benchmarks.md and docs/benchmarks.png. Each corpus size runs in its
own process, so peak memory (RSS) is per size. Every latency is a median / p95 / p99 over repeated
runs of the 200 planted questions (bench/corpus.py); throughputs are medians / p95 over batches.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
BATCH = 500
ROUNDS = 3
TARGETS = {
    "answer_p95_ms": 50.0,
    "lexical_vs_bm25s": 3.0,
    "ingest_chunks_per_s": 2000.0,
    "ask_process_s": 1.5,
    "bot_stall_ms": 100.0,
}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict:
    return {"p50": round(pct(values, 50), 3), "p95": round(pct(values, 95), 3), "p99": round(pct(values, 99), 3),
            "n": len(values)}


def _disk(data_dir: Path) -> dict:
    files = {p.name: p.stat().st_size for p in data_dir.iterdir() if p.is_file()}
    db = sum(v for k, v in files.items() if k.startswith("investbot.db"))
    return {"store_mb": round(db / 1e6, 1), "vectors_mb": round(files.get("vectors.faiss", 0) / 1e6, 1)}


# --- one corpus size (runs in a child process) ----------------------------------------------------


def run_size(size: int, model_dir: Path | None, workdir: Path) -> dict:
    import numpy as np

    from bench.corpus import build_corpus
    from index.engine import Engine, EngineConfig
    from index.store import Store
    from index.text import terms
    from index.vectors import VectorIndex

    corpus = build_corpus(size)
    result: dict = {"size": size, "documents": len(corpus.docs), "queries": len(corpus.queries)}

    # Lexical ingest: the non-model work, per batch of documents.
    lexical_dir = workdir / "lexical"
    engine = Engine.open(EngineConfig(data_dir=lexical_dir, model=None))
    rates = []
    for start in range(0, len(corpus.docs), BATCH):
        batch = corpus.docs[start : start + BATCH]
        t0 = time.perf_counter()
        chunks = sum(engine.add_text(d.source, d.text, title=d.title).chunks for d in batch)
        rates.append(chunks / (time.perf_counter() - t0))
    result["chunks"] = engine.store.chunk_count()
    result["ingest_lexical"] = {"chunks_per_s_p50": round(pct(rates, 50)), "chunks_per_s_p5": round(pct(rates, 5))}

    questions = [q.question for q in corpus.queries]
    gold = {q.question: q.gold for q in corpus.queries}

    def answer_latencies(eng, vectors=None) -> tuple[dict, dict, float]:
        cold, warm, found = [], [], 0
        for round_ in range(ROUNDS):
            eng.retriever.clear_cache()  # cold: no passage seen before
            for i, q in enumerate(questions):
                t0 = time.perf_counter()
                answer = eng.answer(q, query_vector=None if vectors is None else vectors[i])
                cold.append((time.perf_counter() - t0) * 1000)
                if round_ == 0:
                    found += bool(answer.passages) and eng.store.document(answer.passages[0].doc_id)["source"] == gold[q]
            for i, q in enumerate(questions):  # warm: the same questions again, passages cached
                t0 = time.perf_counter()
                eng.answer(q, query_vector=None if vectors is None else vectors[i])
                warm.append((time.perf_counter() - t0) * 1000)
        return summary(cold), summary(warm), round(found / len(questions), 3)

    result["answer_lexical_ms"], result["answer_lexical_warm_ms"], result["lexical_top1"] = answer_latencies(engine)

    # Lexical search alone against bm25s, per query, same tokens.
    import bm25s

    rows = list(engine.store.db.query("SELECT id, text FROM chunks ORDER BY id"))
    retriever = bm25s.BM25()
    retriever.index([terms(r["text"]) for r in rows], show_progress=False)
    ours, theirs, ratios = [], [], []
    for _ in range(ROUNDS):
        for q in questions:
            forms = engine.retriever.query(q)[1]
            t0 = time.perf_counter()
            engine.store.lexical_search(forms, 50)
            a = (time.perf_counter() - t0) * 1000
            tokens = [t for t in terms(q) if t in retriever.vocab_dict]
            t0 = time.perf_counter()
            if tokens:
                retriever.retrieve([tokens], k=50, show_progress=False, n_threads=1)
            b = (time.perf_counter() - t0) * 1000
            ours.append(a)
            theirs.append(b)
            ratios.append(a / b if b > 0 else float("nan"))
    result["lexical_search_ms"] = summary(ours)
    result["bm25s_ms"] = summary(theirs)
    result["lexical_vs_bm25s"] = {"p50": round(pct(ratios, 50), 2), "p95": round(pct(ratios, 95), 2)}
    result["disk_lexical"] = _disk(lexical_dir)

    # `investbot ask`, the whole process, lexical-only, on this store.
    times = []
    for q in questions[:7]:
        t0 = time.perf_counter()
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "investbot"), "--data-dir", str(lexical_dir), "--model", "none",
             "ask", q, "--no-log"], capture_output=True, check=True,
        )
        times.append(time.perf_counter() - t0)
    result["ask_process_s"] = {"p50": round(pct(times, 50), 3), "p95": round(pct(times, 95), 3)}
    engine.store.close()

    if model_dir is not None:
        from index.embed import load_embedder

        embedder = load_embedder(str(model_dir))
        # Ingest with the model, the model's encode time measured apart from everything else.
        encode_time = [0.0]
        encode = embedder.encode_passages

        def timed_encode(texts, show_progress=False):
            t0 = time.perf_counter()
            out = encode(texts, show_progress)
            encode_time[0] += time.perf_counter() - t0
            return out

        embedder.encode_passages = timed_encode
        sample = corpus.docs[: min(len(corpus.docs), 1000)]
        with_model = Engine(Store.in_dir(workdir / "with-model"), EngineConfig(data_dir=workdir / "with-model"), embedder)
        t0 = time.perf_counter()
        chunks = sum(with_model.add_text(d.source, d.text, title=d.title).chunks for d in sample)
        total = time.perf_counter() - t0
        embedder.encode_passages = encode
        result["ingest_hybrid"] = {
            "chunks": chunks,
            "chunks_per_s": round(chunks / total, 1),
            "non_model_chunks_per_s": round(chunks / (total - encode_time[0])),
            "model_encode_chunks_per_s": round(chunks / encode_time[0], 1),
        }
        with_model.store.close()
        hybrid_dir = workdir / "hybrid"
        # The full collection's vectors: copy the lexical store and embed every chunk.
        shutil.copytree(lexical_dir, hybrid_dir)
        hybrid = Engine(Store.in_dir(hybrid_dir), EngineConfig(data_dir=hybrid_dir, model=str(model_dir)), embedder)
        t0 = time.perf_counter()
        hybrid.sync_vectors(batch=512)
        result["embed_all_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        index = hybrid.vector_index(rebuild=True)
        result["vector_index"] = {"kind": index.kind, "build_s": round(time.perf_counter() - t0, 2)}
        query_vectors = embedder.encode_queries(questions)
        result["answer_hybrid_ms"], result["answer_hybrid_warm_ms"], result["hybrid_top1"] = answer_latencies(
            hybrid, query_vectors
        )
        result["disk_hybrid"] = _disk(hybrid_dir)

        # FAISS: exact vs IVF at this size, recall@10 against exact.
        flat = VectorIndex.build(hybrid.store, embedder.name, embedder.dim, kind="flat")
        ivf = VectorIndex.build(hybrid.store, embedder.name, embedder.dim, kind="ivf") if flat.count >= 1000 else None
        faiss_rows = {}
        for name, idx in (("flat", flat), ("ivf", ivf)):
            if idx is None:
                continue
            lat, recall = [], []
            for _ in range(ROUNDS):
                for v in query_vectors:
                    t0 = time.perf_counter()
                    got = idx.search(v, 10)
                    lat.append((time.perf_counter() - t0) * 1000)
                    if idx is ivf:
                        truth = {cid for cid, _ in flat.search(v, 10)}
                        recall.append(len(truth & {cid for cid, _ in got}) / 10)
            faiss_rows[name] = {"ms": summary(lat)}
            if recall:
                faiss_rows[name]["recall@10"] = round(float(np.mean(recall)), 3)
                faiss_rows[name]["nprobe"] = idx.nprobe
        result["faiss"] = faiss_rows
        hybrid.store.close()

    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


# --- the whole run ---------------------------------------------------------------------------------


def build_model(workdir: Path) -> Path:
    from bench.corpus import build_corpus
    from tests.tiny_model import build_tiny_model

    texts = [d.text for d in build_corpus(2000).docs]
    # 384 dimensions like multilingual-e5-small; one layer and 128 tokens keep encoding affordable.
    return build_tiny_model(workdir / "model", texts, dim=384, layers=1, max_seq_length=128)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--no-model", action="store_true", help="skip everything that needs the tiny model")
    parser.add_argument(
        "--model", default=None,
        help="a real model instead of the tiny one: a local folder, or a name already in the cache "
        "(e.g. intfloat/multilingual-e5-small after `investbot model pull`)",
    )
    parser.add_argument("--no-bot", action="store_true", help="skip the Telegram load test")
    parser.add_argument("--no-write", action="store_true", help="print only, do not write docs/")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(2)
    if args.one:
        with tempfile.TemporaryDirectory(prefix="investbot-bench-") as tmp:
            result = run_size(args.one, args.model_dir, Path(tmp))
        args.out.write_text(json.dumps(result, indent=2))
        return

    results: dict = {"sizes": [], "machine": f"{os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d")}
    with tempfile.TemporaryDirectory(prefix="investbot-bench-") as tmp:
        model_dir = None if args.no_model else (Path(args.model) if args.model else build_model(Path(tmp)))
        for size in [int(s) for s in args.sizes.split(",")]:
            out = Path(tmp) / f"{size}.json"
            command = [sys.executable, __file__, "--one", str(size), "--out", str(out)]
            if model_dir:
                command += ["--model-dir", str(model_dir)]
            print(f"size {size} …", file=sys.stderr, flush=True)
            subprocess.run(command, check=True)
            results["sizes"].append(json.loads(out.read_text()))
        if model_dir is not None:
            from bench.model_speed import measure_backends
            from bench.corpus import build_corpus

            print("model backends …", file=sys.stderr, flush=True)
            results["backends"] = measure_backends(model_dir, [d.text for d in build_corpus(1000).docs[:500]])
    if not args.no_bot:
        # Its own process, like each size: a quiet interpreter (no models, no leftovers to collect).
        print("bot load …", file=sys.stderr, flush=True)
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "bot_load.py")], capture_output=True, text=True,
                              check=True)
        results["bot"] = json.loads(done.stdout)

    from bench.report import render

    text = render(results)
    print(text)
    if not args.no_write:
        (ROOT / "docs" / "benchmarks.json").write_text(json.dumps(results, indent=2))
        (ROOT / "docs" / "benchmarks.md").write_text(text)
        from bench.report import plot

        plot(results, ROOT / "docs" / "benchmarks.png")


if __name__ == "__main__":
    main()
