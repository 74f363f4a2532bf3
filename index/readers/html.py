"""HTML (.html, .htm): the article's text without page chrome, and the page's own metadata.

trafilatura finds the main text of real pages; a small fallback parser handles what it rejects.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser

from index.readers.common import TABLE_RULE_RE, Page, language_code, single_page, table_row
from index.readers.encoding import BOMS, decode_bytes, reject_binary

_CHARSET_RE = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)"""
    rb"""|<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""",
    re.IGNORECASE,
)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_META_CHARSET_TAG_RE = re.compile(r"<meta[^>]*charset[^>]*>", re.IGNORECASE)
_HTML_LANG_RE = re.compile(r"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)", re.IGNORECASE)


def read(data: bytes) -> tuple[list[Page], dict]:
    html = _decode_html(data)
    # Already decoded: a leftover declaration would make lxml re-decode or reject the string.
    html = _META_CHARSET_TAG_RE.sub("", _XML_DECL_RE.sub("", html))
    if "<html" not in html[:2048].lower():
        html = f"<html><body>{html}</body></html>"  # trafilatura rejects bare fragments
    text = _trafilatura_text(html) or _fallback_html_text(html)
    meta = _html_meta(html)
    return single_page(text), meta


def _decode_html(data: bytes) -> str:
    """Honour the page's declared charset: cp1251 pages often declare it and are too short for
    guessing. But bytes that are valid UTF-8 are UTF-8 whatever the (often stale) tag says."""
    declared = _declared_charset(data)
    if declared is None or any(data.startswith(bom) for bom, _ in BOMS):
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
    reject_binary(text)
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
        if not line or TABLE_RULE_RE.match(line):
            continue
        if line.startswith("|") and line.endswith("|") and len(line) > 1:
            kind, line = "row", table_row(line)
        elif line.startswith("- "):
            kind = "item"
        else:
            kind = "paragraph"
        if out:
            out.append("\n" if kind == previous_kind and kind != "paragraph" else "\n\n")
        out.append(line)
        previous_kind = kind
    return "".join(out)


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
        meta["language"] = language_code(lang.group(1))
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
    IMPLICIT_CLOSE = frozenset({"p", "li", "td", "th", "dt", "dd"})  # HTML lets these close themselves
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
