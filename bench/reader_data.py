"""Pairs (question, window) for training and measuring the answer reader (issue 20), built from XQuAD and the
seed question set by fixed rules and fixed seeds.

A window is one or two adjacent sentences of a passage, shown to the reader with its context: the sentence
before it, or the passage's heading when it is the first. A window answers a question when it holds the
sentence the gold answer starts in (located by answer_start in that paragraph's own language file).

Negatives, from the hardest to the easiest:
- trap: the question with one fact swapped for one the article lacks (bench/traps.py: a name from another
  article, a nearby number or year; here also a role, or an added year or place condition), asked against
  the gold window: the topic matches word for word, the fact asked is not there;
- sibling: another window of the same paragraph;
- other: a window of another paragraph of the same article.

XQuAD is split by article in file order: articles 0-23 train and choose, 24-47 report (TRAIN_ARTICLES,
REPORT_ARTICLES). The seed set's dev split may train; its test split only reports.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import yaml

from index.answering.reader import SentenceWindow, sentence_windows
from index.evaluation import Paragraph as EvalParagraph
from index.evaluation import Question as EvalQuestion
from index.text.specific import _WORD_RE
from index.text.tokens import split_sentences

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
PASSAGE_LANGUAGES = ("en", "ru")
TRAIN_ARTICLES = range(0, 24)
REPORT_ARTICLES = range(24, 48)
SEED_QA = ROOT / "tests" / "data" / "seed_qa.yaml"
KNOWLEDGE = ROOT / "knowledge"


class PairKind(str, Enum):
    GOLD = "gold"  # the window holds the answer
    SIBLING = "sibling"  # another window of the gold paragraph
    OTHER = "other"  # a window of another paragraph of the same article (or another seed document)
    TRAP = "trap"  # a question with a fact swapped, against the gold window
    UNANSWERABLE = "unanswerable"  # a seed near-topic question against a window that shares its words

    __str__ = str.__str__


class UnlocatedAnswer(ValueError):
    """The gold answer could not be placed in any sentence of its paragraph."""


def find_xquad_dir() -> Path:
    for candidate in (ROOT.parent.parent / "shared" / "eval" / "xquad", ROOT.parent / "shared" / "eval" / "xquad"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("XQuAD not found beside the checkout (../shared/eval/xquad)")


# --- sentences and windows ---------------------------------------------------------------------------------


Window = SentenceWindow


def sentence_spans(text: str, sentences: Sequence[str]) -> list[tuple[int, int]]:
    """Character spans of split_sentences' sentences in the text they came from. split_sentences keeps every
    non-space character in order and only rewrites spaces, so the spans are found by counting non-space
    characters."""
    positions = [i for i, ch in enumerate(text) if not ch.isspace()]
    spans, k = [], 0
    for s in sentences:
        n = sum(1 for ch in s if not ch.isspace())
        if n == 0:
            spans.append((positions[k] if k < len(positions) else len(text),) * 2)
            continue
        spans.append((positions[k], positions[k + n - 1] + 1))
        k += n
    if k != len(positions):
        raise ValueError("sentences do not cover the text")
    return spans


def windows_of(sentences: Sequence[str], heading: str = "") -> list[Window]:
    """Every single sentence, then every adjacent pair, each with its context (as serving makes them)."""
    return sentence_windows(sentences, heading)


def answer_sentence(text: str, sentences: Sequence[str], answer: str, start: int) -> int:
    """The sentence the answer starts in; answer_start is trusted when the answer text is found there,
    otherwise the occurrence nearest to it is used."""
    spans = sentence_spans(text, sentences)
    if text[start : start + len(answer)] != answer:
        found = [m.start() for m in re.finditer(re.escape(answer), text)]
        if not found:
            raise UnlocatedAnswer(answer)
        start = min(found, key=lambda i: abs(i - start))
    for i, (a, b) in enumerate(spans):
        if a <= start < b:
            return i
    # the answer starts in the spaces between two sentences
    return next((i for i, (a, _) in enumerate(spans) if a >= start), len(spans) - 1)


# --- XQuAD -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class XParagraph:
    article: int
    index: int  # within the article
    title: str
    text: str
    sentences: tuple[str, ...]
    windows: tuple[Window, ...]

    @property
    def key(self) -> str:
        return f"{self.article}/{self.index}"


@dataclass(frozen=True)
class XQuestion:
    id: str
    lang: str
    text: str
    paragraph: str  # XParagraph.key


@dataclass(frozen=True)
class XQuad:
    paragraphs: dict[tuple[str, str], XParagraph]  # (language, key)
    questions: dict[str, list[XQuestion]]  # language -> questions in file order
    gold: dict[tuple[str, str], int]  # (passage language, question id) -> gold sentence


def load_xquad(directory: Path | None = None, languages: Sequence[str] = LANGUAGES) -> XQuad:
    directory = directory or find_xquad_dir()
    paragraphs: dict[tuple[str, str], XParagraph] = {}
    questions: dict[str, list[XQuestion]] = {}
    gold: dict[tuple[str, str], int] = {}
    for lang in languages:
        data = json.loads((directory / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
        questions[lang] = []
        for a, article in enumerate(data):
            title = article.get("title", "").replace("_", " ")
            for p, par in enumerate(article["paragraphs"]):
                raw = par["context"]
                shift = len(raw) - len(raw.lstrip("\ufeff"))
                text = raw[shift:]
                sentences = tuple(split_sentences(text) or [text])
                xp = XParagraph(a, p, title, text, sentences, tuple(windows_of(sentences, title)))
                paragraphs[lang, xp.key] = xp
                for qa in par["qas"]:
                    questions[lang].append(XQuestion(qa["id"], lang, qa["question"].strip().lstrip("\ufeff"), xp.key))
                    if lang in PASSAGE_LANGUAGES:
                        ans = qa["answers"][0]
                        gold[lang, qa["id"]] = answer_sentence(
                            text, sentences, ans["text"].lstrip("\ufeff"), max(ans["answer_start"] - shift, 0)
                        )
    return XQuad(paragraphs, questions, gold)


def article_of(key: str) -> int:
    return int(key.split("/")[0])


# --- traps -------------------------------------------------------------------------------------------------

# Roles a question may ask about, and what they become. Russian forms are matched and replaced as whole
# words in the same case (nominative and a few frequent forms), so the question stays grammatical.
ROLE_SWAPS_EN = {
    "president": ["treasurer", "archbishop", "head coach"],
    "king": ["admiral", "chancellor"],
    "emperor": ["prime minister", "chief justice"],
    "mayor": ["chief engineer", "bishop"],
    "governor": ["chief rabbi", "head coach"],
    "quarterback": ["goalkeeper", "conductor"],
    "coach": ["bishop", "treasurer"],
    "pope": ["sheriff", "chancellor"],
    "architect": ["goalkeeper", "ambassador"],
    "founder": ["goalkeeper", "ambassador"],
    "director": ["goalkeeper", "archbishop"],
    "minister": ["goalkeeper", "quarterback"],
    "general": ["librarian", "goalkeeper"],
    "professor": ["admiral", "goalkeeper"],
    "scientist": ["admiral", "bishop"],
    "leader": ["treasurer", "goalkeeper"],
    "ceo": ["goalkeeper", "archbishop"],
    "owner": ["goalkeeper", "archbishop"],
}
ROLE_SWAPS_RU = {
    "президент": ["казначей", "архиепископ"],
    "президента": ["казначея", "архиепископа"],
    "король": ["адмирал", "канцлер"],
    "короля": ["адмирала", "канцлера"],
    "император": ["премьер-министр", "канцлер"],
    "императора": ["премьер-министра", "канцлера"],
    "мэр": ["главный инженер", "епископ"],
    "губернатор": ["главный раввин", "тренер"],
    "тренер": ["епископ", "казначей"],
    "тренера": ["епископа", "казначея"],
    "квотербек": ["вратарь", "дирижёр"],
    "архитектор": ["вратарь", "посол"],
    "основатель": ["вратарь", "посол"],
    "директор": ["вратарь", "архиепископ"],
    "министр": ["вратарь", "квотербек"],
    "генерал": ["библиотекарь", "вратарь"],
    "профессор": ["адмирал", "вратарь"],
    "учёный": ["адмирал", "епископ"],
    "ученый": ["адмирал", "епископ"],
    "лидер": ["казначей", "вратарь"],
    "владелец": ["вратарь", "архиепископ"],
}
# Places for an added condition the article does not cover: (English, Russian "in ..." phrase, stem to look
# for in the article).
PLACES = [
    ("Australia", "в Австралии", "австрал"),
    ("Brazil", "в Бразилии", "бразил"),
    ("Japan", "в Японии", "япон"),
    ("Canada", "в Канаде", "канад"),
    ("Egypt", "в Египте", "егип"),
    ("Norway", "в Норвегии", "норвег"),
    ("Mexico", "в Мексике", "мексик"),
    ("Kenya", "в Кении", "кени"),
    ("Argentina", "в Аргентине", "аргентин"),
    ("Indonesia", "в Индонезии", "индонез"),
    ("Finland", "в Финляндии", "финлянд"),
    ("Peru", "в Перу", "перу"),
]
PLACE_STEMS_EN = {en: en.lower()[:5] for en, _, _ in PLACES}


class TrapKind(str, Enum):
    NAME = "name"
    NUMBER = "number"
    ROLE = "role"
    CONDITION = "condition"

    __str__ = str.__str__


@dataclass(frozen=True)
class Trap:
    question: XQuestion  # id "<original>#<kind>", paragraph: the original's
    kind: TrapKind
    original: str


def _end_clause(question: str, clause: str) -> str:
    q = question.rstrip()
    mark = q[-1] if q and q[-1] in "?？" else ""
    body = q[:-1].rstrip() if mark else q
    return f"{body} {clause}{mark or '?'}"


def extra_traps(questions: Sequence[XQuestion], article_text: dict[int, str], lang: str, seed: int) -> list[Trap]:
    """Role swaps and added conditions (a year or a place the article does not mention), at most one of each
    kind per question."""
    rng = random.Random(seed)
    roles = ROLE_SWAPS_RU if lang == "ru" else ROLE_SWAPS_EN
    traps = []
    for q in questions:
        a = article_of(q.paragraph)
        text = article_text[a].lower()
        for m in _WORD_RE.finditer(q.text):
            word = m.group()
            options = roles.get(word.lower())
            if not options:
                continue
            new = next((o for o in rng.sample(options, len(options)) if o.split()[-1][:5] not in text), None)
            if new is None:
                continue
            if word[0].isupper():
                new = new[0].upper() + new[1:]
            swapped = q.text[: m.start()] + new + q.text[m.end() :]
            traps.append(Trap(XQuestion(q.id + "#role", q.lang, swapped, q.paragraph), TrapKind.ROLE, q.text))
            break
        years = set(re.findall(r"\b1[0-9]{3}\b|\b20[0-9]{2}\b", article_text[a]))
        if rng.random() < 0.5:
            year = next(y for y in (str(rng.randint(1100, 2030)) for _ in range(100)) if y not in years)
            clause = f"в {year} году" if lang == "ru" else f"in {year}"
        else:
            fitting = [p for p in PLACES if p[2] not in text and PLACE_STEMS_EN[p[0]] not in text]
            if not fitting:
                continue
            en, ru, _ = rng.choice(fitting)
            clause = ru if lang == "ru" else f"in {en}"
        conditioned = _end_clause(q.text, clause)
        traps.append(Trap(XQuestion(q.id + "#cond", q.lang, conditioned, q.paragraph), TrapKind.CONDITION, q.text))
    return traps


def name_number_traps(data: XQuad, lang: str, seed: int) -> list[Trap]:
    """bench/traps.py's name and number swaps, over all 48 articles so the name pool is the same whichever
    articles are used afterwards."""
    from bench.traps import make_traps

    pars = [EvalParagraph(key, p.title, p.text) for (plang, key), p in data.paragraphs.items() if plang == lang]
    qs = [EvalQuestion(q.id, q.text, [], q.paragraph) for q in data.questions[lang]]
    by_id = {q.id: q for q in data.questions[lang]}
    out = []
    for t in make_traps(pars, qs, seed=seed):
        orig = by_id[t.question.id.removesuffix("#trap")]
        kind = TrapKind.NAME if t.kind == "name" else TrapKind.NUMBER
        out.append(Trap(XQuestion(t.question.id, lang, t.question.text, orig.paragraph), kind, t.original))
    return out


def all_traps(data: XQuad, lang: str, seed: int) -> list[Trap]:
    text: dict[int, str] = {}
    for (plang, key), p in data.paragraphs.items():
        if plang == lang:
            text[article_of(key)] = text.get(article_of(key), "") + "\n" + p.text
    return name_number_traps(data, lang, seed) + extra_traps(data.questions[lang], text, lang, seed + 1)


# --- pairs -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    question: str
    context: str
    window: str
    label: int  # 1: the window answers the question
    kind: PairKind
    group: str  # "<question id>@<passage language>": the pairs ranked against each other
    q_lang: str
    p_lang: str
    detail: str = ""  # the trap kind, or the single/pair shape of the window


def _pair(q: XQuestion, w: Window, label: int, kind: PairKind, p_lang: str, detail: str = "") -> Pair:
    return Pair(q.text, w.context, w.text, label, kind, f"{q.id}@{p_lang}", q.lang, p_lang, detail)


def question_pairs(
    data: XQuad,
    q: XQuestion,
    p_lang: str,
    rng: random.Random,
    siblings: int | None,
    others: int,
    singles_only: bool = False,
) -> list[Pair]:
    """The gold windows (label 1), `siblings` other windows of the paragraph (None: all) and `others` windows
    of other paragraphs of the article."""
    par = data.paragraphs[p_lang, q.paragraph]
    g = data.gold[p_lang, q.id.split("#")[0]]
    windows = [w for w in par.windows if not singles_only or w.hi - w.lo == 1]
    pos = [w for w in windows if w.holds(g)]
    neg = [w for w in windows if not w.holds(g)]
    if siblings is not None:
        neg = rng.sample(neg, min(siblings, len(neg)))
    pairs = [_pair(q, w, 1, PairKind.GOLD, p_lang, f"{w.hi - w.lo}s") for w in pos]
    pairs += [_pair(q, w, 0, PairKind.SIBLING, p_lang, f"{w.hi - w.lo}s") for w in neg]
    if others:
        a = article_of(q.paragraph)
        pool = [
            w
            for (lang, key), p in data.paragraphs.items()
            if lang == p_lang and article_of(key) == a and key != q.paragraph
            for w in p.windows
            if not singles_only or w.hi - w.lo == 1
        ]
        for w in rng.sample(pool, min(others, len(pool))):
            pairs.append(_pair(q, w, 0, PairKind.OTHER, p_lang, f"{w.hi - w.lo}s"))
    return pairs


def trap_pairs(data: XQuad, trap: Trap, p_lang: str, singles_only: bool = False) -> list[Pair]:
    """The trap question against the windows that answer the original question."""
    par = data.paragraphs[p_lang, trap.question.paragraph]
    g = data.gold[p_lang, trap.question.id.split("#")[0]]
    return [
        _pair(trap.question, w, 0, PairKind.TRAP, p_lang, str(trap.kind))
        for w in par.windows
        if w.holds(g) and (not singles_only or w.hi - w.lo == 1)
    ]


def in_articles(key: str, articles: range) -> bool:
    return article_of(key) in articles


# --- the seed set ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedDoc:
    name: str
    title: str
    sentences: tuple[str, ...]
    windows: tuple[Window, ...]


@dataclass(frozen=True)
class SeedQuestion:
    id: str
    lang: str
    split: str
    text: str
    doc: str | None  # None: unanswerable
    answer: str | None
    kind: str  # answerable | near-topic | off-topic


def load_knowledge(directory: Path = KNOWLEDGE) -> dict[str, SeedDoc]:
    docs = {}
    for path in sorted(directory.glob("*.md")):
        raw = path.read_text(encoding="utf-8")
        title = path.stem
        body = raw
        if raw.startswith("---"):
            head, _, body = raw[3:].partition("\n---")
            m = re.search(r'^title:\s*"?(.*?)"?\s*$', head, re.MULTILINE)
            title = m.group(1) if m else title
        sentences = tuple(split_sentences(body.strip()))
        docs[path.name] = SeedDoc(path.name, title, sentences, tuple(windows_of(sentences, title)))
    return docs


def load_seed(path: Path = SEED_QA) -> list[SeedQuestion]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = [
        SeedQuestion(e["id"], e["lang"], e["split"], e["question"], e["doc"], str(e["answer"]), "answerable")
        for e in data["answerable"]
    ]
    out += [
        SeedQuestion(e["id"], e["lang"], e["split"], e["question"], None, None, e["kind"]) for e in data["unanswerable"]
    ]
    return out


def seed_gold(doc: SeedDoc, answer: str) -> list[Window]:
    """The windows whose own text holds the answer (a single sentence, or the pair it spans)."""
    singles = [w for w in doc.windows if w.hi - w.lo == 1 and answer in w.text]
    if singles:
        return [w for w in doc.windows if any(w.holds(s.lo) for s in singles)]
    return [w for w in doc.windows if answer in w.text]


def _words(text: str) -> set[str]:
    return {w.lower()[:6] for w in _WORD_RE.findall(text) if len(w) > 2}


def lexical_neighbours(question: str, windows: Sequence[Window], k: int) -> list[Window]:
    """The k windows sharing the most word stems (first 6 letters) with the question."""
    qw = _words(question)
    scored = sorted(windows, key=lambda w: (-len(qw & _words(w.text)), w.lo, w.hi))
    return scored[:k]


def seed_pairs(
    questions: Sequence[SeedQuestion], docs: dict[str, SeedDoc], rng: random.Random, negatives: int
) -> list[Pair]:
    """Answerable: the gold windows and `negatives` other windows of the document (half of them the lexically
    closest); unanswerable: the `negatives` lexically closest windows over all documents."""
    every = [w for d in docs.values() for w in d.windows]
    pairs: list[Pair] = []
    for q in questions:
        xq = XQuestion(q.id, q.lang, q.text, "")
        if q.doc is not None and q.answer is not None:
            doc = docs[q.doc]
            gold = seed_gold(doc, q.answer)
            if not gold:
                raise UnlocatedAnswer(f"{q.id}: {q.answer}")
            rest = [w for w in doc.windows if w not in gold and not any(w.holds(g.lo) for g in gold)]
            near = lexical_neighbours(q.text, rest, negatives // 2)
            far = [w for w in rest if w not in near]
            chosen = near + rng.sample(far, min(negatives - len(near), len(far)))
            pairs += [_pair(xq, w, 1, PairKind.GOLD, "en", f"{w.hi - w.lo}s") for w in gold]
            pairs += [_pair(xq, w, 0, PairKind.SIBLING, "en", f"{w.hi - w.lo}s") for w in chosen]
        else:
            for w in lexical_neighbours(q.text, every, negatives):
                pairs.append(_pair(xq, w, 0, PairKind.UNANSWERABLE, "en", q.kind))
    return pairs


def iter_groups(pairs: Sequence[Pair]) -> Iterator[list[Pair]]:
    """Pairs grouped by their group key, in first-seen order."""
    groups: dict[str, list[Pair]] = {}
    for p in pairs:
        groups.setdefault(p.group, []).append(p)
    yield from groups.values()
