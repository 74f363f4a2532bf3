"""Whether a generated answer says only what its passages say: every sentence cites a given passage, and every
figure, date, unit and proper name in it is found in a passage it cites.

A model that paraphrases is fine; one that adds a number, a year, a scale ("million" for "billion"), a unit or a
place is not, and that is exactly what these pure functions look for. Figures are compared as values ("1 000",
"1,000", "1000" and "one thousand"-style words for small numbers; "1,5 млн" = "1.5 million" = "1 500 000"), with
their unit class (%, roubles, hectares, km...); names across scripts and Russian case endings through the
transliterated skeletons of index.specific, and through the ru<->en glossary ("ОЭЗ" = "SEZ", "Region" =
"область"). The answer must be in the question's language. The [n] markers are then stripped for display, the
cited passages kept.

Known limits: a capitalised word opening a sentence is not taken for a name (it cannot be told from any other
first word), unless it is an acronym or in the other script than the answer's language.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from index.text.glossary import translations
from index.text.specific import TRANSLIT, SpecificTerm, TermKind, ru_base, skeleton, specific_terms, term_present
from index.text.tokens import detect_language, normalize, split_sentences, stem_word, terms

from .config import RejectReason
from .prompt import NOT_COVERED, Passage

# --- citations ---------------------------------------------------------------------------------------------------

_CITATION_GROUP = re.compile(r"\[\s*(\d+(?:\s*(?:,|;|-|–|—)\s*\d+)*)\s*\]")
_MARKER = re.compile(r"\[(\d+)\]")
_TRAILING_MARKERS = re.compile(r"([.!?…])(\s*)((?:\[\d+\]\s*)+)(?=\s|$)")
_LIST_ITEM = re.compile(r"^[ \t]*(?:\d{1,2}[.)]|[-*•·–—])[ \t]+", re.MULTILINE)


def _expand_group(match: re.Match[str]) -> str:
    """ "[1, 2]" -> "[1][2]", "[2-4]" -> "[2][3][4]" (a range of at most 20)."""
    numbers: list[int] = []
    for part in re.split(r"\s*[,;]\s*", match.group(1)):
        ends = [int(n) for n in re.split(r"\s*[-–—]\s*", part)]
        if len(ends) == 2 and 0 <= ends[1] - ends[0] <= 20:
            numbers.extend(range(ends[0], ends[1] + 1))
        else:
            numbers.extend(ends)
    return "".join(f"[{n}]" for n in numbers)


def normalize_citations(text: str) -> str:
    """One marker per passage, before the sentence's full stop: "... 2023. [1, 2]" -> "... 2023 [1][2]."."""
    text = _CITATION_GROUP.sub(_expand_group, text)
    return _TRAILING_MARKERS.sub(lambda m: f" {m.group(3).strip()}{m.group(1)}{m.group(2) or ' '}", text).strip()


def strip_citations(text: str) -> tuple[str, tuple[int, ...]]:
    """(the text without [n] markers, for display; the cited passage numbers, 1-based, in order of first use)."""
    text = _CITATION_GROUP.sub(_expand_group, text)
    cited = tuple(dict.fromkeys(int(n) for n in _MARKER.findall(text)))
    clean = re.sub(r"[ \t]*\[\d+\]", "", text)
    clean = re.sub(r"[ \t]+([.,;:!?…)»])", r"\1", clean)
    clean = re.sub(r"[ \t]{2,}", " ", clean)
    return clean.strip(), cited


def draft_display(partial: str) -> str:
    """What a streamed, unfinished answer may show: no markers, no half-written "[1", nothing while the text
    could still turn out to be the NOT_COVERED token."""
    stripped = partial.strip()
    if not stripped or NOT_COVERED.startswith(stripped) or stripped.startswith(NOT_COVERED):
        return ""
    partial = re.sub(r"\[[\d,;\s–—-]*$", "", partial)
    return strip_citations(partial)[0]


def answer_sentences(answer: str) -> list[str]:
    """The answer's sentences with their markers, list bullets and numbering removed."""
    text = _LIST_ITEM.sub("", normalize_citations(answer))
    sentences: list[str] = []
    for sentence in split_sentences(text):
        if not re.search(r"[^\W\d_]|\d", _MARKER.sub("", sentence)) and sentences:
            sentences[-1] = f"{sentences[-1]} {sentence}"  # markers alone: they belong to the sentence before
        else:
            sentences.append(sentence)
    return sentences


# --- figures -----------------------------------------------------------------------------------------------------

_SPACES = "\u00a0\u202f\u2009 "
_NUMBER = re.compile(r"(?<![\w.,])\d+(?:(?:[.,]|[\u00a0\u202f\u2009 ])\d{3}(?!\d))*(?:[.,]\d+)?(?![\d])")
_DATE_DMY = re.compile(r"(?<![\d.])(\d{1,2})[./](\d{1,2})[./](\d{4}|\d{2})(?![\d.])")
_DATE_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")

_SCALES: tuple[tuple[int, str], ...] = (
    (3, r"тыс\.?|тысяч\w*|thousands?|k\b"),
    (6, r"млн\.?|миллион\w*|millions?|mln\b|mn\b"),
    (9, r"млрд\.?|миллиард\w*|billions?|bn\b|bln\b"),
    (12, r"трлн\.?|триллион\w*|trillions?"),
)
_SCALE_RES = [(exp, re.compile(rf"[{_SPACES}]*(?:{pattern})", re.IGNORECASE)) for exp, pattern in _SCALES]
_SCALE_ANYWHERE = [(exp, re.compile(rf"(?<!\w)(?:{pattern})", re.IGNORECASE)) for exp, pattern in _SCALES]

# Unit classes (the names index.specific uses), matched right after a figure (and its scale word).
_UNITS: tuple[tuple[str, str], ...] = (
    ("percent", r"%|процент\w*|percent\w*|per\s+cent\b|п\.\s?п\.|п\.п\.|pp\b"),
    ("rouble", r"₽|руб\w*\.?|р\.|rub\w*|roubles?|rubles?"),
    ("dollar", r"\$|доллар\w*|dollars?|usd\b"),
    ("euro", r"€|евро\b|euros?\b|eur\b"),
    ("energy", r"квт\W?ч|мвт\W?ч|kwh\b|mwh\b|гвт\W?ч|gwh\b"),
    ("power", r"мвт\b|квт\b|гвт\b|mw\b|kw\b|gw\b|мегаватт\w*|megawatts?"),
    (
        "area",
        r"га\b|гектар\w*|hectares?|ha\b|кв\.?\s?(?:м|км)\b|sq\.?\s?(?:m|km)\b|м²|km²|square\s+\w+|квадратн\w*\s+\w+",
    ),
    ("km", r"км\b|km\b|километр\w*|kilomet\w*"),
    ("metre", r"м\b|m\b|метр\w*|met(?:er|re)s?\b"),
    ("tonne", r"т\b|тонн\w*|t\b|tons?\b|tonnes?\b"),
    ("kg", r"кг\b|kg\b|килограмм\w*|kilograms?"),
    ("people", r"чел\.?|человек\w*|people\b|persons?\b|employees\b|jobs\b|рабочих\s+мест\w*"),
    ("year", r"г\.|гг\.|год\w*|лет\b|years?\b"),
)
_UNIT_AFTER = [(name, re.compile(rf"[{_SPACES}]*(?:{pattern})", re.IGNORECASE)) for name, pattern in _UNITS]
_UNIT_ANYWHERE = [(name, re.compile(rf"(?<!\w)(?:{pattern})", re.IGNORECASE)) for name, pattern in _UNITS]
_CURRENCY_BEFORE = {"$": "dollar", "€": "euro", "₽": "rouble"}
_LOOSE_UNITS = frozenset({"metre", "tonne", "year", "people"})  # one-letter abbreviations: evidence, not demands

_EN_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_RU_FORMS = {
    2: "два две двух двум двумя", 3: "три трех трем тремя", 4: "четыре четырех четырем четырьмя",
    5: "пять пяти пятью", 6: "шесть шести шестью", 7: "семь семи", 8: "восемь восьми восемью восьмью",
    9: "девять девяти девятью", 10: "десять десяти десятью", 11: "одиннадцать одиннадцати",
    12: "двенадцать двенадцати", 13: "тринадцать тринадцати", 14: "четырнадцать четырнадцати",
    15: "пятнадцать пятнадцати", 16: "шестнадцать шестнадцати", 17: "семнадцать семнадцати",
    18: "восемнадцать восемнадцати", 19: "девятнадцать девятнадцати", 20: "двадцать двадцати",
    30: "тридцать тридцати", 40: "сорок сорока", 50: "пятьдесят пятидесяти", 60: "шестьдесят шестидесяти",
    70: "семьдесят семидесяти", 80: "восемьдесят восьмидесяти", 90: "девяносто девяноста", 100: "сто",
}  # fmt: skip
# "one"/"один" are left out on purpose: "one of the parks" is no figure.
_NUMBER_WORDS = {**_EN_WORDS, **{form: value for value, forms in _RU_FORMS.items() for form in forms.split()}}
_WORD_NUMBER = re.compile(
    r"(?<!\w)("
    + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
    + r")(?:[\s-]+("
    + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
    + r"))?(?!\w)",
    re.IGNORECASE,
)

_MONTHS_EN = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december",
)  # fmt: skip
_MONTHS_RU = ("январ", "феврал", "март", "апрел", "ма[йяе]", "июн", "июл", "август", "сентябр", "октябр", "ноябр",
              "декабр")  # fmt: skip
_MONTH_RES = [
    (i + 1, re.compile(rf"(?<!\w)(?:{en.capitalize()}|{ru}\w*)(?!\w)"))
    for i, (en, ru) in enumerate(zip(_MONTHS_EN, _MONTHS_RU, strict=True))
]
_MONTH_NAMES_EN = frozenset(m.capitalize() for m in _MONTHS_EN)


@dataclass(frozen=True)
class Figure:
    """A figure as written: its text, its value (times its scale word), its unit class if one follows."""

    text: str
    value: Decimal  # the whole value: "1,5 млн" -> 1500000
    alternatives: frozenset[Decimal]  # other readings of an ambiguous "1,500" (1.5 or 1500)
    bare: Decimal  # the digits without the scale word: "1,5 млн" -> 1.5
    scale: int  # the scale word's power of ten, 0 when none
    unit: str | None

    def values(self) -> frozenset[Decimal]:
        return self.alternatives | {self.value}


def _readings(raw: str) -> list[Decimal]:
    """The values a written number may mean: "1 000" -> 1000; "1,5" -> 1.5; "1,500" -> 1500 or 1.5."""
    digits = raw.translate({ord(c): None for c in _SPACES})
    seps = [c for c in digits if c in ".,"]
    candidates: list[str]
    if not seps:
        candidates = [digits]
    elif len(set(seps)) == 2:  # "1,234.5" / "1.234,5": the last one is the decimal point
        decimal = digits[max(digits.rfind(","), digits.rfind("."))]
        whole, _, frac = digits.rpartition(decimal)
        candidates = [whole.replace(",", "").replace(".", "") + "." + frac]
    elif len(seps) > 1:  # "1,000,000"
        candidates = [digits.replace(seps[0], "")]
    else:
        whole, _, frac = digits.partition(seps[0])
        candidates = [f"{whole}.{frac}"]
        if len(frac) == 3:  # "1,500": thousands in English, 1.5 in Russian
            candidates.append(whole + frac)
    values = []
    for candidate in candidates:
        try:
            values.append(Decimal(candidate))
        except InvalidOperation:
            continue
    return values


def _after(text: str, end: int) -> tuple[int, str | None, int]:
    """(scale power, unit class, end) of what follows a figure ending at `end`."""
    scale = 0
    for exp, pattern in _SCALE_RES:
        m = pattern.match(text, end)
        if m:
            scale, end = exp, m.end()
            break
    for name, pattern in _UNIT_AFTER:
        m = pattern.match(text, end)
        if m:
            return scale, name, m.end()
    return scale, None, end


def _figure(text: str, raw: str, start: int, end: int, readings: list[Decimal]) -> Figure:
    scale, unit, _ = _after(text, end)
    before = text[max(0, start - 2) : start].strip()
    if unit is None and before and before[-1] in _CURRENCY_BEFORE:
        unit = _CURRENCY_BEFORE[before[-1]]
    factor = Decimal(10) ** scale
    value = readings[0] * factor
    return Figure(raw, value, frozenset(r * factor for r in readings[1:]), readings[0], scale, unit)


def figures(text: str) -> list[Figure]:
    """Every figure of a text: numbers in digits (dates split into day, month, year), small numbers in words."""
    found: list[Figure] = []
    blank = list(text)

    def blot(start: int, end: int) -> None:
        blank[start:end] = " " * (end - start)

    for pattern in (_DATE_ISO, _DATE_DMY):
        for m in pattern.finditer(text):
            for group in range(1, 4):
                value = Decimal(m.group(group))
                if pattern is _DATE_DMY and group == 3 and len(m.group(3)) == 2:
                    value += 2000
                found.append(Figure(m.group(group), value, frozenset(), value, 0, None))
            blot(m.start(), m.end())
    rest = "".join(blank)
    for m in _NUMBER.finditer(rest):
        readings = _readings(m.group())
        if readings:
            found.append(_figure(rest, m.group(), m.start(), m.end(), readings))
    for m in _WORD_NUMBER.finditer(rest):
        first = _NUMBER_WORDS[m.group(1).lower()]
        second = _NUMBER_WORDS[m.group(2).lower()] if m.group(2) else None
        if second is not None and first >= 20 and first % 10 == 0 and second < 10:
            found.append(_figure(rest, m.group(), m.start(), m.end(), [Decimal(first + second)]))
        else:
            found.append(_figure(rest, m.group(1), m.start(), m.start(1) + len(m.group(1)), [Decimal(first)]))
            if second is not None:
                found.append(_figure(rest, m.group(2), m.start(2), m.end(), [Decimal(second)]))
    return found


def months(text: str) -> set[int]:
    """The months a text names, in words (either language) or inside numeric dates."""
    found = {month for month, pattern in _MONTH_RES if pattern.search(text)}
    found |= {int(m.group(2)) for m in _DATE_DMY.finditer(text)}
    found |= {int(m.group(2)) for m in _DATE_ISO.finditer(text)}
    return found


@dataclass(frozen=True)
class Evidence:
    """What a set of passages holds, computed once per sentence's cited passages."""

    text: str
    figures: tuple[Figure, ...]
    months: frozenset[int]
    scales: frozenset[int]
    units: frozenset[str]
    stems: frozenset[str]

    @classmethod
    def of(cls, text: str) -> Evidence:
        return cls(
            text=text,
            figures=tuple(figures(text)),
            months=frozenset(months(text)),
            scales=frozenset(exp for exp, pattern in _SCALE_ANYWHERE if pattern.search(text)),
            units=frozenset(name for name, pattern in _UNIT_ANYWHERE if pattern.search(text)),
            stems=frozenset(terms(text, keep_stopwords=True)),
        )


def figure_supported(figure: Figure, evidence: Evidence) -> bool:
    """Whether the evidence gives this figure: the same value, or the same digits with a scale word the evidence
    uses elsewhere (a table's "mln rub" heading); and the same unit class, or no unit next to it and the unit
    named elsewhere in the evidence."""
    for other in evidence.figures:
        same = bool(figure.values() & other.values())
        if not same and figure.bare == other.bare:
            same = figure.scale == 0 or (other.scale == 0 and figure.scale in evidence.scales)
        if not same:
            continue
        if figure.unit is None or figure.unit == other.unit:
            return True
        loose = other.unit is None or other.unit in _LOOSE_UNITS
        if loose and (figure.unit in evidence.units or figure.unit in _LOOSE_UNITS):
            return True
    return False


# --- names -------------------------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+")
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)


def names(sentence: str, language: str) -> list[str]:
    """The proper names of a sentence: capitalised words after its first word (index.specific), and a first word
    that is an acronym or written in the other script than the answer's language. Month names are dates."""
    found = [t.text for t in specific_terms(sentence) if t.kind is TermKind.NAME]
    first = _WORD.search(sentence)
    if first:
        word = first.group()
        other_script = bool(_CYRILLIC.search(word)) != (language == "ru")
        if len(word) > 1 and word[0].isupper() and (word.isupper() or other_script):
            found.insert(0, word)
    return [w for w in found if w not in _MONTH_NAMES_EN]


def _latin(word: str) -> str:
    return normalize(word).translate(TRANSLIT)


def _short_name_present(name: str, text: str) -> bool:
    """A name whose skeleton has two letters or fewer ("Тула" -> "tl") also matches "total" and "title": for
    those the transliteration's first two letters must agree too ("tu" is not "to")."""
    base = ru_base(name) if _CYRILLIC.search(name) else name
    core = skeleton(base)
    if len(core) > 2:
        return True
    head = _latin(base)[:2]
    return any(skeleton(w).startswith(core) and _latin(w)[:2] == head for w in _WORD.findall(text))


def name_supported(name: str, evidence: Evidence) -> bool:
    """The name's transliterated skeleton starts a word of the evidence ("Калужской" ~ "Kaluga"), or the
    glossary translates it to a word there ("ОЭЗ" ~ "SEZ", "Region" ~ "области")."""
    if term_present(SpecificTerm(name, TermKind.NAME), evidence.text) and _short_name_present(name, evidence.text):
        return True
    stem = stem_word(normalize(name))
    return stem in evidence.stems or bool(translations(stem) & evidence.stems)


# --- the check ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentenceCheck:
    text: str  # as the model wrote it, markers included
    citations: tuple[int, ...]  # 1-based, as written
    reason: RejectReason | None
    detail: str

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    reason: RejectReason | None  # the first failing sentence's, or the whole answer's
    detail: str
    sentences: tuple[SentenceCheck, ...]
    display: str  # the answer without [n] markers
    cited: tuple[int, ...]  # 1-based passage numbers, in order of first citation


_NOT_COVERED_RE = re.compile(rf"(?<![A-Za-z_]){NOT_COVERED}(?![A-Za-z_])|^NOT COVERED\W*$")


def _reject(reason: RejectReason, detail: str, display: str = "", cited: tuple[int, ...] = ()) -> CheckResult:
    return CheckResult(False, reason, detail, (), display, cited)


def language_ok(text: str, language: str) -> bool:
    """A Russian question gets Cyrillic text, an English one Latin text (names in the other script allowed)."""
    return not re.search(r"[^\W\d_]", text) or detect_language(text) == language


def check_sentence(sentence: str, passages: Sequence[Passage], language: str, cache: dict) -> SentenceCheck:
    citations = tuple(int(n) for n in _MARKER.findall(sentence))
    body = _MARKER.sub(" ", sentence)
    bad = [n for n in citations if not 1 <= n <= len(passages)]
    if bad:
        return SentenceCheck(sentence, citations, RejectReason.BAD_CITATION, f"cites [{bad[0]}] of {len(passages)}")
    sentence_figures = figures(body)
    sentence_names = names(body, language)
    sentence_months = months(body)
    if not citations:
        if body.rstrip().endswith(":") and not (sentence_figures or sentence_names or sentence_months):
            return SentenceCheck(sentence, citations, None, "a lead-in to a list")
        return SentenceCheck(sentence, citations, RejectReason.NO_CITATION, "no [n]")
    key = tuple(sorted(set(citations)))
    if key not in cache:
        cache[key] = Evidence.of("\n".join(passages[n - 1].evidence() for n in key))
    evidence: Evidence = cache[key]
    for figure in sentence_figures:
        if not figure_supported(figure, evidence):
            unit = f" {figure.unit}" if figure.unit else ""
            return SentenceCheck(
                sentence, citations, RejectReason.UNSUPPORTED_NUMBER, f"{figure.text}{unit} not in {list(key)}"
            )
    missing_months = sentence_months - evidence.months
    if missing_months:
        detail = f"month {sorted(missing_months)[0]} not in {list(key)}"
        return SentenceCheck(sentence, citations, RejectReason.UNSUPPORTED_NUMBER, detail)
    for name in sentence_names:
        if not name_supported(name, evidence):
            return SentenceCheck(sentence, citations, RejectReason.UNSUPPORTED_NAME, f"{name} not in {list(key)}")
    return SentenceCheck(sentence, citations, None, "")


def check_answer(answer: str, passages: Sequence[Passage], language: str) -> CheckResult:
    """Judge a model's answer against the passages it was given (numbered from 1) and the asked language."""
    text = answer.strip()
    if not text:
        return _reject(RejectReason.EMPTY, "empty reply")
    if _NOT_COVERED_RE.search(text):
        return _reject(RejectReason.NOT_COVERED, "the model found no answer in the passages")
    display, cited = strip_citations(text)
    if not language_ok(display, language):
        return _reject(RejectReason.WRONG_LANGUAGE, f"not in {language}", display, cited)
    cache: dict = {}
    checks = tuple(check_sentence(s, passages, language, cache) for s in answer_sentences(text))
    failed = next((c for c in checks if not c.ok), None)
    if failed is not None:
        return CheckResult(False, failed.reason, f"{failed.detail}: {failed.text}", checks, display, cited)
    if not checks:
        return _reject(RejectReason.EMPTY, "no sentences")
    return CheckResult(True, None, "", checks, display, cited)
