"""Scripted simulated customers. A persona opens with its question and, while the bot has not
resolved it, says its follow-ups in order (impatient, vague, asks for a human, tries an
injection). Each run ends as one of:

- ``resolved``: the bot cited an article (or said a phrase) that settles the goal, no handoff
  was expected;
- ``handed_off_rightly``: the bot handed off and the case expected a handoff (reason too, if given);
- ``handed_off_wrongly``: the bot handed off when it should not have, or for the wrong reason;
- ``looped``: the persona ran out of turns without a resolution or an expected handoff.
"""

from __future__ import annotations

from evals.report import CaseResult
from evals.suite import Case, Persona
from evals.target import Target, TurnObs


def _resolves(persona: Persona, obs: TurnObs) -> bool:
    if obs.handoff is not None or obs.kind in ("abstain", "refusal", "silent"):
        return False
    if persona.resolved_when and set(obs.cited) & set(persona.resolved_when):
        return True
    reply = obs.reply.lower()
    return bool(persona.resolved_text) and any(p.lower() in reply for p in persona.resolved_text)


def outcome_of(case: Case, result: CaseResult, resolved: bool) -> str:
    exp = case.expect
    if result.handed_off:
        right = bool(exp.handoff) and (exp.reason is None or result.handoff_reason == exp.reason.value)
        return "handed_off_rightly" if right else "handed_off_wrongly"
    if resolved and not exp.handoff:
        return "resolved"
    return "looped"


def play(case: Case, target: Target, tenant: str) -> CaseResult:
    assert case.persona is not None
    persona = case.persona
    result = CaseResult(id=case.id, kind="persona", tags=case.tags)
    session = target.open(tenant, case.customer_id, case.at)
    lines = [persona.opening, *persona.follow_ups]
    resolved = False
    for text in lines[: persona.max_turns]:
        obs = target.send(session, text)
        result.turns.append(obs)
        if obs.handoff is not None:
            break
        if _resolves(persona, obs):
            resolved = True
            break
    result.outcome = outcome_of(case, result, resolved)
    if result.outcome in ("handed_off_wrongly", "looped"):
        result.failures.append(f"persona {persona.style}: {result.outcome.replace('_', ' ')}")
    return result
