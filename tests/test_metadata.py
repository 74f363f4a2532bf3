"""index/metadata.py: titles and dates shown next to every cited source."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from index.ingest.clean import clean_text
from index.ingest.metadata import extract_title, find_date, parse_date

# The seed articles sit beside the repository, in ../shared (not shipped with it).
SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"

# --- extract_title -----------------------------------------------------------------------------

TITLE_CASES = [
    ("Body text.", "  Investment \u00a0 passport ", "Investment passport"),
    ("Kaluga attracts investors from France\n\nBody text.", "   ", "Kaluga attracts investors from France"),
    ("Kaluga attracts investors from France\n# Tax benefits\nText.", None, "Tax benefits"),
    ("## Tax benefits for residents ##\nText.", None, "Tax benefits for residents"),
    (
        "INVESTMENT CLIMATE\n\nRussian regions bank on import substitution and cooperation\n\nBody text.",
        None,
        "Russian regions bank on import substitution and cooperation",
    ),
    (
        "KALUGA REGION INVESTMENT NEWS\nNew park opens in Kaluga Region\n\nText.",
        None,
        "New park opens in Kaluga Region",
    ),
    ("April 21, 2012\n\nNew park opens in Kaluga\n\nBody.", None, "New park opens in Kaluga"),
    ("21.04.2012\nНовый парк открылся в Калуге\n\nТекст.", None, "Новый парк открылся в Калуге"),
    (
        "1 June, 11:00–12:15\n\nLocalization as a Means to Create a Cluster Economy",
        None,
        "Localization as a Means to Create a Cluster Economy",
    ),
    ("News\nKaluga attracts investors from France\nBody text.", None, "Kaluga attracts investors from France"),
    (
        "Photo by the press service.\nKaluga attracts investors from France\nBody.",
        None,
        "Kaluga attracts investors from France",
    ),
    ("Зачем инвестировать в Калужскую область?\n\nТекст.", None, "Зачем инвестировать в Калужскую область?"),
    (
        "• Cheap land for investors\n• Tax breaks for residents\n\nThe region is open. More.",
        None,
        "Cheap land for investors",
    ),
    (
        "The region offers investors a wide range of\nopportunities for new production. More text.",
        None,
        "The region offers investors a wide range of opportunities for new production",
    ),
    ("Kaluga grows. It is big.", None, "Kaluga grows"),
    (
        "Калужская область привлекла более миллиарда долларов французских инвестиций за последние годы, "
        "сообщил губернатор. Ещё.",
        None,
        "Калужская область привлекла более миллиарда долларов французских инвестиций за…",
    ),
    ("INVESTMENT CLIMATE", None, "INVESTMENT CLIMATE"),
    ("", None, ""),
]
TITLE_IDS = [
    "meta-title",
    "blank-meta-title-ignored",
    "markdown-heading-first",
    "markdown-closing-hashes",
    "skip-rubric",
    "skip-long-rubric",
    "skip-date-line-en",
    "skip-date-line-ru",
    "skip-date-without-year",
    "skip-one-word",
    "skip-sentence",
    "question-title-ru",
    "bullets-are-not-titles",
    "wrapped-prose-not-title",
    "short-first-sentence",
    "long-first-sentence-cut",
    "only-rubric",
    "empty",
]


@pytest.mark.parametrize(("text", "meta", "expected"), TITLE_CASES, ids=TITLE_IDS)
def test_extract_title(text, meta, expected):
    assert extract_title(text, meta) == expected


def test_bullet_only_text_falls_back_to_first_sentence():
    # A bullet is never taken as a title line, but a text of bullets still gets a title.
    assert extract_title("• Cheap land for investors\n• Tax breaks") == "Cheap land for investors"


def test_cut_title_is_short_and_ends_on_a_word():
    sentence = (
        "On April 8, 2014 Moscow hosted the VIth Forum of Russian Regions dedicated to elaboration of "
        "proposals on key issues of the Russian regions’ innovative development."
    )
    title = extract_title(sentence + " More.")
    assert len(title) <= 80 and title.endswith("…")
    assert sentence.startswith(title[:-1]) and sentence[len(title) - 1] == " "


# --- find_date ---------------------------------------------------------------------------------

FIND_DATE_CASES = [
    ("On April 8, 2014 Moscow hosted the forum.", "2014-04-08"),
    ("The forum was held on 8 April 2014 in Moscow.", "2014-04-08"),
    ("Title\n\nApril 21, 2012\n\nBody.", "2012-04-21"),
    ("Опубликовано 21.04.2012 в 10:00", "2012-04-21"),
    ("Published 2012-04-21T10:00:00", "2012-04-21"),
    ("Форум прошёл 8 апреля 2014 г. в Москве.", "2014-04-08"),
    ("Соглашение подписано 8 апреля 2014 года.", "2014-04-08"),
    ("«8» апреля 2014 г. состоялось заседание.", "2014-04-08"),
    ("Sept. 8th, 2014", "2014-09-08"),
    ("the 8th of April, 2014", "2014-04-08"),
    ("8 Apr 2014", "2014-04-08"),
    ("04/21/2012", "2012-04-21"),
    ("2012/04/21", "2012-04-21"),
    ("1 июня 2015 года и 5 мая 2016 года", "2015-06-01"),
    ("Дата: 31.02.2014, исправлено 01.03.2014", "2014-03-01"),
    ("31.02.2014", None),
    ("1 June, 11:00–12:15", None),
    ("On May 24th–25th of this year", None),
    ("A Lafarge concrete plant was commissioned in May 2014.", None),
    ("The city was founded on 5 March 1371.", None),
    ("Plans to 12 March 2150 are vague.", None),
    ("Version 1.2.3 and phone 8.800.2014", None),
    ("Order 123.04.2012-5", None),
    ("", None),
]
FIND_DATE_IDS = [
    "en-month-day-year",
    "en-day-month-year",
    "en-own-line",
    "ru-numeric",
    "iso-with-time",
    "ru-g",
    "ru-goda",
    "ru-quoted-day",
    "abbr-ordinal",
    "ordinal-of",
    "abbr-month",
    "us-month-first",
    "year-first-slashes",
    "first-of-two",
    "skip-impossible-take-next",
    "impossible-feb-31",
    "no-year",
    "no-year-range",
    "month-year-only",
    "too-old",
    "too-far",
    "not-dates",
    "longer-number",
    "empty",
]


@pytest.mark.parametrize(("text", "expected"), FIND_DATE_CASES, ids=FIND_DATE_IDS)
def test_find_date(text, expected):
    assert find_date(text) == expected


# --- parse_date --------------------------------------------------------------------------------

PARSE_DATE_CASES = [
    (dt.date(2014, 4, 8), "2014-04-08"),
    (dt.datetime(2014, 4, 8, 23, 59), "2014-04-08"),
    (2014, "2014"),
    ("2014", "2014"),
    ("2014 г.", "2014"),
    ("2014-04", "2014-04"),
    ("2014-4", "2014-04"),
    ("April 2014", "2014-04"),
    ("апрель 2014 г.", "2014-04"),
    ("2014-04-08", "2014-04-08"),
    ("2014-04-08T10:00:00+03:00", "2014-04-08"),
    ("08.04.2014", "2014-04-08"),
    ("8 апреля 2014 года", "2014-04-08"),
    ("Tue, 08 Apr 2014 10:00:00 +0000", "2014-04-08"),
    ("D:20140408123000+03'00'", "2014-04-08"),
    ("D:201404", "2014-04"),
    ("  2014-04-08  ", "2014-04-08"),
    ("1985-06-01", "1985-06-01"),
    ("2014-13", None),
    ("2014-02-30", None),
    ("yesterday", None),
    ("", None),
    (None, None),
    (True, None),
    (3000, None),
    (12.5, None),
    (["2014"], None),
]
PARSE_DATE_IDS = [
    "date",
    "datetime",
    "int-year",
    "str-year",
    "str-year-ru",
    "iso-month",
    "iso-month-short",
    "month-year-en",
    "month-year-ru",
    "iso-day",
    "iso-datetime",
    "numeric-ru",
    "text-ru",
    "rfc2822",
    "pdf-date",
    "pdf-month",
    "padded",
    "older-metadata-year",
    "bad-month",
    "bad-day",
    "words",
    "empty",
    "none",
    "bool",
    "year-out-of-range",
    "float",
    "list",
]


@pytest.mark.parametrize(("value", "expected"), PARSE_DATE_CASES, ids=PARSE_DATE_IDS)
def test_parse_date(value, expected):
    assert parse_date(value) == expected


# --- the real seed articles --------------------------------------------------------------------

SEED_EXPECTED = {
    "000": ("On April 8, 2014 Moscow hosted", "2014-04-08"),
    "001": ("On April 22, 2015", "2015-04-22"),
    "002": ("There is no sense of the synergetic effect of cooperation in the Russian economy", "2012-04-21"),
    "003": ("Localization as a Means to Create a Cluster Economy", None),
    "004": ("Russian regions bank on import substitution and cooperation", None),
}


@pytest.mark.parametrize("prefix", sorted(SEED_EXPECTED))
@pytest.mark.parametrize("cleaned", [False, True], ids=["raw", "cleaned"])
def test_seed_title_and_date(prefix, cleaned):
    path = next(iter(sorted(SEEDS.glob(f"{prefix}_*.txt"))), None) if SEEDS.is_dir() else None
    if path is None:
        pytest.skip(f"seed {prefix} not available in {SEEDS}")
    text = path.read_text(encoding="utf-8")
    if cleaned:
        text = clean_text(text)
    title_start, date = SEED_EXPECTED[prefix]
    title = extract_title(text)
    if prefix in ("000", "001"):  # no title line: the first sentence, cut
        assert title.startswith(title_start) and title.endswith("…") and len(title) <= 80
    else:
        assert title == title_start
    assert find_date(text) == date
