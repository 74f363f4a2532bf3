"""tests/data/agency/ and agency_qa.yaml are consistent: every accepted fact is in a document it names, the sets are
as large as the issue asks, and every language has its share of dev and test."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from index.readers.encoding import decode_bytes

DATA = Path(__file__).parent / "data"
AGENCY = DATA / "agency"
QA = yaml.safe_load((DATA / "agency_qa.yaml").read_text(encoding="utf-8"))
TEXTS = {p.name: decode_bytes(p.read_bytes()) for p in AGENCY.iterdir()}


@pytest.mark.parametrize(
    ("section", "at_least"), [("answerable", 60), ("traps", 40), ("impossible", 20), ("off_topic", 10)]
)
def test_sections_are_large_enough_with_both_languages_and_splits(section, at_least):
    entries = QA[section]
    assert len(entries) >= at_least
    for lang in ("en", "ru"):
        splits = [q["split"] for q in entries if q["lang"] == lang]
        assert 0.4 <= splits.count("dev") / len(splits) <= 0.6, (section, lang)


def test_ids_are_unique():
    ids = [q["id"] for section in QA.values() for q in section]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("q", QA["answerable"], ids=[q["id"] for q in QA["answerable"]])
def test_accepted_facts_are_in_the_named_documents(q):
    assert all(any(a in TEXTS[doc] for a in q["answers"]) for doc in q["docs"])


def test_questions_cross_languages_both_ways():
    def language(doc: str) -> str:
        return "ru" if sum("а" <= c <= "я" for c in TEXTS[doc].lower()) > 100 else "en"

    only_other = {(q["lang"], language(q["docs"][0])) for q in QA["answerable"] if len(q["docs"]) == 1}
    assert {("en", "ru"), ("ru", "en"), ("en", "en"), ("ru", "ru")} <= only_other


def test_one_russian_file_is_cp1251():
    raw = (AGENCY / "park-oka-technopolis-ru.txt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert TEXTS["park-oka-technopolis-ru.txt"] == raw.decode("cp1251")
    assert {p.suffix for p in AGENCY.iterdir()} == {".md", ".txt"}
