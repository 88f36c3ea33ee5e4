"""The data-subject request (DESIGN.md §3): its model, and strict validation of the JSON body.

Strict because this API deletes data: unknown fields, loose types, duplicates and a missing or wrong `confirm`
are all refused, and every problem is reported at once, each naming its field. One job a module: the model
(model.py), decoding the bytes (decode.py), the JSON Schema from the OpenAPI document (schema.py), the schema's
findings in words (messages.py), the rules across fields (rules.py, subject_rules.py), and `parse_request`
putting them together (parse.py). This package's names are its public interface.
"""

from dsr.request.errors import RequestTooLargeError, RequestValidationError
from dsr.request.model import (
    DataRequest,
    RequestDict,
    fingerprint,
    is_request_id,
    new_request_id,
    request_id_from_message,
)
from dsr.request.parse import MAX_BODY_BYTES, parse_request
from dsr.request.schema import REQUEST_SCHEMA, openapi_document

__all__ = [
    "MAX_BODY_BYTES",
    "REQUEST_SCHEMA",
    "DataRequest",
    "RequestDict",
    "RequestTooLargeError",
    "RequestValidationError",
    "fingerprint",
    "is_request_id",
    "new_request_id",
    "openapi_document",
    "parse_request",
    "request_id_from_message",
]
