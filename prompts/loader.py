"""Render ``prompts/templates/<name>.j2``. Missing variables fail (StrictUndefined) and so do
variables the template does not use (a typo in a caller would otherwise pass silently)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, meta

from core.errors import ConfigurationError

TEMPLATE_DIR = Path(__file__).parent / "templates"


class PromptLoader:
    def __init__(self, directory: Path = TEMPLATE_DIR) -> None:
        self.directory = directory
        self.env = Environment(
            loader=FileSystemLoader(str(directory)),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._variables: dict[str, frozenset[str]] = {}

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.directory.glob("*.j2"))

    def variables(self, name: str) -> frozenset[str]:
        if name not in self._variables:
            try:
                source = self.env.loader.get_source(self.env, f"{name}.j2")[0]  # type: ignore[union-attr]
            except TemplateNotFound as exc:
                raise ConfigurationError(f"No prompt template {name!r} in {self.directory}") from exc
            self._variables[name] = frozenset(meta.find_undeclared_variables(self.env.parse(source)))
        return self._variables[name]

    def render(self, name: str, **variables: Any) -> str:
        expected = self.variables(name)
        missing = expected - variables.keys()
        unknown = variables.keys() - expected
        if missing or unknown:
            raise ConfigurationError(
                f"Prompt {name!r}: missing variables {sorted(missing)}, unknown variables {sorted(unknown)}"
            )
        return self.env.get_template(f"{name}.j2").render(**variables).strip()

    def digest(self, name: str) -> str:
        """Hash of the template source, recorded in eval reports."""
        return hashlib.sha256((self.directory / f"{name}.j2").read_bytes()).hexdigest()[:12]


@lru_cache(maxsize=1)
def default_loader() -> PromptLoader:
    return PromptLoader()


def render(name: str, **variables: Any) -> str:
    return default_loader().render(name, **variables)
