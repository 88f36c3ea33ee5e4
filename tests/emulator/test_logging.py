"""The emulator never writes the training key or SAS signatures to its log."""

from __future__ import annotations

import requests

KEY = "distinctive-training-key-5150"


def test_log_holds_no_key_and_no_signature(emulator_factory) -> None:  # type: ignore[no-untyped-def]
    server = emulator_factory("demo", tps=0, training_key=KEY, fault_rate=0.3, fault_seed=1)
    base = f"{server.endpoint}/customvision/v3.3/training"
    headers = {"Training-Key": KEY}
    for _ in range(20):
        for path in ("/projects", "/projects/00000000-0000-4000-8000-000000000000", "/nowhere"):
            try:
                requests.get(base + path, headers=headers, timeout=30)
                requests.get(base + path, headers={"Training-Key": KEY + "-wrong"}, timeout=30)
            except requests.ConnectionError:
                pass
    server.set_faults(faultRate=0.0)
    project = server.state()["projects"][0]["id"]
    images = requests.get(f"{base}/projects/{project}/images", headers=headers, timeout=30).json()
    assert any("sig=" in image["originalImageUri"] for image in images)  # SAS URLs were served (some are relative)
    server.stop()
    log = server.log_path.read_text()
    assert "emulator listening on" in log
    assert KEY not in log and "sig=" not in log
