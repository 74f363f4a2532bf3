"""Calibrate the `answered` threshold (min coverage) on data, and report it on held-out data.

Split by XQuAD article: the corpus of one half answers its own questions (positives), while the
other half's questions are about topics the corpus does not cover (negatives). The threshold is
chosen on half A (en and ru together) and reported on half B, and on the seed QA set
(tests/data/seed_qa.yaml) against knowledge/, which no threshold was tuned on.

    python bench/calibrate.py            # prints the sweep and the held-out figures
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.engine import Engine, EngineConfig  # noqa: E402
from index.evaluation import contains_gold, find_eval_dir, load_xquad  # noqa: E402
from index.store import Store  # noqa: E402

MAX_FALSE_ANSWERS = 0.05  # at most this share of uncovered questions may get an answer


def engine_for(paragraphs, folder: Path) -> Engine:
    engine = Engine.open(EngineConfig(data_dir=folder, model=None), Store.in_dir(folder))
    for p in paragraphs:
        engine.add_text(f"xquad:{p.key}", p.text, title=p.title, index_title=False)
    return engine


def confidences(engine: Engine, questions) -> list[float]:
    return [engine.answer(q.text).confidence for q in questions]


def sweep(pos: list[float], neg: list[float]) -> list[tuple[float, float, float]]:
    rows = []
    for i in range(0, 101, 2):
        t = i / 100
        tpr = sum(c >= t for c in pos) / len(pos)
        fpr = sum(c >= t for c in neg) / len(neg)
        rows.append((t, tpr, fpr))
    return rows


def split(lang_data, half: int):
    paragraphs, questions = lang_data
    articles = sorted({p.key.split("/")[0] for p in paragraphs}, key=int)
    chosen = set(articles[: len(articles) // 2] if half == 0 else articles[len(articles) // 2 :])
    in_p = [p for p in paragraphs if p.key.split("/")[0] in chosen]
    pos = [q for q in questions if q.paragraph.split("/")[0] in chosen]
    neg = [q for q in questions if q.paragraph.split("/")[0] not in chosen]
    return in_p, pos, neg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=find_eval_dir(ROOT))
    parser.add_argument("--threshold", type=float, default=None, help="report this threshold instead of choosing one")
    args = parser.parse_args()
    data = {lang: load_xquad(args.eval_dir / "xquad" / f"xquad.{lang}.json") for lang in ("en", "ru")}

    with tempfile.TemporaryDirectory() as tmp:
        scores = {}
        for half in (0, 1):
            for lang in ("en", "ru"):
                paragraphs, pos, neg = split(data[lang], half)
                engine = engine_for(paragraphs, Path(tmp) / f"{lang}{half}")
                scores[(half, lang)] = (confidences(engine, pos), confidences(engine, neg), engine, pos)
                print(f"half {half} {lang}: {len(paragraphs)} paragraphs, {len(pos)} covered, {len(neg)} uncovered", file=sys.stderr)

        pos_a = scores[(0, "en")][0] + scores[(0, "ru")][0]
        neg_a = scores[(0, "en")][1] + scores[(0, "ru")][1]
        rows = sweep(pos_a, neg_a)
        if args.threshold is None:
            ok = [r for r in rows if r[2] <= MAX_FALSE_ANSWERS]
            threshold = ok[0][0] if ok else rows[-1][0]
        else:
            threshold = args.threshold
        print("Calibration (half A, en+ru): threshold, answered covered, answered uncovered")
        for t, tpr, fpr in rows:
            if 0.3 <= t <= 0.8:
                mark = "  <- chosen" if abs(t - threshold) < 1e-9 else ""
                print(f"  {t:.2f}  {tpr:.3f}  {fpr:.3f}{mark}")

        print(f"\nHeld out (half B) at threshold {threshold:.2f}:")
        print("  lang  answered(covered)  answered(uncovered)  gold in answer (covered)")
        for lang in ("en", "ru"):
            pos, neg, engine, questions = scores[(1, lang)]
            tpr = sum(c >= threshold for c in pos) / len(pos)
            fpr = sum(c >= threshold for c in neg) / len(neg)
            engine.config.min_coverage = threshold
            gold = sum(
                1 for q in questions if (a := engine.answer(q.text)).answered and contains_gold(a.answer, q.answers)
            ) / len(questions)
            print(f"  {lang}    {tpr:.3f}              {fpr:.3f}                {gold:.3f}")

        engine = Engine.open(EngineConfig(data_dir=Path(tmp) / "kb", model=None, min_coverage=threshold))
        engine.ingest([ROOT / "knowledge"])
        qa = yaml.safe_load((ROOT / "tests" / "data" / "seed_qa.yaml").read_text(encoding="utf-8"))
        print(f"\nSeed QA set against knowledge/ at threshold {threshold:.2f}:")
        print("  lang  answered & correct  answered(answerable)  answered(unanswerable)")
        for lang in ("en", "ru"):
            good = [q for q in qa["answerable"] if q["lang"] == lang]
            bad = [q for q in qa["unanswerable"] if q["lang"] == lang]
            results = [engine.answer(q["question"]) for q in good]
            correct = sum(1 for q, r in zip(good, results) if r.answered and q["answer"] in r.answer) / len(good)
            answered = sum(r.answered for r in results) / len(good)
            false = sum(engine.answer(q["question"]).answered for q in bad) / len(bad)
            print(f"  {lang}    {correct:.3f}               {answered:.3f}                 {false:.3f}")


if __name__ == "__main__":
    main()
