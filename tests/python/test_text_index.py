"""Full-text index (ailake.TextIndex) against an oracle we did not write:
Tantivy's BM25 over the same real text (Debian package descriptions) with an
analyzer configured the same way (simple tokenizer, remove-long 40, lowercase,
Snowball English stemmer)."""
import pathlib
import random
import re
import sys

import numpy as np
import pytest

import ailake

tantivy = pytest.importorskip("tantivy")

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "datasets"))
import debian_texts  # noqa: E402

N_DOCS = 4000
N_QUERIES = 300


@pytest.fixture(scope="module")
def corpus():
    records = debian_texts.parse_records(debian_texts.dumpavail())
    seen, docs = set(), []
    for r in sorted(records, key=lambda r: r.get("Package", "")):
        name = r.get("Package")
        desc = r.get("Description")
        if not name or not desc or name in seen:
            continue
        seen.add(name)
        docs.append(f"{name} {desc}")
    assert len(docs) >= N_DOCS, f"apt-cache dumpavail gave {len(docs)} packages; run apt-get update"
    rng = random.Random(5)
    return rng.sample(docs, N_DOCS)


def tantivy_index(docs, stop_words=()):
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("body", stored=False, tokenizer_name="ours")
    sb.add_unsigned_field("id", stored=True)
    schema = sb.build()
    index = tantivy.Index(schema)
    builder = (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
               .filter(tantivy.Filter.remove_long(40))
               .filter(tantivy.Filter.lowercase()))
    if stop_words:
        builder = builder.filter(tantivy.Filter.custom_stopword(list(stop_words)))
    builder = builder.filter(tantivy.Filter.stemmer("english"))
    index.register_tokenizer("ours", builder.build())
    writer = index.writer(heap_size=50_000_000, num_threads=1)
    for i, d in enumerate(docs):
        writer.add_document(tantivy.Document(body=d, id=i))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    return index, schema


def tantivy_top(index, query, k):
    searcher = index.searcher()
    q = index.parse_query(query, ["body"])
    out = []
    for score, addr in searcher.search(q, k).hits:
        out.append((searcher.doc(addr)["id"][0], score))
    return out


def same_top(ours, theirs, k):
    """Equal top-k, ties aside: rows may differ only where scores tie (to float
    precision) at the cut or between each other, and every score agrees."""
    if len(ours) != len(theirs):
        return False
    if not theirs:
        return True
    eps = 1e-4 * max(1.0, abs(theirs[0][1]))
    for (r1, s1), (r2, s2) in zip(ours, theirs):
        if abs(s1 - s2) > eps:
            return False
    cut = theirs[-1][1]
    firm_ours = {r for r, s in ours if s > cut + eps}
    firm_theirs = {r for r, s in theirs if s > cut + eps}
    return firm_ours == firm_theirs


def assert_agree(ours_top, index, qs):
    """Top-10 equal to Tantivy's (ties aside) for at least 99% of the queries."""
    bad = [(q, ours_top(q)[:3], tantivy_top(index, q, 10)[:3]) for q in qs
           if not same_top(ours_top(q), tantivy_top(index, q, 10), 10)]
    assert len(bad) <= 0.01 * len(qs), bad[:8]


def queries(docs, n, seed):
    rng = random.Random(seed)
    words = [w for d in docs[:500] for w in re.findall(r"[a-z][a-z0-9]{2,}", d.lower())]
    out = []
    for _ in range(n):
        out.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 4))))
    return out


def test_bm25_top10_equals_tantivy(corpus):
    index, _ = tantivy_index(corpus)
    ours = ailake.TextIndex.build(corpus, stemmer="english")
    assert len(ours) == len(corpus)

    def ours_top(q):
        hits = ours.search(q, 10)
        return list(zip(hits.ids.tolist(), hits.scores.tolist()))

    assert_agree(ours_top, index, queries(corpus, N_QUERIES, 11))


def test_phrases_and_several_indexes_equal_tantivy(corpus):
    """Phrase queries, and the corpus split over three indexes searched as one
    (table-wide statistics), against one Tantivy index."""
    index, _ = tantivy_index(corpus)
    parts = [corpus[:1000], corpus[1000:2500], corpus[2500:]]
    offsets = [0, 1000, 2500]
    ours = [ailake.TextIndex.build(p, stemmer="english") for p in parts]
    rng = random.Random(3)
    qs = []
    for d in rng.sample(corpus, 150):
        ws = re.findall(r"[a-z][a-z0-9]+", d.lower())
        if len(ws) >= 3:
            i = rng.randrange(len(ws) - 2)
            qs.append('"' + " ".join(ws[i:i + rng.randint(2, 3)]) + '"')
    qs += queries(corpus, 100, 23)

    def ours_top(q):
        hits = ailake.search_text_indexes(ours, q, 10)
        return [(offsets[p] + r, s) for p, r, s in zip(hits.parts.tolist(), hits.ids.tolist(),
                                                      hits.scores.tolist())]

    assert_agree(ours_top, index, qs)


def test_stop_words_and_boolean_queries(corpus):
    stop = ["the", "a", "and", "of", "for", "to", "in", "is", "this"]
    index, _ = tantivy_index(corpus, stop)
    ours = ailake.TextIndex.build(corpus, stemmer="english", stop_words=stop)
    qs = ["+library -python", "+perl +module", "tool -the", "+\"command line\" -gnome",
          "free software", "+kernel module -driver"]
    for q in qs:
        hits = ours.search(q, 10)
        got = list(zip(hits.ids.tolist(), hits.scores.tolist()))
        assert same_top(got, tantivy_top(index, q, 10), 10), q
    # Only stop words: no clause, no rows (Tantivy's parser refuses this query).
    assert len(ours.search("the of and", 10)) == 0


def test_filter_mask_prefix_and_round_trip(corpus):
    docs = corpus[:800]
    ix = ailake.TextIndex.build(docs, stemmer="english")
    allowed = np.arange(len(docs)) % 2 == 0
    full = ix.search("library", 800)
    masked = ix.search("library", 800, allowed=allowed)
    assert masked.ids.tolist() == [r for r in full.ids.tolist() if r % 2 == 0]
    # A prefix finds the rows that hold a term starting with it.
    hits = ix.search("pyth*", 800)
    want = {i for i, d in enumerate(docs) if re.search(r"(?<![a-z0-9])pyth", d.lower())}
    assert set(hits.ids.tolist()) == want
    # Bytes round trip, and corruption is an error naming the index.
    blob = ix.to_bytes()
    again = ailake.TextIndex.from_bytes(blob)
    assert again.search("library", 5).ids.tolist() == ix.search("library", 5).ids.tolist()
    broken = bytearray(blob)
    broken[len(blob) // 2] ^= 1
    with pytest.raises(ValueError, match="text index"):
        ailake.TextIndex.from_bytes(bytes(broken))
    with pytest.raises(ValueError, match="not closed"):
        ix.search('"open', 5)
    with pytest.raises(ValueError, match="stemmer"):
        ailake.TextIndex.build(["a"], stemmer="klingon")
    with pytest.raises(ValueError, match="allowed mask"):
        ix.search("library", 5, allowed=np.ones(3, dtype=bool))



def test_the_documented_text_example_runs():
    text = (ROOT / "docs" / "PYTHON.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S)
              if "ailake.TextIndex.build(docs" in b]
    assert len(blocks) == 1
    exec(blocks[0], {})
