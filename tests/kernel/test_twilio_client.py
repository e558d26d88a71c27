"""The Twilio REST client reads the environment's proxy and CA settings once, when built."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.config import load_settings
from kernel.twilio_client import rest_client


def test_a_proxy_in_the_environment_is_still_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.test:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "bundle.pem"))
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    settings = load_settings(
        {"HOTLINE_DATA_DIR": str(tmp_path), "TWILIO_API_BASE_URL": "https://api.twilio.com"}
    )
    http = rest_client(settings).http_client
    # Read once here: each request no longer walks the environment (it cost CPU per call).
    assert http.session.trust_env is False  # type: ignore[attr-defined]
    assert http.proxy == {"https": "http://proxy.example.test:3128"}  # type: ignore[attr-defined]
    assert http.session.verify == str(tmp_path / "bundle.pem")  # type: ignore[attr-defined]
