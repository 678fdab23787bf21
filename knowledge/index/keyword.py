"""BM25 keyword index, one per tenant, kept in memory and updated incrementally.

An inverted index (term -> rows, term frequencies) that grows by appending: adding an
article tokenizes only its chunks; removing one marks its rows dead and adjusts document
frequencies (dead rows are compacted away when they pile up). Scoring is Okapi BM25 (the
Lucene idf) computed with numpy over the posting lists of the query terms only.

Tenant isolation is by construction (one state per tenant); visibility, language and the
live-version snapshot are applied as a mask inside scoring, not after a top-k cut.

Several workers: a search whose live-version snapshot names a version this index does not
hold (another worker loaded it; ``knowledge/index/versions.py`` reloads the snapshot from
the shared store) first adds that version's chunks from the dense index, which all workers
share (Chroma server). Rows of versions no longer live stay masked out.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from core.errors import ConfigurationError
from core.types import Visibility
from knowledge.documents import Chunk
from knowledge.index.base import Filters

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOP = frozenset(
    "a an and are as at be but by can do does for from has have how i if in into is it its me my "
    "of on or our so that the their then there these this to was we what when where which who why "
    "will with you your yours".split()
)
_VIS = {Visibility.public: 0, Visibility.internal: 1}


@lru_cache(maxsize=1)
def _stemmer() -> Callable[[str], str]:
    try:
        import Stemmer

        stem = Stemmer.Stemmer("english")
        return stem.stemWord  # type: ignore[no-any-return]
    except ImportError:  # pragma: no cover - optional speed-up
        return lambda w: w


def tokenize(text: str) -> list[str]:
    stem = _stemmer()
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP]


def _any_of(column: np.ndarray, codes: set[int]) -> np.ndarray:
    """``np.isin(column, list(codes))`` for a set of one or two small codes, without isin's
    set-up (a tenth of a keyword query): one comparison per code."""
    found = np.zeros(column.shape, dtype=bool)
    for code in codes:
        found |= column == code
    return found


class _Column:
    """A numpy array that grows by appending (amortised doubling)."""

    def __init__(self, dtype: type[np.generic]) -> None:
        self._data = np.zeros(64, dtype=dtype)
        self.size = 0

    def append(self, value: float) -> None:
        if self.size == len(self._data):
            self._data = np.concatenate([self._data, np.zeros_like(self._data)])
        self._data[self.size] = value
        self.size += 1

    def __setitem__(self, row: int, value: float) -> None:
        self._data[row] = value

    @property
    def view(self) -> np.ndarray:
        return self._data[: self.size]


@dataclass
class _Postings:
    rows: list[int] = field(default_factory=list)
    tfs: list[int] = field(default_factory=list)
    cached: tuple[np.ndarray, np.ndarray] | None = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if self.cached is None:
            self.cached = (np.asarray(self.rows, dtype=np.int64), np.asarray(self.tfs, dtype=np.float32))
        return self.cached


class _TenantBM25:
    def __init__(self) -> None:
        self.chunks: list[Chunk | None] = []
        self.row_of: dict[str, int] = {}
        self.postings: dict[str, _Postings] = {}
        self.df: Counter[str] = Counter()
        self.length = _Column(np.float32)
        self.alive = _Column(np.bool_)
        self.vis = _Column(np.int8)
        self.lang = _Column(np.int16)
        self.article = _Column(np.int32)
        self.version = _Column(np.int32)
        self.languages: dict[str, int] = {}
        self.articles: dict[str, int] = {}
        self.n_alive = 0
        self.total_length = 0.0
        self.live_cache: tuple[int, np.ndarray] | None = None
        self.present: Counter[tuple[str, int]] = Counter()  # (article, version) -> alive rows
        self.synced_generation = -1  # the live snapshot last checked for missing versions
        self.tried: dict[str, int] = {}  # article -> version last fetched from the dense index
        self._vocabulary: list[str] | None = None  # terms some alive chunk holds (None: changed since)

    def add(self, chunk: Chunk) -> None:
        if chunk.id in self.row_of:
            self.remove(chunk.id)
        tokens = tokenize(chunk.embedding_text())
        self._vocabulary = None
        row = len(self.chunks)
        self.chunks.append(chunk)
        self.row_of[chunk.id] = row
        for term, tf in Counter(tokens).items():
            p = self.postings.get(term)
            if p is None:
                p = self.postings[term] = _Postings()
            p.rows.append(row)
            p.tfs.append(tf)
            p.cached = None
            self.df[term] += 1
        self.length.append(len(tokens))
        self.alive.append(True)
        self.vis.append(_VIS[chunk.visibility])
        self.lang.append(self.languages.setdefault(chunk.language, len(self.languages)))
        code = self.articles.get(chunk.article_id)
        if code is None:
            code = self.articles[chunk.article_id] = len(self.articles)
            self.live_cache = None
        self.article.append(code)
        self.version.append(chunk.version)
        self.present[(chunk.article_id, chunk.version)] += 1
        self.n_alive += 1
        self.total_length += len(tokens)

    def remove(self, chunk_id: str) -> None:
        row = self.row_of.pop(chunk_id, None)
        if row is None:
            return
        chunk = self.chunks[row]
        assert chunk is not None
        tokens = tokenize(chunk.embedding_text())
        self._vocabulary = None
        for term in set(tokens):
            self.df[term] -= 1
        self.chunks[row] = None
        self.alive[row] = False
        key = (chunk.article_id, chunk.version)
        self.present[key] -= 1
        if self.present[key] <= 0:
            del self.present[key]
        self.n_alive -= 1
        self.total_length -= len(tokens)

    @property
    def vocabulary(self) -> list[str]:
        """The terms at least one alive chunk holds (built again only after a change)."""
        if self._vocabulary is None:
            self._vocabulary = [w for w, c in self.df.items() if c > 0]
        return self._vocabulary

    @property
    def dead(self) -> int:
        return len(self.chunks) - self.n_alive

    def missing(self, versions: Mapping[str, int]) -> dict[str, int]:
        """Live versions this state holds no row of and has not fetched yet."""
        return {
            a: v for a, v in versions.items() if (a, v) not in self.present and self.tried.get(a) != v
        }

    def live_mask(self, filters: Filters) -> np.ndarray | None:
        view = filters.live
        if view is None:
            return None
        if self.live_cache is None or self.live_cache[0] != view.generation:
            live = np.full(len(self.articles), -1, dtype=np.int32)
            for article_id, code in self.articles.items():
                live[code] = view.versions.get(article_id, -1)
            self.live_cache = (view.generation, live)
        return self.live_cache[1][self.article.view] == self.version.view  # type: ignore[no-any-return]


class KeywordIndex:
    name = "bm25"

    def __init__(self, loader: Callable[[str], list[Chunk]], *, k1: float = 1.5, b: float = 0.75) -> None:
        """``loader(tenant)`` returns all chunks of a tenant (from the dense index) on first use."""
        if k1 <= 0 or not 0 <= b <= 1:
            raise ConfigurationError("BM25 needs k1 > 0 and 0 <= b <= 1")
        self._loader = loader
        self.k1 = k1
        self.b = b
        self._tenants: dict[str, _TenantBM25] = {}
        self._lock = threading.RLock()

    def _tenant(self, tenant_id: str) -> _TenantBM25:
        state = self._tenants.get(tenant_id)
        if state is None:
            state = _TenantBM25()
            for chunk in self._loader(tenant_id):
                state.add(chunk)
            self._tenants[tenant_id] = state
        return state

    def add(self, tenant_id: str, chunks: Sequence[Chunk]) -> None:
        if any(c.tenant_id != tenant_id for c in chunks):
            raise ConfigurationError("Every chunk must belong to the tenant being written")
        with self._lock:
            state = self._tenants.get(tenant_id)
            if state is None:
                return  # loaded from the dense index on first use
            for chunk in chunks:
                state.add(chunk)

    def remove(self, tenant_id: str, chunk_ids: Sequence[str]) -> None:
        with self._lock:
            state = self._tenants.get(tenant_id)
            if state is None:
                return
            for chunk_id in chunk_ids:
                state.remove(chunk_id)
            if state.dead > 1000 and state.dead > state.n_alive:
                self._compact(tenant_id, state)

    def _catch_up(self, tenant_id: str, state: _TenantBM25, versions: Mapping[str, int]) -> None:
        """Add the chunks of live versions written by another worker (from the dense index)."""
        missing = state.missing(versions)
        if not missing:
            return
        state.tried.update(missing)
        for chunk in self._loader(tenant_id):
            if missing.get(chunk.article_id) == chunk.version and chunk.id not in state.row_of:
                state.add(chunk)

    def _compact(self, tenant_id: str, state: _TenantBM25) -> None:
        fresh = _TenantBM25()
        for chunk in state.chunks:
            if chunk is not None:
                fresh.add(chunk)
        self._tenants[tenant_id] = fresh

    def forget(self, tenant_id: str) -> None:
        with self._lock:
            self._tenants.pop(tenant_id, None)

    def count(self, tenant_id: str) -> int:
        with self._lock:
            return self._tenant(tenant_id).n_alive

    def document_frequencies(self, tenant_id: str, terms: Sequence[str]) -> dict[str, int]:
        """How many of the tenant's chunks hold each (stemmed, lower-case) term; 0 for a term
        the tenant's content never uses.

        A compound ("off-peak") counts as its rarest part, tokenized as the index does. A word
        of five letters or more that the content never uses takes the frequency of a used word
        one edit away (two from nine letters: Levenshtein, ``rapidfuzz``): a typo ("pasword")
        is not a new topic."""
        with self._lock:
            state = self._tenant(tenant_id)
            df = state.df
            out: dict[str, int] = {}
            for term in terms:
                parts = [p for p in _WORD.findall(term.lower()) if p not in _STOP] or [term]
                counts = []
                for part in parts:
                    n = max(int(df.get(part, 0)), 0)
                    if n == 0 and part.isalpha() and len(part) >= 5:
                        near = process.extractOne(
                            part, state.vocabulary, scorer=Levenshtein.distance, score_cutoff=1 if len(part) < 9 else 2
                        )
                        n = max(int(df.get(near[0], 0)), 0) if near else 0
                    counts.append(n)
                out[term] = min(counts)
            return out

    def query(self, text: str, k: int, filters: Filters) -> list[tuple[Chunk, float]]:
        terms = set(tokenize(text))
        if not terms or k < 1:
            return []
        with self._lock:
            state = self._tenant(filters.tenant_id)
            if filters.live is not None and state.synced_generation != filters.live.generation:
                self._catch_up(filters.tenant_id, state, filters.live.versions)
                state.synced_generation = filters.live.generation
            n_rows = len(state.chunks)
            if state.n_alive == 0:
                return []
            avgdl = max(state.total_length / state.n_alive, 1.0)
            norm = self.k1 * (1.0 - self.b + self.b * state.length.view / avgdl)
            scores = np.zeros(n_rows, dtype=np.float32)
            for term in terms:
                p = state.postings.get(term)
                df = state.df.get(term, 0)
                if p is None or df <= 0:
                    continue
                idf = math.log(1.0 + (state.n_alive - df + 0.5) / (df + 0.5))
                rows, tfs = p.arrays()
                scores[rows] += idf * tfs * (self.k1 + 1.0) / (tfs + norm[rows])
            allowed = state.alive.view & _any_of(state.vis.view, {_VIS[v] for v in filters.visibilities})
            if filters.language is not None:
                code = state.languages.get(filters.language, -1)
                allowed &= state.lang.view == code
            live = state.live_mask(filters)
            if live is not None:
                allowed &= live
            scores = np.where(allowed, scores, 0.0)
            hits = np.flatnonzero(scores > 0)
            if len(hits) > k:
                hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
            hits = hits[np.argsort(-scores[hits], kind="stable")]
            out: list[tuple[Chunk, float]] = []
            for row in hits:
                chunk = state.chunks[int(row)]
                if chunk is not None and chunk.tenant_id == filters.tenant_id:
                    out.append((chunk, float(scores[row])))
            return out

    def describe(self) -> dict[str, object]:
        return {"backend": self.name, "k1": self.k1, "b": self.b}
