from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from core.db.schema import Conversation
from core.db.store import Store
from knowledge.crm import CrmImporter


def test_two_tenants_can_import_the_same_crm_conversation_ids(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'crm.db'}")
    store.create_all()
    folder = tmp_path / "crm"
    folder.mkdir()
    (folder / "conversations.json").write_text(
        json.dumps([{"id": "conv_past_001", "customer_id": "cus_1", "messages": [{"role": "customer", "text": "hi"}]}])
    )
    importer = CrmImporter(store)
    for tenant in ("a", "b", "a"):  # importing twice into "a" changes nothing
        importer.import_folder(tenant, folder)
    for tenant in ("a", "b"):
        with store.session(tenant) as s:
            rows = list(s.scalars(select(Conversation)))
            assert [r.memory["crm_id"] for r in rows] == ["conv_past_001"]
            assert [m.text for m in rows[0].messages] == ["hi"]
