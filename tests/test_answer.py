"""index/answer.py: how much of a question a passage covers, and which of its sentences answer.

Everything here goes through the public functions with the default weights. Expectations that
depend on a tuned credit (a translation's partial credit, the phrase bonus) are stated as what
must hold for any sensible value (partial is less than full, a phrase adds), so retuning the
weights in scoring does not break these tests, while breaking the mechanics does.
"""

from __future__ import annotations

import math

import pytest

from index.answering.windows import (
    PassageTerms,
    QuestionProfile,
    SentenceTerms,
    analyse_passage,
    coverage,
    idf_weights,
    sentence_hits,
    window_coverage,
)
from index.text.tokens import terms


def profile(
    question: str, weights: dict[str, float] | None = None, alternatives: dict[str, frozenset[str]] | None = None
) -> QuestionProfile:
    """A question's profile as the engine builds it; every concept weighs 1 unless `weights` says otherwise."""
    merged = dict.fromkeys(terms(question), 1.0)
    merged.update(weights or {})
    return QuestionProfile.build(question, merged, alternatives)


# --- idf_weights -------------------------------------------------------------------------------

IDF_VALUE_CASES = [
    pytest.param({"cake": {"cake"}}, {}, 100, math.log(1 + 100.5 / 0.5), id="in-no-chunk"),
    pytest.param({"park": {"park"}}, {"park": 100}, 100, math.log(1 + 0.5 / 100.5), id="in-every-chunk-still-positive"),
    pytest.param(
        {"парк": {"парк", "park"}},
        {"парк": 3, "park": 10},
        100,
        math.log(1 + 90.5 / 10.5),
        id="the-most-used-form-or-translation-counts",
    ),
    pytest.param({"park": {"park"}}, {}, 0, math.log(1 + 1.5 / 0.5), id="empty-store-no-division-by-zero"),
]


@pytest.mark.parametrize(("alternatives", "doc_freqs", "n_docs", "expected"), IDF_VALUE_CASES)
def test_idf_weight_values(alternatives, doc_freqs, n_docs, expected):
    concept = next(iter(alternatives))
    assert idf_weights(alternatives, doc_freqs, n_docs)[concept] == pytest.approx(expected)


IDF_ORDER_CASES = [
    pytest.param(
        {"cake": {"cake"}, "park": {"park"}}, {"park": 40}, "cake", "park", id="a-word-no-document-holds-weighs-most"
    ),
    pytest.param(
        {"pharmaceut": {"pharmaceut"}, "region": {"region"}},
        {"pharmaceut": 5, "region": 90},
        "pharmaceut",
        "region",
        id="the-rarer-word-weighs-more",
    ),
    pytest.param(
        {"торт": {"торт"}, "парк": {"парк", "park"}},
        {"park": 40},
        "торт",
        "парк",
        id="a-translation-in-the-documents-makes-a-word-common",
    ),
]


@pytest.mark.parametrize(("alternatives", "doc_freqs", "heavier", "lighter"), IDF_ORDER_CASES)
def test_idf_weight_order(alternatives, doc_freqs, heavier, lighter):
    weights = idf_weights(alternatives, doc_freqs, 100)
    assert weights[heavier] > weights[lighter] > 0


# --- coverage ----------------------------------------------------------------------------------

PARKS = "industrial parks Kaluga"  # concepts industri, park, kaluga; Kaluga weighs 2 of the 4
PARKS_WEIGHTS = {"kaluga": 2.0}
PARK_IN_RUSSIAN = {"park": frozenset({"park", "парк"})}

COVERAGE_CASES = [
    pytest.param({"industri", "park", "kaluga", "roads"}, None, 1.0, id="every-concept"),
    pytest.param({"roads", "power"}, None, 0.0, id="no-concept"),
    pytest.param({"kaluga"}, None, 0.5, id="the-heavy-concept-alone-is-its-share"),
    pytest.param({"industri", "park"}, None, 0.5, id="two-light-concepts"),
    pytest.param({"парк"}, PARK_IN_RUSSIAN, 0.25, id="a-translation-counts"),
    pytest.param({"парк"}, None, 0.0, id="no-translation-without-the-glossary"),
]


@pytest.mark.parametrize(("text_terms", "alternatives", "expected"), COVERAGE_CASES)
def test_coverage(text_terms, alternatives, expected):
    assert coverage(profile(PARKS, PARKS_WEIGHTS, alternatives), text_terms) == pytest.approx(expected)


def test_coverage_of_a_question_without_information_is_zero():
    assert coverage(profile("How many?"), {"many"}) == 0.0
    assert coverage(profile("parks", {"park": 0.0}), {"park"}) == 0.0


# --- sentence_hits -----------------------------------------------------------------------------

INDUSTRIAL_PARKS = "industrial parks"
TRANSLATED = {"industri": frozenset({"industri", "промышлен"}), "park": frozenset({"park", "парк"})}

# (sentence, the credit each question concept gets: "full" for the question's own word, "partial" for
# another form or a translation, whether the question's phrase "industrial parks" is found intact)
SENTENCE_HITS_CASES = [
    pytest.param(
        "Ten industrial parks operate.", {"industri": "full", "park": "full"}, True, id="the-question's-own-words"
    ),
    pytest.param("TEN INDUSTRIAL PARKS OPERATE.", {"industri": "full", "park": "full"}, True, id="any-case"),
    pytest.param(
        "Industry grows near parks.", {"industri": "partial", "park": "full"}, False, id="another-form-is-partial"
    ),
    pytest.param(
        "Промышленные парки работают.",
        {"industri": "partial", "park": "partial"},
        True,
        id="translations-partial-phrase-intact",
    ),
    pytest.param(
        "Parks are industrial.", {"industri": "full", "park": "full"}, False, id="reversed-order-is-no-phrase"
    ),
    pytest.param(
        "Industrial and logistics parks.", {"industri": "full", "park": "full"}, False, id="a-word-between-is-no-phrase"
    ),
    pytest.param("The weather is fine today.", {}, False, id="nothing-of-the-question"),
]


@pytest.mark.parametrize(("sentence", "credits", "phrase"), SENTENCE_HITS_CASES)
def test_sentence_hits(sentence, credits, phrase):
    hits, phrases = sentence_hits(profile(INDUSTRIAL_PARKS, alternatives=TRANSLATED), SentenceTerms.of(sentence, 0))
    assert set(hits) == set(credits)
    for concept, kind in credits.items():
        assert (hits[concept] == 1.0) if kind == "full" else (0.0 < hits[concept] < 1.0), (concept, hits[concept])
    assert bool(phrases) is phrase


NUMBER_CASES = [
    pytest.param("There are 10 industrial parks.", {"count"}, id="a-quantity"),
    pytest.param("Production grew by 2.9%.", {"count"}, id="a-percentage"),
    pytest.param("The plant opened in 2014.", {"date"}, id="a-year-is-a-date-not-a-count"),
    pytest.param("In 2014, 10 parks opened.", {"count", "date"}, id="both"),
    pytest.param("Ten parks opened last year.", set(), id="numbers-in-words-are-not-digits"),
]


@pytest.mark.parametrize(("sentence", "kinds"), NUMBER_CASES)
def test_sentence_numbers(sentence, kinds):
    assert SentenceTerms.of(sentence, 0).numbers == kinds


WANTS_CASES = [
    pytest.param("How many industrial parks are there?", "count", id="how-many"),
    pytest.param("How much did production grow?", "count", id="how-much"),
    pytest.param("Сколько индустриальных парков в Калужской области?", "count", id="сколько"),
    pytest.param("When was the plant commissioned?", "date", id="when"),
    pytest.param("В каком году открылся завод?", "date", id="в-каком-году"),
    pytest.param("Which industrial parks offer land?", None, id="no-number-wanted"),
]


@pytest.mark.parametrize(("question", "wants"), WANTS_CASES)
def test_questions_that_want_a_number(question, wants):
    assert profile(question).wants == wants


# --- window_coverage ---------------------------------------------------------------------------

WINDOW_CASES = [
    pytest.param([({"kaluga": 1.0}, {})], 0.5, id="one-sentence-one-heavy-concept"),
    pytest.param([({"industri": 1.0}, {}), ({"park": 1.0}, {})], 0.5, id="a-window-gathers-its-sentences"),
    pytest.param([({"industri": 1.0}, {}), ({"industri": 1.0}, {})], 0.25, id="a-concept-twice-counts-once"),
    pytest.param([({"industri": 0.5}, {}), ({"industri": 1.0}, {})], 0.25, id="the-best-credit-counts"),
    pytest.param([({"industri": 0.5}, {})], 0.125, id="partial-credit-weighs-partially"),
    pytest.param([({"industri": 1.0, "park": 1.0, "kaluga": 1.0}, {0: 1.0})], 1.0, id="never-above-one"),
    pytest.param([({}, {})], 0.0, id="nothing"),
]


@pytest.mark.parametrize(("hits", "expected"), WINDOW_CASES)
def test_window_coverage(hits, expected):
    assert window_coverage(profile(PARKS, PARKS_WEIGHTS), hits) == pytest.approx(expected)


def test_an_intact_phrase_adds_and_counts_once():
    p = profile(PARKS, PARKS_WEIGHTS)
    words_only = window_coverage(p, [({"industri": 1.0, "park": 1.0}, {})])
    with_phrase = window_coverage(p, [({"industri": 1.0, "park": 1.0}, {0: 1.0})])
    twice = window_coverage(p, [({"industri": 1.0, "park": 1.0}, {0: 1.0}), ({"industri": 1.0}, {0: 1.0})])
    assert words_only < with_phrase < 1.0
    assert twice == pytest.approx(with_phrase)


# --- analyse_passage: which window answers -----------------------------------------------------

# Two sentences covering the question alike, one with a quantity, one with a year, in either order:
# without the number bonus the first would always win.
EXPANDED = "Industrial parks expanded by 12 sites. Industrial parks expanded in 2014."
EXPANDED_YEAR_FIRST = "Industrial parks expanded in 2014. Industrial parks expanded by 12 sites."
KALUGA = "How many industrial parks does Kaluga Region have?"
FILLER = "Roads are good. Gas is on site. Water is cheap."

# (question, passage, weights, the best window's text)
WINDOW_WINNER_CASES = [
    pytest.param(
        KALUGA,
        f"Investors like it. {FILLER} There are 10 industrial parks in Kaluga Region.",
        None,
        "There are 10 industrial parks in Kaluga Region.",
        id="the-sentence-holding-the-question",
    ),
    pytest.param(
        "Industrial parks and the pharmaceutical cluster",
        f"Industrial parks host plants. {FILLER} The pharmaceutical cluster grows.",
        {"pharmaceut": 5.0},
        "The pharmaceutical cluster grows.",
        id="the-rarer-question-word-wins",
    ),
    pytest.param(
        "Which industrial parks in Kaluga Region offer land?",
        "Parks and industrial zones are in Kaluga Region. Kaluga Region has industrial parks.",
        None,
        "Kaluga Region has industrial parks.",
        id="the-question-phrase-intact-wins",
    ),
    # Numbers: the same passage answers differently by what the question asks for.
    pytest.param(
        "How much did industrial parks expand?",
        EXPANDED_YEAR_FIRST,
        None,
        "Industrial parks expanded by 12 sites.",
        id="how-much-prefers-a-quantity",
    ),
    pytest.param(
        "When did industrial parks expand?",
        EXPANDED,
        None,
        "Industrial parks expanded in 2014.",
        id="when-prefers-a-year",
    ),
    pytest.param(
        "Did industrial parks expand?",
        EXPANDED,
        None,
        "Industrial parks expanded by 12 sites.",
        id="no-number-asked-first-of-equals",
    ),
    pytest.param(
        "Did industrial parks expand?",
        EXPANDED_YEAR_FIRST,
        None,
        "Industrial parks expanded in 2014.",
        id="no-number-asked-first-of-equals-either-order",
    ),
    pytest.param(
        "How many industrial parks are there?",
        "Industrial parks opened in 2014. Industrial parks number 12 today.",
        None,
        "Industrial parks number 12 today.",
        id="how-many-is-not-answered-by-a-year",
    ),
    # Neighbours join only when they add question information the core sentence lacks.
    pytest.param(
        KALUGA,
        "Kaluga Region is in central Russia. There are 10 industrial parks in the region. Investors like it.",
        None,
        "Kaluga Region is in central Russia. There are 10 industrial parks in the region.",
        id="a-neighbour-adding-a-concept-joins",
    ),
    pytest.param(
        KALUGA,
        "There are 10 industrial parks in Kaluga Region. The industrial parks are in the region. Investors like it.",
        None,
        "There are 10 industrial parks in Kaluga Region.",
        id="a-neighbour-repeating-concepts-stays-out",
    ),
    pytest.param(
        "How much did industrial production grow in Kaluga Region in 2014?",
        "It is worth mentioning that in 2014 Kaluga Region hosted the forum. Its industrial production "
        "grew by 2.9%. Investors like it.",
        None,
        "It is worth mentioning that in 2014 Kaluga Region hosted the forum. Its industrial production grew by 2.9%.",
        id="the-docstring-example-joins",
    ),
    pytest.param(
        "Сколько индустриальных парков?",
        "Kaluga Region has 10 industrial parks. Roads are good.",
        None,
        "Kaluga Region has 10 industrial parks.",
        id="a-russian-question-over-an-english-passage",
    ),
]


@pytest.mark.parametrize(("question", "passage", "weights", "expected"), WINDOW_WINNER_CASES)
def test_best_window(question, passage, weights, expected):
    from index.text.glossary import alternatives

    p = profile(question, weights, alternatives(terms(question)))
    analysis = analyse_passage(p, 0, PassageTerms.of(passage))
    assert analysis.best is not None
    assert analysis.best.text == expected


def test_a_number_is_preferred_only_when_asked_for():
    """The number bonus decides between equally covering sentences, and only for how-many questions."""
    counted = analyse_passage(profile("How much did industrial parks expand?"), 0, PassageTerms.of(EXPANDED))
    plain = analyse_passage(profile("Did industrial parks expand?"), 0, PassageTerms.of(EXPANDED))
    assert counted.best.own == plain.best.own == 1.0
    assert counted.best.score > plain.best.score


NO_WINDOW_CASES = [
    pytest.param("industrial parks", "Roads are good.", "", 0.0, id="nothing-in-common"),
    pytest.param(
        "industrial parks",
        "Roads are good.",
        "Industrial parks",
        1.0,
        id="a-title-match-covers-but-no-sentence-answers",
    ),
]


@pytest.mark.parametrize(("question", "passage", "title", "cover"), NO_WINDOW_CASES)
def test_no_answer_window(question, passage, title, cover):
    analysis = analyse_passage(profile(question), 3, PassageTerms.of(passage, title))
    assert analysis.best is None
    assert analysis.cover == pytest.approx(cover)
    assert analysis.index == 3


def test_passage_cover_counts_the_title_and_every_sentence():
    p = profile(PARKS, PARKS_WEIGHTS)
    body = PassageTerms.of("Industrial sites are ready. Parks have roads.")
    titled = PassageTerms.of("Industrial sites are ready. Parks have roads.", "Kaluga investment map")
    assert analyse_passage(p, 0, body).cover == pytest.approx(0.5)
    assert analyse_passage(p, 0, titled).cover == pytest.approx(1.0)
