"""`python -m localrun.demo --keep-running` as the README runs it: the whole demo, then the CLI against it."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from localrun.process import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
READY = "The stack keeps running"


def read_until(lines: queue.Queue[str | None], marker: str, *, timeout: float) -> list[str]:
    """Lines up to and including the first one holding `marker` (the demo's stdout, read by a thread)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if marker in line:
            return seen
    raise AssertionError(f"no {marker!r} from the demo; it printed:\n" + "".join(seen))


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """Under the repo's ignored .state/ (pytest temp folders can be reaped by a concurrent session)."""
    path = REPO_ROOT / ".state" / f"test-demo-{os.getpid()}"
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_demo_runs_then_serves_the_cli(state_dir: Path) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "localrun.demo", "--keep-running", "--state-dir", str(state_dir)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=lambda: [*map(lines.put, demo.stdout), lines.put(None)], daemon=True).start()  # type: ignore[arg-type]
    try:
        text = "".join(read_until(lines, READY, timeout=240))
        assert "Demo pets (Classification)" in text and "Demo fruit (ObjectDetection)" in text
        assert "Training-Key: local-training-key" in text
        assert "Request demo-export: export of resource default: Completed (completed)" in text
        assert re.search(r"^  images\s+complete\s+60$", text, flags=re.MULTILINE), text
        assert "Files: container 'dsr-exports', prefix demo-export/" in text
        assert '"requestId": "demo-export"' in text and re.search(r"\(\d+ files, [\d,]+ bytes in all\)", text)
        assert "Request demo-subject-export: export of resource default: Completed (completed)" in text
        assert "found 5 images (13 copies in workspaces and trained iterations) in 2 projects" in text
        assert "Request demo-subject-plan: delete dry run of resource default: Completed (dry_run)" in text
        assert "Request demo-subject-delete: delete of resource default: Completed (completed)" in text
        assert "Model impact: 4 trained iterations were trained on the subject's images" in text
        assert ("Emulator after the erasure: 0 of 5 images of u-1001 left, 55 of 55 other images untouched, "
                "0 stored predictions from 'kiosk-7' left") in text
        assert "Request demo-delete-plan: delete dry run of resource default: Completed (dry_run)" in text
        assert "Emulator after the dry run: 2 projects, 55 distinct images (nothing deleted)" in text
        assert "Request demo-delete: delete of resource default: Completed (completed)" in text
        assert "clean, nothing left" in text and "Emulator after the delete: 0 projects left" in text
        assert "Signature: verifies" in text
        text += "".join(read_until(lines, "API description", timeout=30))
        host = re.search(r"export DSR_HOST=(\S+)", text)
        key = re.search(r"export DSR_FUNCTION_KEY=(\S+)", text)
        assert host and key, text

        env = {**os.environ, "DSR_HOST": host.group(1), "DSR_FUNCTION_KEY": key.group(1)}
        status = subprocess.run([sys.executable, "-m", "dsr", "status", "demo-export"], cwd=REPO_ROOT, env=env,
                                capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert status.returncode == 0, status.stdout + status.stderr
        assert "Completed (completed)" in status.stdout
    finally:
        demo.send_signal(signal.SIGTERM)
        code = demo.wait(timeout=60)
    assert code == 0  # the export succeeded; the delete steps never decide the exit status
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{host.group(1)}/api/openapi.json", timeout=5)
