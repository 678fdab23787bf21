"""Read a tenant configuration file, with errors that name the file, the field and what is allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from core.errors import ConfigurationError
from core.tenancy.config import TenantConfig

__all__ = ["MAX_CONFIG_BYTES", "TenantConfigError", "load_tenant_file", "parse_tenant_config", "read_yaml"]

MAX_CONFIG_BYTES = 1024 * 1024


class TenantConfigError(ConfigurationError):
    """A tenant configuration is invalid; ``problems`` lists ``(field path, message)``."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {where}: {what}" for where, what in problems)
        super().__init__(f"{source}: invalid tenant configuration\n{lines}")


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases (no billion-laughs expansion)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.constructor.ConstructorError(
                None, None, "anchors and aliases are not allowed in a tenant configuration", event.start_mark
            )
        return super().compose_node(parent, index)


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def parse_tenant_config(data: object, source: str = "<config>") -> TenantConfig:
    """Validate already-parsed YAML/JSON. Raises ``TenantConfigError``."""
    if not isinstance(data, dict):
        raise TenantConfigError(source, [("(top level)", "expected a mapping of fields (id, name, timezone, …)")])
    try:
        return TenantConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                allowed = _allowed_at(err["loc"])
                msg = "unknown field" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
            elif err["type"] == "missing":
                msg = "required field is missing"
            elif err["type"] == "literal_error":
                msg = f"{msg}, got {err.get('input')!r}"
            problems.append((_where(err["loc"]), msg))
        raise TenantConfigError(source, problems) from None


def _allowed_at(loc: tuple[int | str, ...]) -> list[str]:
    model: Any = TenantConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        candidates = [ann, *args]
        nested = [c for c in candidates if isinstance(c, type) and hasattr(c, "model_fields")]
        if not nested:
            inner = [a for c in args for a in getattr(c, "__args__", ()) if hasattr(a, "model_fields")]
            nested = inner
        if not nested:
            return []
        model = nested[0]
    return sorted(getattr(model, "model_fields", {}))


def load_tenant_file(path: Path) -> TenantConfig:
    """Read and validate ``path``. Raises ``TenantConfigError`` (file, field, what is allowed)."""
    if not path.is_file():
        raise TenantConfigError(str(path), [("(file)", "no such file")])
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise TenantConfigError(str(path), [("(file)", f"{size} bytes; the limit is {MAX_CONFIG_BYTES}")])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TenantConfigError(str(path), [("(file)", "not UTF-8 text")]) from None
    return parse_tenant_config(read_yaml(text, str(path)), str(path))


def read_yaml(text: str, source: str) -> object:
    """YAML without anchors or aliases, size-capped. Raises ``TenantConfigError`` with the line."""
    if len(text.encode("utf-8")) > MAX_CONFIG_BYTES:
        raise TenantConfigError(source, [("(file)", f"larger than {MAX_CONFIG_BYTES} bytes")])
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader without aliases)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise TenantConfigError(source, [(where, f"not valid YAML: {problem}")]) from None
