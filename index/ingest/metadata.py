"""Pure metadata extraction: a document's title and date, shown next to every cited source.

A wrong date misleads an investor more than a missing one, so the date finders accept only
complete, valid dates within a plausible range and return None otherwise.
"""

from __future__ import annotations

import datetime as dt
import re

from index.text.tokens import split_sentences

# Years a document of the agency can plausibly carry when the year is found in free text
# (history mentions such as "since 1944" are not the document's date).
TEXT_YEARS = range(1990, 2101)
# Explicit metadata values are trusted further back.
META_YEARS = range(1900, 2101)
TITLE_MIN_WORDS = 3
TITLE_MAX_WORDS = 20
TITLE_MAX_CHARS = 80
# Titles come first: only the head of the text is searched, up to the first long paragraph.
TITLE_SCAN_LINES = 10

_MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
    "января": 1,
    "январь": 1,
    "янв": 1,
    "февраля": 2,
    "февраль": 2,
    "фев": 2,
    "марта": 3,
    "март": 3,
    "мар": 3,
    "апреля": 4,
    "апрель": 4,
    "апр": 4,
    "мая": 5,
    "май": 5,
    "июня": 6,
    "июнь": 6,
    "июн": 6,
    "июля": 7,
    "июль": 7,
    "июл": 7,
    "августа": 8,
    "август": 8,
    "авг": 8,
    "сентября": 9,
    "сентябрь": 9,
    "сент": 9,
    "сен": 9,
    "октября": 10,
    "октябрь": 10,
    "окт": 10,
    "ноября": 11,
    "ноябрь": 11,
    "ноя": 11,
    "декабря": 12,
    "декабрь": 12,
    "дек": 12,
}
# Longest names first so that "sept" wins over "sep" and "марта" over "мар".
_MONTH = "(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b\.?"
_DAY = r"(?<!\d)[«\"“]?(?P<{}>\d{{1,2}})(?:st|nd|rd|th)?[»\"”]?"
_YEAR = r"(?P<{}>\d{{4}})(?!\d)"

_DATE_RE = re.compile(
    "|".join(
        [
            # 2012-04-21 (ISO, also with a time after it), 2012.04.21, 2012/04/21
            r"(?<![\d.\-/])(?P<iy>\d{4})(?P<isep>[-./])(?P<im>\d{1,2})(?P=isep)(?P<id>\d{1,2})(?![\d\-]|[./]\d)",
            # 21.04.2012 and 21/04/2012 (day first, as in Russia and Europe)
            r"(?<![\d.\-/])(?P<nd>\d{1,2})[./](?P<nm>\d{1,2})[./](?P<ny>\d{4})(?!\d|[./]\d)",
            # April 8, 2014 / Apr. 8th 2014
            rf"\b(?P<mm>{_MONTH})\s+{_DAY.format('md')},?\s+{_YEAR.format('my')}",
            # 8 April 2014 / 8th of April, 2014 / 8 апреля 2014 г. / «8» апреля 2014 года
            rf"{_DAY.format('dd')}\s+(?:of\s+)?(?P<dm>{_MONTH}),?\s+{_YEAR.format('dy')}",
        ]
    ),
    re.IGNORECASE,
)
_MONTH_YEAR_RE = re.compile(rf"^(?P<m>{_MONTH}),?\s+(?P<y>\d{{4}})(?:\s*(?:г\.?|года?))?$", re.IGNORECASE)
_YEAR_ONLY_RE = re.compile(r"^(?P<y>\d{4})(?:\s*(?:г\.?|года?|year))?$", re.IGNORECASE)
_ISO_PARTIAL_RE = re.compile(r"^(?P<y>\d{4})(?:-(?P<m>\d{1,2}))?$")
# PDF metadata dates: D:20140408123000+03'00' (month and day are optional in the format).
_PDF_DATE_RE = re.compile(r"^D:(?P<y>\d{4})(?P<m>\d{2})?(?P<d>\d{2})?")

_MD_HEADING_RE = re.compile(r"^#{1,6}\s+(.+?)(?:\s+#+)?\s*$")
_BULLET_RE = re.compile(r"^(?:[•·▪●◦‣⁃∙○■□►▸➢✓✔]|[-–—*+]\s)\s*")
_ZERO_WIDTH_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# What a date line consists of besides numbers: month and weekday names, "г.", "года", times.
_DATE_WORDS_RE = re.compile(
    rf"\b{_MONTH}|\b(?:mon|tue|wed|thu|fri|sat|sun)\w*\b|\b(?:понедельник|вторник|среда|четверг|"
    r"пятница|суббота|воскресенье)\b|\b(?:г|года?|year|am|pm|of)\b",
    re.IGNORECASE,
)


def _iso(year: int, month: int | None = None, day: int | None = None, years: range = TEXT_YEARS) -> str | None:
    """ISO text at the precision given, or None for an impossible or implausible date."""
    if year not in years:
        return None
    if month is None:
        return f"{year:04d}"
    if not 1 <= month <= 12:
        return None
    if day is None:
        return f"{year:04d}-{month:02d}"
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _match_date(match: re.Match, years: range) -> str | None:
    groups = match.groupdict()
    if groups["iy"]:
        return _iso(int(groups["iy"]), int(groups["im"]), int(groups["id"]), years)
    if groups["ny"]:
        day, month = int(groups["nd"]), int(groups["nm"])
        if month > 12 >= day:  # 04/21/2012: only a month-first reading is possible
            day, month = month, day
        return _iso(int(groups["ny"]), month, day, years)
    if groups["my"]:
        return _iso(int(groups["my"]), _month(groups["mm"]), int(groups["md"]), years)
    return _iso(int(groups["dy"]), _month(groups["dm"]), int(groups["dd"]), years)


def _month(name: str) -> int:
    return _MONTHS[name.rstrip(".").lower()]


DATE_SEARCH_CHARS = 4000  # a document states its own date near the top; later dates are events
_FOUR_DIGITS_RE = re.compile(r"(?<!\d)\d{4}(?!\d)")


def find_date(text: str) -> str | None:
    """The first complete, valid date in the text: news pages open with their own date, while
    dates without a year ("1 June, 11:00") cannot be placed and are skipped."""
    # Every full date holds a four-digit year: look only around those (the date pattern is costly).
    end = min(len(text), DATE_SEARCH_CHARS)
    searched = 0
    for year in _FOUR_DIGITS_RE.finditer(text, 0, end):
        start = max(searched, year.start() - 40)
        for match in _DATE_RE.finditer(text, start, min(end, year.end() + 12)):
            found = _match_date(match, TEXT_YEARS)
            if found:
                return found
        searched = year.end()
    return None


def parse_date(value) -> str | None:
    """ISO form of a metadata date at the precision the value has (a year stays a year)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):
        return _iso(value.year, value.month, value.day, META_YEARS)
    if isinstance(value, dt.date):
        return _iso(value.year, value.month, value.day, META_YEARS)
    if isinstance(value, int):
        return _iso(value, years=META_YEARS)
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    if not text:
        return None
    if match := _PDF_DATE_RE.match(text):
        month, day = match["m"], match["d"]
        return _iso(int(match["y"]), int(month) if month else None, int(day) if day and month else None, META_YEARS)
    if match := _ISO_PARTIAL_RE.match(text):
        return _iso(int(match["y"]), int(match["m"]) if match["m"] else None, years=META_YEARS)
    if match := _DATE_RE.search(text):
        return _match_date(match, META_YEARS)
    if match := _MONTH_YEAR_RE.match(text):
        return _iso(int(match["y"]), _month(match["m"]), years=META_YEARS)
    if match := _YEAR_ONLY_RE.match(text):
        return _iso(int(match["y"]), years=META_YEARS)
    return None


# --- title -------------------------------------------------------------------------------------


def _is_date_line(line: str) -> bool:
    """A line made of a date and nothing else ("April 21, 2012", "1 June, 11:00–12:15")."""
    rest = _DATE_WORDS_RE.sub(" ", line)
    return not re.search(r"[^\W\d_]", rest)


def _is_rubric(line: str) -> bool:
    """An all-caps section label ("INVESTMENT CLIMATE") names the rubric, not the document."""
    letters = [ch for ch in line if ch.isalpha()]
    return len(letters) > 1 and all(ch.isupper() for ch in letters)


def _title_like(line: str, next_line: str | None) -> bool:
    words = line.split()
    return (
        TITLE_MIN_WORDS <= len(words) <= TITLE_MAX_WORDS
        and not line.endswith((".", ":", ",", ";"))
        and not line[0].islower()
        and not _BULLET_RE.match(line)
        and not _is_rubric(line)
        and not _is_date_line(line)
        # A hard-wrapped sentence goes on in lower case on the next line: not a title.
        and not (next_line and next_line[0].islower())
    )


def _shorten(sentence: str) -> str:
    if len(sentence) <= TITLE_MAX_CHARS:
        return sentence[:-1] if sentence.endswith(".") and not sentence.endswith("..") else sentence
    cut = sentence[: TITLE_MAX_CHARS - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:–—-") + "…"


def extract_title(text: str, meta_title: str | None = None) -> str:
    """The title a reader would name the document by; never empty for a non-empty text."""
    if meta_title and meta_title.strip():
        return " ".join(meta_title.split())
    all_lines = [" ".join(_ZERO_WIDTH_RE.sub("", line).split()) for line in text.splitlines()]
    lines = [line for line in all_lines if line]
    for line in lines:
        if match := _MD_HEADING_RE.match(line):
            return match.group(1).strip()
    for n, line in enumerate(lines[:TITLE_SCAN_LINES]):
        if len(line.split()) > TITLE_MAX_WORDS:
            break  # the body has begun
        if _title_like(line, lines[n + 1] if n + 1 < len(lines) else None):
            return line
    # Paragraph breaks and wrapped lines are kept so that the first sentence is a whole one.
    body = "\n".join(line for line in all_lines if not line or not (_is_rubric(line) or _is_date_line(line)))
    sentences = split_sentences(body) or split_sentences("\n".join(all_lines))
    return _shorten(_BULLET_RE.sub("", sentences[0]).strip()) if sentences else ""
