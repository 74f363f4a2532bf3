"""Extractive answers: which sentences of a passage answer the question, and the result types.

How much of the question's information (IDF-weighted stems) a passage and its best sentences cover
is what the answer decision (scoring.py) rests on. Rare question words that no document contains
(a "cake" in an investment corpus) weigh most, so off-topic questions fall below the threshold even
when their common words match. With a model, the answer window is chosen by meaning as well: the
sentences' stored vectors (one per passage_sentences() sentence, stored at ingest by vector_sync.py)
are blended with the lexical window scores. This module holds the mechanics (profiles, sentences,
windows); the credits and blend weights are `scoring.Weights`, so tuning happens in one file.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

import numpy as np

from index.answering import scoring
from index.answering.scoring import DEFAULT_WEIGHTS, Weights
from index.text.tokens import STOPWORDS, split_marked, split_sentences, stem_word, terms, words

# Questions whose answer is a quantity, or a date: the sentence that answers holds a number.
_COUNT_QUESTION_RE = re.compile(
    r"\b(how many|how much|how large|how big|what percentage|what share|what volume|сколько|какой процент|"
    r"какова доля|каков объем|каков объём|какой объем|какой объём)\b",
    re.IGNORECASE,
)
_DATE_QUESTION_RE = re.compile(r"\b(when|what year|which year|когда|в каком году|какого числа)\b", re.IGNORECASE)
_YEAR_RE = re.compile(r"\b(19|20)\d\d\b")
_QUANTITY_RE = re.compile(r"\d")
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|января|февраля|марта|апреля|мая|июня|июля|августа|сентября|"
    r"октября|ноября|декабря)"
)
# A day of a month ("15 марта", "April 8", "1 June") or a clock time ("11:00") is a date, not a quantity: "How many
# parks?" is not answered by "opened on 15 March".
_DAY_OR_TIME_RE = re.compile(rf"\b\d{{1,2}}\s+{_MONTHS}\b|\b{_MONTHS}\s+\d{{1,2}}\b|\b\d{{1,2}}:\d\d\b", re.IGNORECASE)
# What can state a quantity or a time without digits: number words, months, centuries, decades.
_NUMBER_WORD_RE = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundreds?|"
    r"thousands?|millions?|billions?|dozens?|half|twice|single|один|одна|одно|два|две|три|четыре|пять|шесть|"
    r"семь|восемь|девять|десять|двадцать|сто|сотн\w*|тысяч\w*|миллион\w*|миллиард\w*|десят\w*|половин\w*|"
    r"дважды|january|february|march|april|may|june|july|august|september|october|november|december|"
    r"centur\w*|decades?|spring|summer|autumn|winter|январ\w*|феврал\w*|март\w*|апрел\w*|ма[йяе]|июн\w*|"
    r"июл\w*|август\w*|сентябр\w*|октябр\w*|ноябр\w*|декабр\w*|век\w*|весн\w*|лет\w*|осен\w*|зим\w*)\b",
    re.IGNORECASE,
)


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
    concepts_of: dict[str, list[str]] = field(default_factory=dict)  # any stem form -> the concepts it stands for
    phrase_of: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)  # stem pair -> (bigram, weight)
    total: float = field(default=0.0, init=False)  # the question's IDF mass

    def __post_init__(self) -> None:
        for concept, forms in self.alternatives.items():
            for form in forms:
                self.concepts_of.setdefault(form, []).append(concept)
        for number, (a, b) in enumerate(self.bigrams):
            weight = min(self.weights.get(a, 0.0), self.weights.get(b, 0.0))
            for x in self.alternatives.get(a, (a,)):
                for y in self.alternatives.get(b, (b,)):
                    self.phrase_of.setdefault((x, y), (number, weight))
        self.total = sum(self.weights.values())

    @classmethod
    def build(
        cls, question: str, weights: Mapping[str, float], alternatives: Mapping[str, frozenset[str]] | None = None
    ) -> QuestionProfile:
        content = [w for w in words(question) if w not in STOPWORDS]
        stems = [stem_word(w) for w in content]
        forms: dict[str, set[str]] = {}
        for word, stem in zip(content, stems, strict=False):
            forms.setdefault(stem, set()).add(word)
        alternatives = dict(alternatives or {})
        return cls(
            text=question,
            weights=dict(weights),
            alternatives={c: alternatives.get(c, frozenset({c})) for c in weights},
            forms=forms,
            bigrams=list(dict.fromkeys(itertools.pairwise(stems))),
            wants="count"
            if _COUNT_QUESTION_RE.search(question)
            else "date"
            if _DATE_QUESTION_RE.search(question)
            else None,
        )


def coverage(profile: QuestionProfile, text_terms: AbstractSet[str]) -> float:
    """Share of the question's IDF mass whose concepts occur in the text (0..1), in either language."""
    total = profile.total
    if total <= 0:
        return 0.0
    return sum(w for c, w in profile.weights.items() if profile.alternatives[c] & text_terms) / total


@dataclass(frozen=True)
class SentenceTerms:
    """A sentence as the scorer sees it: its content words, their stems, and adjacent stem pairs.

    Built for every sentence of every candidate passage, so it keeps only sets (cheap to build,
    cheap to intersect)."""

    text: str
    order: int
    words: frozenset[str]
    stems: frozenset[str]
    pairs: frozenset[tuple[str, str]]
    numbers: frozenset[str]  # "count" if it holds a quantity (not a year), "date" if a year
    heading: bool = False  # a title or section heading: context for the sentences under it, never in a window

    @classmethod
    def of(cls, text: str, order: int, heading: bool = False) -> SentenceTerms:
        content = [w for w in words(text) if w not in STOPWORDS]
        stems = [stem_word(w) for w in content]
        kinds: frozenset[str] = frozenset()
        if _QUANTITY_RE.search(text):
            found = set()
            if _YEAR_RE.search(text) or _DAY_OR_TIME_RE.search(text):
                found.add("date")
            if _QUANTITY_RE.search(_YEAR_RE.sub("", _DAY_OR_TIME_RE.sub("", text))):
                found.add("count")
            kinds = frozenset(found)
        pairs = frozenset(itertools.pairwise(stems))
        return cls(text, order, frozenset(content), frozenset(stems), pairs, kinds, heading)


def sentence_hits(
    profile: QuestionProfile, sentence: SentenceTerms, weights: Weights = DEFAULT_WEIGHTS
) -> tuple[dict[str, float], dict[int, float]]:
    """Which question concepts a sentence holds (1 for the question's own word, stem_only_credit for
    another form or a translation: "industry" for "industrial"), and which question phrases."""
    hits: dict[str, float] = {}
    for stem in sentence.stems:
        for concept in profile.concepts_of.get(stem, ()):
            # The question's own word (any of its forms stems to the concept itself) earns full credit.
            exact = stem == concept and not profile.forms.get(concept, set()).isdisjoint(sentence.words)
            credit = 1.0 if exact else weights.stem_only_credit
            if credit > hits.get(concept, 0.0):
                hits[concept] = credit
    phrases = dict(profile.phrase_of[pair] for pair in sentence.pairs if pair in profile.phrase_of)
    return hits, phrases


def window_coverage(
    profile: QuestionProfile,
    hits: Sequence[tuple[dict[str, float], dict[int, float]]],
    weights: Weights = DEFAULT_WEIGHTS,
) -> float:
    """Coverage of a few adjacent sentences (their sentence_hits): the question's IDF mass they hold,
    plus a bonus for question phrases found intact ("industrial parks")."""
    if profile.total <= 0:
        return 0.0
    if len(hits) == 1:
        concepts, phrases = hits[0]
    else:
        concepts, phrases = {}, {}
        for c, p in hits:
            for k, v in c.items():
                if v > concepts.get(k, 0.0):
                    concepts[k] = v
            phrases.update(p)
    got = sum(profile.weights[c] * credit for c, credit in concepts.items())
    phrase = sum(phrases.values())  # keyed by the question's bigram: each counts once
    return min(1.0, (got + weights.phrase_credit * phrase) / profile.total)


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


def passage_sentences(text: str) -> list[str]:
    """The sentences of a chunk as windows are made of them; the stored sentence vectors follow this list,
    position for position, so both must come from here."""
    return split_sentences(text) or [text]


def passage_headings(text: str) -> list[bool]:
    """Which of passage_sentences(text) are headings (split_marked): position for position with that list."""
    return [s.heading for s in split_marked(text)] or [False]


@dataclass(frozen=True)
class PassageTerms:
    """What scoring needs from a passage, independent of the question, so it can be cached."""

    sentences: tuple[SentenceTerms, ...]
    stems: frozenset[str]  # every stem of the passage and its title

    @classmethod
    def of(cls, text: str, title: str = "") -> PassageTerms:
        headings = passage_headings(text)
        sentences = tuple(
            SentenceTerms.of(t, i, heading)
            for i, (t, heading) in enumerate(zip(passage_sentences(text), headings, strict=True))
        )
        stems = set(terms(title))
        for s in sentences:
            stems.update(s.stems)
        return cls(sentences, frozenset(stems))


def analyse_passage(
    profile: QuestionProfile, index: int, passage: PassageTerms, weights: Weights = DEFAULT_WEIGHTS
) -> PassageAnalysis:
    """Find the passage's best answer window.

    A neighbour joins the best sentence only when it adds question information the sentence
    lacks ("It is worth mentioning that in 2014 Kaluga Region…" + "Its industrial production
    grew by 2.9%."), so answers stay short. For "how many / when" questions a window with a
    number is preferred, since that is where such answers live.
    """
    cover = coverage(profile, passage.stems)
    sentences = passage.sentences
    best: Window | None = None
    if cover <= 0:
        return PassageAnalysis(index, cover, None)
    hits = [sentence_hits(profile, s, weights) for s in sentences]
    core_own = [window_coverage(profile, [h], weights) for h in hits]
    for i, core in enumerate(sentences):
        if core_own[i] <= 0 or core.heading:
            continue
        bonus = weights.number_bonus if profile.wants in core.numbers else 0.0
        for lo, hi in ((i, i + 1), (i - 1, i + 1), (i, i + 2), (i - 1, i + 2)):
            if lo < 0 or hi > len(sentences) or any(s.heading for s in sentences[lo:hi]):
                continue
            window = list(sentences[lo:hi])
            own = window_coverage(profile, hits[lo:hi], weights) if hi - lo > 1 else core_own[i]
            # Neighbours count half: the answer must stand mainly in its core sentence.
            score = (
                core_own[i]
                + weights.neighbour_credit * (own - core_own[i])
                - weights.window_cost * (hi - lo - 1)
                + bonus
            )
            if best is None or score > best.score + 1e-9:
                best = Window(window, own, score)
    return PassageAnalysis(index, cover, best)


def short_windows(
    profile: QuestionProfile, passage: PassageTerms, weights: Weights = DEFAULT_WEIGHTS
) -> tuple[list[tuple[int, int]], list[float], list[float]]:
    """Every 1- and 2-sentence window of a passage (singles, then adjacent pairs) with its lexical score as
    analyse_passage gives it (the best over the core sentences that can form it; NaN when none holds a
    question word, or when the window holds a heading) and its own coverage."""
    sentences = passage.sentences
    n = len(sentences)
    spans = [(i, i + 1) for i in range(n)] + [(i, i + 2) for i in range(n - 1)]
    hits = [sentence_hits(profile, s, weights) for s in sentences]
    core_own = [window_coverage(profile, [h], weights) for h in hits]
    scores, owns = [], []
    for lo, hi in spans:
        own = window_coverage(profile, hits[lo:hi], weights) if hi - lo > 1 else core_own[lo]
        best = math.nan
        for i in range(lo, hi):
            if core_own[i] <= 0 or any(s.heading for s in sentences[lo:hi]):
                continue
            bonus = weights.number_bonus if profile.wants in sentences[i].numbers else 0.0
            extra = weights.neighbour_credit * (own - core_own[i]) - weights.window_cost * (hi - lo - 1)
            score = core_own[i] + extra + bonus
            best = score if math.isnan(best) else max(best, score)
        scores.append(best)
        owns.append(own)
    return spans, scores, owns


def window_by_meaning(
    profile: QuestionProfile,
    passage: PassageTerms,
    sentence_vectors: np.ndarray,
    query_vector: np.ndarray,
    weights: Weights = DEFAULT_WEIGHTS,
) -> Window | None:
    """The answer window chosen by meaning and words together (scoring.window_blend); None when the stored
    sentence vectors do not match the passage's sentences (not embedded yet, or another split)."""
    sentences = passage.sentences
    if not sentences or len(sentence_vectors) != len(sentences):
        return None
    query = np.asarray(query_vector, dtype=np.float32)
    sentence_cos = sentence_vectors @ query
    if len(sentences) > 1:
        pairs = sentence_vectors[:-1] + sentence_vectors[1:]
        pair_cos = (pairs / np.maximum(np.linalg.norm(pairs, axis=1, keepdims=True), 1e-12)) @ query
    else:
        pair_cos = np.zeros(0, dtype=np.float32)
    spans, lexical, owns = short_windows(profile, passage, weights)
    blended = scoring.window_blend(sentence_cos, pair_cos, np.array(lexical, dtype=np.float64), weights)
    if profile.wants:  # "how many / when": the answer holds a number of that kind, where the passage has one
        holds = np.array([any(profile.wants in s.numbers for s in sentences[lo:hi]) for lo, hi in spans])
        if holds.any():
            blended = np.where(holds, blended, -np.inf)
    headed = np.array([any(s.heading for s in sentences[lo:hi]) for lo, hi in spans])
    blended = np.where(headed, -np.inf, blended)  # a heading is context, never part of the answer
    if not np.isfinite(blended).any():
        return None  # nothing but headings: no answer here by meaning
    best = int(np.argmax(blended))  # ties: the earlier window, so a single sentence beats the pair it starts
    lo, hi = spans[best]
    return Window(list(sentences[lo:hi]), owns[best], float(blended[best]))


def states_what_is_asked(profile: QuestionProfile, text: str) -> bool:
    """Whether an answer text can answer the kind of question asked: a "how many / when" question is
    answered by a number, a number word, a month or a century. A window without any of them cannot hold
    the answer, however well it matches the question's words (it is the near-topic trap: "How many people
    work at the L'Oreal plant?" over a sentence that names the plant)."""
    if profile.wants is None:
        return True
    return bool(_QUANTITY_RE.search(text) or _NUMBER_WORD_RE.search(text))
