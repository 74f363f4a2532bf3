"""Train the parted pass's chunk branch (its last 2 layers) to give the chunk's own vector.

The parted pass (index.dense.late.parted_vectors) reads each sentence alone for 10 layers, so its chunk branch,
the bundled layers 10-11 over the whole pack, gives a vector at cosine ~0.966 to the chunk's own full pass, and
that noise costs answers (docs/quality.md). Here layers 10-11 of the chunk branch are fine-tuned, the first 10
frozen (their states are computed once with the numpy runtime), to minimise 1 - cosine to the full pass's
vector. The sentence branch keeps the bundled layers, so sentence vectors stay the separate ones.

Data: texts made only of XQuAD articles 0-23 (paragraphs, and runs of their sentences recombined, with and
without a title) and the seed articles; checked on the paragraphs of articles 24-47, never seen.
Needs torch (the `train` extra); the result is an "e5-overlay/1" file the numpy runtime reads
(`python bench/late_chunking.py --ways parted --chunk-branch FILE` measures it through the engine).

    python bench/train_parted_chunk.py [--texts 2400] [--epochs 6] [--lr 1e-4] [--out /tmp/parted_chunk.npz]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.answering.windows import passage_sentences  # noqa: E402
from index.dense.late import PART_AT, pack_sentences, sentence_spans  # noqa: E402
from index.dense.runtime import Runtime  # noqa: E402
from index.dense.weights import save_overlay  # noqa: E402
from index.evaluation import find_eval_dir, load_xquad  # noqa: E402
from index.readers import read_document  # noqa: E402

NAMES = (
    "attention.self.query.weight",
    "attention.self.query.bias",
    "attention.self.key.weight",
    "attention.self.key.bias",
    "attention.self.value.weight",
    "attention.self.value.bias",
    "attention.output.dense.weight",
    "attention.output.dense.bias",
    "attention.output.LayerNorm.weight",
    "attention.output.LayerNorm.bias",
    "intermediate.dense.weight",
    "intermediate.dense.bias",
    "output.dense.weight",
    "output.dense.bias",
    "output.LayerNorm.weight",
    "output.LayerNorm.bias",
)


def torch_layer(params, config, x, allowed, layer: int):
    """One encoder layer in torch over [B, L, H], the trainable tensors in `params`; `allowed` [B, 1 or L, L]:
    which keys each query may read (the numpy runtime's layer, differentiable)."""
    import torch

    p = lambda n: params[f"encoder.layer.{layer}.{n}"]  # noqa: E731
    heads, head_dim, eps = config.num_heads, config.head_dim, config.layer_norm_eps
    b, n, h = x.shape
    q = (x @ p("attention.self.query.weight").T + p("attention.self.query.bias")).view(b, n, heads, head_dim)
    k = (x @ p("attention.self.key.weight").T + p("attention.self.key.bias")).view(b, n, heads, head_dim)
    v = (x @ p("attention.self.value.weight").T + p("attention.self.value.bias")).view(b, n, heads, head_dim)
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(head_dim)
    scores = scores.masked_fill(~allowed[:, None], float("-inf"))
    context = torch.einsum("bhqk,bkhd->bqhd", scores.softmax(-1), v).reshape(b, n, h)
    attended = context @ p("attention.output.dense.weight").T + p("attention.output.dense.bias") + x
    x = torch.nn.functional.layer_norm(
        attended, (h,), p("attention.output.LayerNorm.weight"), p("attention.output.LayerNorm.bias"), eps
    )
    mid = torch.nn.functional.gelu(x @ p("intermediate.dense.weight").T + p("intermediate.dense.bias"))
    out = mid @ p("output.dense.weight").T + p("output.dense.bias") + x
    return torch.nn.functional.layer_norm(out, (h,), p("output.LayerNorm.weight"), p("output.LayerNorm.bias"), eps)


def xquad_halves(folder: Path):
    """en and ru XQuAD split by article: (paragraphs of 0-23, of 24-47, questions of 0-23, of 24-47)."""
    train_p, test_p, train_q, test_q = [], [], [], []
    for lang in ("en", "ru"):
        paragraphs, questions = load_xquad(folder / "xquad" / f"xquad.{lang}.json")
        train_p += [p for p in paragraphs if int(p.key.split("/")[0]) < 24]
        test_p += [p for p in paragraphs if int(p.key.split("/")[0]) >= 24]
        train_q += [q.text for q in questions if int(q.paragraph.split("/")[0]) < 24]
        test_q += [q.text for q in questions if int(q.paragraph.split("/")[0]) >= 24]
    return train_p, test_p, train_q, test_q


def seed_texts() -> list[str]:
    return [
        "\n\n".join(p.text for p in read_document(path).pages) for path in sorted((ROOT / "knowledge").glob("*.md"))
    ]


def trainable(weights, layers: range):
    """The layers' tensors of `weights` as torch parameters, named as in an overlay."""
    import torch

    params: dict[str, torch.nn.Parameter] = {}
    for layer in layers:
        for name in NAMES:
            tensor = torch.tensor(np.asarray(weights.layer(layer, name), dtype=np.float32))
            params[f"encoder.layer.{layer}.{name}"] = torch.nn.Parameter(tensor)
    return params


def save_branch(path: Path, params, config, extra: dict) -> int:
    """The trained layers as an "e5-overlay/1" file the numpy runtime reads; its size in bytes."""
    tensors = {name: p.detach().numpy() for name, p in params.items()}
    return save_overlay(path, tensors, num_layers=config.num_layers, pooling="mean", extra_config=extra)


def write_result(path: Path, train: int, test: int, before, log: list, size: int, started: float) -> None:
    result = {
        "train_texts": train,
        "test_paragraphs": test,
        "test_cosine_before": before,
        "epochs": log,
        "bytes": size,
        "seconds": round(time.perf_counter() - started),
    }
    path.write_text(json.dumps(result, indent=1))
    print(json.dumps(result), flush=True)


def texts_of(paragraphs, seeds: list[str], n: int, seed: int) -> list[tuple[str, str]]:
    """(title, text): every paragraph as it is, then recombined runs of consecutive sentences."""
    rng = random.Random(seed)
    out = [(p.title.replace("_", " "), p.text) for p in paragraphs]
    blocks = [passage_sentences(p.text) for p in paragraphs] + [passage_sentences(s) for s in seeds]
    blocks = [b for b in blocks if len(b) > 1]
    while len(out) < n:
        sentences: list[str] = []
        for _ in range(rng.randint(1, 3)):
            block = blocks[rng.randrange(len(blocks))]
            start = rng.randrange(len(block))
            sentences += block[start : start + rng.randint(1, 6)]
        title = rng.choice(["", "", f"Digest {len(out)}", "Обзор региона", "Investment guide"])
        out.append((title, " ".join(sentences)))
    return out[:n]


def features(base: Runtime, frozen: Runtime, items: list[tuple[str, str]]):
    """Per text that packs into one sequence: (its states after the 10 local layers, the full pass's vector)."""
    states, targets = [], []
    for start in range(0, len(items), 32):
        batch = items[start : start + 32]
        texts = [f"{t}\n\n{x}" if t else x for t, x in batch]
        spans = [
            sentence_spans(e, passage_sentences(x), len(e) - len(x)) for e, (_, x) in zip(texts, batch, strict=True)
        ]
        packing = pack_sentences(base, texts, spans)
        per_text: dict[int, set[int]] = {}
        for (text_index, _, _), (seq, _, _) in zip(packing.units, packing.placed, strict=True):
            per_text.setdefault(text_index, set()).add(seq)
        single = [i for i in range(len(texts)) if len(per_text.get(i, ())) == 1]
        seqs = [next(iter(per_text[i])) for i in single]
        got = frozen.forward_parted(
            [packing.sequences[s] for s in seqs],
            [packing.groups[s] for s in seqs],
            [packing.positions[s] for s in seqs],
            PART_AT,
        )
        want = base.passage([texts[i] for i in single])
        states += [local.astype(np.float16) for _, local in got]
        targets.append(want)
    return states, np.concatenate(targets)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=1500)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--out", type=Path, default=Path("/tmp/parted_chunk.npz"))
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "parted_chunk.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    folder = find_eval_dir(ROOT)
    if folder is None:
        sys.exit("no XQuAD data: ../shared/eval/xquad")
    base = Runtime.load()
    frozen = Runtime(base.weights, num_layers=PART_AT, tokenizer=base.tokenizer)
    train_p, test_p, _, _ = xquad_halves(folder)
    seeds = seed_texts()
    started = time.perf_counter()
    x_train, y_train = features(base, frozen, texts_of(train_p, seeds, args.texts, seed=11))
    x_test, y_test = features(base, frozen, [(p.title.replace("_", " "), p.text) for p in test_p])
    print(
        f"{len(x_train)} train / {len(x_test)} test texts, states in {time.perf_counter() - started:.0f} s", flush=True
    )

    config = base.config
    params = trainable(base.weights, range(PART_AT, config.num_layers))

    def chunk_vectors(states: list[np.ndarray]):
        longest = max(s.shape[0] for s in states)
        x = torch.zeros(len(states), longest, config.hidden_size)
        keep = torch.zeros(len(states), longest, dtype=torch.bool)
        for i, s in enumerate(states):
            x[i, : s.shape[0]] = torch.from_numpy(s.astype(np.float32))
            keep[i, : s.shape[0]] = True
        for layer in range(PART_AT, config.num_layers):
            x = torch_layer(params, config, x, keep[:, None, :], layer)
        mean = (x * keep[..., None]).sum(1) / keep.sum(1, keepdim=True)
        return torch.nn.functional.normalize(mean, dim=-1)

    def evaluate(states, targets) -> tuple[float, float]:
        with torch.no_grad():
            got = torch.cat([chunk_vectors(states[i : i + 32]) for i in range(0, len(states), 32)])
            cos = (got * torch.from_numpy(targets)).sum(-1).numpy()
        return float(cos.mean()), float(cos.min())

    before = evaluate(x_test, y_test)
    print("test cosine before", before, flush=True)
    optimiser = torch.optim.AdamW(params.values(), lr=args.lr, weight_decay=0.0)
    order = list(range(len(x_train)))
    rng = random.Random(3)
    log = []
    for epoch in range(args.epochs):
        rng.shuffle(order)
        losses = []
        for start in range(0, len(order), args.batch):
            idx = order[start : start + args.batch]
            got = chunk_vectors([x_train[i] for i in idx])
            loss = (1 - (got * torch.from_numpy(y_train[idx])).sum(-1)).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
        after = evaluate(x_test, y_test)
        log.append({"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "test_cosine": after})
        print(log[-1], flush=True)
    size = save_branch(args.out, params, config, {"part_at": PART_AT})
    write_result(args.json, len(x_train), len(x_test), before, log, size, started)


if __name__ == "__main__":
    main()
