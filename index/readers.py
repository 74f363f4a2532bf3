"""Turn the agency's files (txt, md, html, pdf, docx) into plain text with page numbers.

Everything downstream (cleaning, chunking, citing) works on `ParsedDocument`, so this is the one
place that knows about file formats. Readers never let a library exception escape: a damaged file
in a folder of hundreds must become one clear line (`{path}: {reason}`), not a traceback that stops
the whole indexing run.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import charset_normalizer
import docx
import pypdf
import yaml
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from pypdf.errors import DependencyError

SUPPORTED_FORMATS: dict[str, str] = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}

_META_KEYS = ("title", "date", "url", "region", "language")

_MiB = 1024 * 1024

# A .docx is a zip of XML; real ones unpack to a few MB. Beyond these, it is an attack or junk.
_DOCX_MAX_UNPACKED = 200 * _MiB
_DOCX_MAX_MEMBERS = 10_000
_DOCX_MAX_RATIO = 100  # XML compresses ~5-20x; hundreds-x is a crafted archive
_DOCX_RATIO_MIN_SIZE = 10 * _MiB  # small members may compress absurdly well without harm


class ReadError(Exception):
    """A file that cannot be read, with a short human reason and no traceback text.

    The caller prints `{path}: {reason}` (e.g. 'not a valid PDF (truncated or damaged)') and goes on
    with the next file.
    """


@dataclass
class Page:
    number: int | None  # 1-based page number for PDFs; None for formats without pages
    text: str


@dataclass
class ParsedDocument:
    path: Path
    format: str  # one of SUPPORTED_FORMATS values
    pages: list[Page]  # non-PDF formats: exactly one Page(None, text)
    meta: dict = field(default_factory=dict)  # only keys found in the file: see _META_KEYS


def is_supported(path: Path) -> bool:
    """Lets directory walkers skip foreign files silently instead of reporting each one."""
    return Path(path).suffix.lower() in SUPPORTED_FORMATS


def read_document(path: Path, *, max_bytes: int = 50 * _MiB) -> ParsedDocument:
    """Read one file into text; any problem with the file is a ReadError with a short reason."""
    path = Path(path)
    suffix = path.suffix.lower()
    fmt = SUPPORTED_FORMATS.get(suffix)
    if fmt is None:
        choices = ", ".join(sorted(SUPPORTED_FORMATS))
        what = f"unsupported file type '{suffix}'" if suffix else "no file extension"
        raise ReadError(f"{what} (supported: {choices})")

    data = _read_bytes(path, max_bytes)
    if not data:
        raise ReadError("no text found (empty file)")

    if fmt == "pdf":
        pages, meta = _read_pdf(data)
    else:
        reader = {"txt": _read_txt, "md": _read_md, "html": _read_html, "docx": _read_docx}[fmt]
        text, meta = reader(data)
        text = text.strip()
        if not text:
            raise ReadError("no text found")
        pages = [Page(None, text)]
    meta = {key: value for key, value in meta.items() if key in _META_KEYS and value}
    return ParsedDocument(path=path, format=fmt, pages=pages, meta=meta)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """Refuse oversized files before reading them, so one huge file cannot exhaust memory."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ReadError("not a regular file")
        if size > max_bytes:
            raise ReadError(
                f"file is {_human_size(size)}, over the {_human_size(max_bytes, limit=True)} limit"
            )
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)  # the file may have grown since stat()
    except FileNotFoundError:
        raise ReadError("file not found") from None
    except PermissionError:
        raise ReadError("permission denied") from None
    except IsADirectoryError:
        raise ReadError("not a regular file") from None
    except OSError as exc:
        raise ReadError(f"cannot read file ({exc.strerror or exc.__class__.__name__})") from None
    if len(data) > max_bytes:
        raise ReadError(f"file is over the {_human_size(max_bytes, limit=True)} limit")
    return data


def _human_size(n: int, *, limit: bool = False) -> str:
    """Limits read better without a decimal ('50 MB'); actual sizes need one ('60.0 MB')."""
    for unit, scale in (("MB", _MiB), ("KB", 1024)):
        if n >= scale:
            value = n / scale
            return f"{value:g} {unit}" if limit and value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


# --- decoding -----------------------------------------------------------------------------------

_BOMS = (  # UTF-32 first: its LE BOM starts with the UTF-16 LE BOM
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Russian single-byte encodings in order of how common they are in the agency's archives;
# the order breaks ties (texts without capitals decode identically in cp1251 and mac-cyrillic).
_CYRILLIC_CANDIDATES = ("cp1251", "koi8_r", "mac_cyrillic", "cp866", "iso8859_5")
_CYRILLIC_FAMILY = frozenset(
    {*_CYRILLIC_CANDIDATES, "koi8_u", "cp855", "cp1125", "ptcp154", "kz1048", "mac_ukraine"}
)
# How much more often than chance (1/33) each letter occurs in Russian prose, as log(33·p),
# floored so that rare but legitimate letters (ё, ъ, ф) cost no more than a stray symbol.
# fmt: off
_LETTER_LOG_ODDS = {
    "о": 1.29, "е": 1.03, "а": 0.97, "и": 0.89, "н": 0.79, "т": 0.73, "с": 0.59, "р": 0.45,
    "в": 0.40, "л": 0.37, "к": 0.14, "м": 0.06, "д": -0.02, "п": -0.08, "у": -0.15, "я": -0.41,
    "ы": -0.47, "ь": -0.55, "г": -0.58, "з": -0.61, "б": -0.65, "ч": -0.74, "й": -0.92, "х": -1.14,
    "ж": -1.17, "ш": -1.42, "ю": -1.56, "ц": -1.84, "щ": -2.13, "э": -2.25, "ф": -2.46, "ъ": -2.5,
    "ё": -2.5,
}
# fmt: on
_SYMBOL_COST = -3.0  # a box-drawing character or foreign letter where Russian text has letters
# Non-ASCII characters that ordinary Russian text contains besides letters; neither reward nor
# penalty, because wrong decodings produce them too.
_NEUTRAL = frozenset("«»—–…№“”„‘’•°§·\u00a0\u00ad")
_SCORE_SAMPLE = 64 * 1024
# Below this, a "Russian" reading of text that charset-normalizer placed elsewhere is not trusted.
_MIN_RUSSIAN_SCORE = 0.0


def decode_bytes(data: bytes) -> str:
    """Bytes of unknown encoding to text, getting Russian legacy encodings right.

    Old agency documents are cp1251 or koi8-r without any declaration, and generic detectors mix
    these up on short texts, which would silently index gibberish; hence the Russian-specific
    check on top of charset-normalizer.
    """
    text = _decode(data)
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    _reject_binary(text)
    return text


def _decode(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                raise ReadError(f"broken {encoding.upper()} text (invalid byte sequence)") from None
    utf16 = _sniff_utf16(data)
    if utf16:
        try:
            return data.decode(utf16)
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return _mostly_utf8(data) or _guess_legacy(data)


def _mostly_utf8(data: bytes) -> str | None:
    """A UTF-8 file with a few broken bytes (cut mid-character, one pasted cp1251 word) is still
    UTF-8; guessing a legacy encoding for it would garble every Russian letter in it."""
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    valid = len(text) - len(text.encode("ascii", errors="ignore")) - broken  # non-ASCII letters
    return text if valid >= 20 * broken else None


def _sniff_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM is valid UTF-8 when mostly ASCII (every other byte NUL), so catch it
    before the UTF-8 attempt would turn it into NUL-riddled 'binary'."""
    sample = data[:4096]
    if len(sample) < 4 or len(data) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    zeros_even, zeros_odd = even.count(0), odd.count(0)
    if zeros_odd >= max(2, len(odd) // 10) and zeros_even == 0:
        return "utf-16-le"
    if zeros_even >= max(2, len(even) // 10) and zeros_odd == 0:
        return "utf-16-be"
    return None


def _guess_legacy(data: bytes) -> str:
    try:
        best = charset_normalizer.from_bytes(data).best()
    except Exception:  # the detector is heuristic code; a crash in it must not lose the file
        best = None
    detected = str(best) if best is not None else None
    detected_encoding = _codec_name(best.encoding) if best is not None else None

    russian = _best_russian_decoding(data)
    if russian is None:
        return detected if detected is not None else data.decode("utf-8", errors="replace")
    encoding, score = russian
    if detected is None:
        if score >= _MIN_RUSSIAN_SCORE:
            return data.decode(encoding)
        return data.decode("utf-8", errors="replace")  # replacement characters mark it as binary
    if detected_encoding == encoding:
        return detected
    detected_score = _russian_score(detected[:_SCORE_SAMPLE])
    if detected_encoding in _CYRILLIC_FAMILY or _has_cyrillic(detected[:_SCORE_SAMPLE]):
        return data.decode(encoding) if score > detected_score else detected
    # charset-normalizer saw some non-Cyrillic script; only a clearly Russian reading overrides it
    if score >= _MIN_RUSSIAN_SCORE and score > detected_score:
        return data.decode(encoding)
    return detected


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name.replace("-", "_")
    except LookupError:
        return encoding


def _best_russian_decoding(data: bytes) -> tuple[str, float] | None:
    """The Russian single-byte encoding whose reading of the text looks most like Russian."""
    sample = data[:_SCORE_SAMPLE]
    if not any(byte >= 0x80 for byte in sample):
        return None
    best: tuple[str, float] | None = None
    for encoding in _CYRILLIC_CANDIDATES:
        try:
            data.decode(encoding)  # must decode as a whole, not only the sample
        except UnicodeDecodeError:
            continue
        score = _russian_score(sample.decode(encoding))
        if best is None or score > best[1]:
            best = (encoding, score)
    return best


def _russian_score(text: str) -> float:
    """How Russian-like the non-ASCII characters of a decoding are: about 0.4 for real Russian,
    below zero for wrong decodings.

    A wrong single-byte decoding of Russian shuffles letters (frequent ones become rare ones),
    flips case (koi8-r and cp1251 swap the lower- and upper-case ranges: "иНВЕСТИЦИИ") or turns
    letters into symbols and box drawing. Letter frequencies catch the first, the case pattern
    inside words the second, a flat cost per foreign symbol the third.
    """
    total = 0
    score = 0.0
    prev = " "
    for i, char in enumerate(text):
        if char < "\x80":
            prev = char
            continue
        total += 1
        lower = char.lower()
        if lower in _LETTER_LOG_ODDS:
            odds = _LETTER_LOG_ODDS[lower]
            nxt = text[i + 1] if i + 1 < len(text) else " "
            if _is_latin_letter(prev) or _is_latin_letter(nxt):
                score += _SYMBOL_COST  # "RИsumИ": Russian words never mix in Latin letters
            elif char == lower:
                score += odds
            elif prev.lower() in _LETTER_LOG_ODDS and prev == prev.lower():
                score += _SYMBOL_COST  # a capital inside a lower-case word
            elif nxt in _LETTER_LOG_ODDS:
                score += max(odds, 0.0) + 0.5  # a capitalised word: any letter may start one
            else:
                score += odds  # all capitals (ИНН, ЭКОНОМИКА) or a one-letter word
        elif char not in _NEUTRAL and not char.isspace():
            score += _SYMBOL_COST
        prev = char
    return score / total if total else 0.0


def _is_latin_letter(char: str) -> bool:
    return ("a" <= char <= "z") or ("A" <= char <= "Z")


def _has_cyrillic(text: str) -> bool:
    return any("\u0400" <= char <= "\u04ff" for char in text)


def _reject_binary(text: str) -> None:
    """Images or archives renamed to .txt decode to control characters; indexing them would
    flood search with junk tokens."""
    sample = text[:_SCORE_SAMPLE]
    if not sample:
        return
    bad = sum(
        1
        for char in sample
        if char == "\ufffd" or (unicodedata.category(char) == "Cc" and char not in "\t\n\r\f\v")
    )
    if bad > max(2, len(sample) // 100):
        raise ReadError("binary data, not text")


# --- plain text and Markdown --------------------------------------------------------------------


def _read_txt(data: bytes) -> tuple[str, dict]:
    return decode_bytes(data), {}


_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_RULE_RE = re.compile(r"^\s{0,3}([-*_=])(?:\s*\1){2,}\s*$")
_LINK_DEF_RE = re.compile(
    r"""^\s{0,3}\[[^\]^][^\]]*\]:\s+<?\S+>?(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*$"""
)
_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
_IMAGE_RE = re.compile(r"!\[[^\]]*\](?:\([^)]*\)|\[[^\]]*\])")
_LINK_RE = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\[[^\]]*\])")
_AUTOLINK_RE = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_EMPHASIS_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_CODE_RE = re.compile(r"(`+)(.+?)\1")
_TABLE_RULE_RE = re.compile(r"^\|?(?:\s*:?-{3,}:?\s*\|)+\s*(?::?-{3,}:?\s*)?$")  # |---|:--:|


def _read_md(data: bytes) -> tuple[str, dict]:
    text = decode_bytes(data)
    meta, body = _split_front_matter(text)
    body, first_heading = _strip_markdown(body)
    if "title" not in meta and first_heading:
        meta["title"] = first_heading
    return body, meta


def _split_front_matter(text: str) -> tuple[dict, str]:
    """Front matter carries the document's own title, date and link, which citations need."""
    lines = text.split("\n", 1)
    # Like pandoc: '---' followed by a blank line is a horizontal rule, not front matter.
    if lines[0].rstrip() != "---" or len(lines) < 2 or not lines[1].partition("\n")[0].strip():
        return {}, text
    rest = lines[1]
    end = _FRONT_MATTER_END.search(rest)
    if end is None:
        raise ReadError("invalid front matter: no closing '---' line")
    raw, body = rest[: end.start()], rest[end.end() :]
    try:
        loaded = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ReadError(f"invalid front matter: {_yaml_problem(exc)}") from None
    if loaded is None:
        return {}, body
    if not isinstance(loaded, dict):
        raise ReadError("invalid front matter: expected 'key: value' lines")
    meta = {}
    for key, meta_key in (
        ("title", "title"),
        ("date", "date"),
        ("source", "url"),
        ("url", "url"),
        ("region", "region"),
        ("language", "language"),
    ):
        if key not in loaded or loaded[key] is None or meta_key in meta:
            continue
        value = loaded[key]
        if isinstance(value, (list, dict)):
            raise ReadError(f"invalid front matter: '{key}' should be a single value")
        value = _meta_string(value)
        if value:
            meta[meta_key] = _language_code(value) if meta_key == "language" else value
    return meta, body


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line from PyYAML's multi-line message, with a line number inside the front matter."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"{problem} (front matter line {mark.line + 1})"
    return problem


def _meta_string(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    return " ".join(str(value).split())


def _strip_markdown(body: str) -> tuple[str, str | None]:
    """Markup symbols are noise for search and for quoted answers; the words stay."""
    body = _COMMENT_RE.sub("", body)
    out: list[str] = []
    first_heading = None
    in_fence = False
    for line in body.split("\n"):
        if _FENCE_RE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            out.append(line)
            continue
        if _RULE_RE.match(line) or _LINK_DEF_RE.match(line) or _TABLE_RULE_RE.match(line.strip()):
            continue
        stripped = line.strip()
        if len(stripped) > 1 and stripped.startswith("|") and stripped.endswith("|"):
            line = _table_row(stripped)
        heading = _HEADING_RE.match(line)
        if heading:
            line = heading.group(2)
        line = re.sub(r"^(\s{0,3}>\s?)+", "", line)
        line = _IMAGE_RE.sub("", line)
        line = _LINK_RE.sub(r"\1", line)
        line = _AUTOLINK_RE.sub(r"\1", line)
        line = _CODE_RE.sub(r"\2", line)
        line = _EMPHASIS_RE.sub(r"\2", line)
        line = _EMPHASIS_RE.sub(r"\2", line)  # nested: **bold __and__ more**
        line = line.replace("**", "")  # bold spanning lines leaves unpaired markers
        if heading and heading.group(1) == "#" and first_heading is None and line.strip():
            first_heading = line.strip()
        out.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)), first_heading


# --- HTML ---------------------------------------------------------------------------------------

_CHARSET_RE = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)"""
    rb"""|<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""",
    re.IGNORECASE,
)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_META_CHARSET_TAG_RE = re.compile(r"<meta[^>]*charset[^>]*>", re.IGNORECASE)
_HTML_LANG_RE = re.compile(
    r"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)", re.IGNORECASE
)


def _read_html(data: bytes) -> tuple[str, dict]:
    html = _decode_html(data)
    # Already decoded: a leftover declaration would make lxml re-decode or reject the string.
    html = _META_CHARSET_TAG_RE.sub("", _XML_DECL_RE.sub("", html))
    if "<html" not in html[:2048].lower():
        html = f"<html><body>{html}</body></html>"  # trafilatura rejects bare fragments
    text = _trafilatura_text(html) or _fallback_html_text(html)
    meta = _html_meta(html)
    return text, meta


def _decode_html(data: bytes) -> str:
    """Honour the page's declared charset: cp1251 pages often declare it and are too short for
    guessing. But bytes that are valid UTF-8 are UTF-8 whatever the (often stale) tag says."""
    declared = _declared_charset(data)
    if declared is None or any(data.startswith(bom) for bom, _ in _BOMS):
        return decode_bytes(data)
    try:
        data.decode("utf-8")
        return decode_bytes(data)
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode(declared)
    except UnicodeDecodeError:
        return decode_bytes(data)  # the declaration is wrong; fall back to detection
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    _reject_binary(text)
    return text


def _declared_charset(data: bytes) -> str | None:
    match = _CHARSET_RE.search(data[:4096])
    if not match:
        return None
    label = (match.group(1) or match.group(2)).decode("ascii").lower()
    try:
        name = codecs.lookup(label.removeprefix("x-")).name  # old pages say "x-cp1251"
    except LookupError:
        return None
    # As browsers do (WHATWG): pages labelled latin-1 or ASCII are really windows-1252.
    return "cp1252" if name in {"latin-1", "iso8859-1", "ascii"} else name


def _trafilatura_text(html: str) -> str:
    import trafilatura  # heavy import; only HTML needs it

    try:
        text = trafilatura.extract(
            html,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            favor_recall=True,
            deduplicate=False,
            output_format="txt",
            # With favor_recall, trafilatura's backup extractors would take menus when a page has
            # little else; page chrome outside the article never holds an answer.
            prune_xpath=[
                "//nav",
                "//header[not(ancestor::article or ancestor::main)]",
                "//footer[not(ancestor::article or ancestor::main)]",
                "//aside[not(ancestor::article)]",
            ],
        )
    except Exception:  # extraction heuristics can fail on odd markup; the fallback still works
        return ""
    if not text:
        return ""
    return _blank_lines_between_paragraphs(text)


def _blank_lines_between_paragraphs(text: str) -> str:
    """trafilatura puts one paragraph per line; downstream chunking splits on blank lines, but
    table rows and list items belong together, so those stay on adjacent lines."""
    out: list[str] = []
    previous_kind = None
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if not line or _TABLE_RULE_RE.match(line):
            continue
        if line.startswith("|") and line.endswith("|") and len(line) > 1:
            kind, line = "row", _table_row(line)
        elif line.startswith("- "):
            kind = "item"
        else:
            kind = "paragraph"
        if out:
            out.append("\n" if kind == previous_kind and kind != "paragraph" else "\n\n")
        out.append(line)
        previous_kind = kind
    return "".join(out)


def _table_row(line: str) -> str:
    """'| a | b |' as 'a | b', the same row format the DOCX reader produces."""
    return " | ".join(cell.strip() for cell in line[1:-1].split("|")).strip(" |")


def _html_meta(html: str) -> dict:
    import trafilatura

    meta: dict = {}
    try:
        found = trafilatura.extract_metadata(html, extensive=False)
    except Exception:
        found = None
    if found is not None:
        if found.title:
            meta["title"] = " ".join(found.title.split())
        if found.date and re.fullmatch(r"\d{4}-\d{2}-\d{2}", found.date):
            meta["date"] = found.date
        if found.url and re.match(r"https?://", found.url):
            meta["url"] = found.url
    if "title" not in meta:
        title = _FallbackHTMLText.title_of(html)
        if title:
            meta["title"] = title
    lang = _HTML_LANG_RE.search(html[:8192])
    if lang:
        meta["language"] = _language_code(lang.group(1))
    return meta


def _fallback_html_text(html: str) -> str:
    return _FallbackHTMLText.text_of(html)


class _FallbackHTMLText(HTMLParser):
    """Used when trafilatura finds no main text (small or unusual pages): keep the text of content
    elements and drop page chrome, so menus do not show up as answers."""

    SKIP = frozenset({"script", "style", "noscript", "template", "svg", "nav", "head"})
    CHROME = frozenset({"header", "footer", "aside"})  # page chrome, unless inside the article
    CONTAINERS = frozenset({"article", "main"})
    CONTENT = frozenset(
        {
            "p",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "li",
            "td",
            "th",
            "pre",
            "blockquote",
            "dt",
            "dd",
            "caption",
        }
    )
    CELLS = frozenset({"td", "th"})
    IMPLICIT_CLOSE = frozenset(
        {"p", "li", "td", "th", "dt", "dd"}
    )  # HTML lets these close themselves
    BREAKS = (
        CONTENT
        | CHROME
        | {
            "div",
            "section",
            "article",
            "main",
            "tr",
            "table",
            "ul",
            "ol",
            "dl",
            "br",
            "hr",
            "form",
            "body",
        }
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip: list[str] = []
        self.content: list[str] = []
        self.containers = 0
        self.buffer: list[str] = []
        self.buffer_is_content = False
        self.row: list[str] | None = None  # cells of the table row being read
        self.blocks: list[tuple[str, bool]] = []  # (text, came from a content element)
        self.in_title = False
        self.title_parts: list[str] = []

    @classmethod
    def text_of(cls, html: str) -> str:
        parser = cls._parse(html)
        content = [text for text, is_content in parser.blocks if is_content]
        chosen = content or [text for text, _ in parser.blocks]
        return "\n\n".join(chosen)

    @classmethod
    def title_of(cls, html: str) -> str:
        return " ".join("".join(cls._parse(html).title_parts).split())

    @classmethod
    def _parse(cls, html: str) -> _FallbackHTMLText:
        parser = cls()
        try:
            parser.feed(html)
            parser.close()
        except Exception:  # html.parser is lenient; whatever it got so far is still useful
            pass
        parser._end_row()
        return parser

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "title":
            self.in_title = True
        if tag == "body" and "head" in self.skip:
            self.skip.remove("head")  # </head> is optional in HTML
        if self.skip:
            if tag in self.SKIP or tag in self.CHROME:
                self.skip.append(tag)  # so that its end tag does not end the outer skip
            return
        if tag in self.SKIP or (tag in self.CHROME and not self.containers):
            self.skip.append(tag)
            return
        if tag in self.CONTAINERS:
            self.containers += 1
        self._break(tag)
        if tag == "tr":
            self.row = []
        if tag in self.BREAKS:
            while self.content and self.content[-1] == "p":
                self.content.pop()  # any block element ends an open <p>
        if tag in self.CONTENT:
            if tag in self.IMPLICIT_CLOSE and self.content and self.content[-1] == tag:
                self.content.pop()
            self.content.append(tag)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        if tag in self.BREAKS and tag not in self.CELLS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in self.skip:
            del self.skip[len(self.skip) - 1 - self.skip[::-1].index(tag) :]
            return
        if self.skip:
            return
        if tag in self.CONTAINERS and self.containers:
            self.containers -= 1
        self._break(tag)
        if tag in self.content:
            del self.content[len(self.content) - 1 - self.content[::-1].index(tag) :]
        elif tag in self.BREAKS:
            while self.content and self.content[-1] in self.IMPLICIT_CLOSE:
                self.content.pop()  # </ul>, </tr>, </div> end the items left open inside them

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title_parts.append(data)
            return
        if self.skip:
            return
        if data.strip() and self.content:
            self.buffer_is_content = True
        self.buffer.append(data)

    def _break(self, tag: str) -> None:
        if tag in self.CELLS and self.row is not None:
            self._end_cell()
        elif tag in {"tr", "table"}:
            self._end_row()
        elif tag in self.BREAKS:
            self._flush()

    def _end_cell(self) -> None:
        text = " ".join("".join(self.buffer).split())
        if text and self.row is not None:
            self.row.append(text)
        self.buffer = []

    def _end_row(self) -> None:
        if self.row is None:
            self._flush()
            return
        self._end_cell()
        if self.row:
            self.blocks.append((" | ".join(self.row), True))
        self.row = None

    def _flush(self) -> None:
        text = " ".join("".join(self.buffer).split())
        if text:
            self.blocks.append((text, self.buffer_is_content))
        self.buffer = []
        self.buffer_is_content = False


# --- PDF ----------------------------------------------------------------------------------------

_HYPHEN_BREAK_RE = re.compile(r"(\w)[-\u00ad]\n[ \t]*(?=[a-zа-яё])")
_JUNK_TITLE_RE = re.compile(
    r"""^(?:microsoft\s+(?:word|powerpoint|excel)\s*-.*
        |.*\.(?:docx?|rtf|odt|pdf|pptx?|xlsx?|indd|qxd|txt|html?|tmp)
        |untitled(?:[-\s]?\d+)?|document\s*\d*|title|slide\s*\d+|powerpoint\s+presentation
        |без\s+названия|документ\s*\d*|презентация(?:\s+powerpoint)?|документ\s+microsoft\s+word
        |[\W\d_]*)$""",
    re.IGNORECASE | re.VERBOSE,
)


_NEEDS_CRYPTOGRAPHY = "encrypted PDF (AES; decrypting it needs the 'cryptography' package)"


def _read_pdf(data: bytes) -> tuple[list[Page], dict]:
    if b"%PDF-" not in data[:1024]:
        raise ReadError("not a PDF file (no %PDF header)")
    # pypdf quietly reads what it can of a cut-off file; we would rather say so than index half.
    if b"%%EOF" not in data[-16384:]:
        raise ReadError("not a valid PDF (truncated or damaged)")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except DependencyError:
        raise ReadError(_NEEDS_CRYPTOGRAPHY) from None
    except Exception:
        raise ReadError("not a valid PDF (truncated or damaged)") from None
    if encrypted:
        _decrypt_with_empty_password(reader)
    try:
        page_count = len(reader.pages)
    except Exception:
        raise ReadError("not a valid PDF (truncated or damaged)") from None
    if page_count == 0:
        raise ReadError("no text found (the PDF has no pages)")

    pages: list[Page] = []
    failures = 0
    for number in range(1, page_count + 1):
        try:
            raw = reader.pages[number - 1].extract_text() or ""
        except DependencyError:
            raise ReadError(_NEEDS_CRYPTOGRAPHY) from None
        except Exception:  # one broken page should not cost the whole document
            failures += 1
            continue
        text = _clean_pdf_text(raw)
        if text:
            pages.append(Page(number, text))
    if not pages:
        if failures:
            raise ReadError("not a valid PDF (truncated or damaged)")
        raise ReadError("no text found (scanned PDF? OCR is not supported)")
    return pages, _pdf_meta(reader)


def _decrypt_with_empty_password(reader: pypdf.PdfReader) -> None:
    """Many public PDFs are 'encrypted' only to forbid editing and open without a password."""
    try:
        result = reader.decrypt("")
    except DependencyError:
        raise ReadError(_NEEDS_CRYPTOGRAPHY) from None
    except Exception:
        raise ReadError("encrypted PDF (password protected)") from None
    if result == pypdf.PasswordType.NOT_DECRYPTED:
        raise ReadError("encrypted PDF (password protected)")


def _clean_pdf_text(raw: str) -> str:
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = _HYPHEN_BREAK_RE.sub(r"\1", text)  # words split across lines: "invest-\nment"
    text = text.replace("\u00ad", "")
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip()


def _pdf_meta(reader: pypdf.PdfReader) -> dict:
    """Only the title: PDF dates are file creation dates, not the date of the document."""
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:
        return {}
    if not isinstance(title, str):
        return {}
    title = " ".join(title.replace("\x00", "").split())
    return {"title": title} if title and not _is_junk_title(title) else {}


def _is_junk_title(title: str) -> bool:
    """Tools fill the title field with file names and placeholders: bad titles for citations."""
    return bool(_JUNK_TITLE_RE.match(title.strip()))


# --- DOCX ---------------------------------------------------------------------------------------


def _read_docx(data: bytes) -> tuple[str, dict]:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ReadError("not a valid DOCX file (it is an old binary .doc; save it as .docx)")
    _check_docx_archive(data)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = [text for text in _docx_blocks(document.element.body, document) if text]
        props = document.core_properties
        title, language = props.title, props.language
    except ReadError:
        raise
    except Exception:
        raise ReadError("not a valid DOCX file") from None
    meta = {}
    if title and title.strip() and not _is_junk_title(title):
        meta["title"] = " ".join(title.split())
    if language and language.strip():
        meta["language"] = _language_code(language.strip())
    return "\n\n".join(blocks), meta


def _check_docx_archive(data: bytes) -> None:
    """python-docx unpacks parts into memory; refuse archives that would explode while doing so."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise ReadError("not a valid DOCX file") from None
    if "word/document.xml" not in {member.filename for member in members}:
        raise ReadError("not a valid DOCX file (no word/document.xml inside)")
    total = sum(member.file_size for member in members)
    too_compressed = any(
        member.file_size > _DOCX_RATIO_MIN_SIZE
        and member.file_size > _DOCX_MAX_RATIO * max(member.compress_size, 1)
        for member in members
    )
    if len(members) > _DOCX_MAX_MEMBERS or total > _DOCX_MAX_UNPACKED or too_compressed:
        raise ReadError("DOCX archive too large when unpacked (zip bomb?)")


def _docx_blocks(container, parent):
    """Body order matters (a table belongs under its heading), and content controls (w:sdt) hide
    paragraphs from python-docx's own iteration, so walk the XML children directly."""
    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, parent).text.strip()
        elif child.tag == qn("w:tbl"):
            yield _docx_table_text(Table(child, parent))
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _docx_blocks(content, parent)


def _docx_table_text(table: Table) -> str:
    rows = []
    for row in table.rows:
        cells = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # a merged cell is reported once per grid column it spans
                continue
            previous = cell._tc
            cells.append(" ".join(_docx_cell_text(cell).split()))
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _docx_cell_text(cell) -> str:
    parts = []
    for item in cell.iter_inner_content():
        parts.append(item.text if isinstance(item, Paragraph) else _docx_table_text(item))
    return " ".join(parts)


# --- shared -------------------------------------------------------------------------------------


def _language_code(value: str) -> str:
    """'ru-RU' and 'ru' must compare equal downstream; free-form values are kept as written."""
    if re.fullmatch(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*", value):
        return re.split(r"[-_]", value)[0].lower()
    return value
