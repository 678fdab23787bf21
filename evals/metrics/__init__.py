"""Metrics: retrieval ranking, answer text (ragas-equivalent non-LLM metrics), aggregates."""
