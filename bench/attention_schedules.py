"""Sentence vectors from one pass with sentence-local attention in some layers: a quick proxy on XQuAD.

Late chunking (every layer attends over the whole chunk) makes sentence vectors lean towards their chunk;
embedding each sentence apart costs a second pass. Between the two: a schedule of layers, each either full
(F: every token attends to the whole chunk) or local (L: a sentence's tokens attend to their own sentence and
to <s>, the prefix and </s>). The chunk vector and the sentence vectors may follow different schedules; the
layers their schedules share run once, so a schedule pair costs 12 + (layers after they part) layer passes.

Proxy figures per direction (no engine, no decision): passage-only R@1 from chunk vectors, best-sentence R@1,
the dense score's R@1 (passage + sentence_weight x best sentence), the gold sentence first within its own
paragraph, and the mean cosine of the sentence vectors to separately embedded ones.

The four `--mode`s say what <s>, the prefix and </s> may read in a local layer and how sentences are laid out
(see encode_paragraph); the runs behind docs/quality.md are bench/attention_schedules_<mode>.json (the shared
mode with every schedule, the others with tail3, allL and headL9/10-split).

    python bench/attention_schedules.py [--articles 0-23] [--mode shared] [--configs a,b] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index.answering.scoring import DEFAULT_WEIGHTS
from index.answering.windows import passage_sentences
from index.dense.late import sentence_spans
from index.dense.runtime import Runtime, _layer_norm
from index.dense.tokenizer import NO_OFFSET, Prefix
from index.evaluation import DIRECTIONS, find_eval_dir, load_xquad

F12 = "F" * 12
CONFIGS = {
    "late": (F12, F12),
    "tail1": (F12, "F" * 11 + "L"),
    "tail2": (F12, "F" * 10 + "LL"),
    "tail3": (F12, "F" * 9 + "LLL"),
    "tail4": (F12, "F" * 8 + "LLLL"),
    "single-tail3": ("F" * 9 + "LLL", "F" * 9 + "LLL"),
    "single-head6": ("L" * 6 + "F" * 6, "L" * 6 + "F" * 6),
    "single-head9": ("L" * 9 + "FFF", "L" * 9 + "FFF"),
    "allL": ("L" * 12, "L" * 12),
    "headL9-split": ("L" * 9 + "FFF", "L" * 12),
    "headL10-split": ("L" * 10 + "FF", "L" * 12),
    "headL11-split": ("L" * 11 + "F", "L" * 12),
}


def layer(rt: Runtime, spec, x: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """One encoder layer of the runtime over one sequence; `allowed`: which token may read which."""
    n = x.shape[0]
    bias = None if allowed is None else [np.where(allowed, np.float32(0), np.float32(-np.inf)).astype(np.float32)]
    return rt._layer(spec, x, 1, n, [n], bias)


def unit(v: np.ndarray) -> np.ndarray:
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


def encode_paragraph(
    rt: Runtime, text: str, sentences: list[str], mode: str = "shared"
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per config: (chunk vector, sentence vectors pooled over own tokens, the same with <s>/prefix/</s>).

    mode: "shared" (<s>, prefix and </s> attend to everything in a local layer), "isolated" (they attend to
    each other only), "isolated-pos" (and positions restart at each sentence, as if it stood alone), "packed"
    (each sentence gets its own <s> prefix ... </s>, positions restarting: the local path is each sentence
    embedded apart)."""
    c = rt.config
    tokens = rt.tokenize(text, Prefix.PASSAGE)
    spans = sentence_spans(text, sentences)
    starts, ends = tokens.offsets[:, 0], tokens.offsets[:, 1]
    real = (starts != NO_OFFSET) & (ends > starts)
    n_prefix = int(np.argmax(real)) if real.any() else 0
    if mode == "packed":
        ids_l, pos_l, group_l = [], [], []
        for s, (lo, hi) in enumerate(spans):
            rows = np.flatnonzero(real & (starts < hi) & (ends > lo))
            unit_ids = [c.bos_id, *tokens.ids[:n_prefix], *tokens.ids[rows], c.eos_id]
            ids_l += unit_ids
            pos_l += list(range(len(unit_ids)))
            group_l += [s] * len(unit_ids)
        ids = np.array(ids_l[:512], dtype=np.int64)
        positions = np.array(pos_l[:512])
        group = np.array(group_l[:512])
        rows_of = [np.flatnonzero(group == s) for s in range(len(spans))]
        glob = np.zeros(len(ids), dtype=bool)
        allowed = group[:, None] == group[None, :]
    else:
        ids = np.concatenate([[c.bos_id], tokens.ids[:510], [c.eos_id]]).astype(np.int64)
        offsets = np.concatenate([[[NO_OFFSET, NO_OFFSET]], tokens.offsets[:510], [[NO_OFFSET, NO_OFFSET]]])
        n = len(ids)
        positions = np.arange(n)
        st, en = offsets[:, 0], offsets[:, 1]
        rl = (st != NO_OFFSET) & (en > st)
        group = np.full(n, -1)
        rows_of = []
        for s, (lo, hi) in enumerate(spans):
            rows = np.flatnonzero(rl & (st < hi) & (en > lo) & (group < 0))
            group[rows] = s
            rows_of.append(rows)
            if mode == "isolated-pos" and len(rows):
                positions[rows] = 1 + n_prefix + np.arange(len(rows))
        glob = group < 0
        if mode == "shared":
            allowed = (group[:, None] == group[None, :]) | glob[None, :] | glob[:, None]
        else:
            allowed = (group[:, None] == group[None, :]) | glob[None, :]
    n = len(ids)
    x = rt.weights.word_rows(ids[None])[0] + rt._pos[positions] + rt._type[0]
    x = _layer_norm(x, rt._eln_w, rt._eln_b, c.layer_norm_eps)
    cache: dict[str, np.ndarray] = {"": x}

    def states(schedule: str) -> np.ndarray:
        for i in range(len(schedule) + 1):
            if schedule[:i] not in cache:
                prev = cache[schedule[: i - 1]]
                cache[schedule[:i]] = layer(rt, rt._layers[i - 1], prev, None if schedule[i - 1] == "F" else allowed)
        return cache[schedule]

    out = {}
    for name, (chunk_schedule, sentence_schedule) in CONFIGS.items():
        cs = states(chunk_schedule)
        ss = states(sentence_schedule)
        chunk = unit(cs.mean(axis=0))
        own = np.stack([unit(ss[r].mean(axis=0)) if len(r) else chunk for r in rows_of])
        withg = np.stack([unit(ss[np.concatenate([r, np.flatnonzero(glob)])].mean(axis=0)) for r in rows_of])
        out[name] = (chunk, own, withg)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", default="0-23")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--mode", default="shared", choices=["shared", "isolated", "isolated-pos", "packed"])
    parser.add_argument("--configs", default=",".join(CONFIGS))
    args = parser.parse_args()
    lo, hi = (int(v) for v in args.articles.split("-"))
    folder = find_eval_dir()
    if folder is None:
        sys.exit("no XQuAD data")
    rt = Runtime.load()
    for name in list(CONFIGS):
        if name not in args.configs.split(","):
            del CONFIGS[name]
    data = {lang: load_xquad(folder / "xquad" / f"xquad.{lang}.json") for lang in ("en", "ru")}
    vectors: dict = {}
    sep: dict = {}
    sents: dict = {}
    for lang, (paragraphs, _) in data.items():
        keep = [p for p in paragraphs if lo <= int(p.key.split("/")[0]) <= hi]
        started = time.perf_counter()
        vectors[lang], sep[lang], sents[lang] = {}, {}, {}
        for p in keep:
            ss = passage_sentences(p.text)
            sents[lang][p.key] = ss
            vectors[lang][p.key] = encode_paragraph(rt, p.text, ss, args.mode)
            sep[lang][p.key] = (rt.passage([p.text])[0], rt.passage(ss))
        print(lang, len(keep), "paragraphs", round(time.perf_counter() - started, 1), "s", flush=True)
    w = DEFAULT_WEIGHTS.sentence_weight
    results: dict = {}
    for direction, (q_lang, d_lang) in DIRECTIONS.items():
        questions = [q for q in data[q_lang][1] if lo <= int(q.paragraph.split("/")[0]) <= hi]
        golds = {q.id: q.answers for q in data[d_lang][1]}
        qv = rt.query([q.text for q in questions])
        keys = list(vectors[d_lang])
        ways = {"separate": {k: (sep[d_lang][k][0], sep[d_lang][k][1]) for k in keys}}
        for name in CONFIGS:
            ways[name] = {k: (vectors[d_lang][k][name][0], vectors[d_lang][k][name][1]) for k in keys}
            ways[name + "+g"] = {k: (vectors[d_lang][k][name][0], vectors[d_lang][k][name][2]) for k in keys}
        for way, table in ways.items():
            chunks = np.stack([table[k][0] for k in keys])
            passage_cos = qv @ chunks.T
            best = np.stack([[float((table[k][1] @ q).max()) for k in keys] for q in qv])
            dense = (passage_cos + w * best) / (1 + w)
            gold_idx = np.array([keys.index(q.paragraph) for q in questions])

            def r1(m: np.ndarray, gold_idx: np.ndarray = gold_idx) -> float:
                return float((m.argmax(axis=1) == gold_idx).mean())

            first = total = 0
            sim = []
            for q, v in zip(questions, qv, strict=True):
                ss = sents[d_lang][q.paragraph]
                answers = golds.get(q.id, [])
                holds = [i for i, s in enumerate(ss) if any(a and a in s for a in answers)]
                if holds:
                    total += 1
                    first += int(int(np.argmax(table[q.paragraph][1] @ v)) in holds)
            for k in keys:
                sim.append(float(np.mean(np.sum(table[k][1] * sep[d_lang][k][1], axis=1))))
            results.setdefault(direction, {})[way] = {
                "passage_R1": r1(passage_cos),
                "sentence_R1": r1(best),
                "dense_R1": r1(dense),
                "gold_sentence_first": first / max(total, 1),
                "cos_to_separate": float(np.mean(sim)),
            }
            print(direction, way, {k: round(v, 3) for k, v in results[direction][way].items()}, flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
