"""Answer-unit vectors are computed at index time, once, and read by every later process."""

from __future__ import annotations

from pathlib import Path

from core.models.fake import CountingEmbedder, HashingEmbedder, ScriptedChatModel
from knowledge.documents import Document
from server.auth import Principal, Role
from server.container import Services
from server.demo import load_demo
from server.service import ConversationService
from server.unit_vectors import UnitVectorWarmer, unit_texts
from tests.conftest import OPEN_HOURS, TENANT, make_settings, quote_first_source


def _services(data_dir: Path, embedder: HashingEmbedder) -> Services:
    settings = make_settings(data_dir, unit_vectors_check_s=0)
    return Services(
        settings,
        chat_override=ScriptedChatModel(quote_first_source),
        embedder_override=embedder,
        clock_override=lambda: OPEN_HOURS,
    )


def test_a_new_process_composes_answers_without_embedding_a_kb_unit(tmp_path: Path) -> None:
    loader = _services(tmp_path, HashingEmbedder())
    load_demo(loader)  # index time: the demo's answer units are embedded and stored
    loader.close()

    inner = CountingEmbedder()
    server = _services(tmp_path, inner)  # a restart, or a second worker on the same data dir
    try:
        _, units = unit_texts(server, TENANT)
        principal = Principal(Role.customer, TENANT, "cus_001", visitor_id="v1")
        conversations = ConversationService(server)
        conv = conversations.start(principal)
        result = conversations.post_customer_message(principal, conv.id, "How long do I have to return an item?")
        assert result.replies and result.replies[0].citations  # answered from the help center
        assert server.kb_embedder.from_file > 0
        assert not set(inner.texts) & set(units)  # no KB unit was embedded during the turn
    finally:
        server.close()


def test_the_warmer_embeds_a_kb_change_once(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    services = _services(tmp_path, inner)
    try:
        load_demo(services)
        warmer = UnitVectorWarmer(services, interval_s=60)
        assert [r.computed for r in warmer.check()] == [0]  # load_demo warmed it already
        assert warmer.check() == []  # no KB change: nothing to do

        services.kb.load_documents(
            TENANT, [Document(id="gift-wrap", title="Gift wrapping", body="We wrap gifts for free at checkout.")]
        )
        reports = warmer.check()
        assert len(reports) == 1 and 0 < reports[0].computed <= 2  # only the new article's units
        before = len(inner.texts)
        assert [r.computed for r in UnitVectorWarmer(services, 60).check()] == [0]  # another worker: stored
        assert len(inner.texts) == before
    finally:
        services.close()
