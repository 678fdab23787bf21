"""Rerankers: re-order fused candidates with what is bundled (no cross-encoder offline)."""
