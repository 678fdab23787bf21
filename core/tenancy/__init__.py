"""Tenant configuration: the typed schema of one company's YAML file and its loader."""

from core.tenancy.actions import ActionParameter, ActionSpec
from core.tenancy.config import NextAction, QueueSpec, SensitiveTopic, TenantConfig
from core.tenancy.load import TenantConfigError, load_tenant_file, parse_tenant_config

__all__ = [
    "ActionParameter",
    "ActionSpec",
    "NextAction",
    "QueueSpec",
    "SensitiveTopic",
    "TenantConfig",
    "TenantConfigError",
    "load_tenant_file",
    "parse_tenant_config",
]
