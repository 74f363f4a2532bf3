"""index.web against local HTTP servers: formats, limits, errors, the private-address guard, sitemaps and feeds."""

from __future__ import annotations

import gzip
import itertools
import re
from pathlib import Path

import pytest

from index.web import (
    LISTING,
    AddressClass,
    FetchConfig,
    FetchError,
    FetchErrorKind,
    FetchStatus,
    ListingKind,
    classify_address,
    decide_format,
    fetch,
    fetch_listing,
    page_metadata,
    parse_listing,
)
from tests.webserver import Reply, SilentServer, WebServer, fake_internet

LOCAL = FetchConfig(allow_private=True, timeout=10)

MENU = ["Главная", "Об агентстве", "Контакты", "Карта сайта"]
ARTICLE = (
    "Индустриальный парк «Ворсино» расположен в Боровском районе Калужской области, в 80 км от Москвы. "
    "Площадь парка составляет 1 500 гектаров, резидентам доступны газ, электричество и вода.",
    "The park offers ready-made sites with utilities connected, and the agency supports investors at every stage "
    "of a project, from choosing the site to commissioning the plant.",
)
PAGE = f"""<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8"><title>Индустриальный парк Ворсино | Агентство</title>
<meta property="og:title" content="Индустриальный парк Ворсино">
<meta property="article:published_time" content="2023-05-17T10:00:00+03:00"></head>
<body><header><nav><ul>{"".join(f'<li><a href="/{i}">{item}</a></li>' for i, item in enumerate(MENU))}</ul></nav>
</header><main><article><h1>Индустриальный парк Ворсино</h1><p>{ARTICLE[0]}</p><p>{ARTICLE[1]}</p></article></main>
<footer><p>© Агентство инновационного развития, 2024. Все права защищены.</p></footer></body></html>"""


@pytest.fixture
def web():
    with WebServer() as server:
        yield server


@pytest.fixture
def internet(monkeypatch, web):
    """Public host names for the SSRF tests (see tests/webserver.fake_internet)."""
    return fake_internet(monkeypatch, web.port)


def _fails(url: str, config: FetchConfig = LOCAL, **kwargs) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, config, **kwargs)
    return caught.value


def _read(result, tmp_path: Path):
    """Through the readers' registry, as ingest does."""
    from index.readers import read_data

    return read_data(result.data, result.fmt, result.name)


# --- pages and their metadata -------------------------------------------------------------------------------------


def test_html_page_main_text_without_the_menu(web, tmp_path):
    url = web.add("/parks/vorsino", PAGE, headers={"ETag": '"v1"', "Last-Modified": "Wed, 17 May 2023 07:00:00 GMT"})
    result = fetch(url, LOCAL)
    assert (result.status, result.fmt, result.url) == (FetchStatus.FETCHED, "html", url)
    assert result.content_type == "text/html"
    assert (result.etag, result.last_modified, result.charset) == ('"v1"', "Wed, 17 May 2023 07:00:00 GMT", "utf-8")
    assert len(result.content_hash) == 64
    text = "\n".join(page.text for page in _read(result, tmp_path).pages)
    assert "1 500 гектаров" in text and "commissioning the plant" in text
    for item in MENU:
        assert item not in text
    assert "Все права защищены" not in text


def test_title_and_date_from_the_page_metadata(web):
    result = fetch(web.add("/news/1", PAGE), LOCAL)
    assert result.meta == {"title": "Индустриальный парк Ворсино", "date": "2023-05-17", "url": web.url("/news/1")}


@pytest.mark.parametrize(
    ("head", "body", "expected"),
    [
        ('<meta property="og:title" content="Open Graph title">', "<p>x</p>", {"title": "Open Graph title"}),
        (
            "",
            "<article><h1>Heading</h1><time datetime='2022-11-03'>3 Nov</time><p>Text</p></article>",
            {"title": "Heading", "date": "2022-11-03"},
        ),
        ('<meta name="date" content="2021-02-03">', "<p>Text</p>", {"title": "Page", "date": "2021-02-03"}),
        (
            '<meta property="article:published_time" content="2020-01-31T23:00:00Z">',
            "<p>Text</p>",
            {"title": "Page", "date": "2020-01-31"},
        ),
        ("", "<p>Published on 5 March 2024 in the news.</p>", {"title": "Page"}),
    ],
    ids=["og-title", "time-datetime-in-article", "meta-name-date", "published-time", "no-declared-date"],
)
def test_page_metadata(head, body, expected):
    html = f"<html><head><title>Page</title>{head}</head><body>{body}</body></html>"
    assert page_metadata(html.encode(), "https://agency.example/p") == {**expected, "url": "https://agency.example/p"}


def test_page_metadata_of_a_cp1251_page_uses_the_declared_charset():
    html = "<html><head><title>Инвестиционный паспорт</title></head><body><p>Текст</p></body></html>"
    assert page_metadata(html.encode("cp1251"), None, charset="windows-1251")["title"] == "Инвестиционный паспорт"


@pytest.mark.parametrize(
    ("content_type", "url", "data", "expected"),
    [
        ("text/html; charset=utf-8", "https://a.example/page", b"", "html"),
        ("application/xhtml+xml", "https://a.example/page", b"", "html"),
        ("application/pdf", "https://a.example/download?id=7", b"", "pdf"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "https://a.example/f", b"", "docx"),
        ("text/plain", "https://a.example/notes.txt", b"", "txt"),
        ("text/plain", "https://a.example/README.md", b"", "md"),
        ("text/markdown", "https://a.example/readme", b"", "md"),
        ("text/plain", "https://a.example/sitemap.xml", b"<urlset/>", LISTING),
        ("application/octet-stream", "https://a.example/passport.pdf", b"", "pdf"),
        ("application/octet-stream", "https://a.example/get", b"%PDF-1.7\n...", "pdf"),
        (None, "https://a.example/file.docx", b"", "docx"),
        ("application/rss+xml", "https://a.example/rss", b"", LISTING),
        ("text/xml", "https://a.example/sitemap.xml", b'<?xml version="1.0"?>\n<urlset></urlset>', LISTING),
        ("application/xml", "https://a.example/feed", b"<!-- c --><feed xmlns='urn:atom'/>", LISTING),
        ("application/xml", "https://a.example/page", b"<html xmlns='http://www.w3.org/1999/xhtml'></html>", "html"),
        ("application/xml", "https://a.example/data", b"<records><r/></records>", None),
        ("image/png", "https://a.example/logo.html", b"", None),
        ("application/msword", "https://a.example/old.doc", b"", None),
        ("application/octet-stream", "https://a.example/archive.zip", b"PK\x03\x04 not a docx", None),
    ],
    ids=[
        "html",
        "xhtml",
        "pdf-type-wins-over-url",
        "docx-type",
        "plain-text",
        "plain-text-named-md",
        "markdown-type",
        "plain-text-named-xml",
        "generic-type-pdf-extension",
        "generic-type-pdf-bytes",
        "no-type-docx-extension",
        "rss-type",
        "xml-sitemap",
        "xml-atom-after-comment",
        "xml-xhtml-page",
        "xml-other",
        "png-despite-extension",
        "old-word-doc",
        "zip-not-docx",
    ],
)
def test_decide_format(content_type, url, data, expected):
    assert decide_format(content_type, url, data) == expected


def test_pdf_by_extension_when_the_server_says_octet_stream(web):
    body = b"%PDF-1.4\n...\n%%EOF\n"
    result = fetch(web.add("/files/passport.pdf", body, content_type="application/octet-stream"), LOCAL)
    assert (result.fmt, result.data, result.name) == ("pdf", body, "passport.pdf")


def test_file_name_from_content_disposition(web):
    url = web.add(
        "/download?id=3",
        b"%PDF-1.4\n%%EOF\n",
        content_type="application/octet-stream",
        headers={"Content-Disposition": 'attachment; filename="invest-passport.pdf"'},
    )
    assert fetch(url, LOCAL).name == "invest-passport.pdf"


# --- errors -------------------------------------------------------------------------------------------------------


def test_http_error_with_its_status(web):
    error = _fails(web.url("/missing"))
    assert (error.kind, error.status, error.url) == (FetchErrorKind.HTTP_STATUS, 404, web.url("/missing"))
    assert str(error) == f"{web.url('/missing')}: HTTP 404 Not Found"


def test_error_after_a_redirect_names_the_target(web):
    web.redirect("/old", "/gone")
    error = _fails(web.url("/old"))
    assert (error.url, error.reason) == (web.url("/old"), f"redirected to {web.url('/gone')}: HTTP 404 Not Found")


def test_address_without_a_path(web):
    error = _fails(web.url(""))  # httpx adds the "/" path; that is no redirect
    assert error.reason == "HTTP 404 Not Found"


def _endless(stopping):
    while not stopping.is_set():
        yield b"<p>" + b"x" * 8188 + b"</p>"


def test_unsupported_content_type_is_named_without_reading_the_body(web):
    """The body never ends: reading it would end in TOO_LARGE, not in naming the type."""
    url = web.add("/logo", _endless, content_type="image/png")
    error = _fails(url, FetchConfig(allow_private=True, max_bytes=256 * 1024))
    assert error.kind is FetchErrorKind.UNSUPPORTED_TYPE
    assert "'image/png'" in error.reason and "supported: HTML, PDF" in error.reason


def test_empty_page_has_no_text(web):
    assert _fails(web.add("/empty", b"")).kind is FetchErrorKind.NO_TEXT


def test_oversized_streamed_body_stops_at_the_limit(web):
    """The body never ends and has no Content-Length: only stopping at the limit can end this fetch."""
    error = _fails(web.add("/endless", _endless), FetchConfig(allow_private=True, max_bytes=256 * 1024))
    assert error.kind is FetchErrorKind.TOO_LARGE
    assert error.reason == "over the 256 KB limit (stopped reading there)"
    assert error.config_field == "max_bytes"


def test_announced_oversized_body_is_refused_before_reading(web):
    url = web.add("/big", b"", headers={"Content-Length": str(80 * 1024 * 1024)})
    error = _fails(url, FetchConfig(allow_private=True, max_bytes=50 * 1024 * 1024))
    assert (error.kind, error.reason) == (FetchErrorKind.TOO_LARGE, "the server announces 80 MB, over the 50 MB limit")


def test_body_at_exactly_the_limit_is_fetched(web):
    body = b"a" * 1000
    url = web.add("/exact", body, content_type="text/plain")
    assert fetch(url, FetchConfig(allow_private=True, max_bytes=1000)).data == body


def test_server_that_accepts_and_never_answers_times_out():
    with SilentServer() as silent:
        error = _fails(silent.url("/"), FetchConfig(allow_private=True, timeout=1))
    assert (error.kind, error.config_field) == (FetchErrorKind.TIMEOUT, "timeout")
    assert error.reason == "no complete response within 1 s"


def test_trickling_body_is_cut_by_the_overall_deadline(web):
    """A byte every 0.2 s never trips a per-read timeout; only the deadline for the whole fetch ends it."""

    def trickle(stopping):  # 6 s in all: without the deadline, the fetch would succeed
        for _ in range(30):
            if stopping.wait(0.2):
                return
            yield b"."

    error = _fails(web.add("/slow", trickle, content_type="text/plain"), FetchConfig(allow_private=True, timeout=1))
    assert error.kind is FetchErrorKind.TIMEOUT


def test_redirects_are_followed(web):
    final = web.add("/final", PAGE)
    web.redirect("/old", "/moved", status=301)
    web.redirect("/moved", final, status=307)
    result = fetch(web.url("/old"), LOCAL)
    assert (result.url, result.redirects) == (final, (web.url("/old"), web.url("/moved")))


@pytest.mark.parametrize(("hops", "fails"), [(5, False), (6, True)], ids=["five-redirects", "six-redirects"])
def test_at_most_five_redirects(web, hops, fails):
    for n in range(hops):
        web.redirect(f"/r{n}", f"/r{n + 1}")
    web.add(f"/r{hops}", PAGE)
    if not fails:
        assert fetch(web.url("/r0"), LOCAL).url == web.url(f"/r{hops}")
        return
    error = _fails(web.url("/r0"))
    assert error.kind is FetchErrorKind.TOO_MANY_REDIRECTS and error.reason.startswith("more than 5 redirects")
    assert f"/r{hops}" not in web.paths()


def test_redirect_loop_is_too_many_redirects(web):
    web.redirect("/a", "/b")
    web.redirect("/b", "/a")
    assert _fails(web.url("/a")).kind is FetchErrorKind.TOO_MANY_REDIRECTS


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("ftp://agency.example/report.pdf", FetchErrorKind.BAD_SCHEME),
        ("file:///etc/passwd", FetchErrorKind.BAD_SCHEME),
        ("javascript:alert(1)", FetchErrorKind.BAD_SCHEME),
        ("www.agency.example/news", FetchErrorKind.BAD_URL),
        ("http:///no-host", FetchErrorKind.BAD_URL),
    ],
    ids=["ftp", "file", "javascript", "no-scheme", "no-host"],
)
def test_only_http_and_https_addresses(url, kind):
    assert _fails(url, FetchConfig()).kind is kind


def test_redirect_to_another_scheme_is_refused(web):
    web.redirect("/r", "file:///etc/passwd")
    error = _fails(web.url("/r"))
    assert error.kind is FetchErrorKind.BAD_SCHEME and "redirected to file:///etc/passwd" in error.reason


def test_unknown_host_is_named():
    error = _fails("http://no-such-host.invalid/page", FetchConfig())
    assert error.kind is FetchErrorKind.DNS and "no-such-host.invalid" in error.reason


def test_the_caller_adds_its_setting_to_the_message():
    reason = "refused as a private address: 10.0.0.1 (private)"
    error = FetchError("http://10.0.0.1/", FetchErrorKind.PRIVATE_ADDRESS, reason)
    error.setting = "INVESTBOT_ALLOW_PRIVATE_URLS"
    assert error.config_field == "allow_private"
    assert str(error) == (
        "http://10.0.0.1/: refused as a private address: 10.0.0.1 (private) (setting: INVESTBOT_ALLOW_PRIVATE_URLS)"
    )


# --- conditional requests -----------------------------------------------------------------------------------------


def _conditional(etag: str, last_modified: str):
    def reply(request):
        if request.headers.get("if-none-match") == etag or request.headers.get("if-modified-since") == last_modified:
            return Reply(status=304, content_type=None, headers={"ETag": etag})
        return Reply(body=PAGE.encode(), headers={"ETag": etag, "Last-Modified": last_modified})

    return reply


@pytest.mark.parametrize(
    "validators",
    [{"etag": '"abc"'}, {"last_modified": "Wed, 01 May 2024 10:00:00 GMT"}],
    ids=["if-none-match", "if-modified-since"],
)
def test_unchanged_page_is_not_modified(web, validators):
    web.routes["/page"] = _conditional('"abc"', "Wed, 01 May 2024 10:00:00 GMT")
    result = fetch(web.url("/page"), LOCAL, **validators)
    assert (result.status, result.data, result.fmt, result.etag) == (FetchStatus.NOT_MODIFIED, b"", None, '"abc"')


def test_changed_page_is_fetched_with_its_new_validators(web):
    web.routes["/page"] = _conditional('"new"', "Thu, 02 May 2024 10:00:00 GMT")
    result = fetch(web.url("/page"), LOCAL, etag='"old"')
    assert (result.status, result.etag, result.last_modified) == (
        FetchStatus.FETCHED,
        '"new"',
        "Thu, 02 May 2024 10:00:00 GMT",
    )
    assert web.requests[-1].headers["if-none-match"] == '"old"'


# --- private addresses (SSRF) -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("127.0.0.1", AddressClass.LOOPBACK),
        ("127.255.0.9", AddressClass.LOOPBACK),
        ("::1", AddressClass.LOOPBACK),
        ("10.1.2.3", AddressClass.PRIVATE),
        ("172.16.0.1", AddressClass.PRIVATE),
        ("192.168.1.10", AddressClass.PRIVATE),
        ("fd00::1", AddressClass.PRIVATE),
        ("169.254.169.254", AddressClass.LINK_LOCAL),
        ("fe80::1", AddressClass.LINK_LOCAL),
        ("224.0.0.1", AddressClass.MULTICAST),
        ("ff02::1", AddressClass.MULTICAST),
        ("0.0.0.0", AddressClass.UNSPECIFIED),
        ("::", AddressClass.UNSPECIFIED),
        ("240.0.0.1", AddressClass.RESERVED),
        ("100.64.0.1", AddressClass.NON_GLOBAL),
        ("::ffff:127.0.0.1", AddressClass.LOOPBACK),
        ("::ffff:10.0.0.1", AddressClass.PRIVATE),
        ("::ffff:169.254.169.254", AddressClass.LINK_LOCAL),
        ("2002:a00:1::", AddressClass.PRIVATE),
        ("64:ff9b::7f00:1", AddressClass.LOOPBACK),
    ],
    ids=[
        "public-v4-dns",
        "public-v4",
        "public-v6",
        "mapped-public",
        "loopback",
        "loopback-range",
        "loopback-v6",
        "private-10",
        "private-172",
        "private-192",
        "unique-local-v6",
        "cloud-metadata",
        "link-local-v6",
        "multicast",
        "multicast-v6",
        "unspecified",
        "unspecified-v6",
        "reserved",
        "carrier-grade-nat",
        "mapped-loopback",
        "mapped-private",
        "mapped-link-local",
        "6to4-private",
        "nat64-loopback",
    ],
)
def test_address_classification(address, expected):
    assert classify_address(address) is expected


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", r"127\.0\.0\.1 \(loopback\)"),
        ("localhost", r"localhost resolves to (127\.0\.0\.1|::1) \(loopback\)"),
        ("[::ffff:127.0.0.1]", r"::ffff:127\.0\.0\.1 \(loopback\)"),
        ("2130706433", r"2130706433 resolves to 127\.0\.0\.1 \(loopback\)"),
        ("0.0.0.0", r"0\.0\.0\.0 \(unspecified\)"),
    ],
    ids=["ip-literal", "localhost", "mapped-literal", "decimal-ip", "unspecified"],
)
def test_private_address_refused_without_allow_private(web, host, reason):
    web.add("/secret", "<p>internal</p>")
    error = _fails(f"http://{host}:{web.port}/secret", FetchConfig())
    assert (error.kind, error.config_field) == (FetchErrorKind.PRIVATE_ADDRESS, "allow_private")
    assert re.fullmatch(f"refused as a private address: {reason}", error.reason), error.reason
    assert web.requests == []  # refused before connecting


def test_host_with_any_private_address_is_refused(internet):
    internet["mixed.example"] = ["93.184.216.34", "10.0.0.7"]
    error = _fails("http://mixed.example/", FetchConfig())
    assert error.kind is FetchErrorKind.PRIVATE_ADDRESS
    assert error.reason == "refused as a private address: mixed.example resolves to 10.0.0.7 (private)"


def test_public_host_is_fetched(internet, web):
    internet["agency.example"] = ["93.184.216.34"]
    web.add("/news", PAGE)
    assert fetch(f"http://agency.example:{web.port}/news", FetchConfig()).fmt == "html"


@pytest.mark.parametrize(
    ("target", "address"),
    [("http://127.0.0.1:{port}/secret", "127.0.0.1"), ("http://intranet.example:{port}/secret", "10.0.0.8")],
    ids=["to-loopback-literal", "to-private-name"],
)
def test_redirect_from_public_host_to_private_address_is_refused(internet, web, target, address):
    internet["agency.example"] = ["93.184.216.34"]
    internet["intranet.example"] = ["10.0.0.8"]
    web.redirect("/go", target.format(port=web.port))
    web.add("/secret", "<p>internal</p>")
    url = f"http://agency.example:{web.port}/go"
    error = _fails(url, FetchConfig())
    assert (error.kind, error.url) == (FetchErrorKind.PRIVATE_ADDRESS, url)
    assert error.reason.startswith(f"redirected to {target.format(port=web.port)}: refused as a private address")
    assert address in error.reason
    assert web.paths() == ["/go"]


def test_allow_private_fetches_local_addresses(web):
    assert fetch(web.add("/intranet", PAGE), FetchConfig(allow_private=True)).fmt == "html"


# --- sitemaps and feeds -------------------------------------------------------------------------------------------

SITEMAP_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def _sitemap(entries: list[tuple[str, str | None]]) -> str:
    urls = "".join(
        f"<url><loc>{loc}</loc>{f'<lastmod>{date}</lastmod>' if date else ''}</url>" for loc, date in entries
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {SITEMAP_NS}>{urls}</urlset>'


def test_sitemap_lists_its_pages_newest_first(web):
    url = web.add(
        "/sitemap.xml",
        _sitemap([("/about", None), ("https://agency.example/news/1", "2024-01-10"), ("/news/2", "2024-03-01T10:00")]),
        content_type="application/xml",
    )
    listing = fetch_listing(url, LOCAL)
    assert listing.kind is ListingKind.SITEMAP
    assert [(page.url, page.date) for page in listing.pages] == [
        (web.url("/news/2"), "2024-03-01"),
        ("https://agency.example/news/1", "2024-01-10"),
        (web.url("/about"), None),
    ]
    assert (listing.found, listing.truncated, listing.failures) == (3, False, ())


def test_sitemap_capped_at_max_pages(web):
    entries = [(f"/news/{n}", f"2024-01-{n:02d}") for n in range(1, 31)]
    url = web.add("/sitemap.xml", _sitemap(entries), content_type="text/xml")
    listing = fetch_listing(url, FetchConfig(allow_private=True, max_pages=5))
    assert [page.url for page in listing.pages] == [web.url(f"/news/{n}") for n in range(30, 25, -1)]
    assert (listing.found, listing.truncated) == (30, True)


def test_sitemap_index_follows_nested_sitemaps(web):
    web.add(
        "/sitemap-2024.xml.gz",
        gzip.compress(_sitemap([("/news/b", "2024-02-01")]).encode()),
        content_type="application/x-gzip",
    )
    web.add(
        "/sitemap-2023.xml",
        _sitemap([("/news/a", "2023-06-01"), ("/news/b", "2024-02-01")]),
        content_type="application/xml",
    )
    web.add(
        "/sitemap-deeper.xml",
        f"<sitemapindex {SITEMAP_NS}><sitemap><loc>/sitemap-2023.xml</loc></sitemap></sitemapindex>",
        content_type="application/xml",
    )
    index = f"""<?xml version="1.0"?><sitemapindex {SITEMAP_NS}>
      <sitemap><loc>/sitemap-deeper.xml</loc><lastmod>2023-12-31</lastmod></sitemap>
      <sitemap><loc>/sitemap-2024.xml.gz</loc><lastmod>2024-02-01</lastmod></sitemap>
      <sitemap><loc>/missing.xml</loc></sitemap>
      <sitemap><loc>/sitemap.xml</loc></sitemap>
    </sitemapindex>"""
    listing = fetch_listing(web.add("/sitemap.xml", index, content_type="application/xml"), LOCAL)
    assert listing.kind is ListingKind.SITEMAP_INDEX
    assert [page.url for page in listing.pages] == [web.url("/news/b"), web.url("/news/a")]
    assert [(error.url, error.status) for error in listing.failures] == [(web.url("/missing.xml"), 404)]
    assert web.paths().count("/sitemap.xml") == 1  # the index listing itself is not fetched again


def test_sitemap_index_stops_fetching_once_it_has_enough_pages(web):
    for n in range(3):
        web.add(f"/s{n}.xml", _sitemap([(f"/p{n}-{i}", None) for i in range(4)]), content_type="text/xml")
    index = f"<sitemapindex {SITEMAP_NS}>" + "".join(f"<sitemap><loc>/s{n}.xml</loc></sitemap>" for n in range(3))
    listing = fetch_listing(
        web.add("/index.xml", index + "</sitemapindex>", content_type="text/xml"),
        FetchConfig(allow_private=True, max_pages=6),
    )
    assert (len(listing.pages), listing.truncated) == (6, True)
    assert "/s2.xml" not in web.paths()


RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Agency news</title>
<link>https://agency.example/</link>
<item><title>New park opens</title><link>https://agency.example/news/park</link>
<pubDate>Tue, 05 Mar 2024 10:00:00 +0300</pubDate></item>
<item><title>Forum</title><guid>https://agency.example/news/forum</guid><dc:date>2024-02-20</dc:date></item>
<item><title>Relative</title><link>/news/relative</link></item>
<item><title>Not a permalink</title><guid isPermaLink="false">tag:agency,1</guid></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://agency.example/en/">
<title>Agency news</title>
<entry><title>Tax  incentives</title><link rel="alternate" type="application/pdf" href="tax.pdf"/>
<link href="news/tax"/><link rel="edit" href="/admin/1"/>
<published>2024-04-02T09:00:00Z</published><updated>2024-04-03T09:00:00Z</updated></entry>
<entry><title>Old</title><link href="https://agency.example/en/news/old#top"/><updated>2019-12-01T00:00:00Z</updated></entry>
</feed>"""


def test_rss_feed(web):
    listing = fetch_listing(web.add("/rss", RSS, content_type="application/rss+xml"), LOCAL)
    assert listing.kind is ListingKind.RSS
    assert [(page.url, page.date, page.title) for page in listing.pages] == [
        ("https://agency.example/news/park", "2024-03-05", "New park opens"),
        ("https://agency.example/news/forum", "2024-02-20", "Forum"),
        (web.url("/news/relative"), None, "Relative"),
    ]


def test_atom_feed(web):
    listing = fetch_listing(web.add("/atom", ATOM, content_type="application/atom+xml"), LOCAL)
    assert listing.kind is ListingKind.ATOM
    assert [(page.url, page.date, page.title) for page in listing.pages] == [
        ("https://agency.example/en/news/tax", "2024-04-02", "Tax incentives"),
        ("https://agency.example/en/news/old", "2019-12-01", "Old"),
    ]


def test_a_page_is_not_a_listing(web):
    with pytest.raises(FetchError) as caught:
        fetch_listing(web.add("/page", PAGE), LOCAL)
    error = caught.value
    assert error.kind is FetchErrorKind.UNSUPPORTED_TYPE and "not a sitemap or an RSS/Atom feed" in error.reason


@pytest.mark.parametrize(
    ("xml", "kind", "page"),
    [
        (
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><item rdf:about="https://a.example/n/1"><title>One</title>'
            "<dc:date>2024-05-06T08:00:00+03:00</dc:date></item></rdf:RDF>",
            ListingKind.RSS,
            ("https://a.example/n/1", "2024-05-06", "One"),
        ),
        (
            f'<urlset {SITEMAP_NS} xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url>'
            "<loc>https://a.example/n/2</loc><news:news><news:publication_date>2024-05-07</news:publication_date>"
            "<news:title>Two</news:title></news:news></url></urlset>",
            ListingKind.SITEMAP,
            ("https://a.example/n/2", "2024-05-07", "Two"),
        ),
        (
            "<rss><channel><item><link> https://a.example/n/3 </link>"
            "<pubDate>Sun, 31 Dec 2023 23:30:00 -0500</pubDate></item></channel></rss>",
            ListingKind.RSS,
            ("https://a.example/n/3", "2023-12-31", None),
        ),
        (
            '<feed xmlns="http://www.w3.org/2005/Atom"><entry><link rel="alternate" href="mailto:x@a.example"/>'
            '</entry><entry><link href="/n/4"/><updated>2024-01-02</updated></entry></feed>',
            ListingKind.ATOM,
            ("https://a.example/n/4", "2024-01-02", None),
        ),
    ],
    ids=["rss-1.0-rdf-about", "google-news-sitemap", "rss-2.0-rfc822-date", "atom-http-links-only"],
)
def test_parse_listing_entries(xml, kind, page):
    parsed = parse_listing(xml.encode(), "https://a.example/feed")
    assert parsed.kind is kind
    assert [(entry.url, entry.date, entry.title) for entry in parsed.pages] == [page]


@pytest.mark.parametrize(
    "xml",
    [
        b"<records><r/></records>",
        b"not xml at all",
        b"",
    ],
    ids=["other-xml", "not-xml", "empty"],
)
def test_parse_listing_of_something_else_is_none(xml):
    assert parse_listing(xml, "https://agency.example/") is None


def test_parse_listing_expands_no_entities(tmp_path):
    """XML from the web may define entities reading local files (XXE) or multiplying text (billion laughs)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-MARKER")
    xml = f"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY file SYSTEM "{secret.as_uri()}"><!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>
<urlset><url><loc>https://agency.example/&file;</loc></url><url><loc>https://agency.example/&b;</loc></url></urlset>"""
    parsed = parse_listing(xml.encode(), "https://agency.example/")
    assert parsed is not None and len(parsed.pages) == 2
    for page in parsed.pages:
        assert "SECRET" not in page.url and "aaaa" not in page.url


def test_config_rejects_nonsense():
    with pytest.raises(ValueError, match="timeout"):
        FetchConfig(timeout=0)
    with pytest.raises(ValueError, match="max_redirects"):
        FetchConfig(max_redirects=-1)


def test_no_threads_left_behind():
    """The server helper joins its handlers even when one is still streaming an endless body."""
    import threading

    with WebServer() as server:
        chunks = itertools.repeat(b"x" * 4096)
        server.add("/endless", lambda stopping: itertools.takewhile(lambda _: not stopping.is_set(), chunks))
        with pytest.raises(FetchError):
            fetch(server.url("/endless"), FetchConfig(allow_private=True, max_bytes=64 * 1024))
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("webserver")]
