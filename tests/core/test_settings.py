from __future__ import annotations

import pytest

from core.errors import ConfigurationError
from core.settings import Settings


def test_environment_overrides_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_CHAT_BACKEND", "openai")
    monkeypatch.setenv("SWITCHBOARD_TOP_K", "7")
    s = Settings()
    assert s.chat_backend == "openai"
    assert s.top_k == 7


def test_placeholder_secret_refused_in_production() -> None:
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        Settings(environment="production")


def test_dev_api_keys_refused_in_production() -> None:
    with pytest.raises(ConfigurationError, match="API keys"):
        Settings(environment="production", secret_key="x" * 40)


def test_describe_masks_secrets() -> None:
    s = Settings(openai_api_key="sk-very-secret", secret_key="another-secret")
    described = s.describe()
    assert described["openai_api_key"] == "***"
    assert described["api_keys"] == "***"
    assert "sk-very-secret" not in repr(described)
    assert "sk-very-secret" not in repr(s)
