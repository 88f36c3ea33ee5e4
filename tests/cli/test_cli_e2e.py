"""`python -m dsr` as a user runs it, against the local stack (devhost serving the app, emulator, Azurite)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import requests

from localrun.process import REPO_ROOT
from localrun.stack import LocalRun
from tests.fixtures.stack import LocalRunFactory

pytestmark = pytest.mark.e2e


def dsr(
    stack: LocalRun, *argv: str, key: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `python -m dsr ARGV` with DSR_HOST/DSR_FUNCTION_KEY pointing at the stack."""
    env = {**os.environ, "DSR_HOST": stack.base_url, "DSR_FUNCTION_KEY": key or stack.function_key}
    return subprocess.run([sys.executable, "-m", "dsr", *argv], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip


def category_rows(stdout: str) -> dict[str, tuple[str, int]]:
    """The summary's table as {category: (status, count)}."""
    rows = re.findall(r"^  ([a-z_]+)\s+(complete|failed|skipped)\s+(\d+)", stdout, flags=re.MULTILINE)
    return {name: (status, int(count)) for name, status, count in rows}


def test_export_to_completion(local_stack: LocalRun) -> None:
    truth = local_stack.emulator.state()["projects"]
    done = dsr(local_stack, "export", "--request-id", "cli-e2e-export")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.startswith(f"Submitted export request cli-e2e-export to {local_stack.base_url}\n")
    assert "request cli-e2e-export · export · Completed" in out  # progress, one line per update (not a TTY)
    assert "Request cli-e2e-export: export of resource default: Completed (completed)" in out
    rows = category_rows(out)
    assert rows["images"] == ("complete", sum(len(p["images"]) for p in truth))
    assert rows["projects"] == ("complete", len(truth))
    assert rows["tags"] == ("complete", sum(len(p["tags"]) for p in truth))
    assert rows["predictions"] == ("complete", sum(len(p["predictions"]) for p in truth))
    assert rows["account"][0] == "skipped"  # no ARM id configured locally
    manifest_url = re.search(r"^Manifest: (\S+)$", out, flags=re.MULTILINE)
    assert manifest_url, out
    manifest = requests.get(manifest_url.group(1), timeout=10).json()
    assert manifest["requestId"] == "cli-e2e-export"
    assert local_stack.function_key not in out + done.stderr

    again = dsr(local_stack, "status", "cli-e2e-export")
    assert again.returncode == 0 and category_rows(again.stdout) == rows
    finished = dsr(local_stack, "cancel", "cli-e2e-export")
    assert finished.returncode == 2 and "409" in finished.stderr


def test_bad_requests_exit_2_naming_the_field(local_stack: LocalRun) -> None:
    unknown = dsr(local_stack, "export", "--categories", "images", "imgs")
    assert unknown.returncode == 2, unknown.stdout + unknown.stderr
    assert "error: 400" in unknown.stderr and "/categories/1:" in unknown.stderr
    assert unknown.stdout == ""

    unconfirmed = dsr(local_stack, "delete", "--projects", "not-a-uuid")
    assert unconfirmed.returncode == 2
    assert "/confirm:" in unconfirmed.stderr and "/projects/0:" in unconfirmed.stderr

    assert dsr(local_stack, "status", "no-such-request").returncode == 2
    refused = dsr(local_stack, "status", "cli-e2e-export", key="wrong-key")
    assert refused.returncode == 3 and "401" in refused.stderr


def test_no_wait_then_watch(local_stack: LocalRun) -> None:
    submitted = dsr(local_stack, "export", "--categories", "projects", "tags", "--request-id", "cli-e2e-later",
                    "--no-wait")  # fmt: skip
    assert submitted.returncode == 0 and "python -m dsr status cli-e2e-later --watch" in submitted.stdout
    watched = dsr(local_stack, "status", "cli-e2e-later", "--watch")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert set(category_rows(watched.stdout)) == {"projects", "tags"}


def test_delete_dry_run_then_for_real(local_stack_factory: LocalRunFactory) -> None:
    """On a stack of its own: the delete empties the emulator."""
    stack = local_stack_factory("demo")
    truth = stack.emulator.state()["projects"]
    # the planner counts image copies per set (workspace + every iteration's snapshot), not distinct images
    copies = sum(p["workspaceImageCount"] + sum(len(i["imageIds"]) for i in p["iterations"]) for p in truth)

    plan = dsr(stack, "delete", "--dry-run", "--request-id", "cli-e2e-plan")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "Request cli-e2e-plan: delete dry run of resource default: Completed" in plan.stdout
    assert category_rows(plan.stdout)["projects"] == ("complete", len(truth))
    assert category_rows(plan.stdout)["images"] == ("complete", copies)
    assert "Receipt" not in plan.stdout
    assert len(stack.emulator.state()["projects"]) == len(truth)  # nothing deleted

    done = dsr(stack, "delete", "--confirm", "default", "--request-id", "cli-e2e-delete")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Request cli-e2e-delete: delete of resource default: Completed (completed)" in done.stdout
    assert "Receipt (signed ES256, key " in done.stdout
    assert re.search(rf"^  images\s+complete\s+{copies}\s+{copies}\s+0$", done.stdout, flags=re.MULTILINE), done.stdout
    assert "verification (" in done.stdout and "clean, nothing left" in done.stdout
    assert stack.emulator.state()["projects"] == []
    assert stack.function_key not in done.stdout + done.stderr
