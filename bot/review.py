"""Staff review of the question log: filters, exports, statistics and the gaps.

The gaps are unanswered questions grouped into topics, so staff read "7 questions about
electricity tariffs" instead of 7 separate lines. Grouping is lexical (IDF-weighted stems, with the
Russian↔English glossary so both languages meet in one topic): it needs no model and is stable.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from index.glossary import translations
from index.store import Store
from index.text import STOPWORDS, stem_word, words

FORMATS = ("table", "csv", "json")
TOPIC_SIMILARITY = 0.35
# Words that say what kind of question it is, not what it is about.
_QUESTION_NOISE = frozenset(
    "what which who whom how many much when where why is are does do can could would will please tell "
    "know need want like get give there any about information info "
    "что какой какая какие каков какова сколько когда где кто почему зачем можно нужно "
    "скажите подскажите расскажите пожалуйста есть ли информация".split()
)


class SinceError(ValueError):
    pass


def parse_since(value: str | None, now: dt.datetime | None = None) -> str | None:
    """'7d', '24h', '2w' or a date '2026-11-01' -> an ISO UTC timestamp to compare with asked_at."""
    if value is None or not value.strip():
        return None
    now = now or dt.datetime.now(dt.timezone.utc)
    text = value.strip().lower()
    match = re.fullmatch(r"(\d+)\s*([hdw])", text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        delta = {"h": dt.timedelta(hours=amount), "d": dt.timedelta(days=amount), "w": dt.timedelta(weeks=amount)}[unit]
        return (now - delta).replace(microsecond=0).isoformat()
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise SinceError(
            f"--since {value!r} is not understood: use a duration like 7d, 24h, 2w or a date like 2026-11-01"
        ) from None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).isoformat()


# --- topics --------------------------------------------------------------------------------------


def content_stems(question: str) -> dict[str, str]:
    """stem -> a surface word, for the words that say what a question is about."""
    out: dict[str, str] = {}
    for word in words(question):
        if word in STOPWORDS or word in _QUESTION_NOISE or word.isdigit() or len(word) < 2:
            continue
        out.setdefault(stem_word(word), word)
    return out


@dataclass
class Topic:
    label: str
    question_ids: list[int]
    example: str

    @property
    def size(self) -> int:
        return len(self.question_ids)


@dataclass
class _Group:
    ids: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    stems: Counter = field(default_factory=Counter)  # stem -> questions holding it
    surface: dict[str, Counter] = field(default_factory=dict)


def _alternatives(stem: str) -> set[str]:
    return {stem} | translations(stem)


def _similarity(terms: dict[str, str], group: _Group, idf: dict[str, float]) -> float:
    """Geometric mean of how much of the question the group covers and of the group the question
    covers (IDF-weighted); a word matches its translations, so Russian and English questions meet."""
    if not terms or not group.stems:
        return 0.0
    q_total = sum(idf[t] for t in terms)
    q_hit = sum(idf[t] for t in terms if _alternatives(t) & group.stems.keys())
    n = len(group.ids)
    g_weights = {s: group.stems[s] / n * idf.get(s, 1.0) for s in group.stems}
    g_total = sum(g_weights.values())
    g_hit = sum(w for s, w in g_weights.items() if _alternatives(s) & terms.keys())
    return math.sqrt((q_hit / q_total) * (g_hit / g_total)) if q_total and g_total else 0.0


def group_questions(
    questions: Sequence[tuple[int, str]],
    threshold: float = TOPIC_SIMILARITY,
    corpus_df: Mapping[str, int] | None = None,
    corpus_size: int = 0,
) -> list[Topic]:
    """Group similar questions; topics come largest first, then by their first question.

    Each question joins the most similar topic if that similarity reaches `threshold`, else starts
    a new topic. Deterministic: the same questions give the same topics.

    With the document collection's term counts (corpus_df), words the documents use everywhere
    ("Kaluga", "region", "industrial park") weigh little and words they lack ("tariff") weigh
    most: a gap is about what the documents do not say.
    """
    parsed = [(qid, text, content_stems(text)) for qid, text in questions]
    df = Counter(stem for _, _, terms in parsed for stem in terms)
    n = max(len(parsed), 1)
    if corpus_df is not None:
        size = max(corpus_size, 1)
        idf = {
            stem: math.log(1 + (size + 1) / (max(corpus_df.get(a, 0) for a in _alternatives(stem)) + 0.5))
            for stem in df
        }
    else:
        idf = {stem: math.log(1 + n / count) for stem, count in df.items()}

    groups: list[_Group] = []
    for qid, text, terms in parsed:
        if terms:
            scored = [(_similarity(terms, g, idf), i) for i, g in enumerate(groups)]
            best = max(scored, default=(0.0, -1))
            group = groups[best[1]] if best[0] >= threshold else None
        else:  # nothing to go by ("What?"): one bucket for all such questions
            group = next((g for g in groups if not g.stems), None)
        if group is None:
            group = _Group()
            groups.append(group)
        group.ids.append(qid)
        group.texts.append(text)
        for stem, word in terms.items():
            group.stems[stem] += 1
            group.surface.setdefault(stem, Counter())[word] += 1

    topics = []
    for g in groups:
        # A label word is one many of the topic's questions share (in either language).
        support = {s: sum(n for t, n in g.stems.items() if _alternatives(s) & _alternatives(t)) for s in g.stems}
        ranked = sorted(g.stems, key=lambda s: (-support[s] * idf[s], s))
        chosen: list[str] = []
        for stem in ranked:  # one word per meaning: "tariff", not also "тарифы"
            if len(chosen) < 3 and not any(_alternatives(stem) & _alternatives(c) for c in chosen):
                chosen.append(stem)
        label = ", ".join(g.surface[s].most_common(1)[0][0] for s in chosen) or "(no content words)"
        example = max(g.texts, key=lambda t: (_similarity(content_stems(t), g, idf), -g.texts.index(t)))
        topics.append(Topic(label, g.ids, example))
    topics.sort(key=lambda t: (-t.size, min(t.question_ids)))
    return topics


def gap_topics(store: Store, rows: Sequence[dict]) -> list[Topic]:
    """Group logged questions, weighting words by how rare they are in the stored documents."""
    pairs = [(r["id"], r["question"]) for r in sorted(rows, key=lambda r: r["id"])]
    stems = {a for _, text in pairs for stem in content_stems(text) for a in _alternatives(stem)}
    return group_questions(pairs, corpus_df=store.term_document_frequencies(stems), corpus_size=store.chunk_count())


def refresh_gaps(store: Store, since: str | None = None) -> list[Topic]:
    """Regroup the unanswered questions and store the topics (what the review pages show)."""
    topics = gap_topics(store, store.questions(since=since, unanswered=True))
    store.replace_gap_topics([(qid, number, t.label) for number, t in enumerate(topics, 1) for qid in t.question_ids])
    return topics


# --- output --------------------------------------------------------------------------------------

COLUMNS = ("id", "asked_at", "channel", "chat_type", "language", "answered", "top_score", "latency_ms",
           "feedback", "question", "answer", "doc_ids")


def format_questions(rows: Sequence[dict], fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (choose from: {', '.join(FORMATS)})")
    if fmt == "json":
        return json.dumps([{c: _json_value(c, r[c]) for c in COLUMNS} for r in rows], ensure_ascii=False, indent=2)
    if fmt == "csv":
        # UTF-8 with a BOM and CRLF: Excel then opens Russian text correctly.
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow(["" if r[c] is None else r[c] for c in COLUMNS])
        return "\ufeff" + buffer.getvalue()
    if not rows:
        return "No questions match."
    lines = []
    for r in rows:
        mark = "✓" if r["answered"] else "✗"
        vote = {1: " 👍", -1: " 👎"}.get(r["feedback"], "")
        lines.append(f"{r['id']:>5}  {r['asked_at'][:16].replace('T', ' ')}  {r['channel']:<8} {r['language'] or '':<2} {mark}{vote}  {r['question']}")
    return "\n".join(lines)


def _json_value(column: str, value):
    if column == "doc_ids":
        return json.loads(value or "[]")
    if column == "answered":
        return bool(value)
    return value


def format_stats(stats: dict, topics: Sequence[Topic], since_label: str) -> str:
    lines = [f"Questions {since_label}: {stats['questions']}"]
    if stats["questions"]:
        lines.append(f"Answered: {stats['answered']} ({stats['answer_rate']:.0%})")
    lines.append(f"Feedback: 👍 {stats['positive']}  👎 {stats['negative']}")
    if stats["per_day"]:
        lines.append("")
        lines.append("Per day:       questions  answered")
        for d in stats["per_day"]:
            lines.append(f"  {d['day']}   {d['questions']:>9}  {d['answered'] or 0:>8}")
    if stats["most_cited"]:
        lines.append("")
        lines.append("Most cited documents:")
        for d in stats["most_cited"]:
            lines.append(f"  {d['citations']:>4}×  #{d['id']} {d['title']}" + (f" ({d['date']})" if d["date"] else ""))
    lines.append("")
    if topics:
        lines.append("Gaps — unanswered questions by topic, most frequent first:")
        for t in topics:
            noun = "question" if t.size == 1 else "questions"
            lines.append(f"  {t.size:>4} {noun} about {t.label} — e.g. “{t.example}”")
    else:
        lines.append("Gaps: none — every question was answered.")
    return "\n".join(lines)
