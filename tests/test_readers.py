"""Readers: every format to text, legacy Russian encodings, and damaged files as ReadError.

All fixtures are built here in tmp_path, so the tests say exactly what each file contains.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import pypdf
import pytest
from fpdf import FPDF

from index.readers import (
    SUPPORTED_FORMATS,
    FileTooLarge,
    Page,
    ParsedDocument,
    ReadError,
    decode_bytes,
    is_supported,
    read_data,
    read_document,
)
from index.readers import docx as docx_reader

RU_SHORT = "Налоговые льготы для инвесторов"
RU_LONG = (
    "Калужская область входит в число лидеров по привлечению прямых иностранных инвестиций. "
    "За последние годы в регионе созданы двенадцать индустриальных парков и особая экономическая "
    "зона «Людиново». Инвесторам предоставляются налоговые льготы: ставка налога на имущество "
    "снижается до нуля на срок окупаемости проекта, но не более десяти лет.\n"
    "Агентство регионального развития сопровождает проекты по принципу «одного окна» — от выбора "
    "площадки до ввода объекта в эксплуатацию. Объём инвестиций в 2023 году составил 150 млрд "
    "рублей."
)
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def read_error(path: Path, **kwargs) -> str:
    with pytest.raises(ReadError) as info:
        read_document(path, **kwargs)
    return str(info.value)


# --- decoding -----------------------------------------------------------------------------------

# koi8-r has no «», — or №; keep the texts inside each encoding's repertoire.
RU_LONG_PLAIN = RU_LONG.replace("«", '"').replace("»", '"').replace("—", "-")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (RU_SHORT.encode("cp1251"), RU_SHORT),
        (RU_LONG.encode("cp1251"), RU_LONG),
        (
            "Привет, мир! Сколько стоит аренда земли?".encode("cp1251"),
            "Привет, мир! Сколько стоит аренда земли?",
        ),
        (RU_SHORT.encode("koi8_r"), RU_SHORT),
        (RU_LONG_PLAIN.encode("koi8_r"), RU_LONG_PLAIN),
        (
            "Где находится индустриальный парк?".encode("koi8_r"),
            "Где находится индустриальный парк?",
        ),
        (RU_LONG_PLAIN.encode("cp866"), RU_LONG_PLAIN),
        (b"\xef\xbb\xbf" + RU_LONG.encode("utf-8"), RU_LONG),
        (RU_LONG.encode("utf-8"), RU_LONG),
        (RU_SHORT.encode("utf-8"), RU_SHORT),
        (b"\xff\xfe" + RU_LONG.encode("utf-16-le"), RU_LONG),
        (b"\xfe\xff" + RU_LONG.encode("utf-16-be"), RU_LONG),
        (b"\xff\xfe" + RU_SHORT.encode("utf-16-le"), RU_SHORT),
        (
            "Plain English text, nothing special.".encode("ascii"),
            "Plain English text, nothing special.",
        ),
        ("Investment guide.\nSecond line.".encode("utf-16-le"), "Investment guide.\nSecond line."),
    ],
    ids=[
        "cp1251-short",
        "cp1251-long",
        "cp1251-question",
        "koi8r-short",
        "koi8r-long",
        "koi8r-question",
        "cp866-long",
        "utf8-bom",
        "utf8-long",
        "utf8-short",
        "utf16le-bom",
        "utf16be-bom",
        "utf16le-bom-short",
        "ascii",
        "utf16le-no-bom-english",
    ],
)
def test_decode_bytes_exact(data: bytes, expected: str) -> None:
    assert decode_bytes(data) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "Инвестиции",
        "Особая экономическая зона",
        "Сколько стоит аренда?",
        "Ярмарка вакансий в Калуге.",
        "Щедрые условия для резидентов.",
        "Юридический адрес: г. Калуга, ул. Ленина, д. 1",
        "В 2023 году создано более 5 тысяч рабочих мест.",
    ],
)
@pytest.mark.parametrize("encoding", ["cp1251", "koi8_r"])
def test_short_russian_texts_in_legacy_encodings(sentence: str, encoding: str) -> None:
    """Generic detectors confuse these two on short texts; our Russian check must not."""
    assert decode_bytes(sentence.encode(encoding)) == sentence


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (RU_LONG.encode("utf-8")[:-2], RU_LONG[:-2] + "\ufffd"),
        (RU_LONG.encode("utf-8") + " Ещё".encode("cp1251"), RU_LONG + " \ufffd\ufffd\ufffd"),
    ],
    ids=["cut-mid-character", "one-cp1251-word"],
)
def test_mostly_utf8_stays_utf8(data: bytes, expected: str) -> None:
    """A few broken bytes must not make the detector re-read the whole file as cp1251."""
    assert decode_bytes(data) == expected


def test_decode_strips_bom_and_normalises_line_endings() -> None:
    assert decode_bytes(b"\xef\xbb\xbf\xef\xbb\xbfone\r\ntwo\rthree\n") == "one\ntwo\nthree\n"


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 40,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes((i * 37 + 11) % 256 for i in range(4000)),
        b"text\x00with\x00\x00many\x00\x00NULs\x00\x00\x01\x02\x03" * 20,
    ],
    ids=["all-bytes", "png-like", "nul-riddled"],
)
def test_decode_rejects_binary(data: bytes) -> None:
    with pytest.raises(ReadError, match="binary data, not text"):
        decode_bytes(data)


# --- generic file handling ----------------------------------------------------------------------


def test_txt_in_cp1251_reads_as_one_page(tmp_path: Path) -> None:
    path = write(tmp_path, "guide.txt", RU_LONG.replace("\n", "\r\n").encode("cp1251"))
    doc = read_document(path)
    assert doc == ParsedDocument(path=path, format="txt", pages=[Page(None, RU_LONG)], meta={})


def test_binary_named_txt_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "photo.txt", bytes((i * 97 + 13) % 256 for i in range(5000)))
    assert read_error(path) == "binary data, not text"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.txt", b""),
        ("blank.txt", b"  \n\r\n\t "),
        ("empty.md", b""),
        ("empty.pdf", b""),
        ("empty.docx", b""),
    ],
    ids=["empty-txt", "whitespace-txt", "empty-md", "empty-pdf", "empty-docx"],
)
def test_empty_files_have_no_text(tmp_path: Path, name: str, data: bytes) -> None:
    assert read_error(write(tmp_path, name, data)).startswith("no text found")


def test_unsupported_suffix_lists_choices(tmp_path: Path) -> None:
    reason = read_error(write(tmp_path, "prices.xls", b"whatever"))
    assert reason == ("unsupported file type '.xls' (supported: .docx, .htm, .html, .markdown, .md, .pdf, .text, .txt)")


def test_missing_extension_lists_choices(tmp_path: Path) -> None:
    assert read_error(write(tmp_path, "README", b"text")).startswith("no file extension (supported: .docx")


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        handle.truncate(60 * 1024 * 1024)  # sparse: costs no disk and would fail if read
    assert read_error(path) == "file is 60.0 MB, over the 50 MB limit"


def test_custom_size_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.txt", "x" * 3000)
    assert read_error(path, max_bytes=1024) == "file is 2.9 KB, over the 1 KB limit"
    assert read_document(path, max_bytes=3000).pages[0].text == "x" * 3000


def test_missing_file(tmp_path: Path) -> None:
    assert read_error(tmp_path / "gone.txt") == "file not found"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.txt", True),
        ("a.TEXT", True),
        ("a.md", True),
        ("a.Markdown", True),
        ("a.HTML", True),
        ("a.htm", True),
        ("a.pdf", True),
        ("a.docx", True),
        ("a.doc", False),
        ("a.xlsx", False),
        ("README", False),
        ("archive.pdf.zip", False),
    ],
    ids=lambda value: str(value),
)
def test_is_supported(name: str, expected: bool) -> None:
    assert is_supported(Path(name)) is expected


def test_supported_formats_table() -> None:
    assert SUPPORTED_FORMATS == {
        ".txt": "txt",
        ".text": "txt",
        ".md": "md",
        ".markdown": "md",
        ".html": "html",
        ".htm": "html",
        ".pdf": "pdf",
        ".docx": "docx",
    }


# --- Markdown -----------------------------------------------------------------------------------

MARKDOWN = """---
title: "Kaluga Region at the VIth Forum of Russian Regions"
date: 2014-04-08  # the forum day
region: Kaluga Region
language: en
source: https://example.org/news/forum-2014
source_file: 000_6eeeee992442b8a7.txt
---

# Forum of Russian Regions

<!-- editor's note: check the numbers -->
On **April 8, 2014** Moscow hosted the __VIth Forum__ of [Russian Regions](https://ex.org/r).
![Plenary session](img/plenary.jpg)
Use the `invest` portal for applications.

## Results
- 10 industrial parks
- 89 projects
"""


def test_markdown_front_matter_and_markup(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path, "forum.md", MARKDOWN))
    assert doc.format == "md"
    assert doc.meta == {
        "title": "Kaluga Region at the VIth Forum of Russian Regions",
        "date": "2014-04-08",
        "region": "Kaluga Region",
        "language": "en",
        "url": "https://example.org/news/forum-2014",
    }
    [page] = doc.pages
    assert page.number is None
    assert page.text == (
        "Forum of Russian Regions\n"
        "\n"
        "On April 8, 2014 Moscow hosted the VIth Forum of Russian Regions.\n"
        "\n"
        "Use the invest portal for applications.\n"
        "\n"
        "Results\n"
        "- 10 industrial parks\n"
        "- 89 projects"
    )


@pytest.mark.parametrize(
    ("front_matter", "expected"),
    [
        ("date: 2022", {"date": "2022"}),
        ("date: 2017-06-01 10:30:00", {"date": "2017-06-01"}),
        ("date: '8 April 2014'", {"date": "8 April 2014"}),
        ("title: 2024\nregion: 40", {"title": "2024", "region": "40"}),
        ("language: ru-RU", {"language": "ru"}),
        ("title:\nsource_file: x.txt", {}),
        ("", {}),
    ],
    ids=[
        "year-only",
        "datetime",
        "free-text-date",
        "numbers",
        "language-tag",
        "empty-values",
        "empty-block",
    ],
)
def test_markdown_front_matter_values_become_strings(tmp_path: Path, front_matter: str, expected: dict) -> None:
    doc = read_document(write(tmp_path, "doc.md", f"---\n{front_matter}\n---\nBody text.\n"))
    assert doc.meta == expected
    assert doc.pages[0].text == "Body text."


def test_markdown_title_from_first_heading_without_front_matter(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path, "doc.md", "Intro line.\n\n## Minor\n\n# Main **Title** #\n\nText.\n"))
    assert doc.meta == {"title": "Main Title"}
    assert doc.pages[0].text == "Intro line.\n\nMinor\n\nMain Title\n\nText."


def test_markdown_front_matter_title_wins_over_heading(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path, "doc.md", "---\ntitle: From YAML\n---\n# From heading\ntext\n"))
    assert doc.meta == {"title": "From YAML"}


def test_markdown_leading_rule_is_not_front_matter(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path, "doc.md", "---\n\nJust text: with a colon.\n\n---\n\nMore.\n"))
    assert doc.meta == {}
    assert doc.pages[0].text == "Just text: with a colon.\n\nMore."


def test_markdown_tables_links_and_footnotes(tmp_path: Path) -> None:
    text = (
        "| Tax | Rate |\n|-----|:----:|\n| Property | 0% |\n\n"
        "See the [law][1] and <https://example.org/law>.[^1]\n\n"
        '[1]: https://example.org/law "Regional law"\n'
        "[^1]: Adopted in 2014.\n"
    )
    doc = read_document(write(tmp_path, "doc.md", text))
    assert doc.pages[0].text == (
        "Tax | Rate\nProperty | 0%\n\nSee the law and https://example.org/law.[^1]\n\n[^1]: Adopted in 2014."
    )


def test_markdown_code_fence_content_is_kept_verbatim(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path, "doc.md", "Steps:\n\n```\n# not a heading\n**raw**\n```\n"))
    assert doc.pages[0].text == "Steps:\n\n# not a heading\n**raw**"
    assert doc.meta == {}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("---\ntitle: [unclosed\n---\nBody\n", "invalid front matter: "),
        ("---\ntitle: a\n  b: c\n---\nBody\n", "invalid front matter: "),
        ("---\n- just\n- a list\n---\nBody\n", "invalid front matter: expected 'key: value' lines"),
        (
            "---\ntitle: x\nBody without closing line\n",
            "invalid front matter: no closing '---' line",
        ),
        (
            "---\ntitle: [a, b]\n---\nBody\n",
            "invalid front matter: 'title' should be a single value",
        ),
    ],
    ids=["yaml-syntax", "bad-indent", "not-a-mapping", "no-closing-line", "list-title"],
)
def test_markdown_invalid_front_matter(tmp_path: Path, text: str, reason: str) -> None:
    message = read_error(write(tmp_path, "bad.md", text))
    assert message.startswith(reason)
    assert "\n" not in message
    assert "Traceback" not in message


def test_markdown_with_only_front_matter_has_no_text(tmp_path: Path) -> None:
    assert read_error(write(tmp_path, "doc.md", "---\ntitle: Only meta\n---\n\n")) == "no text found"


# --- HTML ---------------------------------------------------------------------------------------

ARTICLE_RU = [
    "Калужская область представила инвестиционные возможности французскому бизнесу на конференции "
    "Франко-российской торгово-промышленной палаты.",
    "Заместитель губернатора рассказал о двенадцати индустриальных парках, особой экономической "
    "зоне «Людиново» и налоговых льготах для резидентов, которые действуют до окупаемости проекта.",
    "По итогам встречи три французские компании подписали соглашения о намерениях и договорились "
    "посетить площадки региона осенью.",
]


def html_page(paragraphs: list[str], *, head: str = "", lang: str = "ru") -> str:
    body = "\n".join(f"<p>{text}</p>" for text in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
{head}
<title>Калуга на конференции CCI France Russie</title>
<style>body {{ color: red; }} .menu {{ display: none }}</style>
<script>var tracking = "MENU_SCRIPT_TEXT";</script>
</head>
<body>
<header><div class="logo">Агентство развития — ШАПКА</div></header>
<nav><ul><li><a href="/">Главная</a></li><li><a href="/news">Новости НАВИГАЦИЯ</a></li></ul></nav>
<main><article>
<h1>Калуга на конференции CCI France Russie</h1>
{body}
</article></main>
<footer><p>© 2015 Агентство регионального развития. ПОДВАЛ Все права защищены.</p></footer>
<script>document.write("MORE_SCRIPT_TEXT")</script>
</body>
</html>
"""


def assert_main_text_only(text: str) -> None:
    for paragraph in ARTICLE_RU:
        assert paragraph in text
    for junk in (
        "MENU_SCRIPT_TEXT",
        "MORE_SCRIPT_TEXT",
        "color: red",
        "НАВИГАЦИЯ",
        "ПОДВАЛ",
        "ШАПКА",
    ):
        assert junk not in text


def test_html_main_text_without_chrome(tmp_path: Path) -> None:
    head = (
        '<meta charset="utf-8">'
        '<link rel="canonical" href="https://invest.example.ru/news/cci-2015">'
        '<meta property="article:published_time" content="2015-04-22T10:00:00+03:00">'
    )
    doc = read_document(write(tmp_path, "news.html", html_page(ARTICLE_RU, head=head)))
    assert doc.format == "html"
    [page] = doc.pages
    assert page.number is None
    assert_main_text_only(page.text)
    assert "\n\n" in page.text  # paragraphs stay apart
    assert doc.meta["title"] == "Калуга на конференции CCI France Russie"
    assert doc.meta["date"] == "2015-04-22"
    assert doc.meta["url"] == "https://invest.example.ru/news/cci-2015"
    assert doc.meta["language"] == "ru"


@pytest.mark.parametrize(
    "declaration",
    [
        '<meta charset="windows-1251">',
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">',
        "<META HTTP-EQUIV='content-type' CONTENT='text/html;charset=cp1251'>",
    ],
    ids=["meta-charset", "http-equiv", "http-equiv-upper"],
)
def test_html_in_cp1251_with_declared_charset(tmp_path: Path, declaration: str) -> None:
    data = html_page(ARTICLE_RU, head=declaration).encode("cp1251")
    doc = read_document(write(tmp_path, "old.htm", data))
    assert_main_text_only(doc.pages[0].text)
    assert doc.meta["title"] == "Калуга на конференции CCI France Russie"


def test_html_declared_charset_loses_to_valid_utf8(tmp_path: Path) -> None:
    """CMS migrations leave stale cp1251 tags on UTF-8 pages; the bytes tell the truth."""
    data = html_page(ARTICLE_RU, head='<meta charset="windows-1251">').encode("utf-8")
    assert_main_text_only(read_document(write(tmp_path, "moved.html", data)).pages[0].text)


def test_html_tables_and_lists_stay_on_adjacent_lines(tmp_path: Path) -> None:
    extra = (
        "<table><tr><th>Налог</th><th>Ставка</th></tr>"
        "<tr><td>Имущество</td><td>0%</td></tr></table>"
        "<ul><li>Пункт один</li><li>Пункт два</li></ul>"
    )
    html = html_page(ARTICLE_RU).replace("</article>", extra + "</article>")
    text = read_document(write(tmp_path, "news.html", html)).pages[0].text
    assert "Налог | Ставка\nИмущество | 0%" in text
    assert "- Пункт один\n- Пункт два" in text
    assert "---" not in text


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [
        ("cp1251", ""),
        ("koi8_r", ""),
        ("cp1251", '<?xml version="1.0" encoding="windows-1251"?>\n'),
    ],
    ids=["cp1251-undeclared", "koi8r-undeclared", "xhtml-xml-declaration"],
)
def test_html_in_legacy_encoding(tmp_path: Path, encoding: str, prefix: str) -> None:
    page = prefix + html_page([text.replace("«", '"').replace("»", '"') for text in ARTICLE_RU])
    doc = read_document(write(tmp_path, "old.html", page.replace("—", "-").encode(encoding)))
    assert ARTICLE_RU[0] in doc.pages[0].text
    assert doc.meta["title"] == "Калуга на конференции CCI France Russie"


def test_html_fallback_when_trafilatura_finds_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import trafilatura

    monkeypatch.setattr(trafilatura, "extract", lambda *args, **kwargs: None)
    html = html_page(ARTICLE_RU).replace(
        "</article>",
        "<table><tr><td>Налог</td><td>0%</td></tr></table><ul><li>Пункт списка</li></ul></article>",
    )
    doc = read_document(write(tmp_path, "news.html", html))
    text = doc.pages[0].text
    assert_main_text_only(text)
    assert text.startswith("Калуга на конференции CCI France Russie\n\n" + ARTICLE_RU[0])
    assert "Налог | 0%" in text
    assert "Пункт списка" in text
    assert doc.meta["title"] == "Калуга на конференции CCI France Russie"


def test_html_fragment_without_html_element(tmp_path: Path) -> None:
    fragment = "".join(f"<p>{text}</p>\n" for text in ARTICLE_RU)
    doc = read_document(write(tmp_path, "snippet.html", fragment))
    assert doc.pages[0].text == "\n\n".join(ARTICLE_RU)


def test_html_without_text(tmp_path: Path) -> None:
    html = "<html><head><title>Empty</title><script>var a = 1;</script></head><body><nav>Menu</nav></body></html>"
    assert read_error(write(tmp_path, "empty.html", html)).startswith("no text found")


# --- PDF ----------------------------------------------------------------------------------------


def make_pdf(pages: list[str | None], *, title: str | None = None, font: Path | None = None) -> bytes:
    """One entry per page; None makes a page with a drawing but no text (a stand-in for a scan)."""
    pdf = FPDF()
    if title is not None:
        pdf.set_title(title)
    if font is not None:
        pdf.add_font("Body", fname=str(font))
        pdf.set_font("Body", size=12)
    else:
        pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text is None:
            pdf.rect(20, 20, 80, 60)
        else:
            pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


PDF_PAGES = [
    "Kaluga Region attracts foreign invest-\nment in the automotive cluster.\nA well-\nknown example: Rosva park.",
    None,
    "Residents pay no property tax\nfor up to ten years.",
]


def test_pdf_pages_keep_true_numbers_and_join_hyphenation(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path, "guide.pdf", make_pdf(PDF_PAGES, title="Kaluga Investment Guide")))
    assert doc.format == "pdf"
    assert doc.pages == [
        Page(
            1,
            "Kaluga Region attracts foreign investment in the automotive cluster.\nA wellknown example: Rosva park.",
        ),
        Page(3, "Residents pay no property tax\nfor up to ten years."),
    ]
    assert doc.meta == {"title": "Kaluga Investment Guide"}


def test_pdf_hyphen_before_capital_is_kept(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path, "a.pdf", make_pdf(["Trade with Franco-\nRussian chambers."])))
    assert doc.pages[0].text == "Trade with Franco-\nRussian chambers."


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Microsoft Word - invest_guide_2014.doc", {}),
        ("untitled", {}),
        ("Untitled-1", {}),
        ("report_final.pdf", {}),
        ("Презентация PowerPoint", {}),
        ("   ", {}),
        (
            "Инвестиционный паспорт Калужской области",
            {"title": "Инвестиционный паспорт Калужской области"},
        ),
    ],
    ids=["word-export", "untitled", "untitled-1", "file-name", "ppt-ru", "blank", "real-title"],
)
def test_pdf_title_ignores_junk(tmp_path: Path, title: str, expected: dict) -> None:
    doc = read_document(write(tmp_path, "a.pdf", make_pdf(["Some text."], title=title)))
    assert doc.meta == expected


@pytest.mark.skipif(not DEJAVU.exists(), reason="no Cyrillic TTF font (DejaVuSans) on this machine")
def test_pdf_cyrillic_text(tmp_path: Path) -> None:
    data = make_pdf(["Налоговые льготы для инвес-\nторов в Калужской области."], font=DEJAVU)
    doc = read_document(write(tmp_path, "ru.pdf", data))
    assert doc.pages == [Page(1, "Налоговые льготы для инвесторов в Калужской области.")]


def encrypt(data: bytes, user_password: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(data))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdf_with_user_password_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "locked.pdf", encrypt(make_pdf(["Secret text."]), "secret"))
    assert read_error(path) == "encrypted PDF (password protected)"


def test_pdf_encrypted_with_empty_password_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "restricted.pdf", encrypt(make_pdf(["Open to read, not to edit."]), ""))
    assert read_document(path).pages == [Page(1, "Open to read, not to edit.")]


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda data: data[: len(data) // 2], "not a valid PDF (truncated or damaged)"),
        (lambda data: data[:-400], "not a valid PDF (truncated or damaged)"),
        (
            lambda data: b"%PDF-1.7\n" + b"garbage " * 200 + b"\n%%EOF\n",
            "not a valid PDF (truncated or damaged)",
        ),
        (
            lambda data: b"<html><body>404 Not Found</body></html>",
            "not a PDF file (no %PDF header)",
        ),
    ],
    ids=["cut-in-half", "tail-missing", "garbage-body", "html-saved-as-pdf"],
)
def test_damaged_pdf(tmp_path: Path, mangle, reason: str) -> None:
    path = write(tmp_path, "broken.pdf", mangle(make_pdf(["Some text on page one.", "And page two."])))
    assert read_error(path) == reason


def test_pdf_without_text_suggests_ocr(tmp_path: Path) -> None:
    path = write(tmp_path, "scan.pdf", make_pdf([None, None]))
    assert read_error(path) == "no text found (scanned PDF? OCR is not supported)"


# --- DOCX ---------------------------------------------------------------------------------------


def make_docx(path: Path, *, title: str = "") -> Path:
    document = docx.Document()
    document.core_properties.title = title
    document.add_heading("Налоговые льготы", level=1)
    document.add_paragraph("Резиденты особой экономической зоны не платят налог на имущество.")
    document.add_paragraph("")
    table = document.add_table(rows=3, cols=3)
    rows = [["Налог", "Ставка", "Срок"], ["Имущество", "0%", "10 лет"], ["Земля", "0%", "5 лет"]]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    merged = document.add_table(rows=1, cols=3)
    merged.cell(0, 0).merge(merged.cell(0, 1)).text = "Объединённая ячейка"
    merged.cell(0, 2).text = "конец"
    document.add_heading("Contacts", level=2)
    document.add_paragraph("Agency for Regional Development, Kaluga.")
    document.save(path)
    return path


def test_docx_headings_paragraphs_and_tables_in_order(tmp_path: Path) -> None:
    doc = read_document(make_docx(tmp_path / "guide.docx", title="Путеводитель инвестора"))
    assert doc.format == "docx"
    assert doc.meta == {"title": "Путеводитель инвестора"}
    assert doc.pages == [
        Page(
            None,
            "Налоговые льготы\n\n"
            "Резиденты особой экономической зоны не платят налог на имущество.\n\n"
            "Налог | Ставка | Срок\n"
            "Имущество | 0% | 10 лет\n"
            "Земля | 0% | 5 лет\n\n"
            "Объединённая ячейка | конец\n\n"
            "Contacts\n\n"
            "Agency for Regional Development, Kaluga.",
        )
    ]


def test_docx_without_title_has_no_meta(tmp_path: Path) -> None:
    assert read_document(make_docx(tmp_path / "guide.docx")).meta == {}


def zip_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"This is plain text with a .docx name.", "not a valid DOCX file"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
            "not a valid DOCX file (it is an old binary .doc",
        ),
        (zip_bytes({"hello.txt": b"hi"}), "not a valid DOCX file (no word/document.xml inside)"),
        (zip_bytes({"word/document.xml": b"<not-really-xml"}), "not a valid DOCX file"),
    ],
    ids=["not-a-zip", "legacy-doc", "zip-without-document", "broken-xml"],
)
def test_invalid_docx(tmp_path: Path, data: bytes, reason: str) -> None:
    assert read_error(write(tmp_path, "bad.docx", data)).startswith(reason)


def test_docx_truncated_archive(tmp_path: Path) -> None:
    data = make_docx(tmp_path / "good.docx").read_bytes()
    assert read_error(write(tmp_path, "cut.docx", data[: len(data) // 2])) == "not a valid DOCX file"


def test_docx_zip_bomb_by_ratio(tmp_path: Path) -> None:
    data = zip_bytes({"[Content_Types].xml": b"<x/>", "word/document.xml": b"\x00" * (11 * 1024 * 1024)})
    assert read_error(write(tmp_path, "bomb.docx", data)) == "DOCX archive too large when unpacked (zip bomb?)"


def test_docx_zip_bomb_by_total_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docx_reader, "_DOCX_MAX_UNPACKED", 10_000)
    path = make_docx(tmp_path / "guide.docx")
    assert read_error(path) == "DOCX archive too large when unpacked (zip bomb?)"


# --- bytes of a known format (a fetched web page) and the registry ------------------------------


def _docx_bytes(tmp_path: Path) -> bytes:
    return make_docx(tmp_path / "guide.docx", title="Путеводитель инвестора").read_bytes()


KNOWN_FORMAT_CASES = [
    pytest.param("txt", "notes.txt", lambda tmp: RU_LONG.encode("cp1251"), id="txt-cp1251"),
    pytest.param("md", "forum.md", lambda tmp: MARKDOWN.encode("utf-8"), id="markdown"),
    pytest.param("html", "news.html", lambda tmp: html_page(ARTICLE_RU).encode("utf-8"), id="html"),
    pytest.param("pdf", "guide.pdf", lambda tmp: make_pdf(PDF_PAGES, title="Kaluga Investment Guide"), id="pdf"),
    pytest.param("docx", "guide.docx", _docx_bytes, id="docx"),
]


@pytest.mark.parametrize(("fmt", "name", "build"), KNOWN_FORMAT_CASES)
def test_read_data_reads_as_the_file_would(tmp_path: Path, fmt: str, name: str, build) -> None:
    data = build(tmp_path)
    from_file = read_document(write(tmp_path, name, data))
    from_bytes = read_data(data, fmt, "https://invest.example.ru/page")
    assert from_bytes.path == Path("https://invest.example.ru/page")
    assert (from_bytes.format, from_bytes.pages, from_bytes.meta) == (fmt, from_file.pages, from_file.meta)


@pytest.mark.parametrize("fmt", ["html", "HTML", ".htm", " html "], ids=["name", "upper-case", "suffix", "spaces"])
def test_read_data_format_spellings(fmt: str) -> None:
    assert read_data(html_page(ARTICLE_RU).encode("utf-8"), fmt, "page").format == "html"


@pytest.mark.parametrize(
    ("data", "fmt", "kwargs", "reason"),
    [
        pytest.param(b"x", "xlsx", {}, "unsupported format 'xlsx' (supported: docx, html, md, pdf, txt)", id="format"),
        pytest.param(b"", "html", {}, "no text found (empty file)", id="empty"),
        pytest.param(b"x" * 3000, "txt", {"max_bytes": 1024}, "file is 2.9 KB, over the 1 KB limit", id="too-big"),
    ],
)
def test_read_data_errors(data: bytes, fmt: str, kwargs: dict, reason: str) -> None:
    with pytest.raises(ReadError) as info:
        read_data(data, fmt, "page", **kwargs)
    assert str(info.value) == reason


def test_size_limit_error_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileTooLarge):
        read_document(write(tmp_path, "big.txt", b"x" * 3000), max_bytes=1024)


def test_importing_the_registry_loads_no_format_library() -> None:
    """docx, pypdf and trafilatura cost a second of start-up: only a file of their format loads them."""
    code = (
        "import sys, index.readers; "
        "print(sorted(m for m in ('docx', 'pypdf', 'trafilatura', 'yaml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
