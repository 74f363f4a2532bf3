"""Follow-up resolution on tests/data/followups.yaml: how many follow-ups are resolved right, how many
stand-alone questions are left alone, on the dev half (rules tuned on it), the held-out test half, and all.

    python bench/followups.py            # the figures
    python bench/followups.py --misses   # and every pair that went wrong, with what it became
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.conversation.followup import Resolved, resolve  # noqa: E402
from index.text.tokens import stem_word, words  # noqa: E402

DATA = ROOT / "tests" / "data" / "followups.yaml"


@dataclass(frozen=True)
class Outcome:
    pair: dict[str, Any]
    resolved: Resolved
    right: bool


def load() -> list[dict[str, Any]]:
    pairs: list[dict[str, Any]] = yaml.safe_load(DATA.read_text(encoding="utf-8"))["pairs"]
    return pairs


def _stems(text: str) -> set[str]:
    return {stem_word(w) for w in words(text)}


def judge(pair: dict[str, Any]) -> Outcome:
    """A follow-up is right when rewritten with every expected word and none of the absent ones (by stem);
    a stand-alone question is right when it comes back unchanged."""
    resolved = resolve(pair["question"], pair["previous"])
    if not pair["followup"]:
        return Outcome(pair, resolved, not resolved.rewritten and resolved.question == pair["question"])
    got = _stems(resolved.question)
    has_all = all(_stems(word) <= got for word in pair["expect"])
    has_none = not any(_stems(word) & got for word in pair.get("absent", []))
    return Outcome(pair, resolved, resolved.rewritten and has_all and has_none)


def shares(outcomes: list[Outcome]) -> tuple[float, int, float, int]:
    """(resolved-right share, follow-ups, left-alone share, stand-alone questions)."""
    follow = [o for o in outcomes if o.pair["followup"]]
    alone = [o for o in outcomes if not o.pair["followup"]]
    right = sum(o.right for o in follow) / len(follow) if follow else 0.0
    left = sum(o.right for o in alone) / len(alone) if alone else 0.0
    return right, len(follow), left, len(alone)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--misses", action="store_true", help="print every pair that went wrong")
    args = parser.parse_args()
    outcomes = [judge(p) for p in load()]
    print(f"{'split':<6} {'lang':<4} {'resolved right':>18} {'left alone':>16}")
    for split in ("dev", "test", "all"):
        for lang in ("en", "ru", "all"):
            part = [o for o in outcomes if split in ("all", o.pair["split"]) and lang in ("all", o.pair["lang"])]
            right, n_follow, left, n_alone = shares(part)
            print(
                f"{split:<6} {lang:<4} {right:>8.2f} ({round(right * n_follow):>2}/{n_follow:>2})"
                f" {left:>7.2f} ({round(left * n_alone):>2}/{n_alone:>2})"
            )
    if args.misses:
        for o in outcomes:
            if not o.right:
                print(f"MISS {o.pair['id']} [{o.resolved.how.value}] {o.pair['question']!r} -> {o.resolved.question!r}")


if __name__ == "__main__":
    main()
