"""A web page's own title and date, as the page declares them, for citing it.

The html reader extracts main text and guesses a title and date from the text; a page usually states both
explicitly (og:title, article:published_time, JSON-LD, <time datetime>), and those beat a guess. trafilatura's
metadata extraction reads most of these declarations; the explicit lookups here cover what it returns nothing
for. Ingest uses the result as overrides for what the reader found.
"""

from __future__ import annotations

import logging

from index.ingest.metadata import parse_date

# Declarations of when a page was published, most specific first (<meta property|name|itemprop=... content=...>).
_DATE_META = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.date",
    "date",
    "pubdate",
    "publishdate",
)
_TIME_XPATH = (
    "//time[@itemprop='datePublished' or @pubdate][@datetime]",
    "//article//time[@datetime] | //main//time[@datetime]",
)
_TITLE_XPATH = ("//meta[@property='og:title']/@content", "//h1", "//title")


def page_metadata(html: bytes | str, url: str | None = None, *, charset: str | None = None) -> dict[str, str]:
    """{'title', 'date', 'url'} as far as the page declares them; `url` is the address it was fetched from.

    `charset` is the one the server declared: a cp1251 page without a <meta charset> is undecodable otherwise.
    Never raises: a page without usable metadata is ingested with what the reader finds.
    """
    meta: dict[str, str] = {"url": url} if url else {}
    text = _decode(html, charset)
    try:
        import trafilatura

        tree = trafilatura.load_html(text)
        found = trafilatura.extract_metadata(tree, default_url=url, extensive=False) if tree is not None else None
    except Exception:  # extraction heuristics on odd markup must not cost the page
        logging.getLogger(__name__).debug("metadata extraction failed for %s", url, exc_info=True)
        return meta
    if tree is None:
        return meta
    title = (found.title if found is not None else None) or _first_title(tree)
    if title and " ".join(title.split()):
        meta["title"] = " ".join(title.split())
    date = parse_date(found.date) if found is not None and found.date else None
    date = date or _declared_date(tree)
    if date:
        meta["date"] = date
    return meta


def _decode(html: bytes | str, charset: str | None) -> bytes | str:
    if isinstance(html, str):
        return html
    try:
        return html.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if charset:
        try:
            return html.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return html  # trafilatura guesses the encoding of bytes


def _declared_date(tree) -> str | None:
    declared: dict[str, str] = {}
    for element in tree.iter("meta"):
        key = (element.get("property") or element.get("name") or element.get("itemprop") or "").strip().lower()
        declared.setdefault(key, element.get("content") or "")
    for key in _DATE_META:
        date = parse_date(declared.get(key))
        if date:
            return date
    for xpath in _TIME_XPATH:
        for element in tree.xpath(xpath):
            date = parse_date(element.get("datetime"))
            if date:
                return date
    return None


def _first_title(tree) -> str | None:
    for xpath in _TITLE_XPATH:
        for found in tree.xpath(xpath):
            text = found if isinstance(found, str) else found.text_content()
            if text and text.strip():
                return text
    return None
