"""The command-line client: arguments, rendering (pure), following, and a run against a small fake API."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from cli import api, exits, main, progress, render
from cli import args as arguments

KEY = "k3y-that-must-never-show"
PROBLEM = "application/problem+json"


def parse(*argv: str) -> Any:
    return arguments.build_parser().parse_args(argv)


def status_of(runtime: str = "Running", **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "requestId": "case-1",
        "operation": "export",
        "resource": "default",
        "dryRun": False,
        "status": runtime,
        "phase": "exporting",
        "receivedAt": "2026-01-01T00:00:00Z",
        "dueDate": "2026-01-31T00:00:00Z",
        "progress": {"projects": {"done": 1, "total": 2}, "images": {"done": 0, "total": 2}},
        "result": None,
    }
    return {**base, **extra}


def completed(categories: dict[str, dict[str, Any]], **result: Any) -> dict[str, Any]:
    body = {"status": "completed", "categories": categories, "missingProjects": [], "manifestUrl": None}
    return status_of("Completed", phase="done", result={**body, **result})


# --- arguments ----------------------------------------------------------------------------------------


def test_export_body_holds_only_what_was_given() -> None:
    assert arguments.request_body(parse("export")) == {"operation": "export"}
    args = parse("export", "--resource", "eu", "--projects", "a", "b", "--categories", "images", "tags",
                 "--request-id", "case-7", "--no-wait")  # fmt: skip
    assert arguments.request_body(args) == {
        "operation": "export",
        "resource": "eu",
        "projects": ["a", "b"],
        "categories": ["images", "tags"],
        "requestId": "case-7",
    }
    assert args.no_wait is True


def test_delete_body_carries_confirm_and_dry_run() -> None:
    confirmed = arguments.request_body(parse("delete", "--confirm", "default"))
    assert confirmed == {"operation": "delete", "confirm": "default"}
    assert arguments.request_body(parse("delete", "--dry-run")) == {"operation": "delete", "dryRun": True}


def test_categories_are_left_to_the_api_to_validate() -> None:
    """The server's validator is the one source of truth; the CLI forwards what it is given."""
    assert arguments.request_body(parse("export", "--categories", "imgs"))["categories"] == ["imgs"]


def test_export_has_no_delete_flags_and_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["export", "--dry-run"], ["export", "--confirm", "default"], [], ["status"]):
        with pytest.raises(SystemExit) as exit_info:
            parse(*argv)
        assert exit_info.value.code == 2


def test_status_and_cancel_take_an_id() -> None:
    args = parse("status", "case-1", "--watch", "--host", "h", "--key", "k")
    assert (args.command, args.request_id, args.watch, args.host, args.key) == ("status", "case-1", True, "h", "k")
    assert parse("cancel", "case-1").request_id == "case-1"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:7071/", "http://127.0.0.1:7071"),
        ("127.0.0.1:7071", "http://127.0.0.1:7071"),
        ("localhost:7071", "http://localhost:7071"),
        ("[::1]:7071", "http://[::1]:7071"),
        ("localhost", "http://localhost"),
        ("dsr-app.azurewebsites.net", "https://dsr-app.azurewebsites.net"),
        ("https://dsr-app.azurewebsites.net/api/", "https://dsr-app.azurewebsites.net"),
    ],
)
def test_normalize_host(given: str, expected: str) -> None:
    assert api.normalize_host(given) == expected


def test_host_and_key_come_from_flags_then_environment() -> None:
    env = {"DSR_HOST": "http://env:1", "DSR_FUNCTION_KEY": KEY}
    client = main.client_from(parse("status", "x"), env)
    assert client.host == "http://env:1"
    assert client._session.headers["x-functions-key"] == KEY
    assert KEY not in repr(client)
    flagged = main.client_from(parse("status", "x", "--host", "http://flag:2", "--key", "other"), env)
    assert flagged.host == "http://flag:2" and flagged._session.headers["x-functions-key"] == "other"


def test_no_host_is_a_usage_error() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main.run(parse("status", "x"), out=out, err=err, environ={}) == exits.EXIT_REFUSED
    assert "DSR_HOST" in err.getvalue()


# --- rendering ----------------------------------------------------------------------------------------


def test_progress_bar() -> None:
    assert render.progress_bar(0, 4, 8) == "[--------]"
    assert render.progress_bar(1, 4, 8) == "[##------]"
    assert render.progress_bar(4, 4, 8) == "[########]"
    assert render.progress_bar(9, 4, 8) == "[########]"
    assert render.progress_bar(0, 0, 8) == render.progress_bar(0, None, 8) == "[--------]"


def test_progress_lines_one_bar_per_category() -> None:
    lines = render.progress_lines(status_of(), width=4)
    assert lines == [
        "request case-1 · export · Running · exporting",
        "  projects [##--] 1/2",
        "  images   [----] 0/2",
    ]
    unknown = status_of(progress={"tags": {"done": 0, "total": None}}, phase=None, dryRun=True, operation="delete")
    assert render.progress_lines(unknown, width=2) == ["request case-1 · delete (dry run) · Running", "  tags [--] 0/?"]


def test_progress_line_for_logs() -> None:
    line = render.progress_line(status_of())
    assert line == "request case-1 · export · Running · exporting | projects 1/2, images 0/2"
    assert render.progress_line(status_of(progress={})) == "request case-1 · export · Running · exporting"


def test_summary_of_a_completed_export() -> None:
    status = completed(
        {
            "account": {"status": "skipped", "count": 0, "error": {"code": "NoArmResourceId", "message": "no id"}},
            "images": {"status": "complete", "count": 60, "error": None},
        },
        manifestUrl="http://blob/x/case-1/manifest.json?sig=abc",
    )
    lines = render.summary_lines(status)
    assert lines[0] == "Request case-1: export of resource default: Completed (completed)"
    assert lines[1].split() == ["category", "status", "count", "error"]
    assert lines[2].split() == ["account", "skipped", "0", "NoArmResourceId:", "no", "id"]
    assert lines[3].split() == ["images", "complete", "60"]
    assert "Manifest: http://blob/x/case-1/manifest.json?sig=abc" in lines
    assert lines[-1] == "Due by: 2026-01-31T00:00:00Z (received 2026-01-01T00:00:00Z)"
    assert exits.exit_code(status) == exits.EXIT_OK


def test_summary_of_a_partly_failed_export() -> None:
    status = completed(
        {
            "images": {"status": "failed", "count": 3, "error": {"code": "Throttled", "message": "429 " * 100}},
            "tags": {"status": "complete", "count": 5, "error": None},
        },
        status="completed_with_errors",
        missingProjects=["0000"],
    )
    lines = render.summary_lines(status)
    assert lines[0].endswith("Completed (completed_with_errors)")
    failed = next(line for line in lines if line.lstrip().startswith("images"))
    assert "failed" in failed and "Throttled: 429" in failed and len(failed) < 260
    assert "Projects not found on the resource: 0000" in lines
    assert "Manifest: no link" in "\n".join(lines)
    assert exits.exit_code(status) == exits.EXIT_FAILED


def test_summary_of_failed_and_cancelled_requests() -> None:
    failed = status_of("Failed", operation="delete", dryRun=True, phase=None)
    lines = render.summary_lines(failed)
    assert lines[0] == "Request case-1: delete dry run of resource default: Failed"
    assert "failed before producing a result" in lines[1]
    assert exits.exit_code(failed) == exits.EXIT_FAILED
    cancelled = status_of("Terminated")
    assert "cancelled" in render.summary_lines(cancelled)[1]
    assert exits.exit_code(cancelled) == exits.EXIT_FAILED


RECEIPT = {
    "schemaVersion": 1,
    "kind": "customvision-dsr-delete-receipt",
    "requestId": "case-1",
    "resource": "default",
    "missingProjects": ["0000"],
    "results": {
        "account": {"status": "skipped", "before": None, "after": None, "errorCode": "AccountDeleteNotEnabled"},
        "images": {"status": "complete", "before": 146, "after": 0, "errorCode": None},
    },
    "verification": {"checkedAt": "2026-01-01T00:00:09Z", "clean": True, "notes": [], "remaining": {"images": 0}},
    "signature": {"alg": "HMAC-SHA256", "keyId": "hmac-sha256:f2a3", "value": "2e44"},
}


def test_summary_shows_a_delete_receipt() -> None:
    status = completed({"images": {"status": "complete", "count": 146, "error": None}}, receipt=RECEIPT)
    status["operation"] = "delete"
    lines = render.summary_lines(status)
    at = lines.index(f"Receipt (signed HMAC-SHA256, key hmac-sha256:f2a3): receipts/case-1.json "
                     f"{render.RECEIPTS_WHERE}")
    assert [line.split() for line in lines[at + 1 : at + 4]] == [
        ["category", "before", "after", "status"],
        ["account", "-", "-", "skipped", "(AccountDeleteNotEnabled)"],
        ["images", "146", "0", "complete"],
    ]
    assert lines[at + 4] == "  verification (2026-01-01T00:00:09Z): clean, nothing left"
    assert lines[at + 5] == "  projects not found (nothing to delete): 0000"
    assert not any("Manifest" in line or "2e44" in line for line in lines)
    assert exits.exit_code(status) == exits.EXIT_OK


def test_a_delete_that_failed_verification_still_shows_its_counts_and_receipt() -> None:
    categories = {
        "images": {"status": "failed", "count": 144, "before": 146, "after": 2,
                   "error": {"code": "VerificationFoundRemaining", "message": "2 left"}},
        "tags": {"status": "complete", "count": 17, "before": 17, "after": 0, "error": None},
    }  # fmt: skip
    unclean = {**RECEIPT, "verification": {"clean": False, "notes": [], "remaining": {"images": 2}}}
    status = status_of("Failed", operation="delete", phase="done", result={
        "status": "verification_failed", "categories": categories, "receipt": unclean})  # fmt: skip
    lines = render.summary_lines(status)
    assert lines[:2] == [
        "Request case-1: delete of resource default: Failed (verification_failed)",
        "  the request failed (verification_failed); what it did:",
    ]
    assert lines[2].split() == ["category", "status", "count", "before", "after", "error"]
    assert lines[3].split() == ["images", "failed", "144", "146", "2", "VerificationFoundRemaining:", "2", "left"]
    assert lines[4].split() == ["tags", "complete", "17", "17", "0"]
    assert lines[5].startswith("Receipt (signed HMAC-SHA256")
    assert lines[6] == "  verification (None): NOT clean: images 2"  # the counts are above: no second table
    assert exits.exit_code(status) == exits.EXIT_FAILED


def test_receipt_that_verification_did_not_clear() -> None:
    unclean = {**RECEIPT, "verification": {"clean": False, "notes": ["iteration x kept 2 images"],
                                           "remaining": {"images": 2, "tags": 0}}}  # fmt: skip
    unclean.pop("signature")
    lines = render.receipt_lines(unclean)
    assert lines[0].startswith("Receipt (NOT signed)")
    assert "  verification (None): NOT clean: images 2" in lines
    assert "  note: iteration x kept 2 images" in lines


def test_an_unknown_receipt_shape_is_shown_as_key_values() -> None:
    lines = render.receipt_lines({"id": "r", "nested": {"n": 1}, "ids": list(range(7))})
    assert lines == ["Receipt:", "  id: r", "  nested:", "    n: 1", "  ids: [0, 1, 2, 3, 4, … (7 in all)]"]
    many = render.receipt_lines({f"k{i}": i for i in range(50)})
    assert len(many) == 32 and many[-1] == "  … (20 more lines)"


def test_problem_lines_name_each_field() -> None:
    problem = {
        "type": "about:blank",
        "title": "Invalid request",
        "status": 400,
        "detail": "/categories/0: must be one of ...",
        "errors": [
            {"field": "/categories/0", "reason": "must be one of account, projects"},
            {"field": "", "reason": "the body is empty"},
        ],
    }
    assert render.problem_lines(400, problem) == [
        "error: 400 Invalid request",
        "  /categories/0: must be one of account, projects",
        "  (body): the body is empty",
    ]
    conflict = {"title": "Request already finished", "status": 409, "detail": "request 'x' is Completed"}
    assert render.problem_lines(409, conflict) == ["error: 409 Request already finished", "  request 'x' is Completed"]
    assert render.problem_lines(0, None, "cannot reach http://h: ConnectionError") == [
        "error: cannot reach http://h: ConnectionError"
    ]


# --- showing progress and following -------------------------------------------------------------------


def test_progress_view_redraws_in_place_on_a_tty() -> None:
    out = io.StringIO()
    view = progress.ProgressView(out, tty=True, width=4)
    view.update(status_of())
    view.update(status_of())  # unchanged: nothing drawn
    view.update(status_of(progress={"projects": {"done": 2, "total": 2}, "images": {"done": 2, "total": 2}}))
    first, second = out.getvalue().split("\x1b[J")[1:]
    assert out.getvalue().startswith("\x1b[J")
    assert first.endswith("\x1b[3F")  # the next frame moves up over the three lines drawn
    assert "[####] 2/2" in second and second.count("\n") == 3
    narrow = io.StringIO()
    progress.ProgressView(narrow, tty=True, width=4, columns=11).update(status_of())
    assert narrow.getvalue().split("\n")[:2] == ["\x1b[Jrequest ca", "  projects"]


def test_progress_view_prints_one_line_per_change_otherwise() -> None:
    out = io.StringIO()
    view = progress.ProgressView(out, tty=False)
    for status in (status_of(), status_of(), status_of("Completed", phase="done")):
        view.update(status)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "\x1b" not in out.getvalue()
    assert lines[1].startswith("request case-1 · export · Completed · done |")


class ScriptedClient:
    """Answers status calls from a script; an exception in the script is raised."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls = 0

    def status(self, request_id: str) -> dict[str, Any]:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_follow_until_the_request_ends_through_transient_errors() -> None:
    client = ScriptedClient(api.ApiError(404, "not yet"), status_of(), api.ApiError(0, "blip"), status_of("Completed"))
    out = io.StringIO()
    final = progress.follow(client, "case-1", view=progress.ProgressView(out, tty=False), sleep=lambda _: None)  # type: ignore[arg-type]
    assert final["status"] == "Completed" and client.calls == 4
    assert len(out.getvalue().splitlines()) == 2


def test_follow_gives_up_on_a_refused_key_and_on_its_deadline() -> None:
    with pytest.raises(api.ApiError):
        progress.follow(ScriptedClient(api.ApiError(401, "key")), "x", view=None, sleep=lambda _: None)  # type: ignore[arg-type]
    ticks = iter(range(100))
    running = ScriptedClient(*[status_of()] * 10)
    with pytest.raises(TimeoutError):
        progress.follow(running, "x", view=None, timeout=3, sleep=lambda _: None, clock=lambda: next(ticks))  # type: ignore[arg-type]
    assert running.calls == 3


# --- a whole run against a small fake API -------------------------------------------------------------


LOST = None  # a script entry: the request is read, then the connection is dropped without an answer


class FakeApi(BaseHTTPRequestHandler):
    """POST/GET/DELETE /api/requests as the real API answers them, driven by `server.script`."""

    def log_message(self, *args: Any) -> None:
        pass

    def reply(self, status: int, body: Any, content_type: str = "application/json", headers: Any = ()) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in dict(headers).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self) -> None:
        server: Any = self.server
        server.seen.append((self.command, self.path, self.headers.get("x-functions-key")))
        if self.headers.get("x-functions-key") != KEY:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        length = int(self.headers.get("Content-Length") or 0)
        server.bodies.append(json.loads(self.rfile.read(length)) if length else None)
        answer = server.script.pop(0)
        if answer is LOST:
            self.close_connection = True  # no answer at all: the client sees the connection dropped
            return
        self.reply(*answer)

    do_GET = do_POST = do_DELETE = handle_any


@pytest.fixture
def fake_api() -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    server.script, server.seen, server.bodies = [], [], []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run(server: Any, *argv: str, key: str = KEY) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = {"DSR_HOST": f"127.0.0.1:{server.server_port}", "DSR_FUNCTION_KEY": key}
    args = arguments.build_parser().parse_args([*argv, "--interval", "0"])
    return main.run(args, out=out, err=err, environ=env), out.getvalue(), err.getvalue()


def check_status_payload(request_id: str) -> dict[str, str]:
    """The API's 202 body (DESIGN.md §3): the id and the request's own status link."""
    return {"id": request_id, "statusUri": f"http://127.0.0.1/api/requests/{request_id}"}


def fast_client(server: Any, attempts: int = 3) -> api.ApiClient:
    """The real client on the fake API, its retries without backoff."""
    return api.ApiClient(f"127.0.0.1:{server.server_port}", KEY, retry=api.retry_policy(attempts, backoff=0))


def test_submit_always_sends_a_request_id_and_retries_a_lost_answer_with_it(fake_api: Any) -> None:
    fake_api.script[:] = [LOST, (503, {"title": "busy", "status": 503}, PROBLEM), (202, {"id": "started"})]
    assert main.submit(fast_client(fake_api), {"operation": "export"}) == {"id": "started"}
    first, *others = fake_api.bodies
    assert len(first["requestId"]) == 36 and others == [first, first]  # the same id each time: one run at most
    fake_api.bodies.clear()
    fake_api.script[:] = [(202, {"id": "case-1"})]
    main.submit(fast_client(fake_api), {"operation": "export", "requestId": "case-1"})
    assert fake_api.bodies == [{"operation": "export", "requestId": "case-1"}]


def test_submit_does_not_retry_a_refusal_and_gives_up_after_its_attempts(fake_api: Any) -> None:
    fake_api.script[:] = [(400, {"title": "bad", "status": 400}, PROBLEM), (202, {"id": "never"})]
    with pytest.raises(api.ApiError):
        main.submit(fast_client(fake_api), {"operation": "export"})
    assert len(fake_api.bodies) == 1
    fake_api.bodies.clear()
    fake_api.script[:] = [LOST] * 3
    with pytest.raises(api.ApiError) as down:
        main.submit(fast_client(fake_api, attempts=3), {"operation": "export"})
    assert len(fake_api.bodies) == 3 and down.value.status == 0


def test_a_throttled_call_is_tried_again_after_its_retry_after(fake_api: Any) -> None:
    """429 with Retry-After is retried by urllib3's Retry (respect_retry_after_header), as 5xx are."""
    fake_api.script[:] = [(429, {"title": "slow down", "status": 429}, PROBLEM, {"Retry-After": "0"}),
                          (200, status_of("Completed"))]  # fmt: skip
    assert fast_client(fake_api).status("case-1")["status"] == "Completed"
    assert [(m, p) for m, p, _ in fake_api.seen] == [("GET", "/api/requests/case-1")] * 2


def test_export_runs_to_its_summary_without_showing_the_key(fake_api: Any) -> None:
    done = completed({"tags": {"status": "complete", "count": 5, "error": None}}, manifestUrl="http://m")
    fake_api.script[:] = [(202, check_status_payload("case-1"), "application/json"),
                          (200, status_of(), "application/json"),
                          (200, done, "application/json")]  # fmt: skip
    code, out, err = run(fake_api, "export", "--categories", "tags", "--request-id", "case-1")
    assert code == exits.EXIT_OK, err
    assert fake_api.bodies[0] == {"operation": "export", "categories": ["tags"], "requestId": "case-1"}
    assert [(m, p) for m, p, _ in fake_api.seen] == [("POST", "/api/requests"), ("GET", "/api/requests/case-1"),
                                                     ("GET", "/api/requests/case-1")]  # fmt: skip
    assert out.startswith(f"Submitted export request case-1 to http://127.0.0.1:{fake_api.server_port}\n")
    assert "Completed (completed)" in out and "Manifest: http://m" in out
    assert KEY not in out + err


def test_no_wait_returns_after_submitting(fake_api: Any) -> None:
    fake_api.script[:] = [(202, check_status_payload("case-2"), "application/json")]
    code, out, _ = run(fake_api, "delete", "--confirm", "default", "--request-id", "case-2", "--no-wait")
    assert code == exits.EXIT_OK and "python -m dsr status case-2 --watch" in out
    assert fake_api.bodies == [{"operation": "delete", "confirm": "default", "requestId": "case-2"}]
    assert KEY not in out


def test_a_refused_request_prints_the_fields_and_exits_2(fake_api: Any) -> None:
    reason = "is required for a delete (unless dryRun is true)"
    problem = {"type": "about:blank", "title": "Invalid request", "status": 400, "detail": "…",
               "errors": [{"field": "/confirm", "reason": reason}]}  # fmt: skip
    fake_api.script[:] = [(400, problem, "application/problem+json")]
    code, out, err = run(fake_api, "delete")
    assert code == exits.EXIT_REFUSED
    assert err.splitlines() == [
        "error: 400 Invalid request",
        "  /confirm: is required for a delete (unless dryRun is true)",
    ]
    assert out == ""


def test_status_cancel_and_their_errors(fake_api: Any) -> None:
    failed = status_of("Failed", phase=None)
    fake_api.script[:] = [
        (200, status_of(), "application/json"),
        (200, failed, "application/json"),
        (202, {"requestId": "case-1", "status": "Terminating"}, "application/json"),
        (
            409,
            {"title": "Request already finished", "status": 409, "detail": "is Completed"},
            "application/problem+json",
        ),
        (404, {"title": "Request not found", "status": 404, "detail": "no request"}, "application/problem+json"),
    ]
    code, out, _ = run(fake_api, "status", "case-1")
    assert code == exits.EXIT_OK and "[" in out and "still" not in out  # running: the bars, exit 0
    code, out, _ = run(fake_api, "status", "case-1")
    assert code == exits.EXIT_FAILED and "Failed" in out
    assert run(fake_api, "cancel", "case-1")[:2] == (exits.EXIT_OK, "Request case-1: Terminating\n")
    code, _, err = run(fake_api, "cancel", "case-1")
    assert code == exits.EXIT_REFUSED and "409 Request already finished" in err
    code, _, err = run(fake_api, "status", "nope")
    assert code == exits.EXIT_REFUSED and "404 Request not found" in err


def test_a_wrong_key_or_no_host_exits_3(fake_api: Any) -> None:
    code, _, err = run(fake_api, "status", "case-1", key="wrong")
    assert code == exits.EXIT_UNAVAILABLE and "401" in err and "wrong" not in err
    closed = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    port = closed.server_port
    closed.server_close()
    args = arguments.build_parser().parse_args(["status", "x", "--host", f"http://127.0.0.1:{port}"])
    err_io = io.StringIO()
    assert main.run(args, out=io.StringIO(), err=err_io, environ={}) == exits.EXIT_UNAVAILABLE
    assert "cannot reach" in err_io.getvalue()


def test_api_client_reads_problems_without_their_media_type() -> None:
    response = requests.Response()
    response.status_code = 400
    response._content = json.dumps({"title": "Invalid request", "status": 400, "errors": []}).encode()
    response.headers["Content-Type"] = "application/json"

    class Session(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            return response

    with pytest.raises(api.ApiError) as caught:
        api.ApiClient("http://h", None, session=Session()).submit({"operation": "export"})
    assert caught.value.status == 400 and caught.value.problem is not None


def test_a_failed_request_shows_its_short_reason() -> None:
    failed = status_of("Failed", error={"code": "RequestFailed", "message": "plan_request: PermissionError: denied"})
    lines = render.summary_lines(failed)
    expected = "  the request failed before producing a result: RequestFailed: plan_request: PermissionError: denied"
    assert expected in lines
    assert exits.exit_code(failed) == exits.EXIT_FAILED


def test_a_cancelled_delete_says_so_and_exits_1() -> None:
    cancelled = completed({"images": {"status": "failed", "count": 3, "before": 5, "after": 2,
                                      "error": {"code": "RequestCancelled", "message": "cancelled"}}},
                          status="cancelled", receiptPath="receipts/case-1.json")
    cancelled["operation"] = "delete"
    text = "\n".join(render.summary_lines(cancelled))
    assert "the request was cancelled: nothing was deleted after that" in text
    assert f"Receipt: receipts/case-1.json {render.RECEIPTS_WHERE}" in text
    assert exits.exit_code(cancelled) == exits.EXIT_FAILED


def test_a_dry_run_points_to_its_per_project_plan() -> None:
    dry = completed({"images": {"status": "complete", "count": 7, "before": 7, "after": None, "error": None}},
                    status="dry_run", detailsPath="case-1/delete-plan.json")
    assert "Per-project plan: case-1/delete-plan.json in the export container" in render.summary_lines(dry)
