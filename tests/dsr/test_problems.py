"""RFC 9457 problem details."""

from dsr.problems import CONTENT_TYPE, FieldError, problem


def test_problem_has_the_rfc_members() -> None:
    assert problem(400, "Invalid request", "bad dryRun") == {
        "type": "about:blank",
        "title": "Invalid request",
        "status": 400,
        "detail": "bad dryRun",
    }


def test_problem_with_errors_and_instance() -> None:
    errors = [FieldError(field="/dryRun", reason="must be true or false, not a string")]
    body = problem(400, None, "d", errors=errors, instance="/api/requests")
    assert body["title"] == "Bad Request"
    assert body["errors"] == [{"field": "/dryRun", "reason": "must be true or false, not a string"}]
    assert body["instance"] == "/api/requests"


def test_content_type() -> None:
    assert CONTENT_TYPE == "application/problem+json"
