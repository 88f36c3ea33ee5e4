"""The demo's pure helpers: how it shows the emulator's projects and a manifest."""

from __future__ import annotations

import json

from localrun.demo import manifest_excerpt, parse_args, project_line
from localrun.stack import DEFAULT_STATE_DIR


def test_project_line_counts_what_the_project_holds() -> None:
    project = {
        "id": "p1",
        "name": "Demo pets",
        "type": "Classification",
        "images": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
        "workspaceImageCount": 2,
        "iterations": [{}],
        "tags": [{}, {}],
        "predictions": [],
    }
    assert project_line(project) == (
        "Demo pets (Classification) p1: 3 images (2 in the workspace), 1 iterations, 2 tags, 0 stored predictions"
    )


def test_manifest_excerpt_is_json_with_the_file_list_cut() -> None:
    manifest = {
        "schemaVersion": "1.0",
        "requestId": "demo-export",
        "categories": {"images": {"status": "complete", "count": 5, "error": None}},
        "files": [{"path": f"f{i}", "size": 10, "sha256": "00"} for i in range(5)],
    }
    lines = manifest_excerpt(manifest, files=2)
    assert lines[0] == "{" and lines[-2] == "}"
    assert '    "images": {"status": "complete", "count": 5, "error": null}' in lines
    assert '    {"path": "f1", "size": 10, "sha256": "00"},' in lines
    assert "    … 3 more" in lines and "f2" not in "\n".join(lines)
    assert lines[-1] == "(5 files, 50 bytes in all)"
    whole = manifest_excerpt({**manifest, "files": manifest["files"][:2]}, files=2)
    json.loads("\n".join(whole[:-1]))  # nothing cut: still valid JSON


def test_defaults() -> None:
    args = parse_args([])
    assert (args.seed, args.state_dir, args.tps, args.keep_running) == ("demo", DEFAULT_STATE_DIR, 10, False)
