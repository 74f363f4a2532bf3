"""Extractive answers: which sentences answer the question, and whether anything does.

The decision to answer rests on how much of the question's information (IDF-weighted stems) a
passage and its best sentences cover. Rare question words that no document contains (a "cake" in
an investment corpus) weigh most, so off-topic questions fall below the threshold even when their
common words match. The threshold is calibrated on data (docs/quality.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from .text import STOPWORDS, split_sentences, stem_word, terms, words

# Calibrated by bench/calibrate.py on XQuAD half A (en+ru): the lowest threshold at which at most 5%
# of questions about topics the corpus does not cover get an answer; see docs/quality.md.
DEFAULT_MIN_COVERAGE = 0.44
STEM_ONLY_CREDIT = 0.75
PHRASE_CREDIT = 0.5
WINDOW_COST = 0.05
NEIGHBOUR_CREDIT = 0.5
NUMBER_BONUS = 0.15

# Questions whose answer is a quantity, or a date: the sentence that answers holds a number.
_COUNT_QUESTION_RE = re.compile(
    r"\b(how many|how much|how large|how big|what percentage|what share|what volume|сколько|какой процент|"
    r"какова доля|каков объем|каков объём|какой объем|какой объём)\b",
    re.IGNORECASE,
)
_DATE_QUESTION_RE = re.compile(r"\b(when|what year|which year|когда|в каком году|какого числа)\b", re.IGNORECASE)
_YEAR_RE = re.compile(r"\b(19|20)\d\d\b")
_QUANTITY_RE = re.compile(r"\d")


@dataclass
class Passage:
    doc_id: int
    title: str
    date: str | None
    source: str
    url: str | None
    page: int | None
    text: str
    score: float
    chunk_id: int


@dataclass
class Answer:
    question: str
    language: str
    answered: bool
    answer: str
    passages: list[Passage] = field(default_factory=list)
    confidence: float = 0.0
    mode: str = "lexical"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["passages"] = [asdict(p) for p in self.passages]
        return data


def idf_weights(
    alternatives: Mapping[str, Iterable[str]], doc_freqs: Mapping[str, int], n_docs: int
) -> dict[str, float]:
    """BM25-style IDF per question concept (a stem with its translations), from its most used form.

    A concept no chunk contains gets the highest weight of all.
    """
    n = max(n_docs, 1)
    weights = {}
    for concept, forms in alternatives.items():
        df = max((doc_freqs.get(f, 0) for f in forms), default=0)
        weights[concept] = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return weights


@dataclass
class QuestionProfile:
    """What sentence and passage scoring need to know about a question, computed once."""

    text: str
    weights: dict[str, float]  # concept (the question's stem) -> IDF
    alternatives: dict[str, frozenset[str]]  # concept -> its stem and its translations' stems
    forms: dict[str, set[str]]  # stem -> the question's own word forms
    bigrams: list[tuple[str, str]]  # adjacent content stems of the question
    wants: str | None  # "count" or "date" when the answer is a number of that kind

    @classmethod
    def build(
        cls, question: str, weights: Mapping[str, float], alternatives: Mapping[str, frozenset[str]] | None = None
    ) -> "QuestionProfile":
        own = SentenceTerms.of(question, 0)
        alternatives = dict(alternatives or {})
        return cls(
            text=question,
            weights=dict(weights),
            alternatives={c: alternatives.get(c, frozenset({c})) for c in weights},
            forms=own.forms,
            bigrams=own.bigrams,
            wants="count" if _COUNT_QUESTION_RE.search(question) else "date" if _DATE_QUESTION_RE.search(question) else None,
        )

    @property
    def total(self) -> float:
        return sum(self.weights.values())


def coverage(profile: QuestionProfile, text_terms: set[str]) -> float:
    """Share of the question's IDF mass whose concepts occur in the text (0..1), in either language."""
    total = profile.total
    if total <= 0:
        return 0.0
    return sum(w for c, w in profile.weights.items() if profile.alternatives[c] & text_terms) / total


@dataclass
class SentenceTerms:
    """A sentence as the scorer sees it: stems with the words that produced them, and stem pairs."""

    text: str
    order: int
    forms: dict[str, set[str]]  # stem -> the words that produced it
    bigrams: list[tuple[str, str]]  # adjacent content stems, in order
    pairs: frozenset[tuple[str, str]]  # the same, as a set for lookups
    numbers: frozenset[str]  # "count" if it holds a quantity (not a year), "date" if a year

    @classmethod
    def of(cls, text: str, order: int) -> "SentenceTerms":
        content = [w for w in words(text) if w not in STOPWORDS]
        stems = [stem_word(w) for w in content]
        forms: dict[str, set[str]] = {}
        for word, stem in zip(content, stems):
            forms.setdefault(stem, set()).add(word)
        kinds = set()
        if _YEAR_RE.search(text):
            kinds.add("date")
        if _QUANTITY_RE.search(_YEAR_RE.sub("", text)):
            kinds.add("count")
        bigrams = list(dict.fromkeys(zip(stems, stems[1:])))
        return cls(text, order, forms, bigrams, frozenset(bigrams), frozenset(kinds))


def window_coverage(profile: QuestionProfile, window: Sequence[SentenceTerms]) -> float:
    """Coverage of a few adjacent sentences, where a stem-only match ("industry" for "industrial")
    counts for less than the word itself and question phrases found intact ("industrial parks")
    count extra."""
    total = profile.total
    if total <= 0:
        return 0.0
    got = 0.0
    for concept, weight in profile.weights.items():
        found = set().union(*(s.forms.get(concept, set()) for s in window))
        if found and profile.forms.get(concept, set()) & found:
            got += weight
        elif found or any(f in s.forms for f in profile.alternatives[concept] for s in window):
            got += STEM_ONLY_CREDIT * weight  # another form, or a translation
    pairs = set().union(*(s.pairs for s in window))
    phrase = sum(
        min(profile.weights.get(a, 0.0), profile.weights.get(b, 0.0))
        for a, b in profile.bigrams
        if any((x, y) in pairs for x in profile.alternatives.get(a, (a,)) for y in profile.alternatives.get(b, (b,)))
    )
    return min(1.0, (got + PHRASE_CREDIT * phrase) / total)


@dataclass
class Window:
    """1–3 adjacent sentences of a passage: the candidate answer."""

    sentences: list[SentenceTerms]
    own: float  # the question IDF mass the window covers (0..1)
    score: float  # own, plus a bonus for numbers where one is asked for, minus a length cost

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)


@dataclass
class PassageAnalysis:
    index: int
    cover: float  # coverage of the whole passage with its title
    best: Window | None


def analyse_passage(profile: QuestionProfile, index: int, text: str, title: str = "") -> PassageAnalysis:
    """Find the passage's best answer window.

    A neighbour joins the best sentence only when it adds question information the sentence
    lacks ("It is worth mentioning that in 2014 Kaluga Region…" + "Its industrial production
    grew by 2.9%."), so answers stay short. For "how many / when" questions a window with a
    number is preferred, since that is where such answers live.
    """
    cover = coverage(profile, set(terms(text + "\n" + title)))
    sentences = [SentenceTerms.of(t, i) for i, t in enumerate(split_sentences(text))]
    best: Window | None = None
    core_own = [window_coverage(profile, [s]) for s in sentences]
    for i, core in enumerate(sentences):
        if core_own[i] <= 0:
            continue
        bonus = NUMBER_BONUS if profile.wants in core.numbers else 0.0
        for lo, hi in ((i, i + 1), (i - 1, i + 1), (i, i + 2), (i - 1, i + 2)):
            if lo < 0 or hi > len(sentences):
                continue
            window = sentences[lo:hi]
            own = window_coverage(profile, window) if hi - lo > 1 else core_own[i]
            # Neighbours count half: the answer must stand mainly in its core sentence.
            score = core_own[i] + NEIGHBOUR_CREDIT * (own - core_own[i]) - WINDOW_COST * (hi - lo - 1) + bonus
            if best is None or score > best.score + 1e-9:
                best = Window(window, own, score)
    return PassageAnalysis(index, cover, best)
