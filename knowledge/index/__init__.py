"""Indexes: the dense vector index (Chroma) and the keyword index (BM25)."""
