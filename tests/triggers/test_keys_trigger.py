"""GET /api/keys through its decorated function: anonymous, the JWKS of the configured signer, 503 when unusable."""

from __future__ import annotations

import json
from pathlib import Path

import azure.functions as func
import pytest

from tests.triggers.bindings import user_function
from triggers import keys


def test_the_route_is_get_api_keys_and_anonymous() -> None:
    bindings = json.loads(keys.public_keys.build().get_function_json())["bindings"]
    trigger = next(b for b in bindings if b["type"] == "httpTrigger")
    assert trigger["route"] == "keys" and trigger["methods"] == ["GET"] and trigger["authLevel"] == "ANONYMOUS"


def _get() -> func.HttpResponse:
    request = func.HttpRequest(method="GET", url="/api/keys", body=b"", headers={})
    return user_function(keys.public_keys)(request)


def test_it_serves_the_public_keys_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNING_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.delenv("SIGNING_KEY_VAULT_KEY_ID", raising=False)
    response = _get()
    assert response.status_code == 200 and response.mimetype == "application/jwk-set+json"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    body = json.loads(response.get_body())
    assert [set(k) for k in body["keys"]] == [{"kty", "crv", "x", "y", "kid", "alg", "use"}]  # no "d"
    assert (tmp_path / "keys" / f"{body['keys'][0]['kid']}.private.pem").is_file()


def test_an_unusable_key_is_a_503_problem_naming_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("SIGNING_KEY_DIR", str(blocker / "keys"))
    monkeypatch.delenv("SIGNING_KEY_VAULT_KEY_ID", raising=False)
    response = _get()
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "30"
    assert "SIGNING_KEY_DIR" in json.loads(response.get_body())["detail"]
