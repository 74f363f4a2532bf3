"""Web addresses to documents, and keeping them fresh: what `investbot ingest URL`, a staff link in Telegram and
`investbot refresh` run.

Fetching is index.web's job (safely, within limits, one FetchError per failure); reading, cleaning, chunking and
the commit are the file path's (ingest.py: `read_data`, then `Ingester.commit_read`), so a page becomes a document
exactly as a file does. What belongs to the web alone is here:

- Keys. A document's `source` is the address as given (or as its sitemap or feed lists it), normalised: the stable
  key that a later ingest or refresh of the same address replaces, and what `investbot remove URL` takes. Its
  `url` is the final address after redirects, which answers cite. A page that moves (a new redirect) keeps its
  document; two addresses of the same page are one document and a duplicate.
- Metadata. A page's declared title and date (og:title, article:published_time... in FetchResult.meta) beat the
  reader's guesses; a feed entry's title and date stand in where the page declares none. The charset the server
  declared decodes a page that is not UTF-8 (the reader cannot see HTTP headers).
- Freshness. Each document keeps its ETag / Last-Modified and fetch time. Refresh sends them back: a 304, or the
  same content hash, is unchanged; a changed page is replaced in one transaction under the same id; a page that
  now fails (an HTTP error, no text) is reported and kept as it was.
- Listings. A sitemap or RSS/Atom feed address ingests the pages it lists, newest first, up to max_pages, and is
  remembered, so that refresh re-reads it and ingests the entries not stored yet.

Every address is handled on its own: one that fails becomes one failed result naming it, the others go on.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.ingest.addresses import normalize_address
from index.ingest.files import Ingester, IngestResult, IngestStatus, ReadDocument, failed_result, run_with_timeout
from index.readers import ReadError, read_data
from index.results import Document
from index.web import (
    FetchConfig,
    FetchError,
    FetchErrorKind,
    FetchResult,
    FetchStatus,
    ListedPage,
    ListingKind,
    expand_listing,
    fetch,
)

# Pages fetched and read before they are committed together: lines repeated across a batch (a site's menu and
# footer) are recognised as boilerplate, and at most this many bodies are held in memory at once.
WEB_BATCH = 20

_TEXT_FORMATS = frozenset({"html", "txt", "md"})
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

Clock = Callable[[], dt.datetime]


@dataclass
class WebResult:
    """What happened to one address: the IngestResult of a web page, named by its address."""

    address: str  # as given or as listed, normalised: the document's source
    status: IngestStatus  # ADDED, REPLACED (changed), UNCHANGED, DUPLICATE or FAILED
    url: str | None = None  # the final address, after redirects
    doc_id: int | None = None
    title: str | None = None
    date: str | None = None
    chunks: int = 0
    reason: str | None = None  # why it failed or is a duplicate; neutral, without the address
    limit: str | None = None  # the EngineConfig or FetchConfig field of a limit it hit
    error: FetchError | None = None  # when fetching failed: str(error) is the line to show
    listing: str | None = None  # the sitemap or feed that listed it
    chunk_ids: list[int] = field(default_factory=list)

    @classmethod
    def failed(cls, address: str, error: FetchError, listing: str | None = None) -> WebResult:
        return cls(
            address, IngestStatus.FAILED, reason=error.reason, limit=error.config_field, error=error, listing=listing
        )


@dataclass
class ListingResult:
    """A sitemap or feed that was read: how many pages it lists and how many were taken."""

    address: str
    url: str  # the final address
    kind: ListingKind
    found: int  # distinct pages listed
    taken: int  # the newest, up to max_pages
    truncated: bool  # the cap cut the list (or nested sitemaps were left unread)
    new: int  # pages taken that were not stored yet (at a first ingest: all of them)


@dataclass
class WebReport:
    results: list[WebResult] = field(default_factory=list)
    listings: list[ListingResult] = field(default_factory=list)

    def count(self, status: IngestStatus | str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def failed(self) -> list[WebResult]:
        return [r for r in self.results if r.status == IngestStatus.FAILED]

    @property
    def chunk_ids(self) -> list[int]:
        return [chunk_id for r in self.results for chunk_id in r.chunk_ids]


@dataclass
class _Entry:
    """One page to fetch (or already fetched) and commit."""

    source: str
    fetched: FetchResult | None = None
    listed: ListedPage | None = None
    listing: str | None = None
    overrides: dict = field(default_factory=dict)


class WebIngester:
    """Ingests and refreshes web documents in one store, through the file path's Ingester."""

    def __init__(self, ingester: Ingester, config: FetchConfig, clock: Clock | None = None) -> None:
        self.ingester = ingester
        self.store = ingester.store
        self.config = config
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def ingest(
        self, addresses: Sequence[str], *, progress: Callable[[str], None] | None = None, overrides: dict | None = None
    ) -> WebReport:
        """Fetch and ingest each address: a page as one document, a sitemap or feed as the pages it lists.

        overrides (title, date...) apply to pages given directly, not to the pages of a listing.
        progress(address) follows every address given, once it is done.
        """
        report = WebReport()
        for address in dict.fromkeys(normalize_address(a) for a in addresses if a.strip()):
            try:
                fetched = self._fetch(address, self.store.document_by_source(address))
                if fetched.is_listing:
                    self._ingest_listing(address, fetched, report, only_new=False)
                else:
                    self._ingest_entries([_Entry(address, fetched, overrides=overrides or {})], report)
            except FetchError as exc:  # the address itself; its listed pages report their own failures
                report.results.append(WebResult.failed(address, exc))
            if progress:
                progress(address)
        return report

    def refresh(self, *, fetched_before: str | None = None, progress: Callable[[str], None] | None = None) -> WebReport:
        """Re-fetch web documents (conditionally) and re-read followed listings for entries not stored yet.

        fetched_before (an ISO UTC time) limits both to what was last fetched earlier. Unchanged pages get their
        new fetch time; changed ones are replaced; failing ones are reported and kept.
        """
        report = WebReport()
        documents = self.store.web_documents(fetched_before)
        listings = self.store.listings(fetched_before)
        for start in range(0, len(documents), WEB_BATCH):
            batch = documents[start : start + WEB_BATCH]
            self._ingest_entries([_Entry(doc.source) for doc in batch], report)
            if progress:
                for doc in batch:
                    progress(doc.source)
        for listing in listings:
            address = listing["address"]
            try:
                self._ingest_listing(address, fetch(address, self.config), report, only_new=True)
            except FetchError as exc:
                report.results.append(WebResult.failed(address, exc))
            if progress:
                progress(address)
        return report

    # --- listings ---------------------------------------------------------------------------------

    def _ingest_listing(self, address: str, fetched: FetchResult, report: WebReport, *, only_new: bool) -> None:
        """Follow the listing and ingest its pages (only those not stored yet, when refreshing)."""
        listing = expand_listing(fetched, self.config)  # a FetchError when it is not a listing (any more)
        self.store.save_listing(address, url=listing.url, kind=listing.kind.value, fetched_at=self._now())
        for failure in listing.failures:  # nested sitemaps that could not be read
            report.results.append(WebResult.failed(failure.url, failure, listing=address))
        # Refresh takes the entries it has not taken before: a page staff removed stays removed, and one that
        # failed is tried again.
        seen = self.store.listing_pages(address) if only_new else set()
        entries = [
            _Entry(source, listed=page, listing=address)
            for page in listing.pages
            if (source := normalize_address(page.url)) not in seen
            and not (only_new and self.store.document_by_source(source))
        ]
        report.listings.append(
            ListingResult(
                address, listing.url, listing.kind, listing.found, len(listing.pages), listing.truncated, len(entries)
            )
        )
        for start in range(0, len(entries), WEB_BATCH):
            first = len(report.results)
            self._ingest_entries(entries[start : start + WEB_BATCH], report)
            taken = [r.address for r in report.results[first:] if r.status != IngestStatus.FAILED]
            self.store.add_listing_pages(address, taken)

    # --- pages ------------------------------------------------------------------------------------

    def _ingest_entries(self, entries: Sequence[_Entry], report: WebReport) -> None:
        """Fetch what is not fetched yet, read, and commit the batch together; results in the order of entries."""
        slots: list[WebResult | None] = []
        pending: list[tuple[int, _Entry, FetchResult, ReadDocument]] = []
        batch_hashes: dict[str, str] = {}
        for entry in entries:
            outcome = self._read(entry, batch_hashes)
            if isinstance(outcome, WebResult):
                slots.append(outcome)
            else:
                pending.append((len(slots), entry, *outcome))
                slots.append(None)
        committed = self.ingester.commit_read([item for *_, item in pending])
        for (slot, entry, fetched, _), result in zip(pending, committed, strict=True):
            slots[slot] = _web_result(entry, result, fetched.url)
        report.results.extend(slot for slot in slots if slot is not None)

    def _read(self, entry: _Entry, batch_hashes: dict[str, str]) -> WebResult | tuple[FetchResult, ReadDocument]:
        """The page fetched and read, ready for the commit; or its result when there is nothing to commit."""
        existing = self.store.document_by_source(entry.source)
        fetched = entry.fetched
        try:
            if fetched is None:
                fetched = self._fetch(entry.source, existing)
            if fetched.is_listing:
                raise FetchError(
                    entry.source,
                    FetchErrorKind.UNSUPPORTED_TYPE,
                    "a sitemap or feed, not a page (give its address on its own to follow it)",
                )
        except FetchError as exc:
            return WebResult.failed(entry.source, exc, entry.listing)
        if fetched.status is FetchStatus.NOT_MODIFIED and existing is not None:
            self._mark_fetched(existing, fetched)
            return _web_result(entry, _stored(existing, IngestStatus.UNCHANGED), fetched.url or existing.url)
        digest = fetched.content_hash or hashlib.sha256(fetched.data).hexdigest()
        path = Path(fetched.name or "page")
        known = self.ingester.check_unchanged(path, entry.source, digest)
        if known is not None:
            if known.status == IngestStatus.UNCHANGED and existing is not None:
                self._mark_fetched(existing, fetched)
            return _web_result(entry, known, fetched.url)
        if digest in batch_hashes:
            duplicate = IngestResult(path, IngestStatus.DUPLICATE, reason=f"same content as {batch_hashes[digest]}")
            return _web_result(entry, duplicate, fetched.url)
        batch_hashes[digest] = entry.source
        timeout = self.ingester.file_timeout
        data = _utf8_if_declared(fetched)
        started = time.monotonic()
        try:
            doc = run_with_timeout(
                lambda: read_data(data, fetched.fmt or "", path.name, max_bytes=self.ingester.max_file_bytes),
                timeout,
                timeout,
            )
        except ReadError as exc:
            return _web_result(entry, failed_result(path, exc), fetched.url)
        fields = {"etag": fetched.etag, "last_modified": fetched.last_modified, "fetched_at": self._now()}
        overrides = _page_overrides(entry, fetched)
        seconds = time.monotonic() - started
        return fetched, ReadDocument(path, entry.source, digest, len(fetched.data), doc, seconds, overrides, fields)

    def _fetch(self, address: str, existing: Document | None) -> FetchResult:
        """A stored page is fetched conditionally: an unchanged one costs a 304, not its body."""
        if existing is None:
            return fetch(address, self.config)
        return fetch(address, self.config, etag=existing.etag, last_modified=existing.last_modified)

    def _mark_fetched(self, existing: Document, fetched: FetchResult) -> None:
        self.store.mark_fetched(
            existing.id,
            fetched_at=self._now(),
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            url=fetched.url if fetched.url else None,
        )

    def _now(self) -> str:
        return self.clock().astimezone(dt.UTC).replace(microsecond=0).isoformat()


def _page_overrides(entry: _Entry, fetched: FetchResult) -> dict:
    """Metadata over the reader's: the caller's first, then the page's declarations, then the feed entry's."""
    overrides: dict = {}
    if entry.listed is not None:
        overrides.update({"title": entry.listed.title, "date": entry.listed.date})
    overrides.update({key: fetched.meta[key] for key in ("title", "date") if fetched.meta.get(key)})
    overrides["url"] = fetched.url
    overrides.update({key: value for key, value in entry.overrides.items() if value})
    return {key: value for key, value in overrides.items() if value}


def _utf8_if_declared(fetched: FetchResult) -> bytes:
    """A text page in the charset its server declared, as UTF-8 for the reader (which cannot see HTTP headers and
    would otherwise guess). Bytes that are valid UTF-8, or carry a BOM, are left to the reader."""
    data = fetched.data
    if fetched.fmt not in _TEXT_FORMATS or not fetched.charset or data.startswith(_BOMS):
        return data
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        pass
    try:
        return data.decode(fetched.charset).encode("utf-8")
    except (LookupError, UnicodeDecodeError):
        return data


def _stored(doc: Document, status: IngestStatus) -> IngestResult:
    return IngestResult(Path(doc.source), status, doc.id, doc.title, doc.date, doc.chunks)


def _web_result(entry: _Entry, result: IngestResult, url: str | None) -> WebResult:
    return WebResult(
        entry.source,
        result.status,
        url=url,
        doc_id=result.doc_id,
        title=result.title,
        date=result.date,
        chunks=result.chunks,
        reason=result.reason,
        limit=result.limit,
        listing=entry.listing,
        chunk_ids=list(result.chunk_ids),
    )
