"""Sitemaps and RSS/Atom feeds: the pages a listing address stands for.

Handing the bot a news section's feed or the site's sitemap should ingest the pages listed there, newest first
and up to FetchConfig.max_pages, so that a section can be followed and a later refresh picks up new entries.
`parse_listing` is pure and safe on hostile XML (lxml without DTDs, entity expansion or network access);
`expand_listing` follows nested sitemap indexes, each fetch under the same limits, at most max_sitemaps of them.
"""

from __future__ import annotations

import email.utils
import enum
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin

from lxml import etree

from index.ingest.metadata import parse_date
from index.web.fetch import FetchConfig, FetchError, FetchErrorKind, FetchResult, fetch


class ListingKind(enum.Enum):
    SITEMAP = "sitemap"
    SITEMAP_INDEX = "sitemap index"
    RSS = "RSS feed"
    ATOM = "Atom feed"


@dataclass(frozen=True)
class ListedPage:
    url: str
    date: str | None = None  # ISO date of the entry (lastmod, pubDate, published/updated), at its own precision
    title: str | None = None  # as the feed names the entry; the page's own title is better, when it has one


@dataclass(frozen=True)
class ParsedListing:
    """One listing document: its pages and, for a sitemap index, the sitemaps it points to."""

    kind: ListingKind
    pages: tuple[ListedPage, ...]
    sitemaps: tuple[ListedPage, ...] = ()


@dataclass(frozen=True)
class Listing:
    """The pages to ingest for a listing address, with what was left out and why."""

    url: str
    kind: ListingKind
    pages: tuple[ListedPage, ...]  # newest first (undated ones last, in listed order), at most max_pages
    found: int  # distinct pages seen; more than len(pages) when the cap cut the list
    truncated: bool  # the cap cut the list or left nested sitemaps unread
    failures: tuple[FetchError, ...] = ()  # nested sitemaps that could not be fetched; the others still count


def parse_listing(data: bytes, base_url: str) -> ParsedListing | None:
    """The entries of a sitemap, sitemap index, RSS (0.9x, 1.0, 2.0) or Atom document; None for any other XML.

    Relative links are resolved against `base_url` (and Atom's xml:base); only http(s) links are kept, each once.
    """
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        recover=True,  # feeds in the wild have stray '&' and unclosed tags; what parses is still useful
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser, base_url=base_url)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root is None or not isinstance(root.tag, str):
        return None
    name = etree.QName(root).localname.lower()
    if name == "urlset":
        return ParsedListing(ListingKind.SITEMAP, _sitemap_entries(root, "url", base_url))
    if name == "sitemapindex":
        return ParsedListing(ListingKind.SITEMAP_INDEX, (), _sitemap_entries(root, "sitemap", base_url))
    if name == "rss":
        channel = _child(root, "channel")
        return ParsedListing(ListingKind.RSS, _rss_entries(_children(channel, "item") if channel is not None else []))
    if name == "rdf":  # RSS 1.0: items are siblings of the channel
        return ParsedListing(ListingKind.RSS, _rss_entries(_children(root, "item")))
    if name == "feed":
        return ParsedListing(ListingKind.ATOM, _atom_entries(root))
    return None


def expand_listing(result: FetchResult, config: FetchConfig | None = None) -> Listing:
    """The pages of a fetched listing, following a sitemap index's sitemaps (most recently modified first).

    Nested sitemaps stop being fetched once max_pages pages are found; one that fails is recorded in `failures`.
    """
    config = config or FetchConfig()
    parsed = parse_listing(result.data, result.url) if result.is_listing else None
    if parsed is None:
        what = result.fmt or "not modified"
        raise FetchError(
            result.url, FetchErrorKind.UNSUPPORTED_TYPE, f"not a sitemap or an RSS/Atom feed (it is {what})"
        )
    pages: dict[str, ListedPage] = {}
    _add(pages, parsed.pages)
    queue = list(parsed.sitemaps)
    seen = {result.url, *result.redirects}
    failures: list[FetchError] = []
    fetched = 0
    while queue and len(pages) < config.max_pages and fetched < config.max_sitemaps:
        queue = _newest_first(queue)
        entry = queue.pop(0)
        if entry.url in seen:
            continue  # an index listing itself, or two indexes sharing a sitemap
        seen.add(entry.url)
        fetched += 1
        try:
            nested_result = fetch(entry.url, config)
            seen.add(nested_result.url)
            nested = parse_listing(nested_result.data, nested_result.url) if nested_result.is_listing else None
            if nested is None:
                raise FetchError(entry.url, FetchErrorKind.UNSUPPORTED_TYPE, "listed as a sitemap, but it is not one")
        except FetchError as exc:
            failures.append(exc)
            continue
        _add(pages, nested.pages)
        queue.extend(nested.sitemaps)
    ordered = _newest_first(list(pages.values()))
    unread = any(entry.url not in seen for entry in queue)
    return Listing(
        url=result.url,
        kind=parsed.kind,
        pages=tuple(ordered[: config.max_pages]),
        found=len(ordered),
        truncated=len(ordered) > config.max_pages or unread,
        failures=tuple(failures),
    )


def fetch_listing(url: str, config: FetchConfig | None = None) -> Listing:
    """Fetch a sitemap or feed address and expand it; FetchError when it is something else."""
    return expand_listing(fetch(url, config), config)


def _newest_first(entries: list[ListedPage]) -> list[ListedPage]:
    """Newest first: a capped list keeps the recent news. Undated entries follow in listed order (sort is stable)."""
    return sorted(entries, key=lambda entry: entry.date or "", reverse=True)


def _add(pages: dict[str, ListedPage], entries: tuple[ListedPage, ...]) -> None:
    for entry in entries:
        pages.setdefault(entry.url, entry)


def _sitemap_entries(root, tag: str, base_url: str) -> tuple[ListedPage, ...]:
    entries = []
    for element in _children(root, tag):
        news = _child(element, "news")  # Google News sitemaps date and title an entry inside <news:news>
        date = _text(element, "lastmod") or (_text(news, "publication_date") if news is not None else None)
        title = _text(news, "title") if news is not None else None
        entries.append((_absolute(base_url, _text(element, "loc")), date, title))
    return _unique(entries)


def _rss_entries(items) -> tuple[ListedPage, ...]:
    entries = []
    for item in items:
        link = _text(item, "link") or item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
        guid = _child(item, "guid")
        if not link and guid is not None and guid.get("isPermaLink", "true").lower() != "false":
            link = _text(item, "guid")
        date = _text(item, "pubDate") or _text(item, "date")  # dc:date in RSS 1.0
        entries.append((_absolute(item.base, link), date, _text(item, "title")))
    return _unique(entries)


def _atom_entries(root) -> tuple[ListedPage, ...]:
    entries = []
    for entry in _children(root, "entry"):
        links = [link for link in _children(entry, "link") if link.get("rel", "alternate") == "alternate"]
        links.sort(key=lambda link: link.get("type", "text/html") != "text/html")  # the HTML page first
        href = links[0].get("href") if links else None
        date = _text(entry, "published") or _text(entry, "updated")
        entries.append((_absolute(links[0].base if links else entry.base, href), date, _text(entry, "title")))
    return _unique(entries)


def _unique(entries: list[tuple[str | None, str | None, str | None]]) -> tuple[ListedPage, ...]:
    pages: dict[str, ListedPage] = {}
    for url, date, title in entries:
        if url and url not in pages:
            pages[url] = ListedPage(url, _date(date), " ".join(title.split()) if title else None)
    return tuple(pages.values())


def _absolute(base: str | None, link: str | None) -> str | None:
    if not link or not link.strip():
        return None
    url = urldefrag(urljoin(base or "", link.strip())).url
    return url if url.lower().startswith(("http://", "https://")) else None


def _date(text: str | None) -> str | None:
    """RSS dates are RFC 822 ('Tue, 05 Mar 2024 10:00:00 +0300'); sitemaps and Atom use ISO 8601."""
    if not text:
        return None
    try:
        return email.utils.parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):
        return parse_date(text)


def _children(element, name: str):
    return [child for child in element if isinstance(child.tag, str) and etree.QName(child).localname == name]


def _child(element, name: str):
    found = _children(element, name)
    return found[0] if found else None


def _text(element, name: str) -> str | None:
    child = _child(element, name)
    text = "".join(child.itertext()).strip() if child is not None else ""
    return text or None
