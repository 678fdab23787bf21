"""The copilot's parts on their own: sentiment, ROUGE-L, guidelines and next best action,
grounded replies, summaries, tone rules and the PII scrub of KB drafts."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.catalog import from_guidelines
from copilot.guidelines import load_guidelines
from copilot.learning import LearningLoop
from copilot.next_action import NextActionAdvisor
from copilot.replies import ReplyConfig, ReplyDrafter
from copilot.rouge import rouge_l
from copilot.sentiment import score_text, trend
from copilot.summaries import Summarizer, extractive_summary
from copilot.tone import concise_rules, empathetic_rules
from core.errors import ConfigurationError
from core.models.fake import HashingEmbedder, ScriptedChatModel
from core.types import Author, Passage, Turn, Visibility
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
    catalog = from_guidelines(g)  # the ABCD layout is imported into a catalog with ordered steps
    action = catalog.get("return_size")
    assert action is not None and [s.key for s in action.steps][:2] == ["pull-up-account", "validate-purchase"]
    advisor = NextActionAdvisor(catalog.model_copy(update={"actions": [action]}), HashingEmbedder())
    turns = _turns(("customer", "The shirt is too small, I want to return it because of the size"))
    nba = advisor.advise(turns, ["pull-up-account"])  # the next step not yet ticked
    assert nba is not None and nba.key == "return_size"
    assert nba.step == "validate-purchase" and "Validate Purchase" in nba.step_label


def test_next_best_action_follows_the_conversation() -> None:
    advisor = NextActionAdvisor(from_guidelines(load_guidelines(DEMO_DIR / "guidelines")), HashingEmbedder())
    turns = _turns(("customer", "My parcel hasn't arrived and the tracking has not moved for a week, is it lost?"))
    first = advisor.advise(turns)
    assert first is not None and first.key == "lost_or_delayed_parcel" and first.step == "verify-identity"
    later = advisor.advise(turns, ["verify-identity", "look-up-order"])
    assert later is not None and later.step == "open-carrier-claim" and "carrier" in later.guidance


def test_next_action_comes_from_the_tenants_catalog_with_why() -> None:
    """A tenant's own catalog (key, description, when examples): the action that fits the
    conversation, with the turn and the example that made it fit, and the record fields."""
    from copilot.catalog import from_next_actions
    from core.tenancy.config import NextAction
    from core.types import CustomerFacts

    catalog = from_next_actions([
        NextAction(key="renew_policy", description="Renew the insurance policy for another year.",
                   when=["Customer wants to renew their policy before it expires"]),
        NextAction(key="file_claim", description="Open a claim for damage to the insured property.",
                   when=["Storm damaged the roof and the customer wants to claim"]),
        NextAction(key="cancel_policy", description="Cancel the policy and refund unused premium.",
                   when=["Customer is moving abroad and wants to cancel the policy"]),
    ])
    advisor = NextActionAdvisor(catalog, HashingEmbedder())
    turns = _turns(
        ("customer", "A storm last night damaged my roof badly."),
        ("agent", "I'm sorry to hear that. Is everyone safe?"),
        ("customer", "Yes. How do I claim for the roof damage?"),
    )
    facts = CustomerFacts(customer_id="c1", name="Ann", attributes={"claim": {"open": False}, "policy": "home"})
    nba = advisor.advise(turns, facts=facts)
    assert nba is not None and nba.key == "file_claim" and nba.label == "File claim"
    assert "roof" in nba.reason and nba.alternatives and nba.alternatives[0].key != "file_claim"
    # An action ticked done makes way for the next one.
    after = advisor.advise(turns, ["file_claim"], facts=facts)
    assert after is None or after.key != "file_claim"


def test_sensitive_topics_lend_their_examples_to_the_matching_action() -> None:
    from copilot.catalog import from_next_actions, link_topics
    from core.tenancy.config import NextAction, SensitiveTopic

    catalog = from_next_actions([
        NextAction(key="send_article", description="Send the help article that answers the question."),
        NextAction(key="transfer_care_team", description="Warm-transfer to the care team for vulnerable callers."),
    ])
    topics = [SensitiveTopic(key="care", examples=["I'm struggling to cope"], skill="care_team",
                             respond="Hand off to the care team.")]
    linked = link_topics(catalog, topics)
    care = linked.get("transfer_care_team")
    assert care is not None and "I'm struggling to cope" in care.when
    assert linked.get("send_article") == catalog.get("send_article")


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
    assert replies and all(r.mode == "composed" for r in replies)
    assert "30 days" in replies[0].text and replies[0].citations[0].article_id == "returns-policy"
    honest = ReplyDrafter(
        ScriptedChatModel(["You can return most items within 30 days of delivery."]), HashingEmbedder(), PromptLoader()
    )
    tokens: list[str] = []
    replies = honest.draft(turns, [PASSAGE], message_seq=3, on_token=tokens.append)
    assert replies[0].mode == "generated" and tokens and replies[0].citations


INTERNAL = Passage(
    chunk_id="c2",
    article_id="refund-limits",
    version=1,
    title="Refund approval limits (internal)",
    url="/help/internal/refund-limits",
    text="Agents may refund up to 80 EUR with code RF-LIM-02. Above that, call the desk on extension 7731. "
    "Never mention the approval ladder to a customer.",
    visibility=Visibility.internal,
)


def test_replies_are_public_units_only_and_never_carry_internal_content() -> None:
    """A reply is made of the public article; internal codes, extensions and sentences
    never reach it, even when a model (or the customer's record) brings them in."""
    from copilot.leaks import InternalFingerprint

    fingerprint = InternalFingerprint.build([INTERNAL.text], [PASSAGE.text])
    assert {"RF-LIM-02"} <= fingerprint.codes and "7731" in fingerprint.numbers
    turns = _turns(("customer", "How long do I have to return an item, and can you refund me?"))
    drafter = ReplyDrafter(
        ScriptedChatModel(["You can return most items within 30 days of delivery. I'll use code RF-LIM-02."]),
        HashingEmbedder(),
        PromptLoader(),
    )
    replies = drafter.draft(turns, [INTERNAL, PASSAGE], message_seq=4, fingerprint=fingerprint)
    assert replies
    for r in replies:
        assert not fingerprint.find(r.text), r.text
        assert all(c.article_id == "returns-policy" for c in r.citations)
        assert "7731" not in r.text and "approval ladder" not in r.text
    assert fingerprint.find("Sure, it's code RF-LIM-02 on extension 7731.")
    assert fingerprint.find("never mention the approval ladder to a customer")


def test_replies_pass_the_output_filter_and_answer_the_last_message() -> None:
    from copilot.replies import safe_text

    passage = PASSAGE.model_copy(update={
        "text": "Send your return to returns.example-shop.com/label. You can return most items within 30 days of "
        "delivery. Refunds reach your account within 5 business days of the item arriving.",
        "url": "https://help.acme.example/returns",
    })
    drafter = ReplyDrafter(ScriptedChatModel(["-"]), HashingEmbedder(), PromptLoader(),
                           ReplyConfig(generate=False, units_per_reply=1))
    turns = _turns(("customer", "Hi"), ("agent", "Hello!"), ("customer", "How long does the refund take to arrive?"))
    replies = drafter.draft(turns, [passage], message_seq=5, allowed_hosts=["help.acme.example"])
    assert replies and "5 business days" in replies[0].text  # answers what was asked
    assert "example-shop.com" not in replies[0].text  # a host off the allow-list is removed
    assert "https://help.acme.example/returns" in replies[0].text  # and it links its article
    assert safe_text("Card 4111 1111 1111 1111 on file.", [], None).count("4111") <= 1


def test_a_reply_in_another_language_is_marked_for_translation() -> None:
    drafter = ReplyDrafter(ScriptedChatModel(["-"]), HashingEmbedder(), PromptLoader(), ReplyConfig(generate=False))
    turns = _turns(("customer", "Wie lange habe ich Zeit, einen Artikel zurückzugeben? 30 days?"))
    replies = drafter.draft(turns, [PASSAGE], message_seq=6, language="de")
    assert replies and all(r.needs_translation and r.translate_to == "de" and r.language == "en" for r in replies)


def test_units_keep_table_rows_with_their_header_and_steps_whole() -> None:
    from copilot.units import units_of

    text = "Intro sentence here.\n\n| Plan | Price |\n|---|---|\n| Basic | 5 EUR |\n\n1. Open the app\n2. Tap **Pay**"
    units = units_of(text)
    assert [u.kind for u in units] == ["sentence", "row", "step", "step"]
    assert units[1].text == "Plan: Basic; Price: 5 EUR" and units[3].text == "Tap Pay"


def test_cross_language_ranking_fuses_with_the_ordinary_one() -> None:
    import numpy as np

    from copilot.crosslingual import CrossLingual
    from knowledge.documents import Chunk

    chunks = [Chunk("t", aid, 1, 0, title, "", body) for aid, title, body in (
        ("returns", "Returns", "Return items within 30 days."),
        ("password", "Reset your password", "Use the forgot password link."),
    )]

    class Encoder:
        name = "test"

        def query(self, texts: list[str]) -> np.ndarray:  # "Passwort" reads as password
            return np.array([[0.0, 1.0] if "Passwort" in t else [1.0, 0.0] for t in texts], dtype=np.float32)

        def passage(self, texts: list[str]) -> np.ndarray:
            return np.array([[0.0, 1.0] if "password" in t else [1.0, 0.0] for t in texts], dtype=np.float32)

    cross = CrossLingual(Encoder(), lambda tenant: chunks, lambda tenant: len(chunks))
    ordinary = [c.to_passage(0.0) for c in chunks]  # English search put returns first
    fused = cross.fuse("t", _turns(("customer", "Ich habe mein Passwort vergessen")), ordinary, 2)
    assert [p.article_id for p in fused] == ["password", "returns"]
    assert CrossLingual(None, lambda tenant: chunks, lambda tenant: 2).fuse("t", [], ordinary, 2) == ordinary


def test_cross_language_passages_are_embedded_again_when_the_kb_changes_with_the_same_chunk_count() -> None:
    """An edit that keeps the number of chunks (or a delete and reload) changes the KB
    generation, not the count: the cached passages must not outlive it."""
    import numpy as np

    from copilot.crosslingual import CrossLingual
    from knowledge.documents import Chunk

    kb = {"text": "Return items within 30 days.", "generation": 1}
    embedded: list[str] = []

    class Encoder:
        name = "test"

        def query(self, texts: list[str]) -> np.ndarray:
            return np.ones((len(texts), 2), dtype=np.float32)

        def passage(self, texts: list[str]) -> np.ndarray:
            embedded.extend(texts)
            return np.ones((len(texts), 2), dtype=np.float32)

    cross = CrossLingual(
        Encoder(),
        lambda tenant: [Chunk("t", "returns", 1, 0, "Returns", "", str(kb["text"]))],
        lambda tenant: 1,
        state=lambda tenant: kb["generation"],
    )
    assert "30 days" in cross.search("t", "Rückgabe", 1)[0].text
    assert cross.search("t", "Rückgabe", 1) and len(embedded) == 1  # kept
    kb.update(text="Return items within 14 days.", generation=2)
    assert "14 days" in cross.search("t", "Rückgabe", 1)[0].text and len(embedded) == 2


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
    from copilot.query import whole_conversation_query

    whole = whole_conversation_query(turns).lower()  # every turn, the agent's included, latest first
    assert whole.startswith("waterproof") and "ridge" in whole and "tent" in whole


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
