"""dsr/signing.py: local keys (first use, several processes, rotation), Key Vault against fakes of the SDK's clients,
JWKS, and verification that accepts only ES256 by a published kid."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from azure.keyvault.keys import KeyProperties, KeyVaultKey
from azure.keyvault.keys._generated.models import KeyAttributes  # the SDK's own model, as the service fills it
from azure.keyvault.keys.crypto import SignatureAlgorithm, SignResult
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature
from joserfc import jws
from joserfc.jwk import ECKey

from dsr import signing
from dsr.canonical_json import canonical_json
from dsr.settings import Settings
from dsr.signing import LocalKeySigner, SigningError, VaultKeyId, VaultSigner
from dsr.signing.command import main
from dsr.signing.tokens import b64url
from dsr.signing.vault import CACHE_SECONDS

PAYLOAD = b'{"a":1,"b":"caf\xc3\xa9"}'


def _keys(signer: signing.Signer) -> Any:
    return signing.key_set(signing.jwks(signer))


# Canonical JSON


def test_canonical_json_is_rfc_8785() -> None:
    # RFC 8785 §3.2.2/3.2.3: keys sorted by UTF-16 code units, no whitespace, shortest numbers, UTF-8 kept.
    value = {"b": [1.0, 1e21, "\u20ac"], "a": None, "\u00e9": True, "10": 0}
    assert canonical_json(value) == '{"10":0,"a":null,"b":[1,1e+21,"\u20ac"],"\u00e9":true}'.encode()
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


# Local keys


def test_first_use_creates_one_private_key_readable_by_its_owner_only(tmp_path: Path) -> None:
    directory = tmp_path / "state" / "signing-keys"
    signer = LocalKeySigner(directory)
    token = signer.sign(PAYLOAD)
    kid = signer.current_kid()
    private = directory / f"{kid}.private.pem"
    assert private.is_file() and stat.S_IMODE(private.stat().st_mode) == 0o600
    assert (directory / "current").read_text() == kid
    assert LocalKeySigner(directory).current_kid() == kid  # a restart keeps the key
    assert signing.verify(token, _keys(signer)) == (True, f"signature valid (ES256, key {kid})", PAYLOAD)
    assert b"PRIVATE" not in json.dumps(signing.jwks(signer)).encode() and "d" not in signing.jwks(signer)["keys"][0]


def test_the_kid_is_the_rfc_7638_thumbprint_of_the_public_key(tmp_path: Path) -> None:
    signer = LocalKeySigner(tmp_path)
    jwk = signing.jwks(signer)["keys"][0]
    # RFC 7638 §3.2: the required members, lexicographic order, no whitespace, SHA-256, base64url.
    members = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"], "y": jwk["y"]}, separators=(",", ":"))
    thumbprint = b64url(hashlib.sha256(members.encode()).digest())
    assert jwk["kid"] == thumbprint == signer.current_kid()
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")


def _first_kid(directory: str, queue: Any) -> None:
    try:
        queue.put(LocalKeySigner(Path(directory)).current_kid())
    except Exception as exc:  # the parent reports it at once instead of waiting out the queue's timeout
        queue.put(f"failed: {exc!r}")


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_first_kid, args=(str(tmp_path / "keys"), queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    kids = {queue.get(timeout=60) for _ in workers}
    for worker in workers:
        worker.join(60)
    assert len(kids) == 1, kids
    assert len(list((tmp_path / "keys").glob("*.private.pem"))) == 1


def test_a_loser_never_reads_the_winners_current_file_half_written(tmp_path: Path) -> None:
    # Signers with their own locks race as processes do; CI once saw a loser read `current` between the
    # winner's exclusive create and its write ("current is empty").
    for round_ in range(30):
        directory = tmp_path / str(round_)
        start = threading.Barrier(6)
        kids: list[str] = []

        def first(directory: Path = directory, start: threading.Barrier = start, kids: list[str] = kids) -> None:
            signer = LocalKeySigner(directory)
            start.wait()
            kids.append(signer.current_kid())

        threads = [threading.Thread(target=first) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(kids) == 6 and len(set(kids)) == 1, kids
        assert [p.name for p in directory.iterdir() if p.name.startswith(".")] == []  # no staged file left


def test_a_key_directory_without_hard_links_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(source: object, target: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr("dsr.signing.local.os.link", no_links)
    with pytest.raises(SigningError, match=r"cannot create .*current \(Operation not permitted\): set SIGNING_KEY"):
        LocalKeySigner(tmp_path / "keys").current_kid()
    assert sorted((tmp_path / "keys").iterdir()) == []  # no current, no orphaned key, no staged file


def test_rotation_keeps_old_signatures_verifiable_and_drops_the_old_private_key(tmp_path: Path) -> None:
    signer = LocalKeySigner(tmp_path)
    old_kid, old_token = signer.current_kid(), signer.sign(PAYLOAD)
    new_kid = signer.rotate()
    new_token = signer.sign(PAYLOAD)
    assert new_kid != old_kid and signing.header_of(new_token)["kid"] == new_kid
    published = [k["kid"] for k in signing.jwks(signer)["keys"]]
    assert published == [new_kid, old_kid]  # current first, the retired key stays
    assert not (tmp_path / f"{old_kid}.private.pem").exists() and (tmp_path / f"{old_kid}.public.pem").exists()
    keys = _keys(signer)
    assert signing.verify(old_token, keys)[0] and signing.verify(new_token, keys)[0]
    # a verifier holding only the old key set still checks old tokens, and names the kid it lacks for new ones
    only_new = signing.key_set({"keys": signing.jwks(signer)["keys"][:1]})
    valid, reason, _ = signing.verify(old_token, only_new)
    assert not valid and old_kid in reason and "not in the given key set" in reason


def test_the_cli_prints_the_jwks_and_rotates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jwks", "--key-dir", str(tmp_path)], env={}) == 0
    first = json.loads(capsys.readouterr().out)["keys"]
    assert main(["rotate", "--key-dir", str(tmp_path)], env={}) == 0
    assert "new signing key" in capsys.readouterr().out
    assert main(["jwks", "--key-dir", str(tmp_path)], env={}) == 0
    after = json.loads(capsys.readouterr().out)["keys"]
    assert len(after) == 2 and after[1] == first[0]


def test_an_unwritable_key_directory_names_the_settings(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SigningError, match=r"SIGNING_KEY_VAULT_KEY_ID.*SIGNING_KEY_DIR"):
        LocalKeySigner(blocker / "keys").sign(PAYLOAD)


def test_the_signer_comes_from_settings(tmp_path: Path) -> None:
    local = signing.signer_for(Settings.from_env({"SIGNING_KEY_DIR": str(tmp_path)}))
    assert isinstance(local, LocalKeySigner) and local.directory == tmp_path.resolve()
    assert signing.signer_for(Settings.from_env({"SIGNING_KEY_DIR": str(tmp_path)})) is local  # one per process
    vault = signing.signer_for(Settings.from_env({"SIGNING_KEY_VAULT_KEY_ID": "https://kv-x.vault.azure.net/keys/dsr"}))
    assert isinstance(vault, VaultSigner) and vault.key_id == VaultKeyId("https://kv-x.vault.azure.net", "dsr")


@pytest.mark.parametrize(
    "value",
    [
        "kv-x/keys/dsr",
        "https://kv-x.vault.azure.net/keys/dsr/0123abcd",
        "https://kv-x.vault.azure.net/secrets/dsr",
        "http://kv-x.vault.azure.net/keys/dsr",
    ],
)
def test_a_malformed_key_vault_key_id_names_the_setting(value: str) -> None:
    with pytest.raises(SigningError, match="SIGNING_KEY_VAULT_KEY_ID"):
        VaultKeyId.parse(value)


# Key Vault, faked at the SDK boundary: KeyClient and CryptographyClient stand-ins that return the SDK's own
# models (KeyVaultKey, KeyProperties, SignResult) as the service fills them. The vault's side of `sign` is
# what the Key Vault REST API documents for ES256: the caller sends a SHA-256 digest, the vault answers with
# the raw r||s signature (64 bytes), and the private key never leaves it.


class FakeVault:
    """A vault holding versions of one EC P-256 key; private halves stay in here."""

    def __init__(self, name: str = "dsr-signing") -> None:
        self.url = "https://kv-test.vault.azure.net"
        self.name = name
        self.versions: list[tuple[str, ec.EllipticCurvePrivateKey, bool]] = []
        self.signed: list[tuple[str, bytes]] = []
        self.reads = 0
        self.rotate()

    def rotate(self) -> str:
        version = f"v{len(self.versions) + 1:02d}" + "0" * 28
        self.versions.append((version, ec.generate_private_key(ec.SECP256R1()), True))
        return version

    def disable(self, version: str) -> None:
        self.versions = [(v, k, False if v == version else on) for v, k, on in self.versions]

    def key(self, version: str | None = None) -> KeyVaultKey:
        self.reads += 1
        chosen = next(entry for entry in reversed(self.versions) if version in (None, entry[0]))
        if not chosen[2]:
            raise PermissionError("Operation get is not allowed on a disabled key.")
        numbers = chosen[1].public_key().public_numbers()
        jwk = {"kid": f"{self.url}/keys/{self.name}/{chosen[0]}", "kty": "EC-HSM", "crv": "P-256",
               "x": numbers.x.to_bytes(32, "big"), "y": numbers.y.to_bytes(32, "big"), "key_ops": ["sign", "verify"]}
        return KeyVaultKey(key_id=jwk["kid"], jwk=jwk)

    def sign(self, key_id: str, algorithm: Any, digest: bytes) -> SignResult:
        assert algorithm == SignatureAlgorithm.es256 and len(digest) == 32, "ES256 signs a SHA-256 digest"
        version = key_id.rsplit("/", 1)[1]
        private = next(k for v, k, on in self.versions if v == version and on)
        r, s = decode_dss_signature(private.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))))
        self.signed.append((version, digest))
        return SignResult(key_id=key_id, algorithm=algorithm, signature=r.to_bytes(32, "big") + s.to_bytes(32, "big"))


class FakeKeyClient:
    def __init__(self, vault: FakeVault) -> None:
        self.vault = vault

    def get_key(self, name: str, version: str | None = None) -> KeyVaultKey:
        assert name == self.vault.name
        return self.vault.key(version)

    def list_properties_of_key_versions(self, name: str) -> list[KeyProperties]:
        return [KeyProperties(f"{self.vault.url}/keys/{name}/{v}", attributes=KeyAttributes(enabled=on))
                for v, _, on in self.vault.versions]


class FakeCryptographyClient:
    def __init__(self, vault: FakeVault, key: KeyVaultKey) -> None:
        self.vault, self.key_id = vault, key.id

    def sign(self, algorithm: Any, digest: bytes) -> SignResult:
        return self.vault.sign(self.key_id, algorithm, digest)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _vault_signer(vault: FakeVault, clock: Clock | None = None) -> VaultSigner:
    return VaultSigner(VaultKeyId(vault.url, vault.name), FakeKeyClient(vault),
                       lambda key: FakeCryptographyClient(vault, key), clock=clock or Clock())


def test_key_vault_signs_a_digest_and_the_jws_verifies_with_the_public_key_alone() -> None:
    vault = FakeVault()
    signer = _vault_signer(vault)
    token = signing.sign_detached(signer, PAYLOAD)
    header_b64, empty, _ = token.split(".")
    assert empty == ""  # detached
    signing_input = f"{header_b64}.{b64url(PAYLOAD)}".encode()
    assert vault.signed == [(vault.versions[0][0], hashlib.sha256(signing_input).digest())]
    kid = signer.current_kid()
    assert signing.header_of(token) == {"alg": "ES256", "kid": kid}
    assert signing.verify(token, _keys(signer), payload=PAYLOAD)[0]
    # an independent JOSE verifier with only the published public JWK accepts it too
    public = ECKey.import_key(signing.jwks(signer)["keys"][0])
    assert jws.deserialize_compact(token, public, algorithms=["ES256"], payload=PAYLOAD).payload == PAYLOAD


def test_a_key_vault_rotation_is_picked_up_after_the_cache_and_old_versions_stay_published() -> None:
    vault, clock = FakeVault(), Clock()
    signer = _vault_signer(vault, clock)
    old_kid, old_token = signer.current_kid(), signer.sign(PAYLOAD)
    vault.rotate()
    assert signer.current_kid() == old_kid  # cached view
    reads = vault.reads
    clock.now += CACHE_SECONDS
    new_token = signer.sign(PAYLOAD)
    new_kid = signer.current_kid()
    assert new_kid != old_kid and vault.reads > reads
    assert [k["kid"] for k in signer.public_keys()] == [new_kid, old_kid]
    assert vault.signed[-1][0] == vault.versions[-1][0]  # the newest version signed
    keys = _keys(signer)
    assert signing.verify(old_token, keys)[0] and signing.verify(new_token, keys)[0]


def test_a_disabled_old_version_drops_out_of_the_key_set_its_tokens_then_fail() -> None:
    vault, clock = FakeVault(), Clock()
    signer = _vault_signer(vault, clock)
    old_token = signer.sign(PAYLOAD)
    old_version = vault.versions[0][0]
    vault.rotate()
    vault.disable(old_version)
    clock.now += CACHE_SECONDS
    assert len(signer.public_keys()) == 1
    valid, reason, _ = signing.verify(old_token, _keys(signer))
    assert not valid and "not in the given key set" in reason


def test_key_vault_errors_and_wrong_keys_are_signing_errors() -> None:
    vault = FakeVault()

    class Down(FakeKeyClient):
        def get_key(self, name: str, version: str | None = None) -> KeyVaultKey:
            raise ConnectionError("vault unreachable")

    down = VaultSigner(VaultKeyId(vault.url, vault.name), Down(vault), lambda key: FakeCryptographyClient(vault, key))
    with pytest.raises(SigningError, match="cannot read signing key 'dsr-signing'"):
        down.sign(PAYLOAD)

    class Rsa(FakeKeyClient):
        def get_key(self, name: str, version: str | None = None) -> KeyVaultKey:
            rsa = {"kty": "RSA", "n": b"\x01" * 256, "e": b"\x01"}
            return KeyVaultKey(key_id=f"{vault.url}/keys/{name}/v1", jwk=rsa)

    with pytest.raises(SigningError, match="must be EC P-256"):
        VaultSigner(VaultKeyId(vault.url, vault.name), Rsa(vault), lambda key: None).sign(PAYLOAD)  # type: ignore


def test_a_vault_signature_by_another_key_is_refused_before_anyone_sees_it() -> None:
    vault, impostor = FakeVault(), FakeVault()
    signer = VaultSigner(VaultKeyId(vault.url, vault.name), FakeKeyClient(vault),
                         lambda key: FakeCryptographyClient(impostor, impostor.key()))
    with pytest.raises(SigningError, match="does not verify"):
        signer.sign(PAYLOAD)


def test_the_real_sdk_clients_are_built_for_the_key_id() -> None:
    signer = signing.vault_signer("https://kv-x.vault.azure.net/keys/dsr-signing")
    assert signer._keys.vault_url == "https://kv-x.vault.azure.net"  # type: ignore[attr-defined]


# Verification is strict


def test_only_es256_by_a_known_kid_verifies(tmp_path: Path) -> None:
    signer = LocalKeySigner(tmp_path)
    keys = _keys(signer)
    token = signer.sign(PAYLOAD)
    _, payload, signature = token.split(".")
    none_header = b64url(b'{"alg":"none","kid":"%s"}' % signer.current_kid().encode())
    hs_header = b64url(b'{"alg":"HS256","kid":"%s"}' % signer.current_kid().encode())
    assert "unsupported signature algorithm 'none'" in signing.verify(f"{none_header}.{payload}.", keys)[1]
    assert "unsupported signature algorithm 'HS256'" in signing.verify(f"{hs_header}.{payload}.{signature}", keys)[1]
    assert not signing.verify("not a jws", keys)[0]
    # a detached check refuses a token that carries a payload of its own (it would be checking other bytes)
    assert "detached" in signing.verify(token, keys, payload=b"{}")[1]


def test_jwks_documents_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a JWKS"):
        signing.key_set({"keys": []})
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ValueError, match="not JSON"):
        signing.load_jwks(str(bad))
