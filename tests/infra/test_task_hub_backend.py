"""infra/ offers the Durable Task Scheduler beside Azure Storage as the task hub backend, chosen by a parameter,
with the same code and host.json (issue 17, point 6). Checked as text and with the Bicep grammar, like the rest of
tests/infra: what ARM would do on deploy is not testable here.

Evidence for the mechanism (cited in docs/operations.md#task-hub-backend):
- the Durable extension picks its provider by `storageProvider.type`, matched literally (no %setting%
  resolution) against the providers' names, and uses Azure Storage when no type is given
  (DurableTaskExtension.GetDurabilityProviderFactory in Azure/azure-functions-durable-extension);
- the Functions host reads host.json through configuration, so an app setting
  `AzureFunctionsJobHost__extensions__durableTask__storageProvider__type` overrides it ("Override host.json
  values", host.json reference);
- the scheduler's provider is "azureManaged", with its connection string in the setting `connectionStringName`
  names; identity-only: `Authentication=ManagedIdentity;ClientID=<user-assigned identity>`; role Durable Task
  Data Contributor; in the GA extension bundle from 4.30.0 (Azure/azure-functions-extension-bundles a9c76ff).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.infra import bicep

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
APP = INFRA / "modules" / "function-app.bicep"
SCHEDULER = INFRA / "modules" / "durable-task-scheduler.bicep"
TYPE_SETTING = "AzureFunctionsJobHost__extensions__durableTask__storageProvider__type"
CONNECTION_NAME_SETTING = "AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName"


@pytest.fixture(scope="module")
def main() -> bicep.BicepFile:
    return bicep.load(MAIN)


@pytest.fixture(scope="module")
def app() -> bicep.BicepFile:
    return bicep.load(APP)


def test_a_parameter_chooses_the_backend_azure_storage_by_default(main: bicep.BicepFile) -> None:
    declaration = main.params["taskHubBackend"].text.decode()
    assert declaration.endswith("= 'azureStorage'")
    text = main.text
    assert "@allowed(['azureStorage', 'durableTaskScheduler'])\n" in text
    assert "var useScheduler = taskHubBackend == 'durableTaskScheduler'" in text
    module = next(m for m in main.modules if m.name == "durableTaskScheduler")
    assert module.source == "modules/durable-task-scheduler.bicep"
    assert re.search(r"module durableTaskScheduler '[^']+' = if \(useScheduler\)", text)
    # the app gets the scheduler's endpoint only when the scheduler is chosen
    endpoint = next(m for m in main.modules if m.name == "app").params["durableTaskSchedulerEndpoint"]
    assert endpoint.text.decode().endswith("useScheduler ? durableTaskScheduler!.outputs.endpoint : ''")
    values, _ = bicep.load_bicepparam(INFRA / "main.bicepparam")
    assert "taskHubBackend" in values.declared and "TASK_HUB_BACKEND" in values.text


def test_the_scheduler_holds_the_hub_host_json_names_reached_by_identity_only(main: bicep.BicepFile) -> None:
    text = SCHEDULER.read_text("utf-8")
    assert "resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01'" in text
    assert "resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01'" in text
    assert "parent: scheduler" in text and "name: taskHubName" in text
    # one place for the hub name: host.json, read at compile time
    assert "var taskHubName = loadJsonContent('../host.json').extensions.durableTask.hubName" in main.text
    assert json.loads((ROOT / "host.json").read_text())["extensions"]["durableTask"]["hubName"]
    app_access = text[text.index("resource appAccess"):text.index("resource operatorAccess")]
    assert "scope: taskHub" in app_access  # the narrowest scope that works: this task hub
    assert "roles.durableTaskDataContributor" in app_access and "principalId: appPrincipalId" in app_access
    operator = text[text.index("resource operatorAccess"):]
    assert "roles.durableTaskDataReader" in operator  # the dashboard, read-only
    assert "output endpoint string = scheduler.properties.endpoint" in text
    assert "ipAllowlist: ['0.0.0.0/0']" in text  # an empty list would refuse every caller


def test_the_app_settings_switch_the_provider_without_code_changes(app: bicep.BicepFile) -> None:
    text = APP.read_text("utf-8")
    block = text[text.index("var taskHubSettings"):]
    block = block[:block.index("\n}\n")]
    assert block.startswith("var taskHubSettings = empty(durableTaskSchedulerEndpoint) ? {} : {")
    assert f"{TYPE_SETTING}: 'azureManaged'" in block
    assert f"{CONNECTION_NAME_SETTING}: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'" in block
    connection = re.search(r"DURABLE_TASK_SCHEDULER_CONNECTION_STRING: '([^']*)'", block)
    assert connection is not None
    assert connection.group(1) == (
        "Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}")
    assert "properties: union(appSettings, extraKeySettings, taskHubSettings)" in text
    # Azure Storage stays the default: the hub account's identity connection is always there (the host needs it)
    settings = app.object_keys("appSettings")
    assert {"AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential"} <= set(settings)
    assert TYPE_SETTING not in settings  # only in taskHubSettings, i.e. only with the scheduler


def test_host_json_leaves_the_provider_to_the_settings_and_loads_a_bundle_that_has_both() -> None:
    host = json.loads((ROOT / "host.json").read_text("utf-8"))
    provider = host["extensions"]["durableTask"]["storageProvider"]
    assert "type" not in provider and "connectionStringName" not in provider  # default: AzureStorage
    low = re.fullmatch(r"\[(\d+)\.(\d+)\.(\d+), 5\.0\.0\)", host["extensionBundle"]["version"])
    assert low is not None, host["extensionBundle"]["version"]
    assert tuple(int(part) for part in low.groups()) >= (4, 30, 0)  # first GA bundle with the azureManaged provider


def test_the_rate_budget_settings_reach_azure(app: bicep.BicepFile, main: bicep.BicepFile) -> None:
    settings = app.object_keys("appSettings")
    assert {"CUSTOMVISION_TPS", "RATE_BUDGET_SCOPE"} <= set(settings)
    assert main.params["customVisionTps"].text.decode().endswith("= 10")
    assert main.params["rateBudgetScope"].text.decode().endswith("= 'shared'")
    assert "@allowed(['shared', 'process'])" in main.text
    # the shared budget lives in the export account, which the app identity may already write (and create
    # containers in): Storage Blob Data Contributor
    rbac = (INFRA / "modules" / "rbac.bicep").read_text("utf-8")
    export_role = rbac[rbac.index("resource exportBlob"):]
    assert "roles.storageBlobDataContributor" in export_role[:export_role.index("\n}\n")]
