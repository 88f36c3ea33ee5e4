"""The HTTP API (DESIGN.md §3): submit, look up and cancel requests, and this API's OpenAPI document."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from dsr import intake
from dsr.request import new_request_id, openapi_document
from dsr.settings import Settings
from triggers.orchestrations import DurableOrchestrations

bp = df.Blueprint(http_auth_level=func.AuthLevel.FUNCTION)


@bp.route(route="requests", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def submit_request(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """POST /api/requests: 202 with the check-status payload; 400/409/413 problem+json."""
    reply = await intake.submit(
        req.get_body(),
        orchestrations=DurableOrchestrations(client),
        settings=Settings.from_env(),
        now=datetime.now(UTC),
        new_id=new_request_id,
        content_type=req.headers.get("content-type"),
    )
    return http_response(reply, req, client)


@bp.route(route="requests/{id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def get_request(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """GET /api/requests/{id}: status, progress, due date, result."""
    reply = await intake.lookup(
        req.route_params.get("id", ""),
        orchestrations=DurableOrchestrations(client),
        settings=Settings.from_env(),
        now=datetime.now(UTC),
    )
    return http_response(reply, req, client)


@bp.route(route="requests/{id}", methods=["DELETE"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def cancel_request(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """DELETE /api/requests/{id}: cancel a running request."""
    reply = await intake.cancel(req.route_params.get("id", ""), orchestrations=DurableOrchestrations(client))
    return http_response(reply, req, client)


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def openapi_spec(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/openapi.json: the OpenAPI 3.1 document the validator's schema lives in."""
    return http_response(intake.Reply(200, body=openapi_document()), req, None)


def http_response(
    reply: intake.Reply, req: func.HttpRequest, client: df.DurableOrchestrationClient | None
) -> func.HttpResponse:
    """The plain reply as an HttpResponse; the check-status payload comes from the Durable client itself."""
    if reply.check_status_for is not None and client is not None:
        return client.create_check_status_response(req, reply.check_status_for)
    body = json.dumps(reply.body) if reply.body is not None else None
    return func.HttpResponse(body, status_code=reply.status, headers=dict(reply.headers), mimetype=reply.content_type)
