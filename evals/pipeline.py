"""Record the exact pipeline a report measured: models, prompt template hashes, KB version,
settings (secrets masked), judge."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from evals.metrics.ragas_env import ragas_version
from prompts.loader import PromptLoader

if TYPE_CHECKING:
    from evals.judge import Judge
    from evals.target import Target


def kb_version(articles: Iterable[tuple[str, int]]) -> str:
    """Hash of (article id, version) pairs: two runs with the same value saw the same KB."""
    h = hashlib.sha256()
    for article_id, version in sorted(articles):
        h.update(f"{article_id}@{version}\n".encode())
    return h.hexdigest()[:12]


def prompt_digests(loader: PromptLoader | None = None) -> dict[str, str]:
    loader = loader or PromptLoader()
    return {name: loader.digest(name) for name in loader.names()}


def describe_pipeline(target: Target, kb: str, judge: Judge | None) -> dict[str, object]:
    return {
        "target": target.describe(),
        "kb_version": kb,
        "prompts": prompt_digests(),
        "answer_metrics": f"ragas {ragas_version()}",
        "judge": judge.describe() if judge is not None else None,
    }
