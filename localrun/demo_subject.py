"""The demo's one-person part: export everything about one data subject (userId u-1001), plan their erasure,
erase them, and show against the emulator's ground truth what was found, what went and which models learned
from dsr.runtime_status import RuntimeStatus
from their images. Run by `python -m localrun.demo` between the full export and the full delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from cli.api import ApiClient
from dsr.runtime_status import RuntimeStatus
from localrun.stack import LocalRun

USER = "u-1001"
APPLICATION = "kiosk-7"  # the demo's stored predictions this person sent (emulator/seed.py)
EXPORT_ID = "demo-subject-export"
PLAN_ID = "demo-subject-plan"
DELETE_ID = "demo-subject-delete"
Run = Callable[[ApiClient, dict[str, Any], str, TextIO], tuple[int, dict[str, Any] | None]]
Say = Callable[[TextIO, str], None]


def held(state: dict[str, Any], user: str) -> list[tuple[str, dict[str, Any]]]:
    """(project name, image) of every image the emulator holds whose userId is `user`."""
    return [(p["name"], i) for p in state["projects"] for i in p["images"] if i["metadata"].get("userId") == user]


def subject_steps(stack: LocalRun, client: ApiClient, out: TextIO, *, run: Run, say: Say) -> None:
    """Export, plan and erase one person; every step prints the CLI's own summary."""
    before = stack.emulator.state()
    say(out, f"\n== 2. One person's request: everything about userId {USER} ==")
    say(out, f"The emulator holds {len(held(before, USER))} images of {USER}: "
             + ", ".join(f"{name} ({where(image)})" for name, image in held(before, USER)))
    body = {"operation": "export", "requestId": EXPORT_ID, "subject": {"metadata": {"userId": USER}}}
    _, status = run(client, body, f"python -m dsr export --subject userId={USER} --request-id {EXPORT_ID}", out)
    if status is not None and status.get("status") == RuntimeStatus.COMPLETED:
        say(out, f"Their files: container {stack.container!r}, prefix {EXPORT_ID}/resources/default/projects/…/ "
                 f"(images, images.jsonl, project.json, tags.json), search.json and index.html list every project "
                 "searched, found or not")
    erase = {"subject": {"metadata": {"userId": USER}}, "predictions": {"application": APPLICATION}}
    say(out, f"\n== 3. Erase {USER} (dry run first), with the stored predictions sent from {APPLICATION!r} ==")
    flags = f"--subject userId={USER} --predictions-application {APPLICATION}"
    run(client, {"operation": "delete", "dryRun": True, "requestId": PLAN_ID, **erase},
        f"python -m dsr delete {flags} --dry-run --request-id {PLAN_ID}", out)
    _, status = run(client, {"operation": "delete", "confirm": "default", "requestId": DELETE_ID, **erase},
                    f"python -m dsr delete {flags} --confirm default --request-id {DELETE_ID}", out)
    if status is not None:
        after = stack.emulator.state()
        say(out, ground_truth(before, after))


def where(image: dict[str, Any]) -> str:
    places = (["workspace"] if image["inWorkspace"] else []) + [f"{len(image['iterations'])} iterations"]
    return " + ".join(places)


def ground_truth(before: dict[str, Any], after: dict[str, Any]) -> str:
    """What the emulator holds now, compared with before: the person's images and predictions, everyone else's."""
    mine = {i["id"] for _, i in held(before, USER)}
    others_before = {i["id"] for p in before["projects"] for i in p["images"]} - mine
    others_after = {i["id"] for p in after["projects"] for i in p["images"]} - mine
    left = len(held(after, USER))
    predictions = sum(1 for p in after["projects"] for x in p["predictions"] if x["application"] == APPLICATION)
    return (f"Emulator after the erasure: {left} of {len(mine)} images of {USER} left, "
            f"{len(others_after & others_before)} of {len(others_before)} other images untouched, "
            f"{predictions} stored predictions from {APPLICATION!r} left")
