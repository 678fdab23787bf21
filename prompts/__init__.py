"""Prompt templates as files, rendered by one loader that fails on missing or unknown variables."""

from prompts.loader import PromptLoader, render

__all__ = ["PromptLoader", "render"]
