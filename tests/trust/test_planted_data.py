"""Planted data: messages, an agent reply, a KB upload and CRM rows carrying valid card
numbers and CVVs. Afterwards there are zero occurrences in the database, the vector
index, the logs and every prompt sent to the model."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.models.fake import ScriptedChatModel
from knowledge.documents import Document
from server.container import Services
from tests.conftest import AGENT, TENANT, customer_headers

CARDS = ["4111111111111111", "5555555555554444", "378282246310005", "4012888888881881"]
CVVS = ["846", "9173", "552", "318"]


def _card_pattern(digits: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\d)" + r"[ .-]?".join(digits) + r"(?!\d)")


_CARD_RX = [_card_pattern(c) for c in CARDS]
_CVV_RX = re.compile(
    r"(?i)(?:cvv2?|cvc|security code|code on the back|\*{4}\d{4}\])\W{0,20}(?:" + "|".join(CVVS) + r")(?!\d)"
)


def leaks(text: str) -> list[str]:
    found = [m.group() for rx in _CARD_RX for m in rx.finditer(text)]
    found += [m.group() for m in _CVV_RX.finditer(text)]
    return found


def _crm_folder(tmp: Path) -> Path:
    folder = tmp / "crm"
    folder.mkdir()
    (folder / "notes.json").write_text(
        json.dumps(
            [
                {
                    "id": "note_pci",
                    "customer_id": "cus_001",
                    "author": "Mara",
                    "text": "Customer read out card 5555 5555 5555 4444 and CVC 552 on the phone; told her not to.",
                }
            ]
        )
    )
    (folder / "tickets.json").write_text(
        json.dumps(
            [
                {
                    "id": "TCK-PCI",
                    "customer_id": "cus_001",
                    "subject": "Payment with 378282246310005",
                    "summary": "Paid with amex 3782 822463 10005, security code 9173.",
                }
            ]
        )
    )
    (folder / "conversations.json").write_text(
        json.dumps(
            [
                {
                    "id": "conv_pci",
                    "customer_id": "cus_001",
                    "messages": [{"role": "customer", "text": "my card is 4012888888881881 318, please charge it"}],
                }
            ]
        )
    )
    return folder


def test_planted_card_data_never_reaches_storage_index_logs_or_model(
    client: TestClient,
    demo_services: Services,
    chat: ScriptedChatModel,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    services = demo_services
    # 1. a KB upload and CRM rows with card data
    report = services.kb.load_documents(
        TENANT,
        [
            Document(
                id="paying-by-card",
                title="Paying by card",
                body="## Paying by card\n\nWe accept Visa and Mastercard. For a test payment use "
                "4111 1111 1111 1111 with cvv 846. Your card is charged when the order ships.",
                url="https://help.larkspur.example/articles/paying-by-card",
            )
        ],
    )
    assert report.ok, report.errors
    services.crm.import_folder(TENANT, _crm_folder(tmp_path))
    # 2. customer messages with card data, one that retrieves the planted article
    conv = client.post("/api/conversations", json={}, headers=customer_headers()).json()["id"]
    for text in [
        "When is my card 4111-1111-1111-1111 charged? The cvv is 846.",
        "Can I pay by card? My card number is 5555555555554444 and the security code is 552.",
    ]:
        r = client.post(f"/api/conversations/{conv}/messages", json={"text": text}, headers=customer_headers())
        assert r.status_code == 200, r.text
    # 3. an agent reply with card data
    r = client.post(
        f"/api/agent/conversations/{conv}/messages",
        json={"text": "I see card 4111 1111 1111 1111 with CVV 846 on file."},
        headers=AGENT,
    )
    assert r.status_code == 200, r.text
    assert "[CARD ****1111]" in r.json()["text"]  # the agent sees the masked value
    transcript = client.get(f"/api/agent/conversations/{conv}", headers=AGENT).json()
    assert any("[CARD ****4444]" in m["text"] for m in transcript["messages"])

    # -- zero occurrences ---------------------------------------------------------------
    db_file = Path(services.settings.resolved_database_url.split("///", 1)[1])
    with sqlite3.connect(db_file) as con:
        dump = "\n".join(con.iterdump())
    assert "Paying by card" in dump and "note_pci" in dump  # the rows are there ...
    assert leaks(dump) == []  # ... without the card data
    chunks = services.index.chunks(TENANT)
    assert any(c.article_id == "paying-by-card" for c in chunks)
    assert leaks("\n".join(c.text for c in chunks)) == []
    assert chat.prompts, "the model was asked"
    assert any("Paying by card" in p for p in chat.prompts)  # the planted article reached the prompt ...
    assert leaks("\n".join(chat.prompts)) == []  # ... masked
    assert leaks(caplog.text) == []
