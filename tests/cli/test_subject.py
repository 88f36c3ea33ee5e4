"""`python -m dsr export|delete --subject KEY=VALUE ...`: the body it sends, and what the summary says about the
search and the models trained on the subject's images."""

from __future__ import annotations

import io
from typing import Any

import pytest

from cli import args as arguments
from cli import exits, main, render
from dsr.status import request_status


def body(*argv: str) -> dict[str, Any]:
    return arguments.request_body(arguments.build_parser().parse_args(list(argv)))


def test_subject_options_become_the_api_fields() -> None:
    assert body("export", "--subject", "userId=u-123") == {"operation": "export",
                                                           "subject": {"metadata": {"userId": "u-123"}}}
    sent = body("delete", "--subject", "userId=u=1", "--subject", "tenant=t", "--resources", "default", "eu",
                "--predictions-application", "kiosk", "--predictions-from", "2026-01-01T00:00:00Z", "--confirm", "*")
    assert sent == {"operation": "delete", "subject": {"metadata": {"userId": "u=1", "tenant": "t"}},
                    "resources": ["default", "eu"], "confirm": "*",
                    "predictions": {"application": "kiosk", "from": "2026-01-01T00:00:00Z"}}
    assert body("export", "--image-ids", "a", "b", "--resources", "*")["resources"] == "*"
    assert body("export", "--image-ids", "a")["subject"] == {"imageIds": ["a"]}


@pytest.mark.parametrize("pairs", [["userId"], ["=u"], ["userId=a", "userId=b"]])
def test_a_subject_that_is_not_key_value_is_refused_before_sending(pairs: list[str]) -> None:
    err = io.StringIO()
    flags = [arg for pair in pairs for arg in ("--subject", pair)]
    args = arguments.build_parser().parse_args(["export", "--host", "http://127.0.0.1:9", *flags])
    assert main.run(args, out=io.StringIO(), err=err, environ={}) == exits.EXIT_REFUSED
    assert "--subject" in err.getvalue()


def durable(output: dict[str, Any], *, operation: str = "delete", dry_run: bool = False) -> dict[str, Any]:
    request = {"requestId": "case-7", "operation": operation, "resource": "*", "resources": ["default", "eu"],
               "dryRun": dry_run, "subject": {"digest": "d" * 64, "summary": {"kind": "metadata", "keys": ["userId"],
                                                                            "imageIds": 0, "predictions": False}}}
    return {"instanceId": "case-7", "runtimeStatus": "Completed", "input": {"request": request,
                                                                           "receivedAt": "2026-11-22T00:00:00Z"},
            "output": output}


IMPACT = [{"resource": "eu", "projectId": "p1", "iterationId": "i1", "name": "Iteration 2",
           "publishName": "model-a", "status": "Completed", "images": 3}]
SEARCHED = {"resources": 2, "projects": 4, "projectsWithMatches": 3, "projectsFailed": 0, "images": 5,
            "imageCopies": 13, "modelsAffected": 1}


def test_the_summary_names_the_search_and_the_models_to_retrain() -> None:
    output = {"status": "completed", "categories": {"images": {"status": "complete", "count": 13, "error": None,
                                                               "before": 13, "after": 0}},
              "searched": SEARCHED, "modelImpact": IMPACT, "modelImpactTotal": 1, "receiptPath": None}
    status = request_status(durable(output), sign_manifest=lambda path: None)
    assert status["subject"]["keys"] == ["userId"] and status["resources"] == ["default", "eu"]
    assert "digest" not in str(status)
    text = "\n".join(render.summary_lines(status))
    assert "delete of resources default, eu: Completed (completed)" in text
    assert "searched 2 resources, 4 projects; found 5 images (13 copies" in text
    assert "Model impact: 1 trained iteration was trained on the subject's images" in text
    assert "still learned from this person's data. Retrain" in text
    assert "eu / project p1: Iteration 2 (i1, published as 'model-a'), 3 images" in text
    plan = request_status(durable({**output, "status": "dry_run"}, dry_run=True), sign_manifest=lambda p: None)
    assert "would still have learned" in "\n".join(render.summary_lines(plan))
    export = request_status(durable({**output, "modelImpact": [], "modelImpactTotal": 0}, operation="export"),
                            sign_manifest=lambda p: None)
    assert "No trained iteration holds the subject's images." in "\n".join(render.summary_lines(export))
