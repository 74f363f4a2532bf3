"""Pure text functions shared by indexing and answering: tokens, stems, languages, sentences.

Everything here is deterministic and free of I/O so that the index, the query side and the
evaluation reference (bm25s) see exactly the same tokens.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import Stemmer

_TOKEN_RE = re.compile(r"[^\W_]+")
CYRILLIC_RE = re.compile(r"[а-яё]", re.IGNORECASE)
LATIN_RE = re.compile(r"[a-z]", re.IGNORECASE)

# Short, deliberately conservative lists: words that carry no topic in questions or passages.
# Question words are stopwords too ("how", "сколько"), which is why the lists are our own.
STOPWORDS_EN = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them themselves
    then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves s t don many much
    whose did does done""".split()
)
STOPWORDS_RU = frozenset(
    """а без более бы был была были было быть в вам вас весь во вот все всего всех вы где да даже
    для до его ее её если есть еще ещё же за здесь и из или им их к как какая какие каким какой
    каких ко когда кто ли либо между меня мне мной мы на над не него нее неё нет ни них но ну о об
    однако он она они оно от очень по под при про с со так также такой там те тем то того тоже той
    только том ты у уже хотя чего чей чем что чтобы чье чьё эта эти это этого этой этом этот я
    сколько каков какова каковы почему зачем откуда куда сам сама само сами себя себе свой своя
    свои своё свое который которая которое которые которого которой котором которых""".split()
)
STOPWORDS = STOPWORDS_EN | STOPWORDS_RU


@functools.lru_cache(maxsize=2)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def normalize(text: str) -> str:
    """NFKC, lower case, ё→е: the forms a reader considers the same word become one."""
    return unicodedata.normalize("NFKC", text).lower().replace("ё", "е")


def words(text: str) -> list[str]:
    """Lower-cased word tokens; hyphenated and apostrophe words are split into their parts."""
    return _TOKEN_RE.findall(normalize(text))


@functools.lru_cache(maxsize=200_000)
def stem_word(word: str) -> str:
    """Russian stemmer for Cyrillic words, English otherwise, so mixed texts stem correctly."""
    if CYRILLIC_RE.search(word):
        return _stemmer("russian").stemWord(word)
    if LATIN_RE.search(word):
        return _stemmer("english").stemWord(word)
    return word


def terms(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """The stems that index and query share: words, minus stopwords, stemmed by their script."""
    toks = words(text)
    if not keep_stopwords:
        toks = [t for t in toks if t not in STOPWORDS]
    return [stem_word(t) for t in toks]


def detect_language(text: str) -> str:
    """'ru' when Cyrillic letters outnumber Latin ones, else 'en' (the only two we serve)."""
    sample = text[:5000]  # plenty to tell two scripts apart
    cyr = len(CYRILLIC_RE.findall(sample))
    lat = len(LATIN_RE.findall(sample))
    return "ru" if cyr > lat else "en"


# --- sentences ---------------------------------------------------------------------------------

# Words after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof st jr sr inc ltd co corp vs etc e.g i.e approx no nos fig dept est gen gov
    sen rep mt ft jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n
    г гг т.е т.д т.п т.к ул д им см стр руб млн млрд тыс проф акад рис табл обл р-н пос
    др пр ст""".split()
)
_SENT_END_RE = re.compile(
    r"""(?<=[.!?…])        # a sentence-ending mark
        (["'”»)\]]*)      # optional closing quotes or brackets (they stay with the sentence)
        \s+                # whitespace
        (?=["'“«(\[]?[A-ZА-ЯЁ0-9])  # next sentence starts with a capital or digit
    """,
    re.VERBOSE,
)


_INITIALS_RE = re.compile(r"(?:[^\W\d_]\.)*[^\W\d_]")


def _ends_with_abbreviation(fragment: str) -> bool:
    match = re.search(r"(\S+)\.$", fragment)
    if not match:
        return False
    word = match.group(1).lower().lstrip("(\"'«“")
    if word in _ABBREVIATIONS:
        return True
    # Initials ("A. Laptev", "Н. Любимов", "А.А. Артамонов") and single letters.
    return bool(_INITIALS_RE.fullmatch(word))


def _segments(block: str) -> list[str]:
    """Join hard-wrapped lines, but keep a line break that ends a heading, a label or a sentence."""
    segments: list[str] = []
    for line in block.split("\n"):
        line = " ".join(line.split())
        if not line:
            continue
        if segments:
            prev = segments[-1]
            ends_sentence = prev[-1] in '.!?…:;"»”'
            short_label = len(prev) < 60 and line[0].isupper()
            bullet = line[0] in "•-*·–—"
            if not (ends_sentence or short_label or bullet):
                segments[-1] = f"{prev} {line}"
                continue
        segments.append(line)
    return segments


# A heading: a line of its own, at most this many words, no digits, no final punctuation (see is_heading_line).
HEADING_MAX_WORDS = 12
HEADING_MAX_CHARS = 100
_HEADING_END_RE = re.compile(r"[.!?…;:,]$")
_CLOSERS = "\"'”»)]"


@dataclass(frozen=True)
class Sentence:
    """A sentence with what its layout says: whether a line break follows it, and whether it is a heading."""

    text: str
    line_end: bool  # the last sentence of its line: a chunk keeps the line break after it
    heading: bool  # a title or section heading: context for the sentences under it, never an answer


def is_heading_line(line: str, alone: bool = True) -> bool:
    """A short line without digits or final punctuation, and not a list item: what a title or a section heading
    looks like ("Индустриальный парк «Сосновый Бор»", "## Tax benefits", "Zarechny Industrial Park: site data
    sheet"). A line that is not a paragraph of its own (alone=False) must not read as "key: value" ("Управляющая
    компания: АО …"): at least three words before a colon. Whether it heads something depends on what follows it
    (see split_marked)."""
    body = line.strip().rstrip(_CLOSERS)
    if not body or len(line) > HEADING_MAX_CHARS or len(line.split()) > HEADING_MAX_WORDS:
        return False
    if line[0] in "•-*·–—+":  # a list item is content
        return False
    if _HEADING_END_RE.search(body) or any(c.isdigit() for c in line):
        return False
    return alone or ":" not in line or len(line.split(":", 1)[0].split()) >= 3


def split_marked(text: str) -> list[Sentence]:
    """split_sentences with the layout kept: line ends and headings.

    A heading is a line that is_heading_line, opens its paragraph, and is followed by a blank line, by nothing,
    or by a longer line ("Pieter Boone" under a quote is a line inside a paragraph: not a heading).
    """
    out: list[Sentence] = []
    for block in re.split(r"\n\s*\n", text):
        segments = _segments(block)
        for n, segment in enumerate(segments):
            pieces = _sentences_of(segment)
            heading = (
                n == 0
                and len(pieces) == 1
                and is_heading_line(segment, alone=len(segments) == 1)
                and (len(segments) == 1 or len(segments[1]) > len(segment))
            )
            for k, piece in enumerate(pieces):
                out.append(Sentence(piece, line_end=k == len(pieces) - 1, heading=heading))
    return out


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences; paragraph breaks and heading lines always end a sentence.

    Regex-based on purpose: it is fast, predictable for Russian and English, and handles the
    cases that matter for answers (abbreviations, initials, decimals, quotes, wrapped lines).
    """
    return [s.text for s in split_marked(text)]


def _sentences_of(segment: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    pending = ""
    for match in _SENT_END_RE.finditer(segment):
        piece = segment[start : match.end(1)].strip()
        start = match.end()
        candidate = f"{pending} {piece}".strip() if pending else piece
        if _ends_with_abbreviation(candidate):
            pending = candidate
            continue
        sentences.append(candidate)
        pending = ""
    rest = segment[start:].strip()
    tail = f"{pending} {rest}".strip() if pending else rest
    if tail:
        sentences.append(tail)
    return sentences


def word_count(text: str) -> int:
    return len(text.split())
