"""Extractive answers: which sentences answer the question, and whether anything does.

The decision to answer rests on how much of the question's information (IDF-weighted stems) a
passage and its best sentences cover. Rare question words that no document contains (a "cake" in
an investment corpus) weigh most, so off-topic questions fall below the threshold even when their
common words match. The threshold is calibrated on data (docs/quality.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from .text import STOPWORDS, split_sentences, stem_word, terms, words

# Calibrated on XQuAD (articles 0-23, en and ru) plus off-topic negatives; see docs/quality.md.
DEFAULT_MIN_COVERAGE = 0.5
STEM_ONLY_CREDIT = 0.75
PHRASE_CREDIT = 0.5
NUMBER_BONUS = 0.15

_NUMERIC_QUESTION_RE = re.compile(
    r"\b(how many|how much|what year|when|what percentage|сколько|когда|в каком году|какой процент)\b",
    re.IGNORECASE,
)
_DIGIT_RE = re.compile(r"\d")


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


def idf_weights(query_terms: Sequence[str], doc_freqs: Mapping[str, int], n_docs: int) -> dict[str, float]:
    """BM25-style IDF; a term no chunk contains gets the highest weight of all."""
    n = max(n_docs, 1)
    return {t: math.log(1 + (n - doc_freqs.get(t, 0) + 0.5) / (doc_freqs.get(t, 0) + 0.5)) for t in set(query_terms)}


@dataclass
class QuestionProfile:
    """What sentence and passage scoring need to know about a question, computed once."""

    text: str
    weights: dict[str, float]
    forms: dict[str, set[str]]  # stem -> the question's own word forms
    bigrams: list[tuple[str, str]]  # adjacent content stems of the question
    numeric: bool

    @classmethod
    def build(cls, question: str, weights: Mapping[str, float]) -> "QuestionProfile":
        stems = [stem_word(w) for w in words(question) if w not in STOPWORDS]
        return cls(
            text=question,
            weights=dict(weights),
            forms=word_forms(question),
            bigrams=list(dict.fromkeys(zip(stems, stems[1:]))),
            numeric=bool(_NUMERIC_QUESTION_RE.search(question)),
        )

    @property
    def total(self) -> float:
        return sum(self.weights.values())


def coverage(weights: Mapping[str, float], text_terms: set[str]) -> float:
    """Share of the question's IDF mass whose stems occur in the text (0..1)."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in weights.items() if t in text_terms) / total


def word_forms(text: str) -> dict[str, set[str]]:
    """stem -> the surface words of the text that produced it."""
    forms: dict[str, set[str]] = {}
    for word in words(text):
        if word in STOPWORDS:
            continue
        forms.setdefault(stem_word(word), set()).add(word)
    return forms


def sentence_coverage(profile: QuestionProfile, sentence: str) -> float:
    """Coverage where a stem-only match ("industry" for "industrial") counts for less than the
    word itself, and question phrases found intact ("industrial parks") count extra."""
    total = profile.total
    if total <= 0:
        return 0.0
    found = word_forms(sentence)
    got = 0.0
    for stem, weight in profile.weights.items():
        if stem in found:
            got += weight if profile.forms.get(stem, set()) & found[stem] else STEM_ONLY_CREDIT * weight
    stems = [stem_word(w) for w in words(sentence) if w not in STOPWORDS]
    pairs = set(zip(stems, stems[1:]))
    phrase = sum(
        min(profile.weights.get(a, 0.0), profile.weights.get(b, 0.0)) for a, b in profile.bigrams if (a, b) in pairs
    )
    return (got + PHRASE_CREDIT * phrase) / total


@dataclass
class ScoredSentence:
    text: str
    passage: int  # index into the ranked passages
    order: int  # position within the passage
    score: float  # what ranks sentences: own coverage plus context
    own: float  # the question IDF mass the sentence itself covers


@dataclass
class PassageAnalysis:
    index: int
    cover: float  # coverage of the whole passage with its title
    sentences: list[ScoredSentence]

    @property
    def best(self) -> ScoredSentence | None:
        return max(self.sentences, key=lambda s: s.score, default=None)

    @property
    def score(self) -> float:
        """How well this passage answers: its coverage plus its best sentence's."""
        best = self.best
        return self.cover + (best.score if best else 0.0)


def analyse_passage(profile: QuestionProfile, index: int, text: str, title: str = "") -> PassageAnalysis:
    """Score every sentence of a passage by the question IDF mass it covers.

    For "how many / when" questions a sentence with a number is preferred, since that is where
    such answers live.
    """
    cover = coverage(profile.weights, set(terms(text + "\n" + title)))
    sentences = []
    for order, sentence in enumerate(split_sentences(text)):
        own = sentence_coverage(profile, sentence)
        score = own + (NUMBER_BONUS if profile.numeric and own > 0 and _DIGIT_RE.search(sentence) else 0.0)
        sentences.append(ScoredSentence(sentence, index, order, score, own))
    return PassageAnalysis(index, cover, sentences)


def select_sentences(passage: PassageAnalysis, *, max_sentences: int = 3, ratio: float = 0.75) -> list[ScoredSentence]:
    """The passage's best sentence, grown by neighbours that cover nearly as much of the question.

    Only adjacent sentences join, so the answer reads as one piece of the document.
    """
    best = passage.best
    if best is None or best.own <= 0:
        return []
    same = {s.order: s for s in passage.sentences}
    chosen = [best]
    while len(chosen) < max_sentences:
        lo, hi = chosen[0].order - 1, chosen[-1].order + 1
        options = [same[o] for o in (lo, hi) if o in same and same[o].own >= ratio * best.own]
        if not options:
            break
        pick = max(options, key=lambda s: s.own)
        chosen = sorted(chosen + [pick], key=lambda s: s.order)
    return chosen


def join_sentences(chosen: Sequence[ScoredSentence]) -> str:
    """Adjacent sentences read as one passage; a gap between them is marked with an ellipsis."""
    parts: list[str] = []
    previous = None
    for s in chosen:
        if previous is not None:
            parts.append(" " if s.order == previous + 1 else " … ")
        parts.append(s.text)
        previous = s.order
    return "".join(parts)
