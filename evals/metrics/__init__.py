"""Metrics: retrieval ranking, answer text (ragas' non-LLM metrics), aggregates."""
