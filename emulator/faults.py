"""Opt-in fault injection: added latency, random 429/500/503/dropped connections, and deny rules."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = ("429", "500", "503", "drop")


@dataclass(frozen=True)
class DenyRule:
    """Answer `operation` (or every operation when empty) on `project_id` with `status`."""

    project_id: str
    operation: str
    status: int

    def matches(self, project_id: str | None, operation: str) -> bool:
        return project_id == self.project_id and self.operation in ("", "*", operation)

    def to_json(self) -> dict[str, Any]:
        return {"projectId": self.project_id, "operation": self.operation, "status": self.status}


@dataclass
class FaultSettings:
    fault_rate: float = 0.0
    latency_ms: int = 0
    deny: list[DenyRule] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"faultRate": self.fault_rate, "latencyMs": self.latency_ms, "deny": [d.to_json() for d in self.deny]}


def parse_settings(body: Any, current: FaultSettings) -> FaultSettings:
    """New settings from a `POST /_emulator/faults` body; missing keys keep their value. ValueError if malformed."""
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    unknown = set(body) - {"faultRate", "latencyMs", "deny", "faultSeed"}
    if unknown:
        raise ValueError(f"unknown keys: {', '.join(sorted(unknown))}")
    rate = body.get("faultRate", current.fault_rate)
    latency = body.get("latencyMs", current.latency_ms)
    if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate <= 1:
        raise ValueError("faultRate must be a number between 0 and 1")
    if not isinstance(latency, int) or isinstance(latency, bool) or latency < 0:
        raise ValueError("latencyMs must be a non-negative integer")
    deny = current.deny
    if "deny" in body:
        deny = []
        for rule in body["deny"] or []:
            if not isinstance(rule, dict) or not isinstance(rule.get("projectId"), str):
                raise ValueError("each deny rule needs a projectId")
            status = rule.get("status", 403)
            if not isinstance(status, int) or not 400 <= status <= 599:
                raise ValueError("deny status must be an HTTP error status")
            deny.append(DenyRule(rule["projectId"].lower(), str(rule.get("operation", "")), status))
    return FaultSettings(float(rate), latency, deny)


class FaultInjector:
    """Decides per call whether to inject a fault; the seeded RNG makes a run repeatable."""

    def __init__(self, settings: FaultSettings, *, seed: int = 0) -> None:
        self.settings = settings
        self._rng = random.Random(seed)

    def pick(self) -> str | None:
        """One of FAULT_KINDS, or None for a normal answer."""
        if self.settings.fault_rate <= 0:
            return None
        if self._rng.random() >= self.settings.fault_rate:
            return None
        return self._rng.choice(FAULT_KINDS)

    def reseed(self, seed: int) -> None:
        """Restart the random sequence, so a test can replay the same faults."""
        self._rng = random.Random(seed)

    def denied(self, project_id: str | None, operation: str) -> DenyRule | None:
        return next((d for d in self.settings.deny if d.matches(project_id, operation)), None)
