"""Read Rasa-format ``nlu.yml`` files (``version: "3.1"``, ``nlu: - intent: … examples: |``).

Entity annotations like ``[A-10041](order_id)`` are reduced to their text; synonyms,
regexes and lookup tables are ignored (the classifier learns from examples only).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.errors import ConfigurationError

_ENTITY = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


@dataclass(frozen=True)
class NluExample:
    text: str
    intent: str


def clean_example(line: str) -> str:
    text = line.strip()
    if text.startswith("- "):
        text = text[2:]
    return _ENTITY.sub(r"\1", text).strip()


def parse_nlu(source: str, *, origin: str = "nlu.yml") -> list[NluExample]:
    try:
        data = yaml.safe_load(source) or {}
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{origin} is not valid YAML: {exc}") from exc
    blocks = data.get("nlu") if isinstance(data, dict) else None
    if not isinstance(blocks, list):
        raise ConfigurationError(f"{origin} has no 'nlu:' list; write it in Rasa 3 format.")
    out: list[NluExample] = []
    for block in blocks:
        if not isinstance(block, dict) or "intent" not in block:
            continue  # synonym / regex / lookup blocks
        intent = str(block["intent"]).strip()
        examples = block.get("examples", "")
        lines = examples.splitlines() if isinstance(examples, str) else [str(e) for e in examples or []]
        for line in lines:
            text = clean_example(line)
            if text:
                out.append(NluExample(text, intent))
    if not out:
        raise ConfigurationError(f"{origin} holds no intent examples.")
    return out


def load_nlu(path: Path) -> list[NluExample]:
    if not path.is_file():
        raise ConfigurationError(f"No NLU file at {path}; set the tenant's nlu path or add demo/nlu.yml.")
    return parse_nlu(path.read_text(encoding="utf-8"), origin=str(path))


def nlu_digest(examples: list[NluExample]) -> str:
    h = hashlib.sha256()
    for e in examples:
        h.update(f"{e.intent}\x00{e.text}\x01".encode())
    return h.hexdigest()[:16]
