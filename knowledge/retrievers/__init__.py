"""Retrievers: keyword, dense and hybrid (reciprocal rank fusion)."""
