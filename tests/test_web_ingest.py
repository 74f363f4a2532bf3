"""Web pages as documents, against local HTTP servers on 127.0.0.1: ingest, errors, refresh, sitemaps, the
`investbot ingest URL` / `investbot refresh` commands, and staff sending links to the bot."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from index.ingest.addresses import is_address, normalize_address
from index.ingest.files import IngestStatus
from index.ingest.web import WebReport, WebResult
from index.web import FetchConfig, FetchErrorKind, ListingKind
from tests.conftest import ADMIN_ID, KNOWLEDGE
from tests.webserver import Reply, SilentServer, WebServer, fake_internet

LOCAL = FetchConfig(allow_private=True, timeout=10)

MENU = ["Home", "About the agency", "Investors", "Contacts", "Site map"]
VORSINO = (
    "The Vorsino industrial park covers 1,500 hectares in Borovsk District of Kaluga Region, 80 km from Moscow.",
    "Residents of the park get ready sites with gas, electricity and water connected, and the agency supports "
    "every project from choosing the site to commissioning the plant.",
)
HECTARES = "How many hectares does the Vorsino industrial park cover?"


def page(title: str, paragraphs: tuple[str, ...], published: str | None = "2023-05-17T10:00:00+03:00") -> str:
    """An agency web page: a menu, the article, a footer; title and date declared in its metadata only."""
    date = f'<meta property="article:published_time" content="{published}">' if published else ""
    menu = "".join(f'<li><a href="/{i}">{item}</a></li>' for i, item in enumerate(MENU))
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | Agency</title>'
        f'<meta property="og:title" content="{title}">{date}</head>'
        f"<body><header><nav><ul>{menu}</ul></nav></header><main><article><h1>{title}</h1>{body}</article></main>"
        "<footer><p>© Investment agency of Kaluga Region, 2024. All rights reserved.</p></footer></body></html>"
    )


VORSINO_PAGE = page("Vorsino industrial park", VORSINO)


def sitemap(entries: list[tuple[str, str]]) -> str:
    urls = "".join(f"<url><loc>{loc}</loc><lastmod>{date}</lastmod></url>" for loc, date in entries)
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'


TOWNS = {1: "Lyudinovo", 2: "Obninsk", 3: "Kozelsk"}


def news(n: int) -> tuple[str, ...]:
    town = TOWNS[n]
    return (
        f"The agency signed an investment agreement for a new plant in {town}, Kaluga Region.",
        f"The new plant in {town} will employ {n * 100} people once it opens.",
    )


@pytest.fixture
def web():
    with WebServer() as server:
        yield server


@pytest.fixture
def engine(lexical_engine):
    return lexical_engine


def texts_of(engine, doc_id: int) -> str:
    rows = engine.store.db.execute("SELECT text FROM chunks WHERE doc_id = ? ORDER BY position", [doc_id]).fetchall()
    return "\n".join(row[0] for row in rows)


# --- addresses ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://agency.example/news", True),
        ("HTTP://agency.example", True),
        ("ftp://agency.example/file.pdf", True),  # an address: refused with a reason, not looked for as a file
        ("knowledge/article.md", False),
        ("./https-notes.txt", False),
        ("C:\\docs\\a.pdf", False),
    ],
    ids=["https", "upper-case-scheme", "other-scheme", "relative-path", "path-with-https-in-name", "windows-path"],
)
def test_is_address(text, expected):
    assert is_address(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  https://agency.example/news  ", "https://agency.example/news"),
        ("https://Agency.EXAMPLE/News#top", "https://agency.example/News"),
        ("https://agency.example/search?q=parks", "https://agency.example/search?q=parks"),
        ("not an address at all", "not an address at all"),
    ],
    ids=["trimmed", "host-lowercased-fragment-dropped", "query-kept", "unparseable-kept"],
)
def test_normalize_address(text, expected):
    assert normalize_address(text) == expected


# --- ingest -------------------------------------------------------------------------------------------------------


def test_page_ingested_with_main_text_metadata_and_its_link_cited(engine, web):
    url = web.add("/parks/vorsino", VORSINO_PAGE, headers={"ETag": '"v1"', "Last-Modified": "Wed, 17 May 2023"})
    report = engine.ingest_urls([url], LOCAL)
    [result] = report.results
    assert (result.status, result.address, result.url) == (IngestStatus.ADDED, url, url)
    assert (result.title, result.date) == ("Vorsino industrial park", "2023-05-17")
    text = texts_of(engine, result.doc_id)
    assert VORSINO[0] in text and VORSINO[1] in text
    assert not any(item in text for item in ("About the agency", "Contacts", "All rights reserved"))
    doc = engine.store.document(result.doc_id)
    assert (doc.source, doc.url, doc.format) == (url, url, "html")
    assert (doc.etag, doc.last_modified) == ('"v1"', "Wed, 17 May 2023") and doc.fetched_at
    answer = engine.answer(HECTARES)
    assert answer.answered and "1,500 hectares" in answer.answer
    assert answer.passages[0].url == url


def test_redirected_page_keeps_the_given_address_as_source_and_cites_the_final_one(engine, web):
    final = web.add("/parks/vorsino-2024", VORSINO_PAGE)
    given = web.redirect("/vorsino", final, status=301)
    [result] = engine.ingest_urls([given], LOCAL).results
    doc = engine.store.document(result.doc_id)
    assert (doc.source, doc.url) == (given, final)
    [again] = engine.ingest_urls([given + "#map"], LOCAL).results  # the same address: the same document
    assert (again.status, again.doc_id) == (IngestStatus.UNCHANGED, result.doc_id)


def test_declared_charset_decodes_a_page_without_its_own(engine, web):
    text = "Индустриальный парк «Ворсино» занимает 1500 гектаров в Боровском районе Калужской области."
    body = f"<html><body><article><p>{text}</p></article></body></html>".encode("cp1251")
    url = web.add("/ru/vorsino", body, content_type="text/html; charset=windows-1251")
    [result] = engine.ingest_urls([url], LOCAL).results
    assert result.status == IngestStatus.ADDED
    assert text in texts_of(engine, result.doc_id)


def test_pdf_by_its_content_type(engine, web):
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, "Investment passport. Kaluga Region has 12 industrial parks and 2 special economic zones.")
    url = web.add("/files/passport", bytes(pdf.output()), content_type="application/pdf")
    [result] = engine.ingest_urls([url], LOCAL).results
    assert result.status == IngestStatus.ADDED
    assert engine.store.document(result.doc_id).format == "pdf"
    assert "12 industrial parks" in texts_of(engine, result.doc_id)


def test_failed_addresses_are_named_and_the_others_go_on(engine, web):
    good = web.add("/vorsino", VORSINO_PAGE)
    missing = web.url("/gone")
    empty = web.add("/empty", "<html><body><nav><a href='/'>Home</a></nav></body></html>")
    image = web.add("/logo.png", b"\x89PNG\r\n", content_type="image/png")
    report = engine.ingest_urls([missing, good, empty, image, "ftp://files.example/a.pdf"], LOCAL)
    by_address = {r.address: r for r in report.results}
    assert by_address[good].status == IngestStatus.ADDED
    assert by_address[missing].error.kind is FetchErrorKind.HTTP_STATUS
    assert str(by_address[missing].error) == f"{missing}: HTTP 404 Not Found"
    assert by_address[empty].status == IngestStatus.FAILED and "no text" in by_address[empty].reason
    assert by_address[image].error.kind is FetchErrorKind.UNSUPPORTED_TYPE
    assert by_address["ftp://files.example/a.pdf"].error.kind is FetchErrorKind.BAD_SCHEME
    assert report.count(IngestStatus.FAILED) == 4 and engine.store.document_count() == 1


def test_oversized_page_is_refused_at_the_size_limit(engine, web):
    def endless(stopping):
        while not stopping.is_set():
            yield b"<p>" + b"x" * 4096 + b"</p>"

    url = web.add("/huge", endless)
    [result] = engine.ingest_urls([url], FetchConfig(allow_private=True, max_bytes=64 * 1024, timeout=10)).results
    assert (result.status, result.error.kind, result.limit) == (
        IngestStatus.FAILED,
        FetchErrorKind.TOO_LARGE,
        "max_bytes",
    )
    assert engine.store.document_count() == 0


def test_server_that_never_answers_times_out(engine):
    with SilentServer() as silent:
        [result] = engine.ingest_urls([silent.url("/slow")], FetchConfig(allow_private=True, timeout=1)).results
    assert (result.status, result.error.kind, result.limit) == (IngestStatus.FAILED, FetchErrorKind.TIMEOUT, "timeout")


def test_duplicate_addresses_of_one_page_are_one_document(engine, web):
    first = web.add("/a", VORSINO_PAGE)
    second = web.add("/b", VORSINO_PAGE)
    report = engine.ingest_urls([first, second], LOCAL)
    assert [r.status for r in report.results] == [IngestStatus.ADDED, IngestStatus.DUPLICATE]
    engine.ingest_urls([second], LOCAL)
    assert engine.store.document_count() == 1


# --- refresh ------------------------------------------------------------------------------------------------------


def etag_route(body: str, etag: str):
    """A page that answers a matching If-None-Match with 304, as real servers do."""

    def route(request):
        if request.headers.get("if-none-match") == etag:
            return Reply(status=304, body=b"", headers={"ETag": etag})
        return Reply(body=body.encode(), headers={"ETag": etag})

    return route


def test_refresh_changed_unchanged_and_failing(engine, web):
    web.routes["/etag"] = etag_route(page("Lyudinovo park", news(1)), '"e1"')
    same = web.add("/same", page("Kaluga parks overview", news(2)))  # no validators: the content hash decides
    changing = web.add("/tariffs", page("Electricity tariffs", ("The tariff for parks is 5 roubles per kWh.",)))
    failing = web.add("/vorsino", VORSINO_PAGE)
    etag = web.url("/etag")
    report = engine.ingest_urls([etag, same, changing, failing], LOCAL)
    ids = {r.address: r.doc_id for r in report.results}
    assert report.count(IngestStatus.ADDED) == 4

    web.add("/tariffs", page("Electricity tariffs", ("The tariff for parks is 7 roubles per kWh from 2026.",)))
    del web.routes["/vorsino"]  # now 404
    refreshed = engine.refresh(LOCAL)
    status = {r.address: r.status for r in refreshed.results}
    assert status == {
        etag: IngestStatus.UNCHANGED,
        same: IngestStatus.UNCHANGED,
        changing: IngestStatus.REPLACED,
        failing: IngestStatus.FAILED,
    }
    assert [r.headers.get("if-none-match") for r in web.requests if r.path == "/etag"] == [None, '"e1"']
    changed = next(r for r in refreshed.results if r.address == changing)
    assert changed.doc_id == ids[changing]  # replaced in place: same id
    assert "7 roubles" in texts_of(engine, ids[changing]) and "5 roubles" not in texts_of(engine, ids[changing])
    assert VORSINO[0] in texts_of(engine, ids[failing])  # the failing page keeps its stored copy
    assert engine.store.document_count() == 4
    failed = next(r for r in refreshed.results if r.address == failing)
    assert str(failed.error) == f"{failing}: HTTP 404 Not Found"


def test_refresh_older_than_leaves_recently_fetched_pages_alone(engine, web):
    url = web.add("/vorsino", VORSINO_PAGE)
    engine.ingest_urls([url], LOCAL)
    an_hour_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).replace(microsecond=0).isoformat()
    assert engine.refresh(LOCAL, fetched_before=an_hour_ago).results == []
    assert [r.status for r in engine.refresh(LOCAL).results] == [IngestStatus.UNCHANGED]


def test_sitemap_ingests_its_pages_and_refresh_picks_up_a_new_entry(engine, web):
    for n in (1, 2, 3):
        web.add(f"/news/{n}", page(f"Agreement {n} signed", news(n), published=f"2024-0{n}-10T09:00:00Z"))
    entries = [(web.url("/news/1"), "2024-01-10"), (web.url("/news/2"), "2024-02-10")]
    address = web.add("/sitemap.xml", sitemap(entries), content_type="application/xml")
    report = engine.ingest_urls([address], LOCAL)
    [listing] = report.listings
    assert (listing.kind, listing.found, listing.taken, listing.truncated) == (ListingKind.SITEMAP, 2, 2, False)
    assert sorted(r.address for r in report.results) == [web.url("/news/1"), web.url("/news/2")]
    assert all(r.status == IngestStatus.ADDED and r.listing == address for r in report.results)
    assert [row["address"] for row in engine.listings()] == [address]

    web.add("/sitemap.xml", sitemap([*entries, (web.url("/news/3"), "2024-03-10")]), content_type="application/xml")
    refreshed = engine.refresh(LOCAL)
    added = [r for r in refreshed.results if r.status == IngestStatus.ADDED]
    assert [(r.address, r.title, r.date) for r in added] == [(web.url("/news/3"), "Agreement 3 signed", "2024-03-10")]
    assert refreshed.count(IngestStatus.UNCHANGED) == 2 and refreshed.listings[0].new == 1
    assert engine.answer("How many people will the new plant in Kozelsk employ?").passages[0].url == web.url("/news/3")


def test_refresh_does_not_bring_back_a_removed_page_and_retries_a_failed_one(engine, web):
    web.add("/news/1", page("Agreement 1 signed", news(1)))
    entries = [(web.url("/news/1"), "2024-01-10"), (web.url("/news/2"), "2024-02-10")]
    address = web.add("/sitemap.xml", sitemap(entries), content_type="application/xml")
    first = engine.ingest_urls([address], LOCAL)
    assert sorted((r.address, r.status) for r in first.results) == [
        (web.url("/news/1"), IngestStatus.ADDED),
        (web.url("/news/2"), IngestStatus.FAILED),  # not there yet
    ]
    engine.remove(web.url("/news/1"))
    web.add("/news/2", page("Agreement 2 signed", news(2)))
    refreshed = engine.refresh(LOCAL)
    assert [(r.address, r.status) for r in refreshed.results] == [(web.url("/news/2"), IngestStatus.ADDED)]
    assert [d.source for d in engine.store.documents()] == [web.url("/news/2")]


def test_sitemap_takes_the_newest_pages_up_to_max_pages(engine, web):
    for n in (1, 2, 3):
        web.add(f"/news/{n}", page(f"Agreement {n} signed", news(n)))
    entries = [(web.url(f"/news/{n}"), f"2024-0{n}-10") for n in (1, 2, 3)]
    address = web.add("/sitemap.xml", sitemap(entries), content_type="application/xml")
    report = engine.ingest_urls([address], FetchConfig(allow_private=True, timeout=10, max_pages=2))
    assert sorted(r.address for r in report.results) == [web.url("/news/2"), web.url("/news/3")]
    assert (report.listings[0].found, report.listings[0].truncated) == (3, True)


def test_feed_entry_dates_a_page_that_declares_none(engine, web):
    url = web.add("/news/1", page("Agreement 1 signed", news(1), published=None))
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
        f"<item><title>Agreement 1</title><link>{url}</link><pubDate>Tue, 05 Mar 2024 10:00:00 +0300</pubDate></item>"
        "</channel></rss>"
    )
    address = web.add("/rss", feed, content_type="application/rss+xml")
    [result] = engine.ingest_urls([address], LOCAL).results
    assert (result.title, result.date) == ("Agreement 1 signed", "2024-03-05")


# --- the command line ---------------------------------------------------------------------------------------------


@pytest.fixture
def run(data_dir: Path, monkeypatch):
    monkeypatch.setenv("INVESTBOT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("INVESTBOT_MODEL", "none")
    monkeypatch.setenv("INVESTBOT_ALLOW_PRIVATE_URLS", "1")
    monkeypatch.setenv("INVESTBOT_FETCH_TIMEOUT", "10")
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_cli_ingests_urls_and_files_mixed_and_names_each_failure(run, web, tmp_path):
    url = web.add("/vorsino", VORSINO_PAGE)
    missing = web.url("/gone")
    note = tmp_path / "lease.txt"
    note.write_text("The land lease rate in Vorsino park is 100 roubles per hectare a year.", encoding="utf-8")
    result = run("ingest", url, str(note), missing)
    assert result.exit_code == 1
    assert f"{missing}: HTTP 404 Not Found" in result.stderr
    assert "2 added" in result.stdout and "1 failed" in result.stdout
    answer = json.loads(run("ask", HECTARES, "--json").stdout)
    assert answer["answered"] and answer["passages"][0]["url"] == url
    docs = json.loads(run("docs", "--json").stdout)
    assert {d["source"] for d in docs} == {url, str(note.resolve())}


def test_cli_oversized_page_names_the_size_setting(run, web, monkeypatch):
    monkeypatch.setenv("INVESTBOT_MAX_FILE_MB", "1")
    url = web.add("/big", "<p>" + "x" * (2 * 1024 * 1024) + "</p>")
    result = run("ingest", url)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"{url}: the server announces 2 MB, over the 1 MB limit (setting: INVESTBOT_MAX_FILE_MB)"
    )


def test_cli_silent_server_names_the_timeout_setting(run, monkeypatch):
    monkeypatch.setenv("INVESTBOT_FETCH_TIMEOUT", "1")
    with SilentServer() as silent:
        url = silent.url("/slow")
        result = run("ingest", url)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"{url}: no complete response within 1 s (setting: INVESTBOT_FETCH_TIMEOUT)"
    )


@pytest.fixture
def internet(monkeypatch, web):
    """Public host names (fake DNS) whose connections reach the local server (fake routing), for the SSRF checks."""
    return fake_internet(monkeypatch, web.port)


def test_redirect_to_a_private_address_is_refused_naming_the_setting(run, web, internet, monkeypatch):
    monkeypatch.delenv("INVESTBOT_ALLOW_PRIVATE_URLS")
    internet["agency.example"] = ["93.184.216.34"]
    web.add("/admin", "<p>The internal price list.</p>")
    web.redirect("/go", web.url("/admin"))
    result = run("ingest", f"http://agency.example:{web.port}/go")
    assert result.exit_code == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"http://agency.example:{web.port}/go: redirected to {web.url('/admin')}: refused")
    assert line.endswith("(setting: INVESTBOT_ALLOW_PRIVATE_URLS)")
    assert web.paths() == ["/go"]  # the private address was never asked


def test_cli_refresh_reports_and_keeps_failing_pages(run, web):
    kept = web.add("/vorsino", VORSINO_PAGE)
    changing = web.add("/tariffs", page("Electricity tariffs", ("The tariff for parks is 5 roubles per kWh.",)))
    assert run("ingest", kept, changing).exit_code == 0
    assert run("refresh", "--older-than", "7d").stdout.startswith("Nothing to refresh")
    del web.routes["/vorsino"]
    web.add("/tariffs", page("Electricity tariffs", ("The tariff for parks is 7 roubles per kWh from 2026.",)))
    result = run("refresh")
    assert result.exit_code == 1
    assert f"changed: {changing} — Electricity tariffs" in result.stdout
    assert f"{kept}: HTTP 404 Not Found" in result.stderr
    assert "0 unchanged, 1 changed, 1 failed (pages that failed keep their stored copy)." in result.stdout
    assert len(json.loads(run("docs", "--json").stdout)) == 2


def test_cli_refresh_rejects_a_bad_duration(run):
    result = run("refresh", "--older-than", "soon")
    assert result.exit_code == 2 and "--older-than" in result.stderr and "7d" in result.stderr


def test_cli_sitemap_is_followed_until_removed(run, web):
    web.add("/news/1", page("Agreement 1 signed", news(1)))
    address = web.add("/sitemap.xml", sitemap([(web.url("/news/1"), "2024-01-10")]), content_type="application/xml")
    result = run("ingest", address)
    assert f"{address}: sitemap, 1 page; `investbot refresh` picks up its new entries." in result.stdout
    assert run("remove", address).stdout.startswith(f"Stopped following {address}")
    assert run("refresh").stdout.startswith("1 unchanged, 0 changed, 0 failed")  # the page stays, the list is gone


# --- settings and wording -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"INVESTBOT_ALLOW_PRIVATE_URLS": "maybe"},
            "INVESTBOT_ALLOW_PRIVATE_URLS='maybe' is not valid (choose from: 1, 0)",
        ),
        ({"INVESTBOT_FETCH_TIMEOUT": "0"}, "INVESTBOT_FETCH_TIMEOUT=0.0 must be a positive number of seconds"),
        ({"INVESTBOT_FETCH_TIMEOUT": "soon"}, "INVESTBOT_FETCH_TIMEOUT='soon' is not a valid float"),
        ({"INVESTBOT_MAX_PAGES": "0"}, "INVESTBOT_MAX_PAGES=0 must be between 1 and 10000"),
        ({"INVESTBOT_REFRESH_TIME": "25:00"}, "INVESTBOT_REFRESH_TIME='25:00' is not a time of day (HH:MM"),
    ],
    ids=["private-flag", "timeout-zero", "timeout-text", "max-pages", "refresh-time"],
)
def test_bad_web_settings_name_the_variable(env, message):
    from bot.settings import Settings, SettingsError

    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert str(caught.value).startswith(message)


def test_web_settings_make_the_fetch_config():
    from bot.settings import MiB, Settings

    settings = Settings.from_env(
        {
            "INVESTBOT_FETCH_TIMEOUT": "7.5",
            "INVESTBOT_MAX_PAGES": "30",
            "INVESTBOT_ALLOW_PRIVATE_URLS": "1",
            "INVESTBOT_MAX_FILE_MB": "3",
            "INVESTBOT_REFRESH_TIME": "04:30",
        }
    )
    config = settings.fetch_config()
    assert (config.timeout, config.max_pages, config.allow_private, config.max_bytes) == (7.5, 30, True, 3 * MiB)
    assert settings.refresh_time == dt.time(4, 30)
    defaults = Settings().fetch_config()
    assert (defaults.timeout, defaults.max_pages, defaults.allow_private) == (20.0, 200, False)
    assert Settings().refresh_time is None


def test_refresh_report_is_silent_when_nothing_changed():
    from bot.telegram.jobs import refresh_text

    quiet = WebReport([WebResult("https://a.example/", IngestStatus.UNCHANGED)])
    assert refresh_text(quiet, "en") is None
    busy = WebReport(
        [*quiet.results, WebResult("https://b.example/", IngestStatus.REPLACED, "https://b.example/", 2, "B")]
    )
    assert refresh_text(busy, "ru").splitlines() == [
        "Веб-документы обновлены: без изменений 1, изменилось 1, с ошибкой 0, новых 0.",
        "",
        "Изменились:",
        "• B — https://b.example/",
    ]


# --- Telegram -----------------------------------------------------------------------------------------------------


@pytest.fixture
def web_bot(bot_settings, store):
    """The real Application, as `investbot serve` builds it, over knowledge/, fetching from 127.0.0.1."""
    from bot.questions.log import QuestionLog
    from bot.telegram.app import build_application
    from index.engine import Engine

    settings = bot_settings.with_(allow_private_urls=True, fetch_timeout_s=10)
    engine = Engine.open(settings.engine_config(), store)
    assert not engine.ingest([KNOWLEDGE]).failed
    return build_application(settings, engine, QuestionLog.open(store, settings.log_salt))


def test_admin_sends_a_link_and_investors_get_it_cited(botapi, web_bot, web):
    from tests.test_bot import INVESTOR, complete_answer, running, texts

    url = web.add("/parks/vorsino", VORSINO_PAGE)
    missing = web.url("/gone")

    async def scenario():
        async with running(web_bot):
            botapi.send_text(ADMIN_ID, url)
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 2, what="fetching…, then the report")
            botapi.send_text(ADMIN_ID, f"/add {missing}", language_code="ru")
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 4, what="the failure")
            botapi.send_text(INVESTOR, HECTARES)
            return await complete_answer(botapi, INVESTOR)

    answer = "\n".join(m["text"] for m in asyncio.run(scenario()))
    fetching, report, _, failure = texts(botapi, ADMIN_ID)
    assert fetching == f"⏳ Fetching {url} …"
    assert report.startswith("Added document #6: Vorsino industrial park\nDate found: 2023-05-17") and url in report
    assert failure == f"❌ Не добавлено — {missing}: HTTP 404 Not Found"
    assert "1,500 hectares" in answer and f'<a href="{url}">{url}</a>' in answer


def test_a_non_admins_link_is_a_question(botapi, web_bot, web):
    from tests.test_bot import INVESTOR, running, texts

    url = web.add("/parks/vorsino", VORSINO_PAGE)
    store = web_bot.bot_data.engine.store
    before = store.document_count()

    async def scenario():
        async with running(web_bot):
            botapi.send_text(INVESTOR, url)
            await botapi.until(lambda: botapi.sent(INVESTOR), what="the answer")
            botapi.send_text(INVESTOR, f"/add {url}")
            await botapi.until(lambda: len(botapi.sent(INVESTOR)) == 2, what="the refusal")
            await botapi.wait_idle(web_bot)

    asyncio.run(scenario())
    answered, refused = texts(botapi, INVESTOR)
    assert "Fetching" not in answered and "only agency staff" in refused
    assert answered.startswith("I do not open links from chats")  # a bare link is no question: small talk
    assert web.requests == [] and store.document_count() == before
    row = next(iter(web_bot.bot_data.questions.store.db.query("SELECT * FROM questions ORDER BY id DESC LIMIT 1")))
    assert (row["question"], row["small_talk"]) == (url, "link_only")


def test_add_without_an_address_explains(botapi, web_bot):
    from tests.test_bot import running, texts

    async def scenario():
        async with running(web_bot):
            botapi.send_text(ADMIN_ID, "/add")
            await botapi.until(lambda: botapi.sent(ADMIN_ID), what="the usage")

    asyncio.run(scenario())
    assert texts(botapi, ADMIN_ID)[0].startswith("Usage: /add URL")
