"""Load the demo shop (its tenant configuration, help center and CRM) into the store and
index. Idempotent: running it again embeds only articles whose content changed.

The demo is onboarded exactly as any company is (``demo/tenant.yaml``, ``demo/kb``,
``demo/crm``): nothing about it lives in product code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.tenancy import load_tenant_file
from knowledge.crm import CrmImportReport
from knowledge.kb import LoadReport
from server.container import Services
from server.tenants import Onboarding
from server.unit_vectors import warm_tenant

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"


@lru_cache(maxsize=4)
def _stored(path: Path) -> dict[str, Any]:
    return load_tenant_file(path).stored(path)


def demo_tenant_config(demo_dir: Path = DEMO_DIR) -> dict[str, Any]:
    """The demo tenant's stored configuration (what ``tenant apply demo/tenant.yaml`` stores)."""
    return dict(_stored((demo_dir / "tenant.yaml").resolve()))


@dataclass
class DemoReport:
    kb: LoadReport
    crm: CrmImportReport


def load_demo(services: Services, demo_dir: Path | None = None, tenant: str | None = None) -> DemoReport:
    folder = demo_dir or services.settings.demo_dir
    config = load_tenant_file(folder / "tenant.yaml")
    if tenant and tenant != config.id:
        config = config.model_copy(update={"id": tenant})
    Onboarding(services).apply(config, source=folder / "tenant.yaml", actor="demo")
    kb = services.kb.load_folder(config.id, folder / "kb")
    warm_tenant(services, config.id)  # answer-unit vectors at index time (server/unit_vectors.py)
    crm = services.crm.import_folder(config.id, folder / "crm")
    return DemoReport(kb=kb, crm=crm)
