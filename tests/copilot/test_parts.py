"""The copilot's parts on their own: sentiment, ROUGE-L, guidelines and next best action,
grounded replies, summaries, tone rules and the PII scrub of KB drafts."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.guidelines import load_guidelines
from copilot.learning import LearningLoop
from copilot.next_action import NextActionAdvisor
from copilot.replies import ReplyDrafter
from copilot.rouge import rouge_l
from copilot.sentiment import score_text, trend
from copilot.summaries import Summarizer, extractive_summary
from copilot.tone import concise_rules, empathetic_rules
from core.errors import ConfigurationError
from core.models.fake import HashingEmbedder, ScriptedChatModel
from core.types import Author, Passage, Turn
from prompts.loader import PromptLoader
from tests.conftest import DEMO_DIR, SHARED_DATA


def _turns(*pairs: tuple[str, str]) -> list[Turn]:
    return [Turn(author=Author(a), text=t) for a, t in pairs]


def test_sentiment_reads_negation_and_trend() -> None:
    assert score_text("This is terrible, I'm really angry!") < -0.5
    assert score_text("Great, thanks a lot!") > 0.3
    assert score_text("not bad at all") > 0
    t = trend(
        _turns(
            ("customer", "Thanks"),
            ("agent", "ok"),
            ("customer", "Still broken."),
            ("customer", "This is unacceptable!"),
        )
    )
    assert t.trend == "worsening" and t.current < 0 and len(t.points) == 3


def test_rouge_l_matches_the_lcs_definition() -> None:
    r = rouge_l("the cat sat on the mat", "the cat was on the mat")
    assert r.precision == pytest.approx(5 / 6, abs=1e-3) and r.recall == pytest.approx(5 / 6, abs=1e-3)
    assert rouge_l("", "anything").f == 0.0
    assert rouge_l("Same words here", "same words here").f == 1.0


def test_abcd_guidelines_load_and_name_the_next_step() -> None:
    g = load_guidelines(SHARED_DATA / "abcd_sample")
    assert len(g.subflows) == 55
    size = g.get("return_size")
    assert size is not None and size.required[:2] == ["pull-up-account", "validate-purchase"]
    nba = NextActionAdvisor.next_for(size, ["pull-up-account"])
    assert nba.action == "validate-purchase" and "Validate Purchase" in nba.label


def test_next_best_action_follows_the_conversation() -> None:
    advisor = NextActionAdvisor(load_guidelines(DEMO_DIR / "guidelines"), HashingEmbedder())
    turns = _turns(("customer", "My parcel hasn't arrived and the tracking has not moved for a week, is it lost?"))
    first = advisor.advise(turns)
    assert first is not None and first.subflow == "lost_or_delayed_parcel" and first.action == "verify-identity"
    later = advisor.advise(turns, ["verify-identity", "look-up-order"])
    assert later is not None and later.action == "open-carrier-claim" and "carrier" in later.guidance


def test_bad_guidelines_pack_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="guidelines.json and kb.json"):
        load_guidelines(tmp_path)


PASSAGE = Passage(
    chunk_id="c1",
    article_id="returns-policy",
    version=1,
    title="Returns policy",
    url="/help/returns",
    text="You can return most items within 30 days of delivery. Items must be unused and in original packaging.",
)


def test_invented_facts_never_reach_the_agent() -> None:
    turns = _turns(("customer", "How long do I have to return an item?"))
    liar = ReplyDrafter(
        ScriptedChatModel(["You have 90 days and we pay 50 EUR for your trouble."]), HashingEmbedder(), PromptLoader()
    )
    replies = liar.draft(turns, [PASSAGE], message_seq=3)
    assert replies and all(r.mode == "extractive" for r in replies)
    assert "30 days" in replies[0].text and replies[0].citations[0].article_id == "returns-policy"
    honest = ReplyDrafter(
        ScriptedChatModel(["You can return most items within 30 days of delivery."]), HashingEmbedder(), PromptLoader()
    )
    tokens: list[str] = []
    replies = honest.draft(turns, [PASSAGE], message_seq=3, on_token=tokens.append)
    assert replies[0].mode == "generated" and tokens and replies[0].citations


def test_summaries_fall_back_to_extractive_with_a_weak_model() -> None:
    turns = _turns(
        ("customer", "Hi, my order ORD-10035 with the Ridge 3P tent has not arrived."),
        ("agent", "I've opened an investigation with GLS for ORD-10035."),
        ("agent", "You'll hear from us by 27 November at the latest."),
    )
    text = extractive_summary(turns)
    assert "ORD-10035" in text and "investigation" in text and "27 November" in text
    s = Summarizer(ScriptedChatModel(["Lorem ipsum dolor sit amet quantum flux."]), PromptLoader())
    assert s.summarize(turns).mode == "extractive"  # invented words: rejected
    after = s.after_contact(turns)
    assert after.disposition == "follow_up" and after.follow_ups and "orders" in after.tags


def test_tone_rules_keep_the_facts() -> None:
    assert empathetic_rules("Your refund of 49 EUR is on its way.").endswith("Your refund of 49 EUR is on its way.")
    assert empathetic_rules("I'm sorry, the refund is late.") == "I'm sorry, the refund is late."
    short = concise_rules("Basically, the refund takes 5 days. I hope this helps! Let me know if you need anything.")
    assert short == "The refund takes 5 days."


def test_kb_draft_scrub_removes_personal_data() -> None:
    loop = LearningLoop.__new__(LearningLoop)
    loop._redact = lambda text: text.replace("anna@example.com", "[EMAIL]")  # noqa: SLF001
    composed = loop.compose(
        _turns(
            ("customer", "Anna Berg here, can I rent a tent for ORD-10001? anna@example.com"),
            ("agent", "Hi Anna! We don't rent tents, but unused tents can be returned within 30 days."),
        ),
        ["Anna Berg"],
    )
    assert composed is not None
    title, body = composed
    for leaked in ("Anna", "Berg", "ORD-10001", "anna@example.com"):
        assert leaked not in title + body
    assert "rent tents" in body


def test_the_query_borrows_what_the_agent_just_named() -> None:
    from copilot.query import conversation_query

    turns = _turns(
        ("customer", "I need a tent for three people"),
        ("agent", "The Ridge 3P sleeps three."),
        ("customer", "Is it waterproof?"),
    )
    q = conversation_query(turns)
    assert q.startswith("Is it waterproof?") and "ridge" in q and "3p" in q
    assert conversation_query(_turns(("agent", "Hello!"))) == ""


def test_subject_linking_follows_the_venue_named_last() -> None:
    from copilot.subjects import SubjectLinker

    titles = ["Grant Hotel: What is the check-in time?", "A and B Guest House: Are pets allowed?", "Refund policy"]
    linker = SubjectLinker(lambda tenant: titles)
    turns = _turns(
        ("customer", "is the a and b guest house near the museum"),
        ("agent", "yes, and the grant hotel is also close"),
        ("customer", "what is the check kin time for that"),
    )
    subject = linker.link("t", turns)
    assert subject is not None and subject.name == "Grant Hotel"
    assert linker.link("t", _turns(("customer", "how do refunds work?"))) is None


def test_subject_linking_forgives_speech_transcripts_and_prefers_the_longer_name() -> None:
    from copilot.subjects import SubjectLinker

    titles = [
        "Palace Of Fine Arts: Is it wheelchair accessible?",
        "The Presidio: Are dogs allowed?",
        "Presidio Kebab: Do you deliver?",
        "Ferry Building Marketplace: When does it open?",
        "Souvla - NoPa: Is there outdoor seating?",
        "RESTAURANT TWO TWO: Do you take reservations?",
    ]
    linker = SubjectLinker(lambda tenant: titles)
    # "fine art" for "Fine Arts"; "market place" split in two; the branch suffix is optional.
    assert linker.link("t", _turns(("agent", "the one rated most highly is the palace of fine art"))).name == (
        "Palace Of Fine Arts"
    )
    assert linker.link("t", _turns(("agent", "it's called ferry building market place"))).name == (
        "Ferry Building Marketplace"
    )
    assert linker.link("t", _turns(("agent", "one of them is called souvla"))).name == "Souvla - NoPa"
    # One turn names the park and the restaurant in it: the longer name wins.
    ranked = linker.rank("t", _turns(("agent", "presidio kebab is right by the presidio")))
    assert [s.name for s, _ in ranked] == ["Presidio Kebab"]
    # A number alone never names a subject ("two people" is not RESTAURANT TWO TWO).
    assert linker.link("t", _turns(("customer", "a table for two two people"))) is None
    # The subject named last ranks first; an earlier one stays in the running, lower.
    ranked = linker.rank(
        "t", _turns(("agent", "try presidio kebab"), ("customer", "ok"), ("agent", "or the palace of fine arts"))
    )
    assert [s.name for s, _ in ranked] == ["Palace Of Fine Arts", "Presidio Kebab"]
    assert ranked[0][1] > ranked[1][1]


def test_subject_linking_reads_numbers_spoken_or_written() -> None:
    from copilot.subjects import SubjectLinker, words

    assert words("Nineteen 06 Mission") == words("nineteen oh six mission") == ["#1906", "mission"]
    assert words("Pier 39") == words("pier thirty nine") == ["pier", "#39"]
    assert words("Pizzetta 211") == words("pizzetta two eleven")
    titles = ["Nineteen 06 Mission: Do you take cards?", "Pier 39: Is parking free?", "Pier 7: Are dogs allowed?"]
    linker = SubjectLinker(lambda tenant: titles)
    found = linker.link("t", _turns(("agent", "i found a place called nineteen zero six mission")))
    assert found is not None and found.name == "Nineteen 06 Mission"
    found = linker.link("t", _turns(("agent", "pier thirty nine is the busiest")))
    assert found is not None and found.name == "Pier 39"
    # A number must be said whole: the digits of a zip code name no pier.
    assert linker.link("t", _turns(("agent", "the pier area zip code is nine four one three three"))) is None


def test_suggestions_follow_the_named_venue_and_hear_misheard_words(services: object) -> None:
    """The copilot over a real index (hashing embedder): the venue the agent named last, and
    its article that sounds like what the customer said ("delver" -> delivery)."""
    from core.types import Visibility
    from knowledge.documents import Document
    from server.container import Services

    assert isinstance(services, Services)
    faqs = {
        "delivery": ("Do you offer delivery service?", "{v} does not offer delivery service."),
        "takeout": ("Do you have takeout?", "{v} offers takeout."),
        "dogs": ("Are dogs allowed at {v}?", "Dogs are not allowed at {v}."),
        "groups": ("Are you good for groups?", "{v} is good for groups."),
    }
    docs = [
        Document(id=f"{key}-{slug}", title=f"{venue}: {q.format(v=venue)}", body=a.format(v=venue),
                 visibility=Visibility.internal)
        for slug, venue in (("crab", "Franciscan Crab Restaurant"), ("gem", "Little Gem"))
        for key, (q, a) in faqs.items()
    ]
    services.store.ensure_tenant("venues", "Venues", {})
    assert not services.kb.load_documents("venues", docs).errors
    turns = _turns(
        ("agent", "there is little gem"),
        ("customer", "how about american food instead"),
        ("agent", "i found a place called franciscan crab restaurant"),
        ("customer", "ok do they delver food"),
    )
    _, top = services.copilot.articles_for("venues", turns)
    assert top and top[0].article_id == "delivery-crab"
    assert {p.article_id for p in top} <= {d.id for d in docs}
    # The re-ranking reads the indexed vectors, not new embeddings of the same text.
    stored = services.index.vectors("venues", [p.chunk_id for p in top])
    assert set(stored) == {p.chunk_id for p in top}
    assert all(v.shape == (services.retriever.embedder.dim,) for v in stored.values())
    assert services.index.vectors("venues", ["no-such-chunk"]) == {}
