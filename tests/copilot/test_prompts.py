"""Every copilot prompt renders with the variables its caller passes (and fails on others)."""

from __future__ import annotations

import pytest

from core.errors import ConfigurationError
from prompts.loader import PromptLoader

VARIABLES: dict[str, dict[str, object]] = {
    "copilot_reply": {
        "company": "Acme", "passages": [], "history": [], "question": "Q?", "language": "German", "delimiter": "<<x>>"
    },
    "copilot_summary": {"company": "Acme", "turns": [], "delimiter": "<<x>>"},
    "copilot_rewrite": {"instruction": "Be brief.", "text": "Draft.", "delimiter": "<<x>>"},
    "copilot_judge_summary": {"reference": "R", "candidate": "C"},
}


def test_every_copilot_prompt_renders() -> None:
    loader = PromptLoader()
    names = [n for n in loader.names() if n.startswith("copilot_")]
    assert sorted(names) == sorted(VARIABLES)
    for name in names:
        assert loader.render(name, **VARIABLES[name]).strip()


def test_a_misspelt_variable_fails() -> None:
    with pytest.raises(ConfigurationError, match="unknown variables"):
        PromptLoader().render("copilot_rewrite", instruction="x", text="y", delimiter="z", tone="w")
