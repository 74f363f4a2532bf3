"""Web documents: fetching an address safely, and reading sitemaps and feeds into lists of pages.

The public API, for ingest and refresh:

- `fetch(url, config, etag=..., last_modified=...) -> FetchResult`: bytes plus the format that picks the reader
  (`result.fmt` in DOCUMENT_FORMATS) or LISTING for a sitemap/feed; raises FetchError (kind, url, reason).
- `expand_listing(result, config) -> Listing` / `fetch_listing(url, config)`: the pages a sitemap or feed lists.
- `page_metadata(html, url)`: a page's declared title and date (fetch fills `FetchResult.meta` with it).
- `classify_address(ip)`: why an address counts as private (None when public).
"""

from index.web.feeds import (
    ListedPage,
    Listing,
    ListingKind,
    ParsedListing,
    expand_listing,
    fetch_listing,
    parse_listing,
)
from index.web.fetch import (
    DOCUMENT_FORMATS,
    LISTING,
    FetchConfig,
    FetchError,
    FetchErrorKind,
    FetchResult,
    FetchStatus,
    decide_format,
    fetch,
)
from index.web.pagemeta import page_metadata
from index.web.safety import AddressClass, classify_address

__all__ = [
    "DOCUMENT_FORMATS",
    "LISTING",
    "AddressClass",
    "FetchConfig",
    "FetchError",
    "FetchErrorKind",
    "FetchResult",
    "FetchStatus",
    "ListedPage",
    "Listing",
    "ListingKind",
    "ParsedListing",
    "classify_address",
    "decide_format",
    "expand_listing",
    "fetch",
    "fetch_listing",
    "page_metadata",
    "parse_listing",
]
