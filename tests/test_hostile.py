"""Hostile files, all in one folder: each either ingests correctly or gets one clear error line;
none hangs the run, crashes it, or keeps the other files out."""

from __future__ import annotations

import io
import os
import random
import threading
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli

GOOD = "Kaluga Region offers investors {n} industrial parks with roads, gas and power."


def build_corpus(folder: Path) -> dict[str, str]:
    """name -> "ok" or a fragment the error line must contain."""
    pypdf = pytest.importorskip("pypdf")
    folder.mkdir()
    expect: dict[str, str] = {}

    def put(name: str, data: bytes, outcome: str) -> None:
        (folder / name).write_bytes(data)
        expect[name] = outcome

    put("empty.txt", b"", "no text found")
    put("random-binary.txt", random.Random(1).randbytes(20_000), "binary")
    # A real PDF, then cut in half.
    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    buffer = io.BytesIO()
    writer.write(buffer)
    put("truncated.pdf", buffer.getvalue()[: len(buffer.getvalue()) // 2], "not a valid PDF")
    encrypted = pypdf.PdfWriter()
    encrypted.add_blank_page(200, 200)
    encrypted.encrypt(user_password="secret", owner_password="owner")
    buffer = io.BytesIO()
    encrypted.write(buffer)
    put("encrypted.pdf", buffer.getvalue(), "encrypted PDF")
    blank = pypdf.PdfWriter()
    for _ in range(3000):
        blank.add_blank_page(200, 200)
    buffer = io.BytesIO()
    blank.write(buffer)
    put("three-thousand-blank-pages.pdf", buffer.getvalue(), "no text found")
    put("not-a-zip.docx", b"This is plain text pretending to be a Word file.", "not a valid DOCX")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w") as entry:  # 300 MB of zeros, deflated to ~300 KB
            chunk = b"\0" * (1 << 20)
            for _ in range(300):
                entry.write(chunk)
    put("zip-bomb.docx", bomb.getvalue(), "zip bomb")
    put("fifty-megabytes.txt", (GOOD.format(n=1) + "\n").encode() * (50 * 1024 * 1024 // 80), "over the 40 MB limit")
    nested = "<html><head><script>alert('x')</script><style>p{color:red}</style></head><body>"
    nested += "<div>" * 10_000 + f"<p>{GOOD.format(n=12)}</p>" + "</div>" * 10_000 + "</body></html>"
    put("nested.html", nested.encode(), "ok")
    put("cp1251.txt", "В Калужской области 12 индустриальных парков для инвесторов.".encode("cp1251"), "ok")
    put("koi8r.txt", "Особая экономическая зона Людиново занимает 800 гектаров земли.".encode("koi8-r"), "ok")
    put("utf16.txt", "Resident companies of the zone pay no property tax.".encode("utf-16"), "ok")
    put("name with spaces.md", f"# Spaces\n\n{GOOD.format(n=3)}".encode(), "ok")
    put("имя файла — ünïcödé.txt", GOOD.format(n=4).encode(), "ok")
    sub = folder / "sub"
    sub.mkdir()
    (sub / "dots..in..the..name.txt").write_bytes(GOOD.format(n=5).encode())
    expect["sub/dots..in..the..name.txt"] = "ok"
    (sub / ".hidden.txt").write_bytes(b"editor swap files and the like are left alone")  # not counted at all
    return expect


def test_hostile_folder(tmp_path, monkeypatch):
    folder = tmp_path / "hostile"
    expect = build_corpus(folder)
    monkeypatch.setenv("INVESTBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INVESTBOT_MODEL", "none")
    monkeypatch.setenv("INVESTBOT_MAX_FILE_MB", "40")
    monkeypatch.setenv("INVESTBOT_FILE_TIMEOUT", "30")
    runner = CliRunner()
    # "../" in the path given on the command line: resolved, the same files.
    result = runner.invoke(cli, ["ingest", str(folder / ".." / folder.name)])
    assert result.exit_code == 1  # some files failed; the run itself finished
    errors = result.stderr.splitlines()
    for name, outcome in expect.items():
        lines = [line for line in errors if line.startswith(str((folder / name).resolve()) + ":")]
        if outcome == "ok":
            assert not lines, (name, lines)
        else:
            assert len(lines) == 1, (name, errors)
            assert outcome in lines[0], (name, lines[0])
    good = sum(1 for o in expect.values() if o == "ok")
    bad = len(expect) - good
    assert f"{good} added" in result.stdout and f"{bad} failed" in result.stdout
    answer = runner.invoke(cli, ["ask", "How many industrial parks are in Kaluga Region?", "--json"])
    assert '"answered": true' in answer.stdout
    assert runner.invoke(cli, ["check"]).exit_code == 0


def test_a_hanging_parse_is_cut_off(tmp_path, monkeypatch):
    """A file whose parse never ends gets the time-limit error; the next file is still ingested."""
    import index.ingest.files as ingest_module

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a-hangs.txt").write_text("hang", encoding="utf-8")
    (folder / "b-fine.txt").write_text(GOOD.format(n=7), encoding="utf-8")
    real = ingest_module.read_document
    release = threading.Event()  # the hanging parse ends only when the test lets it
    parse_ended = threading.Event()

    def hangs(path, **kwargs):
        if path.name.startswith("a-"):
            release.wait(120)  # "never", bounded so that a broken limit fails the test rather than hangs it
            parse_ended.set()
        return real(path, **kwargs)

    monkeypatch.setattr(ingest_module, "read_document", hangs)
    from index.engine import Engine, EngineConfig

    engine = Engine.open(EngineConfig(data_dir=tmp_path / "data", model=None, file_timeout=1.0))
    try:
        report = engine.ingest([folder])
        assert not parse_ended.is_set()  # the ingest gave up on the parse instead of waiting it out
    finally:
        release.set()
    status = {r.path.name: r for r in report.results}
    assert status["a-hangs.txt"].status == "failed" and "longer than the 1 s limit" in status["a-hangs.txt"].reason
    assert status["a-hangs.txt"].limit == "file_timeout" and "INVESTBOT" not in status["a-hangs.txt"].reason
    assert status["b-fine.txt"].status == "added"


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd.txt", "..\\..\\boot.ini.txt", "/abs/path/x.md"],
    ids=["dot-dot", "backslashes", "absolute"],
)
def test_uploaded_names_never_reach_the_file_system(name):
    from bot.telegram.staff import safe_file_name, upload_path

    clean = safe_file_name(name)
    assert "/" not in clean and "\\" not in clean and not clean.startswith(".")
    stored = upload_path(Path("/data/uploads"), f"upload:{clean}")
    assert stored.parent == Path("/data/uploads") and os.sep not in stored.name
