"""The azure-core pipeline: policies in a deliberate order, transport with timeouts and a pool for threads."""

from typing import Any

import requests
from azure.core import PipelineClient
from azure.core.credentials import AzureKeyCredential, TokenCredential
from azure.core.pipeline.policies import (
    AzureKeyCredentialPolicy,
    BearerTokenCredentialPolicy,
    CustomHookPolicy,
    DistributedTracingPolicy,
    HeadersPolicy,
    HttpLoggingPolicy,
    HTTPPolicy,
    ProxyPolicy,
    RedirectPolicy,
    RequestIdPolicy,
    SansIOHTTPPolicy,
    SensitiveHeaderCleanupPolicy,
    UserAgentPolicy,
)
from azure.core.pipeline.transport import HttpTransport, RequestsTransport
from requests.adapters import HTTPAdapter, Retry

from ._policies import CustomVisionRetryPolicy, RateLimitPolicy, RedactingNetworkTracePolicy, TokenBucket
from ._redact import ALLOWED_HEADERS, ALLOWED_QUERY_PARAMS

SCOPE = "https://cognitiveservices.azure.com/.default"
KEY_HEADER = "Training-Key"
SDK_MONIKER = "customvision-dsr/0.1"

# Retry defaults: azure-core's, but 429s are routine under load, so allow more status retries.
RETRY_DEFAULTS: dict[str, Any] = {
    "retry_total": 10,
    "retry_status": 8,
    "retry_backoff_factor": 0.8,
    "retry_backoff_max": 60,
}


def auth_policy(credential: AzureKeyCredential | TokenCredential | str) -> SansIOHTTPPolicy | HTTPPolicy:
    """`Training-Key` for a key, a bearer token for Entra ID (`azure-identity`)."""
    if isinstance(credential, str):
        credential = AzureKeyCredential(credential)
    if isinstance(credential, AzureKeyCredential):
        return AzureKeyCredentialPolicy(credential, KEY_HEADER)
    if hasattr(credential, "get_token"):
        return BearerTokenCredentialPolicy(credential, SCOPE)
    raise TypeError("credential must be an AzureKeyCredential, a TokenCredential or a key string")


def http_logging_policy(**kwargs: Any) -> HttpLoggingPolicy:
    """azure-core's redacting logger, with the Training API's harmless query params made readable."""
    policy = HttpLoggingPolicy(additional_allowed_query_params=ALLOWED_QUERY_PARAMS, **kwargs)
    policy.allowed_header_names.update(ALLOWED_HEADERS - set(HttpLoggingPolicy.DEFAULT_HEADERS_ALLOWLIST))
    return policy


def default_transport(*, connection_timeout: float, read_timeout: float, pool_size: int) -> RequestsTransport:
    """requests transport with a pool as large as the threads that share the client; no urllib3 retries."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size,
                          max_retries=Retry(total=False, redirect=False, raise_on_status=False))
    for scheme in ("http://", "https://"):
        session.mount(scheme, adapter)
    return RequestsTransport(session=session, session_owner=True,
                             connection_timeout=connection_timeout, read_timeout=read_timeout)


def build_pipeline_client(
    endpoint: str,
    credential: AzureKeyCredential | TokenCredential | str,
    *,
    transport: HttpTransport | None,
    rate_limiter: TokenBucket | None,
    connection_timeout: float,
    read_timeout: float,
    pool_size: int,
    **kwargs: Any,
) -> PipelineClient:
    """Per call: ids, headers, user agent, proxy -> redirect -> retry (per attempt:) pacing, auth, hooks,
    trace, tracing, header cleanup, logging -> transport."""
    retry_options = {**RETRY_DEFAULTS, **{k: kwargs.pop(k) for k in list(kwargs) if k.startswith("retry_")}}
    policies: list[Any] = [
        RequestIdPolicy(**kwargs),
        HeadersPolicy(**kwargs),
        UserAgentPolicy(sdk_moniker=SDK_MONIKER, **kwargs),
        ProxyPolicy(**kwargs),
        RedirectPolicy(**kwargs),
        CustomVisionRetryPolicy(**retry_options, **kwargs),
        RateLimitPolicy(rate_limiter) if rate_limiter is not None else None,
        auth_policy(credential),
        CustomHookPolicy(**kwargs),
        RedactingNetworkTracePolicy(**kwargs),
        DistributedTracingPolicy(**kwargs),
        SensitiveHeaderCleanupPolicy(**kwargs),
        http_logging_policy(**kwargs),
    ]
    transport = transport or default_transport(
        connection_timeout=connection_timeout, read_timeout=read_timeout, pool_size=pool_size
    )
    return PipelineClient(endpoint, policies=[policy for policy in policies if policy is not None], transport=transport)
