"""The emulator's blob store on Azurite: deleted images' blobs are reclaimed in the background, in order."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from emulator.blobs import BlobStore, make_upload
from localrun.azurite import Azurite


def test_deletion_is_answered_at_once_and_lands_before_a_name_is_reused(azurite: Azurite) -> None:
    async def scenario() -> None:
        store = BlobStore(azurite.connection_string, "reclaim-tests", uuid.uuid4().hex, sas_ttl=timedelta(hours=1))
        store.reclaim_delay = 0.2
        await store.start()
        try:
            keep, drop = make_upload("a.png", b"keep", "image/png"), make_upload("b.png", b"drop", "image/png")
            many = [make_upload(f"many/{n}.png", bytes([n]), "image/png") for n in range(100)]
            await store.put_many([keep, drop, *many])

            store.delete_later([drop.blob, *(u.blob for u in many)])  # returns before any blob is gone
            await store.settle()
            assert await store.read("b.png") is None
            assert all([await store.read(u.blob.name) is None for u in many])
            assert await store.read("a.png") == b"keep"

            store.delete_later([keep.blob])
            again = make_upload("a.png", b"written again", "image/png")
            await store.put_many([again])  # the pending deletion lands first, then the new bytes
            assert await store.read("a.png") == b"written again"
        finally:
            await store.close()

    asyncio.run(scenario())
