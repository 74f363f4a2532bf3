"""Measures of generated answers for an evaluation run (investbot eval --llm): the answer's language and the
validity of its citations, per answer, and their shares over a run. Pure functions over check.py's verdict."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .check import answer_sentences, check_answer, language_ok, strip_citations
from .config import RejectReason
from .prompt import Passage

_CITATION_FAILURES = frozenset({RejectReason.NO_CITATION, RejectReason.BAD_CITATION})
_GROUNDING_FAILURES = frozenset({RejectReason.UNSUPPORTED_NUMBER, RejectReason.UNSUPPORTED_NAME})


@dataclass(frozen=True)
class AnswerMeasure:
    language_correct: bool  # written in the asked language
    citations_valid: bool  # every sentence cites, and only passages that were given
    grounded: bool  # every figure and name found in a cited passage (False when citations are invalid)
    accepted: bool  # the whole check passed
    not_covered: bool
    sentences: int
    cited: tuple[int, ...]  # 1-based
    reason: RejectReason | None


def measure_answer(question: str, language: str, passages: Sequence[Passage], answer: str) -> AnswerMeasure:
    """One answer's measures. `question` is not judged; it is taken for the record's symmetry with the run."""
    del question
    result = check_answer(answer, passages, language)
    display, cited = strip_citations(answer)
    sentence_reasons = {s.reason for s in result.sentences if s.reason is not None}
    citations_valid = bool(result.sentences) and not (sentence_reasons & _CITATION_FAILURES)
    grounded = citations_valid and not (sentence_reasons & _GROUNDING_FAILURES)
    return AnswerMeasure(
        language_correct=bool(display) and language_ok(display, language),
        citations_valid=citations_valid,
        grounded=grounded,
        accepted=result.ok,
        not_covered=result.reason is RejectReason.NOT_COVERED,
        sentences=len(answer_sentences(answer)) if answer.strip() else 0,
        cited=cited,
        reason=result.reason,
    )


@dataclass(frozen=True)
class RunSummary:
    answers: int
    language_correct: float  # shares over the answers that are not NOT_COVERED
    citations_valid: float
    grounded: float
    accepted: float  # share of all answers
    not_covered: float
    reasons: dict[str, int]


def summarize(measures: Iterable[AnswerMeasure]) -> RunSummary:
    items = list(measures)
    answered = [m for m in items if not m.not_covered]

    def share(values: list[bool]) -> float:
        return sum(values) / len(values) if values else 0.0

    reasons: dict[str, int] = {}
    for m in items:
        key = m.reason.value if m.reason else "accepted"
        reasons[key] = reasons.get(key, 0) + 1
    return RunSummary(
        answers=len(items),
        language_correct=share([m.language_correct for m in answered]),
        citations_valid=share([m.citations_valid for m in answered]),
        grounded=share([m.grounded for m in answered]),
        accepted=share([m.accepted for m in items]),
        not_covered=share([m.not_covered for m in items]),
        reasons=reasons,
    )
