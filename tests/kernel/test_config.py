"""Settings: embedded defaults that need nothing, production that refuses to start half-set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.config import KEYS_NEEDING_LENGTH, PRODUCTION_SECRETS, ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "HOTLINE_ENV": "production",
    "TWILIO_AUTH_TOKEN": "token",
    "SECRET_KEY": "s" * 32,
    "PIN_PEPPER": "p" * 32,
    "PUBLIC_BASE_URL": "https://hotline.example.com",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def test_embedded_default_makes_and_keeps_its_own_secrets(tmp_path: Path) -> None:
    env = {"HOTLINE_DATA_DIR": str(tmp_path)}
    first = load_settings(env)
    second = load_settings(env)
    assert first.secret_key and first.pin_pepper and first.twilio_auth_token
    assert (first.secret_key, first.pin_pepper) == (second.secret_key, second.pin_pepper)
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert first.database_url == f"sqlite:///{tmp_path / 'kernel.db'}"
    assert first.public_base_url == "http://localhost:8000"


def test_environment_overrides_the_embedded_secrets(tmp_path: Path) -> None:
    settings = load_settings({"HOTLINE_DATA_DIR": str(tmp_path), "PIN_PEPPER": "from-env"})
    assert settings.pin_pepper == "from-env"


@pytest.mark.parametrize("missing", PRODUCTION_SECRETS)
def test_production_names_the_missing_secret(missing: str) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    with pytest.raises(ConfigError, match=f"^{missing} is not set"):
        load_settings(env)


def test_production_with_every_secret_starts() -> None:
    settings = load_settings(PRODUCTION_ENV)
    assert settings.is_production and settings.secret_key == "s" * 32


@pytest.mark.parametrize(
    ("name", "value"), [("PIN_LENGTH", "5"), ("PIN_LENGTH", "eight"), ("PORT", "0")]
)
def test_bad_number_names_the_setting(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name} must be a whole number"):
        load_settings({"HOTLINE_DATA_DIR": str(tmp_path), name: value})


def _run_hotline(
    args: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return subprocess.run(
        [sys.executable, "-m", "hotline", *args],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_start_with_missing_secret_prints_one_line_and_fails(tmp_path: Path) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "PIN_PEPPER"}
    result = _run_hotline(["worker", "--burst"], env, tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == ["Error: PIN_PEPPER is not set; production needs it (see README)."]


def _import_wsgi(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        env={**base, **env, "PYTHONPATH": str(ROOT)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_gunicorn_entry_point_refuses_a_missing_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _import_wsgi(env, tmp_path)
    assert result.returncode == 1
    assert (
        result.stderr.strip() == "hotline: SECRET_KEY is not set; production needs it (see README)."
    )


@pytest.mark.parametrize("name", KEYS_NEEDING_LENGTH)
@pytest.mark.parametrize("value", ["x", "x" * 31, " " * 5 + "x" * 30 + " " * 5])
def test_production_refuses_a_short_key(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name} is shorter than 32 characters"):
        load_settings({**PRODUCTION_ENV, name: value})


def test_short_keys_are_fine_outside_production(tmp_path: Path) -> None:
    settings = load_settings({"HOTLINE_DATA_DIR": str(tmp_path), "SECRET_KEY": "x"})
    assert settings.secret_key == "x"


def test_production_start_with_a_short_pepper_prints_one_line_and_fails(tmp_path: Path) -> None:
    result = _run_hotline(["worker", "--burst"], {**PRODUCTION_ENV, "PIN_PEPPER": "1"}, tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: PIN_PEPPER is shorter than 32 characters; production needs a long random value "
        "(see README)."
    ]


def test_gunicorn_entry_point_refuses_a_short_secret_key(tmp_path: Path) -> None:
    result = _import_wsgi({**PRODUCTION_ENV, "SECRET_KEY": "change-me"}, tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "hotline: SECRET_KEY is shorter than 32 characters; production needs a long random "
        "value (see README)."
    )


@pytest.mark.parametrize(
    ("base_url", "warnings"),
    [("http://hotline.example.com", 1), ("https://hotline.example.com", 0)],
)
def test_production_warns_once_about_a_plain_http_public_url(
    tmp_path: Path, database_url: str, redis_url: str, base_url: str, warnings: int
) -> None:
    env = {
        **PRODUCTION_ENV,
        "PUBLIC_BASE_URL": base_url,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
    }
    result = _import_wsgi(env, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "PUBLIC_BASE_URL" in line]
    assert len(lines) == warnings
    if warnings:
        assert "WARNING" in lines[0] and "http://hotline.example.com" in lines[0]


def test_max_content_length_defaults_to_one_megabyte(tmp_path: Path) -> None:
    assert load_settings({"HOTLINE_DATA_DIR": str(tmp_path)}).max_content_length == 1024 * 1024
    custom = load_settings({"HOTLINE_DATA_DIR": str(tmp_path), "MAX_CONTENT_LENGTH": "65536"})
    assert custom.max_content_length == 65536


def test_severity_targets_default_and_override_per_severity(tmp_path: Path) -> None:
    default = load_settings({"HOTLINE_DATA_DIR": str(tmp_path)})
    assert [default.target_minutes(s) for s in (2, 3, 4)] == [240, 1440, 4320]
    settings = load_settings(
        {"HOTLINE_DATA_DIR": str(tmp_path), "SEVERITY_TARGET_MINUTES": " 2=60 , 4=10080"}
    )
    # Severities not named keep their defaults.
    assert [settings.target_minutes(s) for s in (2, 3, 4)] == [60, 1440, 10080]


@pytest.mark.parametrize("value", ["2=0", "5=30", "2=abc", "2:240", "2=999999"])
def test_bad_severity_targets_name_the_setting(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r"^SEVERITY_TARGET_MINUTES must be severity=minutes"):
        load_settings({"HOTLINE_DATA_DIR": str(tmp_path), "SEVERITY_TARGET_MINUTES": value})
