"""Password hashes: strong wherever the service really runs, the same checks everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel import passwords
from kernel.config import load_settings


@pytest.fixture
def method_restored() -> Iterator[None]:
    """Puts back the process's work factor a test changed."""
    before = passwords._method
    yield
    passwords.use_method(before)


@pytest.mark.parametrize("mode", ["development", "production"])
def test_a_real_service_hashes_with_the_strong_work_factor(mode: str, tmp_path: Path) -> None:
    env = {"HOTLINE_ENV": mode, "HOTLINE_DATA_DIR": str(tmp_path / "var")}
    if mode == "production":
        env.update(
            SECRET_KEY="k" * 40,
            PIN_PEPPER="p" * 40,
            TWILIO_ACCOUNT_SID="AC" + "0" * 32,
            TWILIO_AUTH_TOKEN="t" * 32,
            REDIS_URL="redis://127.0.0.1:6379/0",
            DATABASE_URL="sqlite:///x.db",
            PUBLIC_BASE_URL="https://hotline.example.com",
        )
    settings = load_settings(env)
    assert settings.password_hash_method == passwords.STRONG == "scrypt:32768:8:1"


def test_a_password_hashed_strongly_still_signs_in_where_tests_hash_fast(
    method_restored: None,
) -> None:
    passwords.use_method(passwords.STRONG)
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith("scrypt:32768:8:1$")
    passwords.use_method(passwords.FAST_FOR_TESTS)
    assert passwords.password_matches(stored, "correct horse battery")
    assert not passwords.password_matches(stored, "correct horse batterY")
    assert passwords.hash_password("x" * 12).startswith("scrypt:1024:8:1$")


def test_no_stored_hash_never_matches_even_the_dummys_password(method_restored: None) -> None:
    assert not passwords.password_matches(None, "not anyone's password")
    assert not passwords.password_matches("", "")
