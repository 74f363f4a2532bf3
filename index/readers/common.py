"""What every format reader shares: the result types, the error, and small text helpers.

Everything downstream (cleaning, chunking, citing) works on `ParsedDocument`. Readers never let a
library exception escape: a damaged file in a folder of hundreds must become one clear line
(`{path}: {reason}`), not a traceback that stops the whole indexing run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

META_KEYS = ("title", "date", "url", "region", "language")

MiB = 1024 * 1024


class ReadError(Exception):
    """A file that cannot be read, with a short human reason and no traceback text.

    The caller prints `{path}: {reason}` (e.g. 'not a valid PDF (truncated or damaged)') and goes on
    with the next file.
    """


class FileTooLarge(ReadError):
    """A file over the size limit, refused before it is read into memory."""


@dataclass
class Page:
    number: int | None  # 1-based page number for PDFs; None for formats without pages
    text: str


@dataclass
class ParsedDocument:
    path: Path
    format: str  # one of SUPPORTED_FORMATS values
    pages: list[Page]  # non-PDF formats: exactly one Page(None, text)
    meta: dict = field(default_factory=dict)  # only keys found in the file: see META_KEYS


def single_page(text: str) -> list[Page]:
    """The one page of a format without pages; a file with nothing but whitespace has no text."""
    text = text.strip()
    if not text:
        raise ReadError("no text found")
    return [Page(None, text)]


TABLE_RULE_RE = re.compile(r"^\|?(?:\s*:?-{3,}:?\s*\|)+\s*(?::?-{3,}:?\s*)?$")  # |---|:--:|


def table_row(line: str) -> str:
    """'| a | b |' as 'a | b', the same row format the DOCX reader produces."""
    return " | ".join(cell.strip() for cell in line[1:-1].split("|")).strip(" |")


_JUNK_TITLE_RE = re.compile(
    r"""^(?:microsoft\s+(?:word|powerpoint|excel)\s*-.*
        |.*\.(?:docx?|rtf|odt|pdf|pptx?|xlsx?|indd|qxd|txt|html?|tmp)
        |untitled(?:[-\s]?\d+)?|document\s*\d*|title|slide\s*\d+|powerpoint\s+presentation
        |без\s+названия|документ\s*\d*|презентация(?:\s+powerpoint)?|документ\s+microsoft\s+word
        |[\W\d_]*)$""",
    re.IGNORECASE | re.VERBOSE,
)


def is_junk_title(title: str) -> bool:
    """Tools fill the title field with file names and placeholders: bad titles for citations."""
    return bool(_JUNK_TITLE_RE.match(title.strip()))


def language_code(value: str) -> str:
    """'ru-RU' and 'ru' must compare equal downstream; free-form values are kept as written."""
    if re.fullmatch(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*", value):
        return re.split(r"[-_]", value)[0].lower()
    return value
