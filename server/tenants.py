"""Onboarding a company: apply its configuration file, import its CRM export, delete it.

One implementation behind the ``switchboard tenant …`` / ``crm import`` commands and the
``/api/admin/tenants`` routes, so both behave the same (and both are audited).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete

from core.db.schema import AuditEntry, Base, Tenant, TenantScoped
from core.errors import InvalidInput, NotFound
from core.tenancy import TenantConfig, TenantConfigError, parse_tenant_config
from core.tenancy.convert import admin_to_config, looks_like_admin_layout
from core.tenancy.load import read_yaml
from core.tenancy.registry import ApplyResult, TenantRegistry
from knowledge.crm_records import RecordImporter, RecordImportReport, RecordResult, read_records
from knowledge.numbering import close_tenant
from server.container import Services

__all__ = ["TEMPLATE", "Onboarding", "read_config_data", "read_config_text"]


def read_config_text(text: str, source: str) -> tuple[TenantConfig, list[str]]:
    """Parse a configuration file's text (YAML or JSON); see ``read_config_data``."""
    return read_config_data(read_yaml(text, source), source)


def read_config_data(data: object, source: str) -> tuple[TenantConfig, list[str]]:
    """Validate a configuration (our layout, or an admin export's nested layout).

    Returns the config and the admin-layout fields that have no place in ours (reported,
    not dropped silently). Raises ``TenantConfigError`` naming the source and the field."""
    ignored: list[str] = []
    if looks_like_admin_layout(data):
        assert isinstance(data, dict)
        conversion = admin_to_config(data)
        if conversion.errors:
            raise TenantConfigError(source, conversion.errors)
        data, ignored = conversion.data, conversion.ignored
    return parse_tenant_config(data, source), ignored


@dataclass
class Onboarding:
    services: Services

    @property
    def registry(self) -> TenantRegistry:
        return TenantRegistry(self.services.store)

    def apply_file(self, path: Path, *, actor: str = "cli") -> tuple[ApplyResult, list[str]]:
        if not path.is_file():
            raise TenantConfigError(str(path), [("(file)", "no such file")])
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise TenantConfigError(str(path), [("(file)", "not UTF-8 text")]) from None
        config, ignored = read_config_text(text, str(path))
        self._check_nlu(config, path)
        return self.apply(config, source=path, actor=actor), ignored

    def apply(self, config: TenantConfig, *, source: Path | None = None, actor: str = "cli") -> ApplyResult:
        result = self.registry.apply(config, source=source, actor=actor)
        self.services.tenant_changed(config.id)
        return result

    @staticmethod
    def _check_nlu(config: TenantConfig, source: Path) -> None:
        nlu = config.resolve_path(config.nlu_file, source.parent)
        if nlu is not None and not nlu.is_file():
            raise TenantConfigError(str(source), [("nlu_file", f"{nlu} does not exist")])

    def import_crm(self, tenant_id: str, paths: list[Path], *, actor: str = "cli") -> list[RecordImportReport]:
        """Import CRM files into an existing tenant; a file that can't be read is one error
        report, the other files are still imported."""
        self.registry.get(tenant_id)  # NotFound for an unknown tenant
        reports = []
        for path in paths:
            try:
                records = read_records(path, max_bytes=self.services.settings.max_crm_file_bytes)
            except InvalidInput as exc:
                report = RecordImportReport(path.name)
                report.results.append(RecordResult(0, None, "error", str(exc)))
                reports.append(report)
                continue
            reports.append(self.import_records(tenant_id, records, path.name, actor=actor))
        return reports

    def import_records(self, tenant_id: str, records: list[Any], source: str, *, actor: str) -> RecordImportReport:
        report = RecordImporter(self.services.store, self.services.redactor).import_records(tenant_id, records, source)
        with self.services.store.session(tenant_id) as s:
            s.add(
                AuditEntry(
                    actor=actor,
                    action="crm.imported",
                    target=source[:200],
                    detail={"created": report.created, "updated": report.updated, "errors": len(report.errors)},
                )
            )
        return report

    def delete(self, tenant_id: str, *, actor: str = "cli") -> dict[str, int]:
        """Erase everything of the tenant: every tenant-owned row, its index, the tenant."""
        counts: dict[str, int] = {}
        with self.services.store.admin_session() as s:
            if s.get(Tenant, tenant_id) is None:
                raise NotFound(f"No tenant {tenant_id!r}")
            # Every worker drops the tenant's live versions, and a tenant created again with this
            # id numbers its articles above every number this one used (knowledge/numbering.py).
            close_tenant(s, tenant_id)
            # Children before parents (messages and handoffs reference conversations).
            for table in reversed(Base.metadata.sorted_tables):
                model = _model_for(table.name)
                if model is None or not issubclass(model, TenantScoped):
                    continue
                result = s.execute(delete(model).where(model.tenant_id == tenant_id))
                counts[table.name] = int(getattr(result, "rowcount", 0) or 0)
            s.execute(delete(Tenant).where(Tenant.id == tenant_id))
        self.services.index.delete_tenant(tenant_id)
        self.services.tenant_deleted(tenant_id)
        with self.services.store.admin_session() as s:
            # On record outside the erased tenant, as the erasure log does for customers.
            s.add(AuditEntry(tenant_id="_system", actor=actor, action="tenant.deleted", target=tenant_id,
                             detail={"counts": counts}))
        return counts


def _model_for(table_name: str) -> type[Any] | None:
    for mapper in Base.registry.mappers:
        if mapper.local_table is not None and getattr(mapper.local_table, "name", None) == table_name:
            return mapper.class_
    return None


TEMPLATE = """\
# Tenant configuration for {name} — apply with `switchboard tenant apply {slug}.yaml`.
# Every field is checked; an unknown field is an error. Lines starting with '#' are comments.
id: {slug}                       # a-z, 0-9, '-', '_'
name: {name}                     # used in greetings, refusals and prompts
display_name: {name} assistant   # what the widget calls the bot
timezone: UTC                    # IANA name, e.g. Europe/London
languages: [en]                  # ISO 639-1 codes the bot answers in
currency: USD                    # ISO 4217
business_hours:                  # a day left out is closed; 'closed' says so explicitly
  monday: "09:00-17:00"
  tuesday: "09:00-17:00"
  wednesday: "09:00-17:00"
  thursday: "09:00-17:00"
  friday: "09:00-17:00"
  saturday: closed
  sunday: closed
closed_dates: []                 # holidays, e.g. [2026-12-25]
scope: questions about your account and our services   # "I can help with …"
greeting: ""                     # first line in the widget; default "Hi! I'm the <display_name>."
phone_numbers: {{}}                # name: number, e.g. customer_service: "+1 555 0100"

queues:                          # handoff queues and the topics or intents that route there
  general:
    description: Everything else

sensitive_topics: []             # e.g. - {{key: fraud, examples: ["someone used my card"], queue: general}}

handoff:
  default_queue: general
  max_failed_attempts: 2         # unanswered questions before a person takes over

nlu_file: null                   # a Rasa nlu.yml next to this file, e.g. nlu.yml

copilot:
  suggest_articles: 5
  next_actions: []               # - {{key: issue_refund, description: "...", when: ["..."]}}

actions: []                      # self-service actions (see docs/bot.md)

analytics:
  reopen_window_hours: 72
  fcr_days: 7

widget_secret_env: {env}   # the environment variable that holds the widget secret
"""
