"""Client fixtures over the scripted transport (for what the emulator cannot produce, and fast unit checks)."""

from collections.abc import Iterator

import pytest

from customvision import TrainingClient, reset_shared_rate_limiters
from tests.customvision.fakes import ScriptedTransport

KEY = "sEcReT-training-key-0123456789"
ENDPOINT = "https://cv.example.cognitiveservices.azure.com"


@pytest.fixture
def transport() -> ScriptedTransport:
    return ScriptedTransport(lambda request: (200, []))


@pytest.fixture
def client(transport: ScriptedTransport) -> Iterator[TrainingClient]:
    with TrainingClient(ENDPOINT, KEY, transport=transport, retry_backoff_factor=0.01) as training:
        yield training


@pytest.fixture(autouse=True)
def _fresh_shared_buckets() -> Iterator[None]:
    reset_shared_rate_limiters()
    yield
    reset_shared_rate_limiters()
