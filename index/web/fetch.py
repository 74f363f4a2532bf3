"""Fetching one web address: the bytes, which reader they need, and every way that can fail, named.

Staff paste links to the agency's site; a link can be slow, huge, a redirect chain, a picture, or an address on
the agency's own network. `fetch` returns the document's bytes with the format that decides its reader
(`index.readers` does the reading), or raises one `FetchError` whose kind says which limit or failure it was, so
ingest can print one line per address and go on with the others. Everything configurable is in `FetchConfig`;
the application maps its own settings onto it and may attach a setting name to an error (`FetchError.setting`).
"""

from __future__ import annotations

import enum
import functools
import hashlib
import re
import ssl
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import unquote

import httpcore
import httpx

from index.web.pagemeta import page_metadata
from index.web.safety import AddressRefused, Deadline, GuardedBackend, Unresolvable

_MiB = 1024 * 1024

DOCUMENT_FORMATS = ("html", "pdf", "docx", "txt", "md")  # the readers' format names
LISTING = "listing"  # a sitemap or an RSS/Atom feed: a list of pages (see index.web.feeds), not a document
DEFAULT_USER_AGENT = "InvestBot/1.0 (document fetcher of an investment agency's assistant)"

_SUPPORTED = "HTML, PDF, DOCX, plain text, Markdown, sitemaps and RSS/Atom feeds"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ACCEPT = (
    "text/html,application/xhtml+xml,application/pdf,"
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document,text/plain,text/markdown,"
    "application/rss+xml,application/atom+xml,application/xml;q=0.9,*/*;q=0.5"
)
_XML = "xml"  # XML of unknown kind until its root element is seen: a listing or an XHTML page
_TYPE_FORMATS = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/plain": "txt",
    "text/markdown": "md",
    "text/x-markdown": "md",
    "application/rss+xml": LISTING,
    "application/atom+xml": LISTING,
    "application/rdf+xml": LISTING,
    "text/xml": _XML,
    "application/xml": _XML,
}
# Types that say nothing about the content: the file name, then the bytes decide.
_GENERIC_TYPES = frozenset(
    {
        "",
        "application/octet-stream",
        "binary/octet-stream",
        "application/download",
        "application/force-download",
        "application/x-download",
        "application/gzip",
        "application/x-gzip",
        "application/unknown",
    }
)
_EXTENSION_FORMATS = {
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".txt": "txt",
    ".md": "md",
    ".markdown": "md",
    ".rss": LISTING,
    ".atom": LISTING,
    ".xml": _XML,
}
# The first element after the XML prolog (declaration, processing instructions, comments, doctype).
_ROOT_RE = re.compile(
    rb"^(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)*<(?:[\w.-]+:)?([\w.-]+)", re.DOTALL | re.I
)
_LISTING_ROOTS = frozenset({b"urlset", b"sitemapindex", b"rss", b"rdf", b"feed"})
_FILENAME_RE = re.compile(r"""filename\*?\s*=\s*(?:[\w-]+'[\w-]*')?"?([^";]+)""", re.I)


class FetchStatus(enum.Enum):
    FETCHED = "fetched"
    NOT_MODIFIED = "not_modified"  # the server answered 304 to a conditional request: keep the stored copy


class FetchErrorKind(enum.Enum):
    BAD_URL = "bad url"
    BAD_SCHEME = "bad scheme"
    PRIVATE_ADDRESS = "private address"
    DNS = "dns"
    NETWORK = "network"
    TIMEOUT = "timeout"
    TOO_MANY_REDIRECTS = "too many redirects"
    HTTP_STATUS = "http status"
    TOO_LARGE = "too large"
    UNSUPPORTED_TYPE = "unsupported type"
    NO_TEXT = "no text"


# The FetchConfig field behind each limit, so that an application can name its own setting for it.
_CONFIG_FIELDS = {
    FetchErrorKind.PRIVATE_ADDRESS: "allow_private",
    FetchErrorKind.TOO_LARGE: "max_bytes",
    FetchErrorKind.TIMEOUT: "timeout",
    FetchErrorKind.TOO_MANY_REDIRECTS: "max_redirects",
}


class FetchError(Exception):
    """One address that could not be fetched: `str()` is the line to show, `{url}: {reason}`.

    `url` is the address as given (a redirect's target is named in the reason); `status` is the HTTP status for
    HTTP_STATUS; `setting` is left for the caller to fill (the application's name for the setting) and is then
    named in the message, `config_field` tells which FetchConfig field that setting maps to.
    """

    def __init__(
        self, url: str, kind: FetchErrorKind, reason: str, *, status: int | None = None, setting: str | None = None
    ) -> None:
        super().__init__(url, kind, reason)
        self.url = url
        self.kind = kind
        self.reason = reason
        self.status = status
        self.setting = setting

    @property
    def config_field(self) -> str | None:
        return _CONFIG_FIELDS.get(self.kind)

    def __str__(self) -> str:
        hint = f" (setting: {self.setting})" if self.setting else ""
        return f"{self.url}: {self.reason}{hint}"


@dataclass(frozen=True)
class FetchConfig:
    timeout: float = 20.0  # seconds for the whole fetch: connecting, redirects and the body together
    max_bytes: int = 50 * _MiB  # body size; reading stops there
    max_redirects: int = 5
    allow_private: bool = False  # private, loopback, link-local... addresses; for tests and intranets
    user_agent: str = DEFAULT_USER_AGENT
    max_pages: int = 200  # pages taken from one sitemap or feed
    max_sitemaps: int = 50  # nested sitemaps fetched for one sitemap index

    def __post_init__(self) -> None:
        for name in ("timeout", "max_bytes", "max_pages", "max_sitemaps"):
            if not getattr(self, name) > 0:
                raise ValueError(f"FetchConfig.{name} must be positive, got {getattr(self, name)!r}")
        if self.max_redirects < 0:
            raise ValueError(f"FetchConfig.max_redirects must be 0 or more, got {self.max_redirects!r}")


@dataclass(frozen=True)
class FetchResult:
    url: str  # the final address, after redirects: the document's source
    status: FetchStatus
    fmt: str | None  # one of DOCUMENT_FORMATS or LISTING; None when not modified
    data: bytes  # the body (decompressed for a gzipped sitemap); empty when not modified
    content_type: str | None = None  # media type without parameters, as the server sent it
    charset: str | None = None  # declared by the server; the html reader cannot see HTTP headers
    etag: str | None = None  # validators for the next conditional request
    last_modified: str | None = None
    content_hash: str | None = None  # sha256 of data: change detection when the server sends no validators
    meta: dict[str, str] = field(default_factory=dict)  # HTML only: title, date, url (see page_metadata)
    name: str = ""  # a file-like name for the document: the server's file name or the path's last part
    redirects: tuple[str, ...] = ()  # the addresses that redirected, in order

    @property
    def is_listing(self) -> bool:
        return self.fmt == LISTING


def fetch(
    url: str, config: FetchConfig | None = None, *, etag: str | None = None, last_modified: str | None = None
) -> FetchResult:
    """Fetch one http(s) address within the config's limits; FetchError names what went wrong.

    With `etag` / `last_modified` from an earlier fetch the request is conditional, and an unchanged document comes
    back as NOT_MODIFIED without its body.
    """
    config = config or FetchConfig()
    current = _checked_url(url, url)
    headers = {"User-Agent": config.user_agent, "Accept": _ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = Deadline(config.timeout)
    redirects: list[str] = []
    with _client(config, deadline) as client:
        while True:
            try:
                with client.stream("GET", current, headers=headers) as response:
                    location = response.headers.get("location") if response.status_code in _REDIRECTS else None
                    if not location:
                        return _result(response, url, current, tuple(redirects), config, (etag, last_modified))
            except (AddressRefused, Unresolvable, httpx.HTTPError) as exc:
                raise _network_error(exc, url, _hop(current, redirects), config) from None
            if len(redirects) >= config.max_redirects:
                raise FetchError(
                    url,
                    FetchErrorKind.TOO_MANY_REDIRECTS,
                    f"more than {config.max_redirects} redirects (last to {location})",
                )
            redirects.append(str(current))
            current = _checked_url(location, url, base=current)


def _checked_url(text: str, url: str, *, base: httpx.URL | None = None) -> httpx.URL:
    """An absolute http(s) URL, or the FetchError for it (a redirect's target is named as such)."""
    what = f"redirected to {text}: " if base is not None else ""
    try:
        parsed = base.join(text) if base is not None else httpx.URL(text.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError(url, FetchErrorKind.BAD_URL, f"{what}not a valid address ({exc})") from None
    if not parsed.scheme:
        raise FetchError(url, FetchErrorKind.BAD_URL, f"{what}not a web address (it should start with https://)")
    if parsed.scheme not in ("http", "https"):
        raise FetchError(
            url, FetchErrorKind.BAD_SCHEME, f"{what}only http and https addresses can be fetched, not {parsed.scheme}:"
        )
    if not parsed.host:
        raise FetchError(url, FetchErrorKind.BAD_URL, f"{what}no host name in the address")
    return parsed.copy_with(fragment=None)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """Loading the CA bundle takes tens of milliseconds, which a sitemap of 200 pages would pay 200 times; the
    context is configuration, never changed after creation, and safe to share between threads."""
    return httpx.create_ssl_context()


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, backend: GuardedBackend) -> None:
        ssl_context = _ssl_context()
        super().__init__(verify=ssl_context, trust_env=False)
        # httpx has no parameter for the socket layer; its pool is what the transport sends through, and
        # replacing it is how every connection (each redirect hop too) goes through the address check.
        self._pool = httpcore.ConnectionPool(ssl_context=ssl_context, network_backend=backend, max_connections=4)


def _client(config: FetchConfig, deadline: Deadline) -> httpx.Client:
    backend = GuardedBackend(allow_private=config.allow_private, deadline=deadline)
    return httpx.Client(
        transport=_GuardedTransport(backend),
        timeout=httpx.Timeout(config.timeout),  # per operation; GuardedBackend cuts each to the time left
        follow_redirects=False,  # by hand: each target is checked and counted
        trust_env=False,  # a proxy from the environment would connect on our behalf, past the address check
    )


def _network_error(exc: Exception, url: str, what: str, config: FetchConfig) -> FetchError:
    if isinstance(exc, AddressRefused):
        return FetchError(url, FetchErrorKind.PRIVATE_ADDRESS, f"{what}{exc}")
    if isinstance(exc, Unresolvable):
        return FetchError(url, FetchErrorKind.DNS, f"{what}{exc}")
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(url, FetchErrorKind.TIMEOUT, f"{what}no complete response within {config.timeout:g} s")
    if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        return FetchError(url, FetchErrorKind.BAD_URL, f"{what}not a valid address ({exc})")
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return FetchError(url, FetchErrorKind.NETWORK, f"{what}cannot connect ({detail})")
    return FetchError(url, FetchErrorKind.NETWORK, f"{what}the connection failed ({detail})")


def _result(
    response: httpx.Response,
    url: str,
    current: httpx.URL,
    redirects: tuple[str, ...],
    config: FetchConfig,
    validators: tuple[str | None, str | None],
) -> FetchResult:
    code = response.status_code
    etag = response.headers.get("etag")
    last_modified = response.headers.get("last-modified")
    if code == 304 and any(validators):  # a 304 may omit the validators; the ones sent still hold
        return FetchResult(
            str(current),
            FetchStatus.NOT_MODIFIED,
            None,
            b"",
            etag=etag or validators[0],
            last_modified=last_modified or validators[1],
            redirects=redirects,
        )
    if not 200 <= code < 300:
        phrase = f"HTTP {code} {response.reason_phrase}".strip()
        raise FetchError(url, FetchErrorKind.HTTP_STATUS, _hop(current, redirects) + phrase, status=code)
    if code in (204, 205):
        raise FetchError(
            url, FetchErrorKind.NO_TEXT, f"{_hop(current, redirects)}the server sent no content (HTTP {code})"
        )

    media_type = (response.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    filename = _disposition_filename(response.headers.get("content-disposition"))
    name = filename or _last_part(current)
    fmt = _format_from_headers(media_type, name)
    if fmt is None and media_type not in _GENERIC_TYPES:
        raise _unsupported(url, _hop(current, redirects), media_type)

    data = _read_body(response, url, config)
    if not data.strip():
        raise FetchError(url, FetchErrorKind.NO_TEXT, f"{_hop(current, redirects)}the response is empty")
    if fmt in (None, _XML):
        data, fmt = _sniff(data, url, config)
        if fmt is None:
            raise _unsupported(url, _hop(current, redirects), media_type, xml=data.lstrip().startswith(b"<"))
    final = str(current)
    charset = response.charset_encoding
    return FetchResult(
        url=final,
        status=FetchStatus.FETCHED,
        fmt=fmt,
        data=data,
        content_type=media_type or None,
        charset=charset,
        etag=etag,
        last_modified=last_modified,
        content_hash=hashlib.sha256(data).hexdigest(),
        meta=page_metadata(data, final, charset=charset) if fmt == "html" else {},
        name=name,
        redirects=redirects,
    )


def _hop(current: httpx.URL, redirects: list[str] | tuple[str, ...]) -> str:
    """How a reason starts when the failing address is a redirect's target, not the one given."""
    return f"redirected to {current}: " if redirects else ""


def _unsupported(url: str, hop: str, media_type: str, *, xml: bool = False) -> FetchError:
    if xml:
        what = "an XML document that is neither a web page, a sitemap nor an RSS/Atom feed"
    elif media_type in _GENERIC_TYPES:
        what = f"a file of unknown type ({media_type or 'no content type'})"
    else:
        what = f"unsupported content type '{media_type}'"
    return FetchError(url, FetchErrorKind.UNSUPPORTED_TYPE, f"{hop}{what} (supported: {_SUPPORTED})")


def _format_from_headers(media_type: str, name: str) -> str | None:
    """The content type decides; an extension only refines text/plain (servers send Markdown and XML files as
    plain text) or stands in for a generic type."""
    extension = PurePosixPath(name.lower()).suffix
    fmt = _TYPE_FORMATS.get(media_type)
    if fmt == "txt" and _EXTENSION_FORMATS.get(extension) in ("md", _XML, LISTING):
        return _EXTENSION_FORMATS[extension]
    if fmt is None and media_type in _GENERIC_TYPES:
        return _EXTENSION_FORMATS.get(extension)
    return fmt


def decide_format(content_type: str | None, url: str, data: bytes = b"") -> str | None:
    """The format a fetch would decide for these headers and bytes: DOCUMENT_FORMATS, LISTING, or None."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    fmt = _format_from_headers(media_type, _last_part(httpx.URL(url)))
    if fmt is None and media_type not in _GENERIC_TYPES:
        return None
    if fmt in (None, _XML):
        return _sniff(data, url, FetchConfig())[1]
    return fmt


def _sniff(data: bytes, url: str, config: FetchConfig) -> tuple[bytes, str | None]:
    """The format told by the bytes themselves, for generic types and XML; gzip (sitemap.xml.gz) is unpacked."""
    if data.startswith(b"\x1f\x8b"):
        unpacked = _gunzip(data, url, config)
        return (unpacked, LISTING) if _xml_root(unpacked) in _LISTING_ROOTS else (data, None)
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF-"):
        return data, "pdf"
    if head.startswith(b"PK\x03\x04") and b"word/document.xml" in data:
        return data, "docx"
    root = _xml_root(data)
    if root in _LISTING_ROOTS:
        return data, LISTING
    if root == b"html":
        return data, "html"
    return data, None


def _xml_root(data: bytes) -> bytes | None:
    match = _ROOT_RE.match(data[:8192].removeprefix(b"\xef\xbb\xbf"))
    return match.group(1).lower() if match else None


def _gunzip(data: bytes, url: str, config: FetchConfig) -> bytes:
    unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        unpacked = unpacker.decompress(data, config.max_bytes + 1)
    except zlib.error:
        raise FetchError(url, FetchErrorKind.UNSUPPORTED_TYPE, "a damaged gzip file") from None
    if len(unpacked) > config.max_bytes:
        raise FetchError(url, FetchErrorKind.TOO_LARGE, f"unpacks to over the {_human(config.max_bytes)} limit")
    return unpacked


def _read_body(response: httpx.Response, url: str, config: FetchConfig) -> bytes:
    """The body, read only up to the limit: a huge or endless response costs at most max_bytes of memory."""
    limit = config.max_bytes
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise FetchError(
            url,
            FetchErrorKind.TOO_LARGE,
            f"the server announces {_human(int(declared))}, over the {_human(limit)} limit",
        )
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            raise FetchError(url, FetchErrorKind.TOO_LARGE, f"over the {_human(limit)} limit (stopped reading there)")
    return bytes(body)


def _human(n: int) -> str:
    for unit, scale in (("MB", _MiB), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def _disposition_filename(header: str | None) -> str | None:
    match = _FILENAME_RE.search(header or "")
    if match is None:
        return None
    return PurePosixPath(unquote(match.group(1).strip())).name or None


def _last_part(url: httpx.URL) -> str:
    return PurePosixPath(unquote(url.path)).name or url.host
