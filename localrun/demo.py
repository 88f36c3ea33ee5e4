"""`python -m localrun.demo`: the whole system on this machine, end to end, as the README's first command.

Starts Azurite + the Custom Vision emulator + devhost serving this repo's app, shows what the emulator
holds, then through the command-line client (cli/): (a) exports everything and shows where the files
are, (b) answers one person's request (export, dry run, erasure, the models trained on their images),
(c) plans a delete (dry run), (d) deletes for real and checks the signed receipt.
Exit status: non-zero only when the stack cannot start or the export fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, TextIO

import requests

from cli.api import ApiClient, ApiError
from cli.main import follow_and_report, submit
from cli.render import problem_lines
from dsr.layout import receipt_path
from dsr.redact import redact
from dsr.runtime_status import RuntimeStatus
from localrun.demo_subject import subject_steps
from localrun.process import REPO_ROOT
from localrun.stack import DEFAULT_STATE_DIR, LocalRun

EXPORT_ID = "demo-export"
PLAN_ID = "demo-delete-plan"
DELETE_ID = "demo-delete"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m localrun.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", default="demo", help="emulator dataset: demo | empty | synthetic:projects=P,images=N")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="state and logs (wiped first)")
    parser.add_argument("--tps", type=float, default=10, help="Training API calls/s allowed (default 10, as S0)")
    parser.add_argument("--keep-running", action="store_true", help="leave the stack up and say how to call it")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, *, out: TextIO = sys.stdout) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stop the child servers on SIGTERM too
    client_tps = None if args.tps == 10 else args.tps  # None: the app's own default (10/s)
    stack = LocalRun(args.state_dir, seed=args.seed, tps=args.tps, client_tps=client_tps)
    say(out, f"Starting Azurite, the Custom Vision emulator (seed {args.seed!r}) and devhost;")
    say(out, f"state and logs in {_shown(stack.state_dir)} (wiped first)")
    try:
        stack.start()
    except (RuntimeError, FileNotFoundError, TimeoutError) as exc:
        say(out, f"error: the local stack did not start: {exc}")
        return 1
    try:
        show_inventory(stack, out)
        client = ApiClient(stack.base_url, stack.function_key)
        export_code = export_step(stack, client, out)
        subject_steps(stack, client, out, run=run_request, say=say)
        dry_run_step(stack, client, out)
        delete_step(stack, client, out)
        if args.keep_running:
            keep_running(stack, out)
    except KeyboardInterrupt:
        say(out, "\nstopped")
        return 130
    finally:
        stack.stop()
    say(out, f"\nDone. Logs: {_shown(stack.log_dir)}")
    return export_code


def show_inventory(stack: LocalRun, out: TextIO) -> None:
    """What the emulator holds (its ground truth), and where each server listens."""
    emulator = stack.emulator
    section(out, "The local stack")
    say(out, f"Custom Vision emulator: {emulator.endpoint}  (Training-Key: {emulator.training_key}, a local value)")
    for project in emulator.state()["projects"]:
        say(out, "  " + project_line(project))
    say(out, f"Azurite blob endpoint:  {stack.azurite.blob_endpoint}  (exports go to container {stack.container!r})")
    say(out, f"devhost (the app):      {stack.base_url}/api/requests")


def project_line(project: dict[str, Any]) -> str:
    """`Demo pets (classification) <id>: 34 images (33 in the workspace), 2 iterations, 3 tags, 6 predictions`."""
    images = len(project.get("images") or [])
    workspace = project.get("workspaceImageCount", images)
    return (
        f"{project.get('name')} ({project.get('type')}) {project.get('id')}: {images} images "
        f"({workspace} in the workspace), {len(project.get('iterations') or [])} iterations, "
        f"{len(project.get('tags') or [])} tags, {len(project.get('predictions') or [])} stored predictions"
    )


def export_step(stack: LocalRun, client: ApiClient, out: TextIO) -> int:
    """(a) Export every category of every project; show the files. Returns the CLI's exit code."""
    section(out, "1. Export everything")
    body = {"operation": "export", "requestId": EXPORT_ID}
    code, status = run_request(client, body, "python -m dsr export --request-id " + EXPORT_ID, out)
    if status is None or status.get("status") != RuntimeStatus.COMPLETED:
        return code or 1
    url = (status.get("result") or {}).get("manifestUrl")
    say(out, f"\nFiles: container {stack.container!r}, prefix {EXPORT_ID}/ on {stack.azurite.blob_endpoint}")
    if not url:
        say(out, "No manifest link in the answer: the export wrote no manifest")
        return code or 1
    try:
        response = requests.get(url, timeout=30)
        response.raise_for_status()
        manifest = response.json()
    except (requests.RequestException, ValueError) as exc:
        say(out, f"Cannot read the manifest through its link: {type(exc).__name__}")
        return code or 1
    say(out, "manifest.json (file list shortened; it is written last, so finding it means the export is complete):")
    for line in manifest_excerpt(manifest):
        say(out, "  " + line)
    return code


def manifest_excerpt(manifest: dict[str, Any], *, files: int = 3) -> list[str]:
    """The manifest as JSON, one line per category and only the first few files, then a total."""
    listed = [f for f in manifest.get("files") or [] if isinstance(f, dict)]
    lines = ["{"]
    for key, value in manifest.items():
        if key == "categories" and isinstance(value, dict):
            lines.append('  "categories": {')
            lines += [f"    {json.dumps(name)}: {json.dumps(outcome)}," for name, outcome in value.items()]
            lines[-1] = lines[-1].rstrip(",")
            lines.append("  },")
        elif key == "files":
            lines.append('  "files": [')
            entries = [f"    {json.dumps(entry)}" for entry in listed[:files]]
            lines += [entry + "," for entry in entries[:-1]] + entries[-1:]
            if len(listed) > files:
                lines[-1] += ","
                lines.append(f"    … {len(listed) - files} more")
            lines.append("  ],")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)},")
    lines[-1] = lines[-1].rstrip(",")
    lines.append("}")
    total = sum(int(f.get("size") or 0) for f in listed)
    lines.append(f"({len(listed)} file{'' if len(listed) == 1 else 's'}, {total:,} bytes in all)")
    return lines


def dry_run_step(stack: LocalRun, client: ApiClient, out: TextIO) -> None:
    """(b) Plan a delete of everything: the counts it would delete, nothing deleted."""
    section(out, "4. Delete, dry run (plan and counts only)")
    body = {"operation": "delete", "dryRun": True, "requestId": PLAN_ID}
    _, status = run_request(client, body, f"python -m dsr delete --dry-run --request-id {PLAN_ID}", out)
    if status is not None and status.get("status") == RuntimeStatus.COMPLETED:
        say(out, "(image counts are copies: the workspace plus every trained iteration's snapshot)")
        projects = stack.emulator.state()["projects"]
        images = sum(len(p.get("images") or []) for p in projects)
        say(out, f"Emulator after the dry run: {len(projects)} projects, {images} distinct images (nothing deleted)")


def delete_step(stack: LocalRun, client: ApiClient, out: TextIO) -> None:
    """(c) Delete everything, then check the receipt's signature and what the emulator has left."""
    section(out, "5. Delete for real (confirm: default)")
    body = {"operation": "delete", "confirm": "default", "requestId": DELETE_ID}
    _, status = run_request(client, body, f"python -m dsr delete --confirm default --request-id {DELETE_ID}", out)
    if status is None or status.get("status") != RuntimeStatus.COMPLETED:
        return
    left = stack.emulator.state()["projects"]
    say(out, f"Emulator after the delete: {len(left)} projects left")
    for project in left:
        say(out, "  " + project_line(project))
    receipt = download_receipt(stack, DELETE_ID)
    if receipt is None:
        say(out, f"No receipt blob receipts/{DELETE_ID}.json in container {stack.container!r}")
        return
    say(out, f"Receipt saved to {_shown(receipt)}")
    verify_receipt(stack, receipt, out)


def run_request(
    client: ApiClient, body: dict[str, Any], command: str, out: TextIO
) -> tuple[int, dict[str, Any] | None]:
    """Submit through the CLI's code, follow it, print its summary; a failure is shown, never raised."""
    say(out, f"$ {command}")
    try:
        started = submit(client, body)
    except ApiError as exc:
        for line in problem_lines(exc.status, exc.problem, str(exc)):
            say(out, line)
        return 2, None
    say(out, f"Submitted {body['operation']} request {started.get('id')} to {client.host}")
    code, status = follow_and_report(client, str(started.get("id")), out=out)
    if status is not None and status.get("status") == RuntimeStatus.FAILED:
        reason = failure_reason(started)
        if reason:
            say(out, f"  reason (from the Durable status of the local host): {reason}")
    return code, status


def failure_reason(started: dict[str, Any]) -> str | None:
    """The orchestration's failure output, read from the check-status URI (it carries the key: never shown)."""
    uri = started.get("statusQueryGetUri")
    if not isinstance(uri, str):
        return None
    try:
        output = requests.get(uri, timeout=10).json().get("output")
    except (requests.RequestException, ValueError, AttributeError):
        return None
    text = output if isinstance(output, str) else json.dumps(output) if output is not None else ""
    return redact(" ".join(text.split()))[:300] or None


def download_receipt(stack: LocalRun, request_id: str) -> Path | None:
    """The receipt blob (`receipts/{id}.json` in the export container) saved under the state dir."""
    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.blob import BlobClient

    blob = BlobClient.from_connection_string(
        stack.azurite.connection_string, stack.container, receipt_path(request_id)
    )
    try:
        data = blob.download_blob().readall()
    except ResourceNotFoundError:
        return None
    path = stack.state_dir / "receipts" / f"{request_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def verify_receipt(stack: LocalRun, receipt: Path, out: TextIO) -> bool:
    """`python -m dsr.receipt verify FILE --jwks <the stack's GET /api/keys>`: the public keys only."""
    if importlib.util.find_spec("dsr.receipt") is None:
        say(out, "Signature: not checked (dsr.receipt is not in this build yet)")
        return False
    command = [sys.executable, "-m", "dsr.receipt", "verify", str(receipt), "--jwks", f"{stack.base_url}/api/keys"]
    done = subprocess.run(command, cwd=REPO_ROOT, env={**os.environ, **stack.env}, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    said = redact(" ".join((done.stdout + " " + done.stderr).split()))[:500]
    verdict = "verifies" if done.returncode == 0 else f"does NOT verify (exit {done.returncode})"
    say(out, f"Signature: {verdict}" + (f" — {said}" if said else ""))
    return done.returncode == 0


def keep_running(stack: LocalRun, out: TextIO) -> None:
    """Reseed the emulator (the delete empties it) and wait for Ctrl-C or SIGTERM."""
    stack.emulator.reset()
    section(out, "The stack keeps running (Ctrl-C stops it)")
    say(out, "The emulator was reseeded, so there is data to try again with:")
    say(out, f"  export DSR_HOST={stack.base_url}")
    say(out, f"  export DSR_FUNCTION_KEY={stack.function_key}   # this local stack's own key")
    say(out, "  .venv/bin/python -m dsr export --categories projects tags images")
    say(out, f"  .venv/bin/python -m dsr status {EXPORT_ID}")
    say(out, "  .venv/bin/python -m dsr delete --dry-run")
    say(out, "  .venv/bin/python -m dsr export --subject userId=u-2002      # one person, every project")
    say(out, "  .venv/bin/python -m dsr delete --subject userId=u-2002 --dry-run")
    say(out, f"Custom Vision endpoint {stack.emulator.endpoint}, Training-Key {stack.emulator.training_key}")
    say(out, f"API description: {stack.base_url}/api/openapi.json (with the key in x-functions-key)")
    try:
        signal.pause()
    except KeyboardInterrupt:  # the expected way to end it
        say(out, "\nstopping")


def section(out: TextIO, title: str) -> None:
    say(out, f"\n== {title} ==")


def say(out: TextIO, text: str) -> None:
    print(text, file=out, flush=True)


def _shown(path: Path) -> str:
    """A path relative to the repo when it is inside it."""
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    raise SystemExit(main())
