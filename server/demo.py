"""Load the demo shop (help center + CRM) into the store and index. Idempotent: running it
again embeds only articles whose content changed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from knowledge.crm import CrmImportReport
from knowledge.kb import LoadReport
from server.container import Services

DEMO_TENANT_CONFIG = {
    "name": "Larkspur",
    "timezone": "Europe/Berlin",
    "business_hours": {
        "mon": ["08:00", "20:00"],
        "tue": ["08:00", "20:00"],
        "wed": ["08:00", "20:00"],
        "thu": ["08:00", "20:00"],
        "fri": ["08:00", "20:00"],
        "sat": ["09:00", "17:00"],
    },
    "languages": ["en"],
    "site_secret": "larkspur-demo-site-secret",
}


@dataclass
class DemoReport:
    kb: LoadReport
    crm: CrmImportReport


def load_demo(services: Services, demo_dir: Path | None = None, tenant: str | None = None) -> DemoReport:
    folder = demo_dir or services.settings.demo_dir
    tenant_id = tenant or services.settings.default_tenant
    services.store.ensure_tenant(tenant_id, "Larkspur", DEMO_TENANT_CONFIG)
    kb = services.kb.load_folder(tenant_id, folder / "kb")
    crm = services.crm.import_folder(tenant_id, folder / "crm")
    return DemoReport(kb=kb, crm=crm)
