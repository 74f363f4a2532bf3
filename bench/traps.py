"""Near-topic traps made from XQuAD, reproducibly: a question whose name or number is swapped for one its
article never mentions. The topic stays covered, the fact asked is not, so the right behaviour is to decline.

Ported from the issue-10 research (make_traps.py, seed 10): a name comes from another article's questions
and must not occur in this article (compared by the script-free skeleton of index/specific.py, so a
Cyrillic "Денвер" counts as "Denver"); a number becomes a nearby value the article lacks (years move by
7, -9, 13, -17 or 23). The traps are mechanical and a few may still be answerable: a stress test, harder
than off-topic questions, since the rest of the question still matches its paragraph word for word.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from index.evaluation import Paragraph, Question
from index.text.specific import _WORD_RE, _name_core, _name_keys

SEED = 10


@dataclass(frozen=True)
class Trap:
    question: Question  # id "<original id>#trap", paragraph: the original's
    kind: str  # name | number
    original: str


def article(key: str) -> str:
    return key.split("/")[0]


def make_traps(paragraphs: Sequence[Paragraph], questions: Sequence[Question], seed: int = SEED) -> list[Trap]:
    """At most one trap per question, deterministic for a given seed and data."""
    rng = random.Random(seed)
    text_of: dict[str, str] = defaultdict(str)
    for p in paragraphs:
        text_of[article(p.key)] += "\n" + p.text
    keys = {a: _name_keys(t) for a, t in text_of.items()}
    numbers = {a: set(re.findall(r"\d+", t)) for a, t in text_of.items()}
    names_by_article: dict[str, set[str]] = defaultdict(set)
    for q in questions:
        for i, m in enumerate(_WORD_RE.finditer(q.text)):
            w = m.group()
            if i > 0 and w[0].isupper() and len(w) > 3 and not w.isupper():
                names_by_article[article(q.paragraph)].add(w)
    traps = []
    for q in questions:
        a = article(q.paragraph)
        tokens = list(_WORD_RE.finditer(q.text))
        names = [m for i, m in enumerate(tokens) if i > 0 and m.group()[0].isupper() and len(m.group()) > 3]
        nums = [m for m in tokens if m.group().isdigit()]
        options = []
        if nums:
            m = rng.choice(nums)
            v = int(m.group())
            steps = [7, -9, 13, -17, 23] if 1000 <= v <= 2100 else [v + 3, 2 * v + 1, 3 * v + 7]
            for step in steps:
                new = str(v + step) if 1000 <= v <= 2100 else str(step)
                if new not in numbers[a]:
                    options.append(("number", m, new))
                    break
        if names:
            m = rng.choice(names)
            pool = sorted(
                w
                for b, ws in names_by_article.items()
                if b != a
                for w in ws
                if _name_core(w)[:8] not in keys[a] and len(_name_core(w)) >= 3
            )
            if pool:
                options.append(("name", m, rng.choice(pool)))
        if not options:
            continue
        kind, m, new = rng.choice(options)
        text = q.text[: m.start()] + new + q.text[m.end() :]
        traps.append(Trap(Question(q.id + "#trap", text, q.answers, q.paragraph), kind, q.text))
    return traps
