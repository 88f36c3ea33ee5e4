"""infra/ and azure.yaml, checked without a Bicep compiler (none installs from the registries here).

What is checked: every Bicep file parses (tree-sitter Bicep grammar); names used are declared and params
used; module and import paths exist; registry modules are pinned Azure Verified Modules whose parameters
(recorded from their tagged sources in avm_modules.json) match what we pass; local modules get exactly their
parameters; main.bicepparam assigns real parameters and every required one; role ids are the documented
built-in ids; the app settings name every setting the code reads; nothing secret is written in the files.
Not checked: Bicep types, resource API schemas, expression evaluation, what ARM would do on deploy.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.infra import bicep
from tests.infra.settings_scan import scan

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
AVM = json.loads((Path(__file__).with_name("avm_modules.json")).read_text("utf-8"))
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))
APP_MODULE = INFRA / "modules" / "function-app.bicep"

# Azure built-in role ids ("Azure built-in roles", Azure RBAC docs): the same GUID in every tenant.
BUILT_IN_ROLES = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Storage Blob Delegator": "db58b8e5-c6ad-4a2a-8342-4190687cbf4a",
    "Azure Service Bus Data Receiver": "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
    "Azure Service Bus Data Sender": "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Crypto Officer": "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Cognitive Services Contributor": "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68",
    "Cognitive Services Custom Vision Contributor": "c1ff6cc2-c111-46fe-8896-e0ef812ad9f3",
    "Durable Task Data Contributor": "0ad04412-c4d5-4796-b79c-f76d14c8d402",
    "Durable Task Data Reader": "d6a5505f-6ebb-45a4-896e-ac8274cfc0ac",
}

# Roles the issue requires the app identity to hold (role-ids.bicep constant names).
REQUIRED_APP_ROLES = {
    "storageBlobDataOwner",
    "storageQueueDataContributor",
    "storageTableDataContributor",
    "storageBlobDelegator",
    "serviceBusDataReceiver",
    "keyVaultSecretsUser",
}

# Settings the code reads that deliberately have no app setting in Azure, and why.
NOT_IN_AZURE = {
    "EXPORT_STORAGE_CONNECTION_STRING": "Azure uses EXPORT_STORAGE_ACCOUNT_URL with the managed identity (no keys)",
    "SIGNING_KEY_DIR": "Azure signs in Key Vault (SIGNING_KEY_VAULT_KEY_ID); a local key file is for local runs",
    "RECEIPT_SIGNING_KEY": "the HMAC key of receipts issued before ES256 only verifies them (operators, not the app): "
                           "an app holding it could forge an old-style receipt",
}

# Identity-based connections: a binding's connection="X" is satisfied by X or X__<one of these>.
IDENTITY_CONNECTION_SUFFIXES = ("fullyQualifiedNamespace", "accountName", "serviceUri", "blobServiceUri")

# App settings that Flex Consumption rejects (runtime and package are set in functionAppConfig).
FLEX_REJECTED = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "FUNCTIONS_MAX_HTTP_CONCURRENCY",
    "FUNCTIONS_WORKER_PROCESS_COUNT",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_NODE_DEFAULT_VERSION",
    "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
}


@pytest.fixture(scope="module")
def files() -> dict[Path, bicep.BicepFile]:
    return {path: bicep.load(path) for path in BICEP_FILES}


def test_layout_is_azd_ready() -> None:
    text = (ROOT / "azure.yaml").read_text("utf-8")
    assert re.search(r"^infra:\n(\s+.+\n)*\s+path: infra\n", text, re.MULTILINE)
    assert re.search(r"^services:\n\s+api:\n(\s+.+\n)*?\s+host: function\n", text, re.MULTILINE)
    assert re.search(r"^\s+language: python$", text, re.MULTILINE)
    assert (INFRA / "main.bicep").is_file() and (INFRA / "main.bicepparam").is_file()
    # azd deploys to the app tagged with the service name.
    assert "'azd-service-name': 'api'" in APP_MODULE.read_text("utf-8")


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_bicep_parses(path: Path, files: dict[Path, bicep.BicepFile]) -> None:
    assert files[path].errors == []


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_names_are_declared_and_params_used(path: Path, files: dict[Path, bicep.BicepFile]) -> None:
    file = files[path]
    references = file.references()
    undeclared = sorted({f"{name} (line {line})" for name, line in references if name not in file.declared})
    assert undeclared == []
    used = {name for name, _ in references}
    assert sorted(set(file.params) - used) == [], "declared but never used"


def test_local_module_and_import_paths_exist(files: dict[Path, bicep.BicepFile]) -> None:
    missing = []
    for path, file in files.items():
        sources = [m.source for m in file.modules] + [source for source, _ in file.imports]
        for source in sources:
            if not source.startswith("br/") and not (path.parent / source).is_file():
                missing.append(f"{path.relative_to(INFRA)} -> {source}")
    assert missing == []


def test_registry_modules_are_pinned_avm_with_known_params(files: dict[Path, bicep.BicepFile]) -> None:
    problems = []
    for path, file in files.items():
        for module in file.modules:
            if not module.source.startswith("br"):
                continue
            where = f"{path.relative_to(INFRA)}:{module.line} {module.name}"
            if not re.fullmatch(r"br/public:avm/res/[a-z0-9-]+/[a-z0-9-]+:\d+\.\d+\.\d+", module.source):
                problems.append(f"{where}: not a pinned AVM resource module: {module.source}")
                continue
            known = AVM.get(module.source)
            if known is None:
                problems.append(f"{where}: {module.source} not recorded in avm_modules.json")
                continue
            unknown = set(module.params) - set(known["params"])
            required = {name for name, kind in known["params"].items() if kind == "required"}
            if unknown:
                problems.append(f"{where}: params not declared by {module.source}: {sorted(unknown)}")
            if required - set(module.params):
                problems.append(f"{where}: required params missing: {sorted(required - set(module.params))}")
    assert problems == []


def test_module_outputs_used_exist(files: dict[Path, bicep.BicepFile]) -> None:
    """`x.outputs.y` only names outputs module x declares (AVM: recorded; local: its file)."""
    problems = []
    for path, file in files.items():
        by_name = {m.name: m for m in file.modules}
        for symbol, output, line in _outputs_used(file.text):
            module = by_name.get(symbol)
            if module is None:
                continue
            if module.source.startswith("br"):
                outputs = set(AVM[module.source]["outputs"])
            else:
                target = (path.parent / module.source).read_text("utf-8")
                outputs = set(re.findall(r"^output (\w+) ", target, re.MULTILINE))
            if output not in outputs:
                problems.append(f"{path.relative_to(INFRA)}:{line}: {symbol}.outputs.{output}")
    assert problems == []


def _outputs_used(text: str) -> list[tuple[str, str, int]]:
    out = []
    for match in re.finditer(r"\b(\w+)\.outputs\.(\w+)", text):
        out.append((match.group(1), match.group(2), text.count("\n", 0, match.start()) + 1))
    return out


def test_local_modules_get_exactly_their_params(files: dict[Path, bicep.BicepFile]) -> None:
    problems = []
    for path, file in files.items():
        for module in file.modules:
            if module.source.startswith("br"):
                continue
            target = files[(path.parent / module.source).resolve()]
            where = f"{path.relative_to(INFRA)}:{module.line} {module.name}"
            unknown = set(module.params) - set(target.params)
            missing = {p for p in target.params if not target.param_has_default(p)} - set(module.params)
            if unknown:
                problems.append(f"{where}: not params of {module.source}: {sorted(unknown)}")
            if missing:
                problems.append(f"{where}: required params not passed: {sorted(missing)}")
    assert problems == []


def test_bicepparam_matches_main(files: dict[Path, bicep.BicepFile]) -> None:
    values, using = bicep.load_bicepparam(INFRA / "main.bicepparam")
    assert values.errors == []
    assert using == "main.bicep"
    main = files[INFRA / "main.bicep"]
    assigned = set(values.declared)
    assert sorted(assigned - set(main.params)) == [], "assigned but not a parameter of main.bicep"
    required = {p for p in main.params if not main.param_has_default(p)}
    assert sorted(required - assigned) == [], "required parameters without a value"


def test_role_ids_are_the_documented_built_in_ids() -> None:
    text = (INFRA / "modules" / "role-ids.bicep").read_text("utf-8")
    constants = re.findall(r"@description\('([^':]+):[^\n]*\n\s*var (\w+) = '([0-9a-f-]{36})'", text)
    declared = re.findall(r"^var (\w+) =", text, re.MULTILINE)
    assert len(constants) == len(declared) > 0, "every role constant has a description naming its role"
    wrong = [(name, role, guid) for role, name, guid in constants if BUILT_IN_ROLES.get(role) != guid]
    assert wrong == []


def test_role_assignments_use_named_constants_only(files: dict[Path, bicep.BicepFile]) -> None:
    """No GUID literal outside role-ids.bicep, and the app identity holds every role the issue lists."""
    guid = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
    stray = [p.name for p in BICEP_FILES if p.name != "role-ids.bicep" and guid.search(p.read_text("utf-8"))]
    assert stray == []
    rbac = (INFRA / "modules" / "rbac.bicep").read_text("utf-8")
    app_roles = set(re.findall(r"roles\.(\w+)\)\n\s+principalId: appPrincipalId", rbac))
    assert sorted(REQUIRED_APP_ROLES - app_roles) == []


def app_settings(files: dict[Path, bicep.BicepFile]) -> dict[str, int]:
    return files[APP_MODULE].object_keys("appSettings")


def test_app_settings_cover_every_setting_the_code_reads(files: dict[Path, bicep.BicepFile]) -> None:
    found = scan(ROOT)
    print(found.report())  # shown with -s / on failure: what the scanner found and where
    settings = app_settings(files)
    missing = []
    for item in found.found:
        if item.name in NOT_IN_AZURE:
            continue
        if item.kind == "connection":
            ok = item.name in settings or any(f"{item.name}__{s}" in settings for s in IDENTITY_CONNECTION_SUFFIXES)
        else:
            ok = item.name in settings
        if not ok:
            missing.append(f"{item.name} ({item.kind}, {item.where})")
    assert sorted(set(missing)) == []
    # the exemptions stay honest: each is still read by the code
    assert set(NOT_IN_AZURE) <= found.names()


def test_identity_connections_are_complete(files: dict[Path, bicep.BicepFile]) -> None:
    """Every X__credential=managedidentity connection also names the identity and its endpoint."""
    settings = app_settings(files)
    prefixes = {key.split("__")[0] for key in settings if key.endswith("__credential")}
    assert prefixes >= {"AzureWebJobsStorage", "SERVICEBUS_CONNECTION"}
    for prefix in prefixes:
        assert f"{prefix}__clientId" in settings
        assert any(f"{prefix}__{s}" in settings for s in IDENTITY_CONNECTION_SUFFIXES), prefix


def test_no_settings_that_flex_consumption_rejects(files: dict[Path, bicep.BicepFile]) -> None:
    assert sorted(FLEX_REJECTED & set(app_settings(files))) == []


def test_secrets_are_key_vault_references(files: dict[Path, bicep.BicepFile]) -> None:
    text = APP_MODULE.read_text("utf-8")
    for name in ("CUSTOMVISION_TRAINING_KEY",):
        line = next(line for line in text.splitlines() if line.strip().startswith(f"{name}:"))
        assert "kvRef(" in line, line
    assert "keyVaultAccessIdentityResourceId: identityId" in text
    assert "RECEIPT_SIGNING_KEY" not in app_settings(files)  # the old HMAC key can no longer sign anything


SECRET_PATTERNS = {
    "storage key": re.compile(r"AccountKey\s*=", re.IGNORECASE),
    "SAS/Service Bus key": re.compile(r"SharedAccessKey\s*=|\bsig=[A-Za-z0-9%]{20,}", re.IGNORECASE),
    "instrumentation key literal": re.compile(r"InstrumentationKey=[0-9a-f-]{36}", re.IGNORECASE),
    "listKeys call": re.compile(r"\blistKeys\s*\(", re.IGNORECASE),
    "connection string output": re.compile(r"outputs\.(primary|secondary)(ConnectionString|Key|AccessKey)\b"),
    "long opaque literal": re.compile(r"'[A-Za-z0-9+/]{40,}={0,2}'"),
    # an opaque value (letters and digits, no spaces or dashes) assigned to something named like a secret
    "password literal": re.compile(
        r"(password|secret|key|token)\w*\s*[:=]\s*'(?=[^']*\d)(?=[^']*[A-Za-z])[^'\s${}-]{12,}'", re.IGNORECASE
    ),
}


@pytest.mark.parametrize("path", [*BICEP_FILES, INFRA / "main.bicepparam", ROOT / "azure.yaml"], ids=lambda p: p.name)
def test_no_secret_literals(path: Path) -> None:
    text = path.read_text("utf-8")
    hits = [f"{label}: line {text.count(chr(10), 0, m.start()) + 1}" for label, rx in SECRET_PATTERNS.items()
            for m in rx.finditer(text)]
    assert hits == []


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_secure_params_have_no_literal_default_and_never_leave(path: Path, files: dict[Path, bicep.BicepFile]) -> None:
    file = files[path]
    for name in file.params:
        if not file.param_is_secure(name):
            continue
        declaration = file.params[name].text.decode()
        if file.param_has_default(name):
            default = declaration.split("=", 1)[1].strip()
            assert default in ("''", "'{}'", "newGuid()"), f"{name} has a literal default"
        outputs = re.findall(rf"^output \w+ [^\n]*\b{name}\b", file.text, re.MULTILINE)
        assert outputs == [], f"secure param {name} in an output"


def test_security_switches(files: dict[Path, bicep.BicepFile]) -> None:
    """Shared keys and local auth off; exports really deletable (no soft delete, versions or change feed)."""
    main = {m.name: m for m in files[INFRA / "main.bicep"].modules}

    def text(module: str, param: str) -> str:
        return main[module].params[param].text.decode()

    for account in ("hubStorage", "exportStorage"):
        assert text(account, "allowSharedKeyAccess").endswith("false")
        assert text(account, "allowBlobPublicAccess").endswith("false")
    blob = text("exportStorage", "blobServices")
    for switch in ("deleteRetentionPolicyEnabled", "containerDeleteRetentionPolicyEnabled", "isVersioningEnabled",
                   "changeFeedEnabled"):
        assert re.search(rf"\b{switch}: false\b", blob), switch
    assert text("serviceBus", "disableLocalAuth").endswith("true")
    assert re.search(r"deadLetteringOnMessageExpiration: true", text("serviceBus", "queues"))
    assert text("keyVault", "enableRbacAuthorization").endswith("true")
    assert text("appInsights", "disableLocalAuth").endswith("true")


def test_flex_runtime_and_worker_threads_match_host_json(files: dict[Path, bicep.BicepFile]) -> None:
    app = APP_MODULE.read_text("utf-8")
    assert re.search(r"name: 'python'\n\s+version: '3.11'", app)
    main = files[INFRA / "main.bicep"]
    threads = int(main.params["pythonThreadCount"].text.decode().rsplit("=", 1)[1])
    host = json.loads((ROOT / "host.json").read_text("utf-8"))
    activities = host["extensions"]["durableTask"]["maxConcurrentActivityFunctions"]
    assert activities <= threads, "each concurrent activity needs a worker thread (PYTHON_THREADPOOL_THREAD_COUNT)"


# Receipts and their signatures (issue 18). Checked as text: what ARM would do with it is not testable here.

RECEIPTS_MODULE = INFRA / "modules" / "receipts.bicep"
SIGNING_MODULE = INFRA / "modules" / "signing.bicep"


def test_receipts_land_in_a_version_level_worm_container_of_their_own(files: dict[Path, bicep.BicepFile]) -> None:
    text = RECEIPTS_MODULE.read_text("utf-8")
    assert re.search(r"isVersioningEnabled: true", text)  # version-level immutability requires versioning
    assert re.search(r"immutableStorageWithVersioning: \{ enabled: true \}", text)
    policy = text[text.index("containers/immutabilityPolicies@"):]
    assert "name: 'default'" in policy and "parent: container" in policy  # the container's default policy
    assert "immutabilityPeriodSinceCreationInDays: immutabilityDays" in policy
    assert "allowProtectedAppendWrites: false" in policy
    assert "allowSharedKeyAccess: false" in text and "allowBlobPublicAccess: false" in text
    # an account apart from exports: exports keep versioning off, so a deleted export is really gone
    main = {m.name: m for m in files[INFRA / "main.bicep"].modules}
    assert main["receiptStorage"].source == "modules/receipts.bicep"
    assert "receiptStorageName" in main["receiptStorage"].params["name"].text.decode()
    settings = APP_MODULE.read_text("utf-8")
    assert "RECEIPT_STORAGE_ACCOUNT_URL: receiptBlobEndpoint" in settings
    assert "RECEIPT_CONTAINER: receiptContainerName" in settings
    assert "receiptStorage.outputs.blobEndpoint" in main["app"].params["receiptBlobEndpoint"].text.decode()
    # housekeeping deletes from the export container only (EXPORT_CONTAINER): receipts are out of its reach
    assert "EXPORT_STORAGE_ACCOUNT_URL: exportBlobEndpoint" in settings


def test_the_signing_key_is_an_ec_key_that_only_signs_and_never_leaves_the_vault() -> None:
    text = SIGNING_MODULE.read_text("utf-8")
    key = text[text.index("resource key 'Microsoft.KeyVault/vaults/keys@"):text.index("// Custom role")]
    assert "@onlyIfNotExists()" in text[:text.index("resource key ")].rsplit("\n\n", 1)[-1]
    assert "kty: 'EC'" in key and "curveName: 'P-256'" in key
    assert re.search(r"keyOps: \['sign', 'verify'\]", key) and "exportable: false" in key
    assert "action: { type: 'rotate' }" in key
    assert "output keyId string = '${vault.properties.vaultUri}keys/${keyName}'" in text  # no version: newest signs
    assert "SIGNING_KEY_VAULT_KEY_ID: signingKeyId" in APP_MODULE.read_text("utf-8")


def test_the_app_identity_may_only_read_and_sign_with_that_one_key() -> None:
    text = SIGNING_MODULE.read_text("utf-8")
    role = text[text.index("resource signerRole"):]
    actions = re.findall(r"'(Microsoft\.[^']+)'", role[role.index("dataActions"):role.index("notDataActions")])
    assert actions == ["Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/sign/action"]
    assert re.search(r"\bactions: \[\]", role)  # no control-plane actions
    rbac = (INFRA / "modules" / "rbac.bicep").read_text("utf-8")
    signer = rbac[rbac.index("resource keySigner"):]
    signer = signer[:signer.index("\n}\n")]
    assert "scope: signingKey" in signer and "roleDefinitionId: signerRoleDefinitionId" in signer
    assert "principalId: appPrincipalId" in signer
    # no built-in Key Vault crypto role for the app anywhere (those allow decrypt, wrap, ... on every key)
    app_roles = set(re.findall(r"roles\.(\w+)\)\n\s+principalId: appPrincipalId", rbac))
    assert not {r for r in app_roles if "Crypto" in r}
    writer = rbac[rbac.index("resource receiptWriter"):]
    assert "scope: receiptContainer" in writer[:writer.index("\n}\n")]
