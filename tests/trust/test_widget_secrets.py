"""Widget secrets by reference (environment variable or file), refused in production when
missing, literal, short or published; a previous secret accepted during the rotation
overlap only; in development a per-tenant secret derived from SWITCHBOARD_SECRET_KEY."""

from __future__ import annotations

import secrets as random
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.errors import ConfigurationError, Forbidden
from core.models.fake import HashingEmbedder, ScriptedChatModel
from core.settings import Settings
from server.app import create_app
from server.auth import sign_widget_token, verify_widget_token
from server.container import Services
from server.secrets import MIN_SECRET_BYTES, WidgetSecrets, derived_secret, resolve_widget_secrets
from tests.conftest import make_settings

OLD_DEMO_SECRET = "larkspur-demo-site-secret"  # what data directories made by the old demo loader hold
STRONG = random.token_urlsafe(48)
PROD_KEY = "prod-agent-" + random.token_hex(16)


def production_settings(data_dir: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        environment="production",
        data_dir=data_dir,
        chat_backend="fake",
        embedder_backend="fake",
        secret_key=random.token_urlsafe(48),
        api_keys={PROD_KEY: "acme:agent"},
    )


def _services(settings: Settings, tenants: dict[str, dict[str, object]]) -> Services:
    svc = Services(
        settings, chat_override=ScriptedChatModel(lambda p: "I don't know."), embedder_override=HashingEmbedder()
    )
    for tenant_id, config in tenants.items():
        svc.store.ensure_tenant(tenant_id, tenant_id.title(), config)
    return svc


@pytest.fixture
def prod_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


@pytest.mark.parametrize(
    ("env_value", "config", "says"),
    [
        (None, {"site_secret": OLD_DEMO_SECRET}, "literal site_secret"),
        (None, {"widget_secret_env": "ACME_WIDGET_SECRET"}, "set the environment variable ACME_WIDGET_SECRET"),
        (None, {}, "has no widget secret"),
        (OLD_DEMO_SECRET, {"widget_secret_env": "ACME_WIDGET_SECRET"}, "published"),
        ("eval-site-secret", {"widget_secret_env": "ACME_WIDGET_SECRET"}, "published"),
        ("change-me", {"widget_secret_env": "ACME_WIDGET_SECRET"}, "published"),
        ("short-but-random-7f3a9c", {"widget_secret_env": "ACME_WIDGET_SECRET"}, f"least {MIN_SECRET_BYTES} bytes"),
    ],
    ids=["old-demo-literal", "env-unset", "nothing", "demo-secret-in-env", "eval-secret", "placeholder", "short"],
)
def test_production_refuses_to_start(
    prod_dir: Path, monkeypatch: pytest.MonkeyPatch, env_value: str | None, config: dict[str, object], says: str
) -> None:
    if env_value is None:
        monkeypatch.delenv("ACME_WIDGET_SECRET", raising=False)
    else:
        monkeypatch.setenv("ACME_WIDGET_SECRET", env_value)
    svc = _services(production_settings(prod_dir), {"acme": config})
    try:
        with pytest.raises(ConfigurationError, match="not production-ready") as refused:
            create_app(services=svc)
        assert says in str(refused.value) and "'acme'" in str(refused.value)
        if env_value:
            assert env_value not in str(refused.value)  # the message never prints the secret
    finally:
        svc.close()


def test_production_serves_with_a_strong_secret_from_a_variable_or_a_file(
    prod_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_WIDGET_SECRET", STRONG)
    secret_file = prod_dir / "beta.secret"
    beta_secret = random.token_urlsafe(40)
    secret_file.write_text(beta_secret + "\n")
    svc = _services(
        production_settings(prod_dir),
        {"acme": {"widget_secret_env": "ACME_WIDGET_SECRET"}, "beta": {"widget_secret_file": str(secret_file)}},
    )
    try:
        client = TestClient(create_app(services=svc))
        good = sign_widget_token(STRONG, "acme", "cus_001")
        assert (
            client.post("/api/conversations", json={}, headers={"Authorization": f"Bearer {good}"}).status_code == 201
        )
        from_file = sign_widget_token(beta_secret, "beta", "cus_001")
        r = client.post("/api/conversations", json={}, headers={"Authorization": f"Bearer {from_file}"})
        assert r.status_code == 201
        forged = sign_widget_token(OLD_DEMO_SECRET, "acme", "cus_001")  # the forgery of the issue
        r = client.post("/api/conversations", json={}, headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 403
        dev_derived = sign_widget_token(derived_secret(make_settings(prod_dir), "acme"), "acme", "cus_001")
        r = client.post("/api/conversations", json={}, headers={"Authorization": f"Bearer {dev_derived}"})
        assert r.status_code == 403
    finally:
        svc.close()


def test_a_tenant_added_after_start_is_refused_at_first_use(
    prod_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ACME_WIDGET_SECRET", STRONG)
    svc = _services(production_settings(prod_dir), {"acme": {"widget_secret_env": "ACME_WIDGET_SECRET"}})
    try:
        client = TestClient(create_app(services=svc))
        monkeypatch.setenv("LATE_WIDGET_SECRET", "too-short")
        svc.store.ensure_tenant("late", "Late", {"widget_secret_env": "LATE_WIDGET_SECRET"})
        token = sign_widget_token("too-short", "late", "cus_001")
        r = client.post("/api/conversations", json={}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 403 and "not configured" in r.json()["error"]
        assert "too-short" not in r.text
        assert any("'late'" in rec.getMessage() and "bytes" in rec.getMessage() for rec in caplog.records)
    finally:
        svc.close()


def test_rotation_accepts_the_previous_secret_during_the_overlap_only(monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = random.token_urlsafe(48), random.token_urlsafe(48)
    monkeypatch.setenv("ACME_WIDGET_SECRET", new)
    monkeypatch.setenv("ACME_WIDGET_SECRET_OLD", old)
    config = {
        "widget_secret_env": "ACME_WIDGET_SECRET",
        "widget_secret_previous_env": "ACME_WIDGET_SECRET_OLD",
        "widget_secret_overlap_hours": 2,
    }
    now = [1_800_000_000.0]
    secrets = WidgetSecrets(production_settings(Path("/nonexistent")), clock=lambda: now[0])
    assert secrets.signing("acme", config) == new  # only the current secret signs
    old_token = sign_widget_token(old, "acme", "cus_001", ttl_s=4 * 3600, now=now[0])
    new_token = sign_widget_token(new, "acme", "cus_001", now=now[0])
    assert verify_widget_token(old_token, secrets.verifying("acme", config), now=now[0]).tenant_id == "acme"
    now[0] += 1.5 * 3600  # still within the 2 h overlap
    assert verify_widget_token(old_token, secrets.verifying("acme", config), now=now[0]).customer_id == "cus_001"
    now[0] += 1 * 3600  # 2.5 h after the rotation: the old secret is refused
    later_old = sign_widget_token(old, "acme", "cus_001", now=now[0])
    with pytest.raises(Forbidden, match="signature"):
        verify_widget_token(later_old, secrets.verifying("acme", config), now=now[0])
    fresh = sign_widget_token(new, "acme", "c2", now=now[0])
    assert verify_widget_token(fresh, secrets.verifying("acme", config), now=now[0]).customer_id == "c2"
    assert verify_widget_token(new_token, secrets.verifying("acme", config), now=now[0] - 2.5 * 3600)


def test_development_derives_a_per_tenant_secret_from_the_secret_key(tmp_path: Path) -> None:
    one = make_settings(tmp_path, secret_key="first-process-secret-key-0123456789")
    two = make_settings(tmp_path, secret_key="second-process-secret-key-987654321")
    a1 = resolve_widget_secrets(one, "acme", {})
    assert "SWITCHBOARD_SECRET_KEY" in a1.source
    assert a1.current == derived_secret(one, "acme") != derived_secret(one, "beta")
    assert a1.current != resolve_widget_secrets(two, "acme", {}).current  # the key really signs
    assert len(a1.current) >= MIN_SECRET_BYTES
    # the tests' and the old demo's literal site_secret keeps working outside production
    assert resolve_widget_secrets(one, "acme", {"site_secret": "legacy"}).current == "legacy"
    assert "legacy" not in repr(resolve_widget_secrets(one, "acme", {"site_secret": "legacy"}))


def test_an_unreadable_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="widget_secret_file .* cannot be read"):
        resolve_widget_secrets(make_settings(tmp_path), "acme", {"widget_secret_file": str(tmp_path / "missing")})
