"""Settings: embedded defaults that need nothing, production that refuses to start half-set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.config import PRODUCTION_SECRETS, ConfigError, load_settings

PRODUCTION_ENV = {
    "HOTLINE_ENV": "production",
    "TWILIO_AUTH_TOKEN": "token",
    "SECRET_KEY": "secret",
    "PIN_PEPPER": "pepper",
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
    assert first.database_url == f"sqlite:///{tmp_path / 'hotline.db'}"
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
    assert settings.is_production and settings.secret_key == "secret"


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


def test_gunicorn_entry_point_refuses_a_missing_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        env={**base, **env, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip() == "hotline: SECRET_KEY is not set; production needs it (see README)."
    )
