"""GET /api/keys: the public keys (JWKS) that verify receipts and export manifests; anonymous, see docs."""

from __future__ import annotations

import json

import azure.durable_functions as df
import azure.functions as func

from dsr.settings import Settings
from dsr.signing import published_keys

bp = df.Blueprint()


@bp.route(route="keys", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def public_keys(req: func.HttpRequest) -> func.HttpResponse:
    """The JWKS, current key first, retired keys after it (old receipts keep verifying)."""
    status, body, headers = published_keys(Settings.from_env())
    content_type = headers.pop("Content-Type")
    return func.HttpResponse(json.dumps(body), status_code=status, headers=headers, mimetype=content_type)
