"""Grouping unanswered questions into topics (the gaps): pure text work, no database.

Staff read "7 questions about electricity tariffs" instead of 7 separate lines. Grouping is lexical
(IDF-weighted stems, with the Russian↔English glossary so both languages meet in one topic): it needs
no model and is stable. The question log (bot/questions/log.py) feeds it rows and stores its topics.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from index import STOPWORDS, stem_word, translations, words

TOPIC_SIMILARITY = 0.35
# Words that say what kind of question it is, not what it is about.
_QUESTION_NOISE = frozenset(
    "what which who whom how many much when where why is are does do can could would will please tell "
    "know need want like get give there any about information info "
    "что какой какая какие каков какова сколько когда где кто почему зачем можно нужно "
    "скажите подскажите расскажите пожалуйста есть ли информация".split()
)


def content_stems(question: str) -> dict[str, str]:
    """stem -> a surface word, for the words that say what a question is about."""
    out: dict[str, str] = {}
    for word in words(question):
        if word in STOPWORDS or word in _QUESTION_NOISE or word.isdigit() or len(word) < 2:
            continue
        out.setdefault(stem_word(word), word)
    return out


def alternatives(stem: str) -> set[str]:
    """A stem and its glossary translations: the forms under which a word counts as present."""
    return {stem} | translations(stem)


@dataclass
class Topic:
    label: str
    question_ids: list[int]
    example: str

    @property
    def size(self) -> int:
        return len(self.question_ids)


@dataclass
class _Group:
    ids: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    stems: Counter = field(default_factory=Counter)  # stem -> questions holding it
    surface: dict[str, Counter] = field(default_factory=dict)


def _similarity(terms: dict[str, str], group: _Group, idf: dict[str, float]) -> float:
    """Geometric mean of how much of the question the group covers and of the group the question
    covers (IDF-weighted); a word matches its translations, so Russian and English questions meet."""
    if not terms or not group.stems:
        return 0.0
    q_total = sum(idf[t] for t in terms)
    q_hit = sum(idf[t] for t in terms if alternatives(t) & group.stems.keys())
    n = len(group.ids)
    g_weights = {s: group.stems[s] / n * idf.get(s, 1.0) for s in group.stems}
    g_total = sum(g_weights.values())
    g_hit = sum(w for s, w in g_weights.items() if alternatives(s) & terms.keys())
    return math.sqrt((q_hit / q_total) * (g_hit / g_total)) if q_total and g_total else 0.0


def group_questions(
    questions: Sequence[tuple[int, str]],
    threshold: float = TOPIC_SIMILARITY,
    corpus_df: Mapping[str, int] | None = None,
    corpus_size: int = 0,
) -> list[Topic]:
    """Group similar questions; topics come largest first, then by their first question.

    Each question joins the most similar topic if that similarity reaches `threshold`, else starts
    a new topic. Deterministic: the same questions give the same topics.

    With the document collection's term counts (corpus_df), words the documents use everywhere
    ("Kaluga", "region", "industrial park") weigh little and words they lack ("tariff") weigh
    most: a gap is about what the documents do not say.
    """
    parsed = [(qid, text, content_stems(text)) for qid, text in questions]
    df = Counter(stem for _, _, terms in parsed for stem in terms)
    n = max(len(parsed), 1)
    if corpus_df is not None:
        size = max(corpus_size, 1)
        idf = {
            stem: math.log(1 + (size + 1) / (max(corpus_df.get(a, 0) for a in alternatives(stem)) + 0.5)) for stem in df
        }
    else:
        idf = {stem: math.log(1 + n / count) for stem, count in df.items()}

    groups: list[_Group] = []
    for qid, text, terms in parsed:
        if terms:
            scored = [(_similarity(terms, g, idf), i) for i, g in enumerate(groups)]
            best = max(scored, default=(0.0, -1))
            group = groups[best[1]] if best[0] >= threshold else None
        else:  # nothing to go by ("What?"): one bucket for all such questions
            group = next((g for g in groups if not g.stems), None)
        if group is None:
            group = _Group()
            groups.append(group)
        group.ids.append(qid)
        group.texts.append(text)
        for stem, word in terms.items():
            group.stems[stem] += 1
            group.surface.setdefault(stem, Counter())[word] += 1

    topics = []
    for g in groups:
        # A label word is one many of the topic's questions share (in either language).
        support = {s: sum(n for t, n in g.stems.items() if alternatives(s) & alternatives(t)) for s in g.stems}
        ranked = sorted(g.stems, key=lambda s: (-support[s] * idf[s], s))
        chosen: list[str] = []
        for stem in ranked:  # one word per meaning: "tariff", not also "тарифы"
            if len(chosen) < 3 and not any(alternatives(stem) & alternatives(c) for c in chosen):
                chosen.append(stem)
        label = ", ".join(g.surface[s].most_common(1)[0][0] for s in chosen) or "(no content words)"
        example = max(g.texts, key=lambda t: (_similarity(content_stems(t), g, idf), -g.texts.index(t)))
        topics.append(Topic(label, g.ids, example))
    topics.sort(key=lambda t: (-t.size, min(t.question_ids)))
    return topics
