"""Emulator settings: what the command line can change."""

from __future__ import annotations

from dataclasses import dataclass, field

from emulator.realism import Realism

DEFAULT_TRAINING_KEY = "local-training-key"
DEFAULT_STORAGE = "UseDevelopmentStorage=true"


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 5005
    seed: str = "demo"
    training_key: str = DEFAULT_TRAINING_KEY
    storage_connection_string: str = DEFAULT_STORAGE
    container: str = "customvision-emulator"
    tps: float = 10.0  # Training API calls per second; <= 0 disables the limit
    latency_ms: int = 0
    fault_rate: float = 0.0
    fault_seed: int = 0
    sas_ttl_minutes: int = 24 * 60  # the service's SAS links live 24 h (se= in GetTaggedImages.json)
    blob_prefix: str = ""  # names of this run's blobs start with it; empty: a fresh random one
    realism: Realism = field(default_factory=Realism)  # answer as the real service does (docs/real-service.md)
