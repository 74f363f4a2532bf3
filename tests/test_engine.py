"""The engine end to end: files in, answers with sources out."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SEEDS

BOILERPLATE = [
    "Sponsor",
    "Official media partner",
    "return_links",
    "Previous Article",
    "Back to news feed",
    "Investment digest",
    "Printed products",
]


@pytest.mark.skipif(not SEEDS.is_dir(), reason="shared/seeds is not beside the repository")
def test_seed_chunks_hold_no_boilerplate(lexical_engine):
    report = lexical_engine.ingest([SEEDS])
    assert report.count("added") == 5 and not report.failed
    texts = [row["text"] for row in lexical_engine.store.db.query("SELECT text FROM chunks")]
    for needle in BOILERPLATE:
        assert not any(needle in t for t in texts), needle
    assert any("There are 10 industrial parks in the region" in t for t in texts)


@pytest.mark.skipif(not SEEDS.is_dir(), reason="shared/seeds is not beside the repository")
def test_seed_metadata(lexical_engine):
    lexical_engine.ingest([SEEDS])
    docs = {Path(d.source).name[:3]: d for d in lexical_engine.store.documents()}
    assert docs["000"].date == "2014-04-08"
    assert docs["002"].date == "2012-04-21"
    assert docs["003"].date is None  # "1 June" has no year: no date is better than a made-up one
    assert docs["004"].title == "Russian regions bank on import substitution and cooperation"
    assert {d.language for d in docs.values()} == {"en"}


@pytest.mark.parametrize(
    "encoding, text, question, expected",
    [
        (
            "cp1251",
            "В Калужской области работают 12 индустриальных парков.",
            "Сколько индустриальных парков в Калужской области?",
            "12",
        ),
        (
            "koi8-r",
            "Площадь особой экономической зоны Людиново составляет 800 гектаров.",
            "Какова площадь зоны Людиново?",
            "800",
        ),
        (
            "utf-16",
            "Ставка налога на имущество для резидентов парка равна нулю.",
            "Какая ставка налога на имущество для резидентов?",
            "нулю",
        ),
    ],
    ids=["cp1251", "koi8-r", "utf-16-bom"],
)
def test_russian_encodings_answerable(lexical_engine, tmp_path, encoding, text, question, expected):
    path = tmp_path / f"doc-{encoding}.txt"
    path.write_bytes(text.encode(encoding))
    report = lexical_engine.ingest([path])
    assert report.count("added") == 1, report.results
    answer = lexical_engine.answer(question)
    assert answer.answered and expected in answer.answer and answer.language == "ru"


def test_same_content_elsewhere_is_a_duplicate(lexical_engine, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    for p in (a, b):
        p.write_text("Kaluga Region has a special economic zone in Lyudinovo.", encoding="utf-8")
    report = lexical_engine.ingest([a, b])
    status = {r.path.name: r for r in report.results}
    assert status["a.txt"].status == "added" and status["b.txt"].status == "duplicate"
    assert "same content as" in status["b.txt"].reason
    assert lexical_engine.ingest([b]).results[0].status == "duplicate"
    assert lexical_engine.store.document_count() == 1


def test_pdf_answer_cites_its_page(lexical_engine, tmp_path):
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in (
        "Investment guide. Contents and introduction.",
        "Agricultural land in the region costs little.",
        "The Lyudinovo special economic zone covers 432 hectares of land.",
    ):
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    path = tmp_path / "guide.pdf"
    pdf.output(str(path))
    assert lexical_engine.ingest([path]).count("added") == 1
    answer = lexical_engine.answer("How many hectares does the Lyudinovo special economic zone cover?")
    assert answer.answered and "432" in answer.answer
    assert answer.passages[0].page == 3


def test_lines_repeated_across_documents_are_dropped(lexical_engine, tmp_path):
    footer = "Agency newsletter archive"
    for n in range(4):
        (tmp_path / f"news{n}.txt").write_text(
            f"{footer}\n\nNews item {n}: the region opened industrial park number {n} this year, "
            "with new roads and power lines for investors.\n",
            encoding="utf-8",
        )
    lexical_engine.ingest([tmp_path])
    texts = [row["text"] for row in lexical_engine.store.db.query("SELECT text FROM chunks")]
    assert len(texts) == 4 and not any(footer in t for t in texts)


def test_an_unexpected_failure_in_one_file_does_not_stop_the_others(lexical_engine, tmp_path, monkeypatch):
    import index.ingest.files as ingest_module

    (tmp_path / "a.txt").write_text("Kaluga Region welcomes investors in its parks.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Ryazan Region supports import substitution centres.", encoding="utf-8")
    real = ingest_module.chunk_pages

    def flaky(pages, **kw):
        if any("Ryazan" in text for _, text in pages):
            raise RuntimeError("boom")
        return real(pages, **kw)

    monkeypatch.setattr(ingest_module, "chunk_pages", flaky)
    report = lexical_engine.ingest([tmp_path])
    assert report.count("added") == 1
    assert "internal error" in report.failed[0].reason and report.failed[0].path.name == "b.txt"


def test_answer_is_unanswered_on_an_empty_store(lexical_engine):
    answer = lexical_engine.answer("How many industrial parks does Kaluga Region have?")
    assert not answer.answered and answer.passages == ()


@pytest.mark.parametrize(
    "question, language",
    [("How many parks?", "en"), ("Сколько парков?", "ru"), ("Kaluga — сколько парков в регионе?", "ru"), ("", "en")],
    ids=["english", "russian", "mixed-mostly-russian", "empty"],
)
def test_question_language(lexical_engine, question, language):
    assert lexical_engine.answer(question).language == language


def test_removing_an_unknown_document_names_what_was_looked_up(lexical_engine):
    from index import DocumentNotFound

    with pytest.raises(DocumentNotFound) as info:
        lexical_engine.remove("no/such/file.md")
    assert isinstance(info.value, KeyError)  # callers that catch KeyError keep working
    assert str(info.value) == "no document with id or source 'no/such/file.md'"


def test_ingest_status_is_a_string(lexical_engine, tmp_path):
    from index import IngestStatus

    (tmp_path / "a.txt").write_text("Kaluga Region has ten industrial parks for investors.", encoding="utf-8")
    result = lexical_engine.ingest([tmp_path / "a.txt"]).results[0]
    assert result.status is IngestStatus.ADDED
    assert result.status == "added" and f"{result.status}" == "added" and str(result.status) == "added"
    assert {"added": 1}[result.status] == 1


@pytest.mark.parametrize(
    ("config", "content", "limit"),
    [
        pytest.param({"max_file_bytes": 100}, "x" * 200, "max_file_bytes", id="size"),
        pytest.param({}, "", None, id="no-limit-hit"),
    ],
)
def test_a_failed_file_says_which_limit_it_hit(data_dir, store, tmp_path, config, content, limit):
    """The reason stays neutral (the library names no setting); `limit` lets the application name its own."""
    from index.engine import Engine, EngineConfig

    engine = Engine.open(EngineConfig(data_dir=data_dir, model=None, **config), store)
    (tmp_path / "f.txt").write_text(content, encoding="utf-8")
    result = engine.ingest([tmp_path / "f.txt"]).results[0]
    assert result.status == "failed" and result.limit == limit
    assert "INVESTBOT" not in result.reason
