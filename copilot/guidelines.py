"""A tenant's agent guidelines in the ABCD policy format.

A guidelines pack is a folder with:
- ``guidelines.json``: flow name -> {description, subflows: {subflow name -> {actions: [{button, text,
  subtext}], instructions: [...]}}} (the agent's policy manual);
- ``kb.json``: subflow key -> ordered list of required agent actions (e.g. ``pull-up-account``);
- ``ontology.json`` (optional): ``intents.subflows`` flow key -> subflow keys, in manual order.

Subflow names in the manual are matched to kb.json keys by slug, then by the ontology's
order, then by shared words.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, Field

from core.errors import ConfigurationError


def slug(text: str, sep: str = "_") -> str:
    return sep.join(re.findall(r"[a-z0-9]+", text.lower()))


class GuidelineAction(BaseModel):
    key: str  # e.g. pull-up-account
    button: str = ""
    text: str = ""
    subtext: list[str] = Field(default_factory=list)

    @property
    def label(self) -> str:
        return self.button or self.key.replace("-", " ").capitalize()


class Subflow(BaseModel):
    key: str  # kb.json key, e.g. return_size
    name: str  # manual name, e.g. Return Due to Size
    flow: str
    flow_description: str = ""
    required: list[str] = Field(default_factory=list)  # ordered action keys
    actions: dict[str, GuidelineAction] = Field(default_factory=dict)  # key -> guidance from the manual
    instructions: list[str] = Field(default_factory=list)

    def profile(self) -> str:
        """The text a conversation is matched against."""
        words = self.key.replace("_", " ")
        notes = " ".join(self.instructions)[:400]
        return f"{self.name} ({words}). {self.flow}: {self.flow_description}. {notes}".strip()

    def exemplars(self) -> list[str]:
        """Example customer questions the manual lists for this subflow."""
        text = " ".join(self.instructions)
        return [q.strip(" ,") + "?" for q in re.findall(r"([A-Z][^?:]{8,}?)\?", text)]

    def action(self, key: str) -> GuidelineAction:
        """Guidance for a required action; the manual's button names differ slightly from
        kb.json keys (``notify-team`` vs ``Notify Internal Team``), so shared words decide."""
        if key in self.actions:
            return self.actions[key]
        words = set(key.split("-"))
        best = max(self.actions.values(), key=lambda a: len(words & set(a.key.split("-"))), default=None)
        if best is not None and words & set(best.key.split("-")):
            return best.model_copy(update={"key": key})
        return GuidelineAction(key=key)


class Guidelines(BaseModel):
    source: str = ""
    subflows: list[Subflow] = Field(default_factory=list)

    def get(self, key: str) -> Subflow | None:
        return next((s for s in self.subflows if s.key == key), None)


def _read(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"Cannot read guidelines file {path}: {exc}. Fix or remove it.") from exc


def _match_keys(manual: dict[str, dict[str, object]], kb: dict[str, list[str]], ontology: object) -> dict[str, str]:
    """(flow, subflow name) 'flow\\x00name' -> kb key."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    onto_subflows: dict[str, list[str]] = {}
    if isinstance(ontology, dict):
        intents = ontology.get("intents", {})
        if isinstance(intents, dict) and isinstance(intents.get("subflows"), dict):
            onto_subflows = intents["subflows"]
    for flow, spec in manual.items():
        names = list(dict(spec.get("subflows", {})).keys())  # type: ignore[call-overload]
        ordered = onto_subflows.get(slug(flow), [])
        for i, name in enumerate(names):
            key = slug(name)
            if key in kb and key not in taken:
                pass
            elif len(ordered) == len(names) and ordered[i] in kb:
                key = ordered[i]
            else:
                words = set(re.findall(r"[a-z0-9]+", name.lower()))
                best = max(
                    (k for k in kb if k not in taken),
                    key=lambda k: len(words & set(k.split("_"))),
                    default="",
                )
                if not best or not words & set(best.split("_")):
                    continue
                key = best
            out[f"{flow}\x00{name}"] = key
            taken.add(key)
    return out


def load_guidelines(folder: Path) -> Guidelines:
    manual_path, kb_path = folder / "guidelines.json", folder / "kb.json"
    if not manual_path.is_file() or not kb_path.is_file():
        raise ConfigurationError(f"A guidelines pack needs guidelines.json and kb.json in {folder}.")
    manual = _read(manual_path)
    kb = _read(kb_path)
    ontology = _read(folder / "ontology.json") if (folder / "ontology.json").is_file() else None
    if not isinstance(manual, dict) or not isinstance(kb, dict):
        raise ConfigurationError(f"{folder}: guidelines.json and kb.json must be JSON objects.")
    keys = _match_keys(manual, kb, ontology)
    subflows: list[Subflow] = []
    for flow, spec in manual.items():
        for name, sub in dict(spec.get("subflows", {})).items():
            key = keys.get(f"{flow}\x00{name}")
            if key is None:
                continue
            actions: dict[str, GuidelineAction] = {}
            for a in sub.get("actions", []):
                button = str(a.get("button", ""))
                akey = slug(button, "-")
                if akey:
                    actions[akey] = GuidelineAction(
                        key=akey, button=button, text=str(a.get("text", "")), subtext=list(a.get("subtext", []))
                    )
            subflows.append(
                Subflow(
                    key=key,
                    name=name,
                    flow=flow,
                    flow_description=str(spec.get("description", "")),
                    required=[str(x) for x in kb[key]],
                    actions=actions,
                    instructions=[str(x) for x in sub.get("instructions", [])],
                )
            )
    if not subflows:
        raise ConfigurationError(f"{folder}: no subflow of guidelines.json matches a key of kb.json.")
    return Guidelines(source=str(folder), subflows=subflows)
