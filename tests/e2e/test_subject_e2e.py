"""One person's request across TWO resources, end to end: devhost + two realistic emulators + Azurite, through the
HTTP API, against each emulator's ground truth (`GET /_emulator/state`).

Resource `default` is the demo seed, resource `eu` the same kind of data under other ids (seed `demo+empty`: the
same subjects and pictures, other project, image and iteration ids). Tests run in order on shared state: export,
dry run, injection, then the delete.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import ContainerClient

from dsr import signing
from dsr.delete.receipt_signature import check
from dsr.export.manifest import verify_export
from emulator.seed import INJECTION_VALUE
from localrun.azurite import Azurite
from localrun.devhost import Devhost
from localrun.emulator import Emulator
from localrun.process import REPO_ROOT
from localrun.stack import app_settings, sample_settings
from tests.e2e.helpers import all_histories, submit, wait_finished

pytestmark = [pytest.mark.e2e]

USER = "u-1001"


class TwoResources:
    def __init__(self, host: Devhost, emulators: dict[str, Emulator], container: ContainerClient) -> None:
        self.host, self.emulators, self.container = host, emulators, container

    def states(self) -> dict[str, dict[str, Any]]:
        return {alias: emulator.state() for alias, emulator in self.emulators.items()}

    def run(self, body: dict[str, Any]) -> dict[str, Any]:
        return wait_finished(self.host, submit(self.host, body), timeout=300)


@pytest.fixture(scope="module")
def two(azurite: Azurite, emulator_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoResources]:
    emulators = {"default": emulator_factory("demo", tps=1000), "eu": emulator_factory("demo+empty", tps=1000)}
    container = f"subject-{secrets.token_hex(4)}"
    env = app_settings(emulator_endpoint=emulators["default"].endpoint, training_key=emulators["default"].training_key,
                       storage_connection_string=azurite.connection_string, container=container,
                       receipt_signing_key=secrets.token_hex(16), client_tps=1000,
                       defaults=sample_settings(REPO_ROOT))
    resources = json.loads(env["CUSTOMVISION_RESOURCES"])
    resources["eu"] = {"endpoint": emulators["eu"].endpoint, "trainingKeySetting": "CUSTOMVISION_TRAINING_KEY",
                       "tps": 1000}
    env["CUSTOMVISION_RESOURCES"] = json.dumps(resources)
    base = tmp_path_factory.mktemp("subject-devhost")
    host = Devhost(app_dir=REPO_ROOT, state_dir=base / "state", env=env, log_path=base / "devhost.log").start()
    try:
        yield TwoResources(host, emulators, ContainerClient.from_connection_string(azurite.connection_string,
                                                                                    container))
    finally:
        host.stop()


def subject_truth(states: dict[str, dict[str, Any]], user: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(alias, projectId, imageId) -> the ground truth image of every image whose userId is `user`."""
    return {(alias, p["id"], i["id"]): i for alias, state in states.items() for p in state["projects"]
            for i in p["images"] if i["metadata"].get("userId") == user}


def trained_on(states: dict[str, dict[str, Any]], user: str) -> set[tuple[str, str, str]]:
    """(alias, projectId, iterationId) of every iteration whose snapshot holds one of the user's images."""
    return {(alias, p["id"], it) for (alias, pid, _), image in subject_truth(states, user).items()
            for p in states[alias]["projects"] if p["id"] == pid for it in image["iterations"]}


def download(container: ContainerClient, prefix: str, into: Path) -> Path:
    for blob in container.list_blobs(name_starts_with=f"{prefix}/"):
        target = into / blob.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(container.download_blob(blob.name).readall())
    return into / prefix


def test_export_holds_exactly_the_subjects_images_byte_exact_across_two_resources(
        two: TwoResources, tmp_path: Path) -> None:
    states = two.states()
    truth = subject_truth(states, USER)
    assert {alias for alias, _, _ in truth} == {"default", "eu"} and len(truth) == 10
    status = two.run({"operation": "export", "requestId": "subject-export", "subject": {"metadata": {"userId": USER}}})
    assert status["status"] == "Completed" and status["result"]["status"] == "completed", status
    assert status["resources"] == ["default", "eu"] and status["subject"]["keys"] == ["userId"]
    folder = download(two.container, "subject-export", tmp_path)
    files = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}
    exported = {}
    for path in files:
        parts = path.split("/")  # resources/{alias}/projects/{projectId}/images/{imageId}.{ext}
        if len(parts) == 6 and parts[0] == "resources" and parts[4] == "images":
            exported[(parts[1], parts[3], parts[5].rsplit(".", 1)[0])] = hashlib.sha256(
                files[path].read_bytes()).hexdigest()
    assert exported == {key: image["sha256"] for key, image in truth.items()}  # exactly them, byte for byte
    lines = [json.loads(line) for path, file in files.items() if path.endswith("/images.jsonl")
             for line in file.read_text().splitlines()]
    assert sorted(line["id"] for line in lines) == sorted(key[2] for key in truth)
    assert all(line["metadata"]["userId"] == USER for line in lines)
    assert {(line["id"], tuple(line["iterations"])) for line in lines} == {
        (key[2], tuple(sorted(image["iterations"]))) for key, image in truth.items()}
    report = json.loads(files["search.json"].read_text())
    searched = {(r["resource"], p["projectId"]): p["found"] for r in report["resources"] for p in r["projects"]}
    assert searched == {(alias, p["id"]): True for alias, state in states.items() for p in state["projects"]}
    index = files["index.html"].read_text()
    assert all(p["id"] in index for state in states.values() for p in state["projects"])
    keys = signing.key_set(two.host.get("api/keys").json())
    valid, findings = verify_export(folder, keys)
    assert valid, findings
    assert states == two.states()  # an export changes nothing


def test_only_the_sets_holding_the_subject_are_ever_listed(two: TwoResources) -> None:
    """Call counts from each emulator's per-operation counters: filtered counts for every set, and GetImages only
    for the sets that hold u-2002 (once to find, once to export: 2 of each project's 4 sets hold none)."""
    states = two.states()
    holding = {alias: sum(1 for p in state["projects"] for s in [None, *p["iterations"]] if any(
        i["metadata"].get("userId") == "u-2002" and (i["inWorkspace"] if s is None else s["id"] in i["iterations"])
        for i in p["images"])) for alias, state in states.items()}
    sets = {alias: sum(1 + len(p["iterations"]) for p in state["projects"]) for alias, state in states.items()}
    before = {alias: emulator.stats()["byOperation"] for alias, emulator in two.emulators.items()}
    status = two.run({"operation": "export", "requestId": "subject-u2002",
                      "subject": {"metadata": {"userId": "u-2002"}}})
    assert status["result"]["status"] == "completed" and status["result"]["searched"]["images"] == 4, status
    for alias, emulator in two.emulators.items():
        after = emulator.stats()["byOperation"]
        delta = {op: after.get(op, 0) - before[alias].get(op, 0) for op in after}
        assert holding[alias] == 4 < sets[alias] == 8
        assert delta["GetImages"] == 2 * holding[alias], delta
        assert delta["GetImageCount"] == 3 * sets[alias], delta  # find, plan, and the check before merging
        assert "GetTaggedImages" not in delta and "GetUntaggedImages" not in delta


def test_dry_run_lists_matches_and_model_impact_and_changes_nothing(two: TwoResources) -> None:
    before = two.states()
    status = two.run({"operation": "delete", "dryRun": True, "requestId": "subject-plan",
                      "subject": {"metadata": {"userId": USER}}, "resources": "*"})
    assert status["status"] == "Completed" and status["result"]["status"] == "dry_run", status
    result = status["result"]
    assert result["categories"]["images"]["before"] == sum(
        (1 if i["inWorkspace"] else 0) + len(i["iterations"]) for i in subject_truth(before, USER).values())
    impact = {(m["resource"], m["projectId"], m["iterationId"]) for m in result["modelImpact"]}
    assert impact == trained_on(before, USER) and result["modelImpactTotal"] == len(impact)
    plan = json.loads(two.container.download_blob("subject-plan/delete-plan.json").readall())
    assert {(m["resource"], m["projectId"], m["iterationId"]) for m in plan["modelImpact"]} == impact
    assert two.states() == before


def test_a_filter_value_with_quotes_or_or_cannot_widen_the_match(two: TwoResources) -> None:
    before = two.states()
    status = two.run({"operation": "delete", "dryRun": True, "requestId": "subject-quotes",
                      "subject": {"metadata": {"userId": INJECTION_VALUE}}})
    assert status["result"]["searched"]["images"] == len(subject_truth(before, INJECTION_VALUE)) == 2
    status = two.run({"operation": "delete", "dryRun": True, "requestId": "subject-or",
                      "subject": {"metadata": {"userId": f"{USER}' or userId ne 'x"}}})
    assert status["result"]["searched"]["images"] == 0 and status["result"]["categories"]["images"]["before"] == 0
    assert two.states() == before


def test_delete_removes_exactly_the_subject_and_lists_the_affected_iterations(two: TwoResources) -> None:
    before = two.states()
    gone = subject_truth(before, USER)
    predictions = {(alias, p["id"], x["id"]) for alias, state in before.items() for p in state["projects"]
                   for x in p["predictions"] if x["application"] == "kiosk-7"}
    body = {"operation": "delete", "requestId": "subject-delete", "subject": {"metadata": {"userId": USER}},
            "predictions": {"application": "kiosk-7"}, "confirm": "*"}
    status = two.run(body)
    assert status["status"] == "Completed" and status["result"]["status"] == "completed", status
    after = two.states()
    for alias in before:
        for old, new in zip(before[alias]["projects"], after[alias]["projects"], strict=True):
            left = {i["id"] for i in old["images"]} - {key[2] for key in gone if key[:2] == (alias, old["id"])}
            assert {i["id"] for i in new["images"]} == left
            kept = [x for x in old["predictions"] if (alias, old["id"], x["id"]) not in predictions]
            assert new["predictions"] == kept
            assert new["iterations"] == [{**it, "imageIds": sorted(set(it["imageIds"]) & left)}
                                         for it in old["iterations"]]
            assert new["tags"] == old["tags"]
    receipt = status["result"]["receipt"]
    valid, reason = check(receipt, keys=signing.key_set(two.host.get("api/keys").json()))
    assert valid, reason
    assert {(m["resource"], m["projectId"], m["iterationId"]) for m in receipt["modelImpact"]} == trained_on(
        before, USER)
    assert receipt["verification"]["clean"] and receipt["results"]["images"]["after"] == 0
    assert receipt["results"]["predictions"]["before"] == len(predictions)
    assert {(p["resource"], p["projectId"]) for p in receipt["projects"]} == {
        (alias, p["id"]) for alias, state in before.items() for p in state["projects"]}
    assert any("retrain" in note for note in receipt["verification"]["notes"])


def test_the_subjects_values_never_enter_history_or_status(two: TwoResources) -> None:
    histories = all_histories(two.host)
    assert "subject-export" in histories and "subject-delete" in histories
    for value in (USER, "kiosk-7", "x'' or userId"):
        assert value not in histories, value
    assert USER not in two.host.get("api/requests/subject-delete").text


def test_the_same_request_id_with_another_subject_is_a_conflict(two: TwoResources) -> None:
    body = {"operation": "export", "requestId": "subject-export", "subject": {"metadata": {"userId": USER}}}
    assert two.host.post("api/requests", json=body).status_code == 202
    other = {**body, "subject": {"metadata": {"userId": "u-2002"}}}
    answer = two.host.post("api/requests", json=other)
    assert answer.status_code == 409, answer.text
