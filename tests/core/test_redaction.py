"""One helper masks the secrets of a URL wherever Nuvom shows one."""

from __future__ import annotations

import pytest

from nuvom.config import PluginSettings, SecretUrl, Settings, setting_sources
from nuvom.errors import ConfigError
from nuvom.redaction import redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://app:s3cret@10.1.2.3:6380/2", "redis://app:***@10.1.2.3:6380/2"),
        ("rediss://:s3cret@cache.example/0", "rediss://:***@cache.example/0"),
        ("redis://u:p@ss@[::1]:5/0", "redis://u:***@[::1]:5/0"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://h:1/0?password=s3cret&db=1", "redis://h:1/0?password=***&db=1"),
        (
            "redis://h/0?db=1&Sentinel_Password=a;token=b#top",
            "redis://h/0?db=1&Sentinel_Password=***;token=***#top",
        ),
        ("unix:///run/redis.sock?db=2&client_secret=x", "unix:///run/redis.sock?db=2&client_secret=***"),
        ("redis://[::1:s3cret", "redis://***"),
    ],
)
def test_passwords_and_secret_parameters_are_masked_and_the_rest_kept(url: str, shown: str) -> None:
    assert redact_url(url) == shown


class _StoreSettings(PluginSettings):
    """A plugin's settings with a secret URL, as a plugin author declares one."""

    store_url: SecretUrl = "redis://127.0.0.1:6379/0"


def test_a_secret_url_setting_is_masked_in_the_rows_and_the_json_dump() -> None:
    settings = _StoreSettings(store_url="redis://app:s3cret@h:1/0?password=s3cret")

    rows = {variable: value for variable, value, _ in setting_sources(settings)}

    assert rows["NUVOM_STORE_URL"] == "redis://app:***@h:1/0?password=***"
    assert "s3cret" not in settings.model_dump_json()
    assert settings.store_url.endswith("?password=s3cret"), "the value itself is kept for the client"


def test_a_bad_value_is_masked_in_its_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUVOM_LOG_LEVEL", "redis://app:s3cret@h/0")

    with pytest.raises(ConfigError) as caught:
        Settings.load()

    assert "s3cret" not in str(caught.value) and caught.value.variable == "NUVOM_LOG_LEVEL"
