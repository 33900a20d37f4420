"""Settings come from POSTUREBRIDGE_* variables, flags win, and bad values fail with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from posturebridge.cli.common import load_settings
from posturebridge.common.errors import StartupError
from posturebridge.common.settings import Settings


def test_defaults_are_the_embedded_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.host == "127.0.0.1"
    assert (settings.directory_port, settings.mdm_port, settings.partner_port) == (8400, 8401, 8402)
    assert settings.data_dir == tmp_path / ".posturebridge"
    assert settings.database_url("mdm") == f"sqlite:///{tmp_path / '.posturebridge' / 'mdm.db'}"
    assert settings.url("directory") == "https://127.0.0.1:8400"
    assert settings.url("partner") == "http://127.0.0.1:8402"


def test_environment_is_read_with_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTUREBRIDGE_MDM_PORT", "9401")
    monkeypatch.setenv("POSTUREBRIDGE_PARTNER_DATABASE_URL", "postgresql+psycopg://db/partner")
    settings = Settings()
    assert settings.mdm_port == 9401
    assert settings.database_url("partner") == "postgresql+psycopg://db/partner"


def test_flags_take_precedence_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTUREBRIDGE_MDM_PORT", "9401")
    assert load_settings(mdm_port=9501, host=None).mdm_port == 9501


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"mdm_port": 70000}, "invalid setting mdm_port: Input should be less than or equal to 65535"),
        ({"directory_port": 0}, "invalid setting directory_port: Input should be greater than or equal to 1"),
        ({"host": ""}, "invalid setting host: String should have at least 1 character"),
    ],
)
def test_invalid_settings_fail_with_one_line(flags: dict[str, object], message: str) -> None:
    with pytest.raises(StartupError, match=message):
        load_settings(**flags)


def test_ipv6_hosts_are_bracketed_in_urls() -> None:
    assert Settings(host="::1").url("mdm") == "http://[::1]:8401"
