"""Error mapping the emulator cannot show: other casings, codes it never sends, gateway bodies, message traps.

The codes it does send (NotFound*, BadRequestIterationIsPublished, Forbidden, Conflict, 429, 5xx) are checked
over HTTP in test_client_against_emulator.py."""

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)

from customvision import (
    CustomVisionAuthenticationError,
    CustomVisionConflictError,
    CustomVisionErrorCode,
    CustomVisionHttpError,
    CustomVisionNotFoundError,
    IterationPublishedError,
    TrainingClient,
)
from tests.customvision.fakes import ScriptedTransport, sequence


def _raise(client: TrainingClient, transport: ScriptedTransport, status: int, body: object,
           headers: dict[str, str] | None = None) -> CustomVisionHttpError:
    transport.handler = sequence((status, body, headers or {}))
    with pytest.raises(CustomVisionHttpError) as caught:
        client.get_project("p", retry_total=0)
    return caught.value


@pytest.mark.parametrize(
    ("status", "code", "expected", "azure_type"),
    [
        (404, "notfounditeration", CustomVisionNotFoundError, ResourceNotFoundError),
        (400, "BADREQUESTITERATIONISPUBLISHED", IterationPublishedError, HttpResponseError),
        (403, "ForbiddenUser", CustomVisionAuthenticationError, ClientAuthenticationError),
        (404, "NotFoundApimSubscription", CustomVisionAuthenticationError, ClientAuthenticationError),
        (409, "ConflictInvalid", CustomVisionConflictError, ResourceExistsError),
        (400, "BadRequestExceededBatchSize", CustomVisionHttpError, HttpResponseError),
        (403, "ForbiddenDRModeEnabled", CustomVisionHttpError, HttpResponseError),
    ],
)
def test_codes_map_to_azure_core_types(client, transport, status, code, expected, azure_type) -> None:
    error = _raise(client, transport, status, {"code": code, "message": "whatever"})
    assert type(error) is expected
    assert isinstance(error, azure_type)
    assert isinstance(error.error_code, CustomVisionErrorCode)
    assert error.error_code.lower() == code.lower()
    assert error.status_code == status


def test_message_text_never_decides_the_type(client, transport) -> None:
    error = _raise(client, transport, 400, {"code": "BadRequest", "message": "Project not found, iteration published"})
    assert type(error) is CustomVisionHttpError
    assert error.error_code is CustomVisionErrorCode.BAD_REQUEST


def test_gateway_errors_use_the_status_when_the_code_is_not_the_services(client, transport) -> None:
    error = _raise(client, transport, 401, {"error": {"code": "401", "message": "Access denied due to invalid key"}})
    assert isinstance(error, ClientAuthenticationError)
    assert error.error_code == "401"
    bare = _raise(client, transport, 404, b"<html>nope</html>", {"Content-Type": "text/html"})
    assert isinstance(bare, ResourceNotFoundError)
    assert bare.error_code is None
    assert "html" not in str(bare)


def test_error_message_is_short_and_scrubbed(client, transport) -> None:
    error = _raise(client, transport, 400, {"code": "BadRequestImageUrl",
                                            "message": "bad https://a.blob/x.png?sv=1&sig=TOPSECRET"})
    assert "TOPSECRET" not in str(error)
    assert str(error).startswith("(BadRequestImageUrl) bad https://a.blob/x.png?sv=1&sig=REDACTED")


def test_codes_enum_is_case_insensitive_and_complete() -> None:
    published = CustomVisionErrorCode.BAD_REQUEST_ITERATION_IS_PUBLISHED
    assert CustomVisionErrorCode("badrequestiterationispublished") is published
    assert CustomVisionErrorCode["not_found_project"] == "NotFoundProject"
    assert len(CustomVisionErrorCode) == 130


def test_codes_are_the_specs_in_its_order() -> None:
    """The enum is built from the spec's `CustomVisionErrorCodes` list; a member's name is its code in UPPER_SNAKE."""
    import json

    from tests.emulator.spec import REFERENCE_DIR, SPEC_PATH

    if not REFERENCE_DIR.is_dir():  # as every contract test: the spec lives beside the repo, not in it
        pytest.skip(f"the official spec folder {REFERENCE_DIR} is absent; contract tests need it")
    spec = json.loads(SPEC_PATH.read_text())
    listed = spec["definitions"]["CustomVisionError"]["properties"]["code"]["enum"]
    assert [code.value for code in CustomVisionErrorCode] == listed
    assert CustomVisionErrorCode.FORBIDDEN_DR_MODE_ENABLED == "ForbiddenDRModeEnabled"
