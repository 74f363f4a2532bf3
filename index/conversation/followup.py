"""Follow-up questions: "А в Туле?", "What is its area?" rewritten into questions that stand alone.

Retrieval sees one question at a time, so a question that leans on the previous one ("And in Tula?" after
"How many industrial parks are in Kaluga Region?") finds nothing or the wrong thing. `resolve` rewrites it
with the previous question's words and says how (`Resolved.how`), so the bot can show "Понял вопрос как: …".
A question that stands alone is returned unchanged: that matters as much as resolving, since a wrong
rewrite turns a good question into a bad one. Hence the rules are conservative:

- a fragment led by "and / what about / а / что насчёт" ("А в Туле?", "And the profit tax?") replaces the
  matching part of the previous question (the place after the same preposition, a name, the word it shares),
  or else is joined to it ("<previous> — <fragment>?");
- a pronoun that points outside the question ("its", "them", "there", "из них", "он", "там", "это") gets the
  previous question's topic: in English in place of the pronoun, in Russian in brackets after it (Russian
  would need the referent re-inflected; brackets keep the words right and the meaning plain);
- a pronoun after the question's own nouns ("… companies get grants if they register …"), a dummy "it"
  ("is it possible to …"), an existential "there" ("are there grants …"), "this year" / "в этом году", and a
  question led by "and / а" that names its own subject are left alone.

Regex and word lists only: no model, microseconds a question.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from enum import Enum

from index.conversation.smalltalk import message_language, strip_greeting
from index.text.tokens import STOPWORDS, stem_word

__all__ = ["How", "Resolved", "is_followup", "resolve"]


class How(str, Enum):
    """How a question was understood. Values are stable names for logs."""

    STANDALONE = "standalone"  # stands alone: unchanged
    NO_PREVIOUS = "no_previous"  # leans on a previous question, but there is none: unchanged
    SUBSTITUTED = "substituted"  # the previous question with a place, a name or a term replaced ("And in Tula?")
    PRONOUN = "pronoun"  # a pronoun ("its", "из них", "там") given the previous question's topic
    APPENDED = "appended"  # a fragment joined to the previous question ("<previous> — <fragment>?")
    ELLIPSIS = "ellipsis"  # a short question without a subject given the previous question's topic


@dataclass(frozen=True)
class Resolved:
    """The question to search for; `rewritten` tells whether it differs from what the user wrote."""

    question: str
    rewritten: bool
    how: How


# --- words -------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"«[^»]{1,60}»|\"[^\"]{1,60}\"|[^\W_]+(?:[-'’][^\W_]+)*")

_MARKER_RE = re.compile(
    r"""^\s*(?:
        (?:and|but|also|so|well|ok|okay|then)?[\s,]*(?:what|how)\s+about
      | what\s+of | and\s+also | and | but | also | plus
      | (?:а|и|ну)?[\s,]*(?:что|как)\s+насч[её]т | а\s+вот | а\s+ещ[её] | ну\s+а | а\s+если | а | и | также | тогда
    )(?![^\W_])[\s,]*""",
    re.IGNORECASE | re.VERBOSE,
)

_QWORDS_EN = frozenset(
    """what which how where when who whom whose why is are was were do does did can could will would should
    has have may must shall am""".split()
)
_QWORDS_RU = frozenset(
    """сколько какой какая какое какие каких каким какую каком какого какой каков какова каково каковы как где
    когда кто кого кому что чем чего почему зачем откуда куда ли можно есть существует существуют нужно""".split()
)
# Words that open an English question or join its parts without naming anything.
_AUX_EN = frozenset(
    """is are was were be been being do does did have has had can could will would should may might must shall
    am get gets got""".split()
)
# English words that end a noun phrase: common verbs and predicative adjectives of investment questions.
_VERBS_EN = frozenset(
    """operate operates offer offers create creates invest invests belong belongs work works pay pays receive
    receives provide provides need needs cost costs mean means take takes make makes manage manages produce
    produces support supports give gives apply exist exists grow grows join joins locate lie lies run runs
    available possible necessary required open located based""".split()
)
_LINK_EN = frozenset("of in at for on near from the a an".split())
_PREPOSITIONS = frozenset(
    """in at for from to on of with about near by into within
    в во на для из от с со по о об про у к ко при до под над между""".split()
)
# Prepositions that put a question in a place: "in Kaluga Region", "в Калужской области", "на территории …".
_PLACE_PREPS = frozenset("in at within в во на".split())
# Lower-case nouns that belong to a name: "Kaluga Region", "ОЭЗ «Людиново»", "индустриальный парк «Ворсино»".
_NAME_NOUNS = frozenset(
    """region oblast district city town area sez zone park parks cluster association industrial special economic
    область области областью район районе района город городе города регион регионе региона край крае края оэз
    зона зоны зоне парк парка парке парки парков парках индустриальный индустриального индустриальном
    индустриальных кластер кластера кластере ассоциация ассоциации особая особой экономическая экономической""".split()
)

_PRONOUNS_EN_SINGULAR = frozenset("it its this that he she him his her".split())
_PRONOUNS_EN_PLURAL = frozenset("they them their these those".split())
_PRONOUNS_RU = frozenset(
    """он она оно они его ее её их ему ей им ими него нее неё нему ней ним ними нем нём них этот эта это эти
    этого этой этому этим этом этих этими данный данная данное данные такие такой""".split()
)
_THERE = frozenset("there там туда оттуда".split())
_TIME_NOUNS = re.compile(
    r"^(year|month|week|time|quarter|moment|morning|году|год|месяце|месяц|неделе|раз|квартале|время|момент)$"
)
_DUMMY_IT_RE = re.compile(
    r"""\bit\s+(?:is|was|will\s+be|would\s+be)\b
      | \b(?:is|was|does|did|will|would)\s+it\s+(?:possible|necessary|required|true|allowed|worth|mandatory
            |hard|easy|difficult|realistic|profitable|better|legal|permitted|take|cost\s+to)\b
      | \bit\s+takes?\b | \bcost\s+to\b""",
    re.IGNORECASE | re.VERBOSE,
)
_EXISTENTIAL_RE = re.compile(r"\b(?:is|are|was|were|be|'s)\s+there\b|\bthere\s+(?:is|are|was|were|'s|be)\b", re.I)


@dataclass(frozen=True)
class _Tok:
    text: str
    low: str
    start: int
    end: int

    @property
    def capital(self) -> bool:
        return self.text[:1].isupper() or self.text[:1] in '«"'

    @property
    def content(self) -> bool:
        return self.low not in STOPWORDS and self.low not in _QWORDS_EN and self.low not in _QWORDS_RU

    @property
    def stem(self) -> str:
        return stem_word(self.low.strip('«»"').split()[0]) if self.low.strip('«»"') else self.low


def _tokens(text: str) -> list[_Tok]:
    return [_Tok(m.group(), m.group().lower().replace("ё", "е"), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


def _is_name(tokens: list[_Tok], i: int) -> bool:
    """A word of a name: capitalised inside the sentence, an abbreviation (ОЭЗ, SEZ) or quoted."""
    tok = tokens[i]
    if tok.text[:1] in '«"':
        return True
    if len(tok.text) > 1 and tok.text.isupper():
        return True
    return i > 0 and tok.text[:1].isupper() and tok.text != "I"


def _name_spans(tokens: list[_Tok]) -> list[tuple[int, int]]:
    """[start, end) token ranges of names with the lower-case nouns that belong to them."""
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        if not _is_name(tokens, i):
            i += 1
            continue
        start, end = i, i + 1
        while end < len(tokens) and (_is_name(tokens, end) or tokens[end].low in _NAME_NOUNS):
            end += 1
        while start > 0 and tokens[start - 1].low in _NAME_NOUNS:
            start -= 1
        spans.append((start, end))
        i = end
    return spans


def _language(question: str, previous: str = "") -> str:
    return message_language(question, message_language(previous, "en"))


def _strip_marker(question: str) -> tuple[str, bool]:
    """The question without a leading "and / what about / а / что насчёт", and whether there was one."""
    text = strip_greeting(question)
    match = _MARKER_RE.match(text)
    if not match or match.end() == len(text.rstrip(" ?!.")):
        return text, False
    return text[match.end() :], True


def _bare(text: str) -> str:
    return text.strip().rstrip("?!.… ").strip()


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- what kind of follow-up --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Analysis:
    body: str  # the question without greeting and marker
    marker: bool
    fragment: bool  # no question word, a few words: "в Туле", "the profit tax"
    pronouns: tuple[int, ...]  # indices (into tokens of body) of pronouns that point outside the question
    elliptical: bool  # a marker, a question word and hardly any content of its own: "А какие сроки?"


def _analyse(question: str, language: str) -> _Analysis:
    body, marker = _strip_marker(question)
    tokens = _tokens(body)
    qwords = _QWORDS_RU if language == "ru" else _QWORDS_EN
    has_qword = any(t.low in qwords or t.low in _QWORDS_EN or t.low in _QWORDS_RU for t in tokens[:3])
    fragment = bool(tokens) and len(tokens) <= 4 and not has_qword
    pronouns = tuple(i for i in range(len(tokens)) if _points_outside(tokens, i, body))
    names = _name_spans(tokens)
    content = [t for t in tokens if t.content]
    elliptical = marker and not fragment and not pronouns and not names and len(content) <= 2
    return _Analysis(body, marker, fragment, pronouns, elliptical)


def _points_outside(tokens: list[_Tok], i: int, body: str) -> bool:
    """Whether the pronoun at `i` (if it is one) refers to something outside this question."""
    tok = tokens[i]
    word = tok.low
    nxt = tokens[i + 1].low if i + 1 < len(tokens) else ""
    if word in _THERE:
        if word == "there" and _EXISTENTIAL_RE.search(body[max(0, tok.start - 6) : tok.end + 6]):
            # "are there any plots there?": the first one is existential, a last one still points outside
            return i == len(tokens) - 1 and i > 2
        return True
    if word not in _PRONOUNS_EN_SINGULAR | _PRONOUNS_EN_PLURAL | _PRONOUNS_RU:
        return False
    if _TIME_NOUNS.match(nxt):  # "this year", "в этом году"
        return False
    if word == "it" and _DUMMY_IT_RE.search(body):
        return False
    if word == "that":  # a relative "that" ("companies that invest") is not a reference
        prev = tokens[i - 1].low if i else ""
        if not (i == len(tokens) - 1 or prev in _AUX_EN or prev in _PREPOSITIONS):
            return False
    if word in {"her", "his", "he", "she", "him"} and any(_is_name(tokens, j) for j in range(i)):
        return False
    # After the question's own nouns a pronoun refers to them ("… companies … if they register").
    before = [t for t in tokens[:i] if t.content and t.low not in _PREPOSITIONS]
    return len(before) <= 1 and not any(_is_name(tokens, j) for j in range(i))


def is_followup(question: str, language: str) -> bool:
    """Whether `question` leans on a previous question: a fragment after "and / а", an outward pronoun,
    or a question led by "and / а" with almost nothing of its own. `language` is 'ru' or 'en'."""
    analysis = _analyse(question, language)
    return (analysis.marker and analysis.fragment) or bool(analysis.pronouns) or analysis.elliptical


# --- the previous question's parts -------------------------------------------------------------------


def _topic(previous: str, language: str) -> str:
    """The previous question without its question words: "индустриальных парков в Калужской области"."""
    body = _bare(strip_greeting(previous))
    tokens = _tokens(body)
    skip = _QWORDS_RU | _AUX_EN | _QWORDS_EN | {"long", "much", "many", "big", "far", "often", "soon"}
    if language == "ru":
        skip = skip | {"на", "в", "во", "для", "у"}  # "На какой срок …", "В каких парках …"
    i = 0
    lead = {"tell", "me", "about", "please", "такое"}  # "Tell me about …", "Что такое …"
    while i < len(tokens) and (tokens[i].low in skip or tokens[i].low in lead):
        i += 1
    if i == len(tokens):
        return body
    text = body[tokens[i].start :]
    if language == "en":  # "industrial parks does Kaluga Region have" -> "industrial parks Kaluga Region"
        words = [t for t in _tokens(text) if t.low not in _AUX_EN]
        return " ".join(t.text for t in words)
    return text


def _place_phrase(tokens: list[_Tok]) -> tuple[int, int] | None:
    """Token range of the first "in <Name …>" / "в <Name …>" phrase, preposition included."""
    for start, end in _name_spans(tokens):
        j = start - 1
        while j >= 0 and (tokens[j].low in {"the", "каких", "каком", "какой", "this", "этом"} or not tokens[j].content):
            if tokens[j].low in _PLACE_PREPS:
                return j, end
            if tokens[j].low in _PREPOSITIONS:
                break
            j -= 1
        if j >= 0 and tokens[j].low in _PLACE_PREPS:
            return j, end
        # "в индустриальных парках Калужской области": adjectives and nouns between preposition and name
        k = start - 1
        while k >= 0 and tokens[k].content and tokens[k].low not in _PREPOSITIONS and start - k <= 3:
            k -= 1
        if k >= 0 and tokens[k].low in _PLACE_PREPS and k < start - 1:
            return k, end
    return None


_PP_LINKS = frozenset("of in at for on near from".split())
_ARTICLES = frozenset("the a an".split())


def _ends_phrase(tok: _Tok) -> bool:
    low = tok.low
    return low in _QWORDS_EN or low in _AUX_EN or low in _VERBS_EN or (low.endswith("ed") and len(low) > 4)


def _phrase_text(text: str, tokens: list[_Tok], start: int, end: int) -> str:
    """Tokens [start, end) as written, without question words ("в каких парках" -> "в парках")."""
    kept = [t.text for t in tokens[start:end] if t.low not in _QWORDS_RU and t.low not in _QWORDS_EN]
    if kept and kept[0].lower() in _PREPOSITIONS:
        kept[0] = kept[0].lower()
    return " ".join(kept)


def _chunks_en(previous: str) -> list[tuple[str, bool]]:
    """English noun phrases of the previous question with their number: ("the Lyudinovo SEZ", plural=False).

    A phrase runs over nouns, adjectives, names and "of/in … " attachments, and ends at a verb, an auxiliary
    or a question word; its number is its head's, the last word before the first attachment.
    """
    body = _bare(strip_greeting(previous))
    tokens = _tokens(body)
    chunks: list[tuple[str, bool]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        after_how = i > 0 and tokens[i - 1].low == "how"  # "how long / much / big"
        if (
            after_how
            or _ends_phrase(tok)
            or (tok.low in STOPWORDS and tok.low not in _ARTICLES and not _is_name(tokens, i))
        ):
            i += 1
            continue
        j = i
        while j < len(tokens):
            t = tokens[j]
            if _ends_phrase(t) or (t.low in STOPWORDS and t.low not in _LINK_EN and not _is_name(tokens, j)):
                break
            if t.low in _PP_LINKS and (j + 1 >= len(tokens) or _ends_phrase(tokens[j + 1])):
                break
            j += 1
        while j > i and tokens[j - 1].low in _LINK_EN:
            j -= 1
        words = [t for t in tokens[i:j] if t.low not in _ARTICLES]
        if words:
            head_part = words
            for k, t in enumerate(words):
                if t.low in _PP_LINKS:
                    head_part = words[:k]
                    break
            head = head_part[-1].low if head_part else words[-1].low
            chunks.append((body[tokens[i].start : tokens[j - 1].end], _plural_en(head)))
        i = max(j, i + 1)
    return chunks


def _plural_en(word: str) -> bool:
    return word.endswith("s") and not word.endswith(("ss", "us", "is", "sez", "'s")) and len(word) > 3


def _referent_en(previous: str, plural: bool, passages: list[str] | None) -> str:
    """What an English pronoun of this number most likely points to in the previous question."""
    chunks = _chunks_en(previous)
    tokens = _tokens(_bare(previous))
    place = _place_phrase(tokens)
    names = _name_spans(tokens)
    chosen = next((text for text, pl in chunks if pl == plural), None)
    if chosen is None and not plural and names:
        s, e = names[0]
        chosen = _bare(previous)[tokens[s].start : tokens[e - 1].end]
    if chosen is None:
        chosen = chunks[0][0] if chunks else (_passage_name(passages) or _topic(previous, "en"))
    if not any(_is_name(_tokens(chosen), k) or t.capital for k, t in enumerate(_tokens(chosen))):
        if place is not None:
            chosen += " " + _bare(previous)[tokens[place[0]].start : tokens[place[1] - 1].end]
        elif names:
            s, e = names[0]
            chosen += " of " + _bare(previous)[tokens[s].start : tokens[e - 1].end]
        elif (name := _passage_name(passages)) is not None:  # "What is the biggest?" answered with a name
            chosen += f" ({name})"
    return chosen


def _passage_name(passages: list[str] | None) -> str | None:
    """The name met most often in the previous answer's passages: a referent when the question gave none."""
    if not passages:
        return None
    counts: Counter[str] = Counter()
    for text in passages:
        tokens = _tokens(text)
        for s, e in _name_spans(tokens):
            counts[text[tokens[s].start : tokens[e - 1].end]] += 1
    return counts.most_common(1)[0][0] if counts else None


# --- rewriting -----------------------------------------------------------------------------------------


def _ending_class(word: str) -> str:
    """Russian adjective endings grouped by case and number: "немецкие" and "французские" agree."""
    classes = {
        "ый": "m",
        "ий": "m",
        "ой": "m",
        "ые": "p",
        "ие": "p",
        "ая": "f",
        "яя": "f",
        "ое": "n",
        "ее": "n",
        "ых": "g",
        "их": "g",
        "ую": "a",
        "юю": "a",
        "ым": "i",
        "им": "i",
    }
    return classes.get(word[-2:], "")


def _replace(body: str, tokens: list[_Tok], start: int, end: int, new: str) -> str:
    return body[: tokens[start].start] + new + body[tokens[end - 1].end :]


def _resolve_fragment(analysis: _Analysis, previous: str, language: str) -> Resolved:
    prev = _bare(strip_greeting(previous))
    ptoks = _tokens(prev)
    frag = _bare(analysis.body)
    ftoks = [t for t in _tokens(frag) if t.low not in {"the", "a", "an", "ones", "one"}]
    if not ftoks:
        return Resolved(previous, True, How.APPENDED)
    preposition = ftoks[0].low if ftoks[0].low in _PREPOSITIONS else None
    words = ftoks[1:] if preposition else ftoks
    words_text = frag[words[0].start : words[-1].end] if words else ""
    named = bool(words) and all(t.capital or t.low in _NAME_NOUNS for t in words) and words[0].capital

    def done(text: str, how: How = How.SUBSTITUTED) -> Resolved:
        return Resolved(_cap(_bare(text)) + "?", True, how)

    # 1. A place or a name: "And in Tula?", "А в Туле?", "What about Italian…", "Что насчёт Тульской области?"
    if named and len(words) <= 3:
        place = _place_phrase(ptoks)
        spans = _name_spans(ptoks)
        if place is not None and (preposition in _PLACE_PREPS or preposition is None):
            s, e = place
            span = next(((a, b) for a, b in spans if s < a < e), (s + 1, e))
            if preposition is None and language == "en" and not _looks_like_place(words_text) and len(spans) > 1:
                other = [sp for sp in spans if sp[0] != span[0]]
                return done(_replace(prev, ptoks, other[0][0], other[0][1], words_text))
            if preposition is None and language == "ru":
                return done(_replace(prev, ptoks, span[0], e, words_text))
            return done(
                _replace(prev, ptoks, s, e, (ftoks[0].text + " " if preposition else ptoks[s].text + " ") + words_text)
            )
        if spans:
            s, e = spans[0]
            return done(_replace(prev, ptoks, s, e, words_text))
    # 2. A shared word: "And the profit tax?" (…property tax rate…), "А налог на прибыль?" (…налога на имущество…)
    anchor = _shared_anchor(words, ptoks)
    if anchor is not None:
        fi, pj = anchor
        content = words
        if language == "en":
            k = pj
            while k > 0 and ptoks[k - 1].content and ptoks[k - 1].low not in _AUX_EN | _VERBS_EN:
                k -= 1
            end = pj + 1 + (len(content) - fi - 1)
            return done(_replace(prev, ptoks, k, min(end, len(ptoks)), frag[content[0].start : content[-1].end]))
        start = pj - fi
        if start >= 0:
            end = min(start + len(content), len(ptoks))
            return done(_replace(prev, ptoks, start, end, frag[content[0].start : content[-1].end]))
    # 3. Russian adjectives that agree with one of the previous question's: "А немецкие?" (французские)
    if language == "ru" and words and all(_ending_class(t.low) for t in words):
        for j, t in enumerate(ptoks):
            prep_ok = preposition is None or (j > 0 and ptoks[j - 1].low == preposition)
            if t.content and not t.capital and _ending_class(t.low) == _ending_class(words[0].low) and prep_ok:
                return done(_replace(prev, ptoks, j, j + len(words), words_text))
    # 4. Otherwise joined: "<previous> — <fragment>?"
    return done(f"{prev} — {_bare(analysis.body)}", How.APPENDED)


def _looks_like_place(text: str) -> bool:
    return bool(re.search(r"(?i)\b(region|oblast|city|district|sez|zone|park)\b", text))


def _shared_anchor(words: list[_Tok], ptoks: list[_Tok]) -> tuple[int, int] | None:
    """(index in fragment, index in previous) of the last fragment word whose stem the previous question shares."""
    for fi in range(len(words) - 1, -1, -1):
        if not words[fi].content:
            continue
        for pj, t in enumerate(ptoks):
            if t.content and t.stem == words[fi].stem:
                return fi, pj
    return None


def _resolve_pronoun(analysis: _Analysis, previous: str, language: str, passages: list[str] | None) -> Resolved:
    body = _bare(analysis.body)
    tokens = _tokens(body)
    prev = _bare(strip_greeting(previous))
    ptoks = _tokens(prev)
    i = analysis.pronouns[0]
    word = tokens[i].low
    place = _place_phrase(ptoks)
    place_text = _phrase_text(prev, ptoks, *place) if place else None

    def done(text: str) -> Resolved:
        return Resolved(_cap(_bare(text)) + "?", True, How.PRONOUN)

    # "How many of them …", "Сколько из них …" after "How many X …", "Сколько X …": "How many X … …"
    many = _how_many_of_them(body, tokens, prev, ptoks, language, place_text)
    if many is not None:
        return done(many)
    if word in _THERE and place_text is not None:
        return done(_replace(body, tokens, i, i + 1, place_text))
    if language == "ru":
        topic = _topic(prev, "ru")
        name = None if _name_spans(ptoks) else _passage_name(passages)
        topic = f"{topic}, {name}" if name else topic
        return done(body[: tokens[i].end] + f" ({topic})" + body[tokens[i].end :])
    plural = word in _PRONOUNS_EN_PLURAL
    referent = _referent_en(prev, plural, passages)
    if word in {"its", "their", "his", "her"}:
        return done(_replace(body, tokens, i, i + 1, _possessive(referent)))
    if word in _THERE:
        return done(_replace(body, tokens, i, i + 1, "in " + referent))
    return done(_replace(body, tokens, i, i + 1, referent))


def _possessive(noun_phrase: str) -> str:
    return noun_phrase + ("'" if noun_phrase.endswith("s") else "'s")


_HOW_MANY_RE = re.compile(r"(?i)^\s*(how\s+many|сколько)\b")
_OF_THEM_RE = re.compile(r"(?i)\b(how\s+many|сколько)\s+(?:of\s+(?:them|these|those)|из\s+(?:них|этих|них\s+всего))\b")


def _how_many_of_them(
    body: str, tokens: list[_Tok], prev: str, ptoks: list[_Tok], language: str, place_text: str | None
) -> str | None:
    match = _OF_THEM_RE.search(body)
    if not match or not _HOW_MANY_RE.match(prev):
        return None
    if language == "ru":
        counted = _topic(prev, "ru")
    else:
        start = 2  # after "how many"
        end = start
        while end < len(ptoks) and ptoks[end].low not in _AUX_EN and ptoks[end].low not in _VERBS_EN:
            end += 1
        if end == start:
            return None
        counted = prev[ptoks[start].start : ptoks[end - 1].end]
        if place_text is not None and place_text not in counted:
            counted += " " + place_text
        elif place_text is None:
            names = _name_spans(ptoks)
            if names and names[0][0] >= end:
                counted += " in " + prev[ptoks[names[0][0]].start : ptoks[names[0][1] - 1].end]
    return body[: match.start()] + match.group(1) + " " + counted + body[match.end() :]


def resolve(question: str, previous_question: str | None, previous_passages_text: list[str] | None = None) -> Resolved:
    """`question` as a stand-alone question, using the previous question (and, as a last resort, the names in
    the passages the previous answer came from). A stand-alone question comes back unchanged.

    Give the previous question as it was resolved, so that a chain of follow-ups keeps its subject.
    """
    language = _language(question, previous_question or "")
    analysis = _analyse(question, language)
    leans = (analysis.marker and analysis.fragment) or bool(analysis.pronouns) or analysis.elliptical
    if not leans:
        return Resolved(question, False, How.STANDALONE)
    if not previous_question or not _tokens(previous_question):
        return Resolved(question, False, How.NO_PREVIOUS)
    if analysis.marker and analysis.fragment and not analysis.pronouns:
        return _resolve_fragment(analysis, previous_question, language)
    if analysis.pronouns:
        return _resolve_pronoun(analysis, previous_question, language, previous_passages_text)
    topic = _topic(previous_question, language)
    return Resolved(_cap(_bare(analysis.body)) + f" ({topic})?", True, How.ELLIPSIS)
