"""Rare, specific terms of a question (names, numbers and years, units) and whether a text holds them.

A near-topic question ("the electricity tariff in Kaluga industrial parks", "growth in 2019") matches its
documents word for word except for the one term that makes it unanswerable, and neither BM25 nor an
embedding notices that term's absence. Its absence from the answering passage is what the answer decision
(scoring.dense_decision) weighs against answering. Names are matched across Cyrillic and Latin through a
script-free skeleton, so a Russian question finds "Kaluga" in an English document ("Калужской" -> "Калуг").
Pure functions with no word lists of names: what counts as a name is its capital letter. Ported from the
issue-10 research prototype (/tmp/research/proto.py), whose measurements are in docs/quality.md.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

TRANSLIT = str.maketrans(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "д": "d",
        "е": "e",
        "ё": "e",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "й": "i",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ф": "f",
        "х": "h",
        "ц": "ts",
        "ч": "ch",
        "ш": "sh",
        "щ": "sch",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "yu",
        "я": "ya",
    }
)
_WORD_RE = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")
# Units and currencies a figure is asked in, by class, in both languages; a question naming one the
# document never uses asks for a figure the document does not give.
_UNITS = {
    "percent": r"%|процент\w*|percent\w*",
    "rouble": r"₽|руб\w*|rouble\w*|ruble\w*",
    "dollar": r"\$|доллар\w*|dollar\w*|usd",
    "euro": r"€|евро|euro\w*|eur",
    "km": r"\bкм\b|\bkm\b|километр\w*|kilomet\w*",
    "kg": r"\bkg\b|\bкг\b|килограмм\w*|kilogram\w*",
    "tonne": r"тонн\w*|\btons?\b|\btonnes?\b",
    "power": r"\bmw\b|\bмвт\b|\bkw\b|\bквт\b|megawatt\w*|мегаватт\w*",
    "energy": r"\bkwh\b|квт\W?ч|\bmwh\b|мвт\W?ч",
    "area": r"гектар\w*|hectare\w*|\bга\b|acre\w*|акр\w*|square|квадратн\w*",
    "mile": r"\bmiles?\b|\bмил[ьяи]\w*",
    "metre": r"\bметр\w*|\bmeters?\b|\bmetres?\b",
}
_UNIT_RES = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in _UNITS.items()}


def units_in(text: str) -> set[str]:
    """The unit classes a text names (see _UNITS)."""
    return {name for name, pattern in _UNIT_RES.items() if pattern.search(text)}


_PHONETIC = (
    ("dzh", "j"),
    ("sch", "s"),
    ("sh", "s"),
    ("ch", "s"),
    ("zh", "s"),
    ("ts", "s"),
    ("ph", "f"),
    ("th", "t"),
    ("ck", "k"),
    ("c", "k"),
    ("q", "k"),
    ("x", "ks"),
    ("z", "s"),
    ("h", ""),
)
_SILENT_W = re.compile(r"w(?=[^aeiouy]|$)")


def skeleton(word: str) -> str:
    """A script-free key for a name: Cyrillic transliterated, a few spelling variants merged, vowels and
    doubled letters dropped ("Денвер" and "Denver" give "dnvr", "Варшава" and "Warsaw" give "vrsv")."""
    w = unicodedata.normalize("NFKC", word).lower().translate(TRANSLIT)
    for a, b in _PHONETIC:
        w = w.replace(a, b)
    w = _SILENT_W.sub("", w).replace("w", "v")  # "Newton" ~ "Ньютон", "Warsaw" ~ "Варшава"
    w = re.sub(r"[aeiouy]", "", w)
    return re.sub(r"(.)\1+", r"\1", w)


_RU_ADJECTIVE = re.compile(r"(ск|цк)(ий|ый|ая|ой|ое|ие|ые|ого|ому|им|ым|их|ых|ую|ом|ими|ыми)$")


def ru_base(word: str) -> str:
    """A Russian place adjective back to its noun's stem: "Калужской" -> "Калуг" (as in "Калуга")."""
    low = word.lower()
    base = _RU_ADJECTIVE.sub("", low)
    if base != low:
        base = re.sub("ж$", "г", re.sub("ч$", "к", base))
    return base


def _name_core(word: str) -> str:
    """The part of a name's skeleton a match must start with: a Russian case ending adds at most one
    consonant ("Лейном" for "Lane"), so that one is not required."""
    if _CYRILLIC.search(word):
        s = skeleton(ru_base(word))
        return s[:-1] if len(s) >= 4 else s
    return skeleton(word)


class TermKind(str, Enum):
    NAME = "name"
    NUMBER = "number"
    UNIT = "unit"


@dataclass(frozen=True)
class SpecificTerm:
    text: str
    kind: TermKind


def specific_terms(question: str, group_names: bool = False) -> list[SpecificTerm]:
    """The question's rare, specific terms: capitalised words not at its start (names of places,
    companies, people), numbers and years, units. What makes a near-topic question answerable or not.

    group_names: adjacent capitalised words form one name ("Kaluga Region", "Super Bowl"), text joined by
    spaces; across languages only some of its words survive translation, so any of them counts."""
    found: list[SpecificTerm] = []
    tokens = list(_WORD_RE.finditer(question))
    previous_name = -2
    for i, m in enumerate(tokens):
        word = m.group()
        if word[0].isdigit():
            found.append(SpecificTerm(word, TermKind.NUMBER))
        elif word[0].isupper() and i > 0 and len(word) > 1:
            adjacent = previous_name == i - 1 and question[tokens[i - 1].end() : m.start()].strip() == ""
            if group_names and adjacent:
                found[-1] = SpecificTerm(f"{found[-1].text} {word}", TermKind.NAME)
            else:
                found.append(SpecificTerm(word, TermKind.NAME))
            previous_name = i
    found += [SpecificTerm(unit, TermKind.UNIT) for unit in sorted(units_in(question))]
    return found


def _name_keys(text: str) -> set[str]:
    """Every prefix (2-8 letters) of every word's skeleton, so a name is looked up in O(1)."""
    keys: set[str] = set()
    for w in _WORD_RE.findall(text):
        if not w[0].isdigit():
            for s in {skeleton(w), skeleton(ru_base(w))} if _CYRILLIC.search(w) else {skeleton(w)}:
                keys.update(s[:n] for n in range(2, min(len(s), 8) + 1))
    return keys


def term_present(term: SpecificTerm, text: str, keys: set[str] | None = None) -> bool:
    """Whether the text holds the term: numbers exactly, names by their transliterated skeleton's first
    letters (so a Russian question finds "Denver" in an English paragraph), units by their class."""
    if term.kind is TermKind.NUMBER:
        return term.text in set(
            _NUMBER_RE.findall(text.replace("\u00a0", "").replace(" ", "")) + _NUMBER_RE.findall(text)
        )
    if term.kind is TermKind.UNIT:
        return term.text in units_in(text)
    keys = keys if keys is not None else _name_keys(text)
    for word in term.text.split(" "):
        core = _name_core(word)[:8]
        if len(core) < 2 or core in keys:  # too short to tell apart: no evidence either way
            return True
    return False


def missing_specific_share(question: str, window: str, document: str, cross: bool = False) -> tuple[float, float, int]:
    """(share of specific terms absent from the window, share absent from the whole document, count).
    cross: the question is in another language than the document (names are grouped, see specific_terms)."""
    specific = specific_terms(question, group_names=cross)
    if not specific:
        return 0.0, 0.0, 0
    wkeys, dkeys = _name_keys(window), _name_keys(document)
    miss_w = sum(not term_present(t, window, wkeys) for t in specific) / len(specific)
    miss_d = sum(not term_present(t, document, dkeys) for t in specific) / len(specific)
    return miss_w, miss_d, len(specific)


def missing_by_kind(question: str, text: str, cross: bool = False) -> dict[TermKind, float]:
    """Per kind (name, number, unit): 1 if the question has such a term and some of them are absent
    from the text, else 0. Numbers and units mean the same in every language; names are fuzzier."""
    out = {kind: 0.0 for kind in TermKind}
    keys = _name_keys(text)
    for term in specific_terms(question, group_names=cross):
        if not term_present(term, text, keys):
            out[term.kind] = 1.0
    return out
