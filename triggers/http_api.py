"""The HTTP API (DESIGN.md §3): submit, look up and cancel requests, and this API's OpenAPI document."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import azure.durable_functions as df
import azure.functions as func

from dsr import cancellation, intake
from dsr.delete.receipt_store import read_receipt, receipts_container
from dsr.request import new_request_id, openapi_document
from dsr.settings import Settings
from dsr.storage import export_container
from triggers.orchestrations import DurableOrchestrations

bp = df.Blueprint(http_auth_level=func.AuthLevel.FUNCTION)


@bp.route(route="requests", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def submit_request(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """POST /api/requests: 202 with `{"id", "statusUri"}` and Location; 400/409/413/415 problem+json."""
    reply = await intake.submit(
        req.get_body(),
        orchestrations=DurableOrchestrations(client),
        settings=Settings.from_env(),
        now=datetime.now(UTC),
        new_id=new_request_id,
        status_uri=status_uri_for(req.url),
        content_type=req.headers.get("content-type"),
    )
    return http_response(reply)


@bp.route(route="requests/{id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def get_request(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """GET /api/requests/{id}: status, progress, due date, result."""
    settings = Settings.from_env()
    reply = await intake.lookup(
        req.route_params.get("id", ""),
        orchestrations=DurableOrchestrations(client),
        settings=settings,
        now=datetime.now(UTC),
        read_receipt=lambda request_id: read_receipt(receipts_container(settings), request_id),
    )
    return http_response(reply)


@bp.route(route="requests/{id}", methods=["DELETE"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def cancel_request(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """DELETE /api/requests/{id}: cancel a running request (a delete through its cancellation marker)."""
    reply = await intake.cancel(req.route_params.get("id", ""), orchestrations=DurableOrchestrations(client),
                                cancellations=BlobCancellations(Settings.from_env()))
    return http_response(reply)


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def openapi_spec(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/openapi.json: the OpenAPI 3.1 document the validator's schema lives in."""
    return http_response(intake.Reply(200, body=openapi_document()))


def http_response(reply: intake.Reply) -> func.HttpResponse:
    """The plain reply as an HttpResponse."""
    body = json.dumps(reply.body) if reply.body is not None else None
    return func.HttpResponse(body, status_code=reply.status, headers=dict(reply.headers), mimetype=reply.content_type)


def status_uri_for(post_url: str) -> intake.StatusUri:
    """`{POST URL}/{id}`: the request's GET /api/requests/{id} on the same host and route prefix."""
    parts = urlsplit(post_url)
    base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    return lambda request_id: f"{base}/{quote(request_id, safe='')}"


class BlobCancellations:
    """The intake's Cancellations port over the marker blob in the export container."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def request(self, request_id: str) -> bool:
        container = export_container(self._settings)
        return cancellation.request_cancel(container, request_id, now=datetime.now(UTC))
