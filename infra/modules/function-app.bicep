// The Flex Consumption Function App (Python 3.11) and every app setting it reads.
//
// App settings are the whole configuration (DESIGN.md §3; docs/operations.md#settings lists each one).
// tests/infra/test_bicep.py checks that `appSettings` below names every setting the Python code and
// the function bindings read. Identity-based connections use the documented suffixes:
// {CONNECTION}__accountName / __fullyQualifiedNamespace + __credential=managedidentity + __clientId.
// Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE
// and friends as app settings: runtime and package live in `functionAppConfig` instead.

param name string
param location string
param tags object
param planId string

@description('Resource id and client id of the user-assigned identity the app runs as.')
param identityId string
param identityClientId string

param hubStorageName string
param deploymentContainerName string
param exportBlobEndpoint string
param exportContainerName string
param exportSasValidityHours int
param appInsightsConnectionString string
param serviceBusHost string
param serviceBusQueueName string
param keyVaultName string
@description('A training key was given for "default": CUSTOMVISION_TRAINING_KEY is a Key Vault reference, else empty (Entra ID).')
param useTrainingKey bool
param trainingKeySecretName string
@description('Key Vault key id without a version (SIGNING_KEY_VAULT_KEY_ID).')
param signingKeyId string
param receiptBlobEndpoint string
param receiptContainerName string
param extraTrainingKeySecrets array
param customVisionEndpoint string
param customVisionArmId string
param customVisionAllowAccountDelete bool
param customVisionResources string
param customVisionTimeoutSeconds int
param customVisionTps int
param rateBudgetScope string
@description('Endpoint of the Durable Task Scheduler holding the task hub; empty: the task hub is in AzureWebJobsStorage.')
param durableTaskSchedulerEndpoint string
param dsrSchedules string
param schedulerTick string
param housekeepingSchedule string
param exportRetentionDays int
param historyRetentionDays int
param instanceMemoryMB int
param maximumInstanceCount int
param pythonThreadCount int

var blobSuffix = 'blob.${environment().suffixes.storage}'

// A Key Vault reference resolved by the platform with the user-assigned identity (keyVaultAccessIdentityResourceId).
func kvRef(vault string, secret string) string => '@Microsoft.KeyVault(VaultName=${vault};SecretName=${secret})'

var appSettings = {
  // Task hub storage (AzureWebJobsStorage) through the identity: blob, queue and table endpoints follow from the name.
  AzureWebJobsStorage__accountName: hubStorageName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId

  // azure-identity's DefaultAzureCredential picks the user-assigned identity by this client id
  // (export storage, ARM account category, Training API without a key).
  AZURE_CLIENT_ID: identityClientId

  // Telemetry with Entra ID (the Application Insights resource has local auth off).
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'

  // Python worker: sync activities run on this thread pool (>= durableTask.maxConcurrentActivityFunctions).
  PYTHON_THREADPOOL_THREAD_COUNT: string(pythonThreadCount)

  // Custom Vision resource "default" (+ extra aliases in CUSTOMVISION_RESOURCES).
  CUSTOMVISION_ENDPOINT: customVisionEndpoint
  CUSTOMVISION_TRAINING_KEY: useTrainingKey ? kvRef(keyVaultName, trainingKeySecretName) : ''
  CUSTOMVISION_ARM_ID: customVisionArmId
  CUSTOMVISION_ALLOW_ACCOUNT_DELETE: customVisionAllowAccountDelete ? 'true' : 'false'
  CUSTOMVISION_RESOURCES: customVisionResources
  CUSTOMVISION_TIMEOUT_SECONDS: string(customVisionTimeoutSeconds)
  CUSTOMVISION_TPS: string(customVisionTps)

  // One Training API budget per resource for every instance: a blob in the export account (dsr/ratebudget.py).
  RATE_BUDGET_SCOPE: rateBudgetScope

  // Exports and receipts: identity-based (no EXPORT_STORAGE_CONNECTION_STRING in Azure).
  EXPORT_STORAGE_ACCOUNT_URL: exportBlobEndpoint
  EXPORT_CONTAINER: exportContainerName
  EXPORT_SAS_VALIDITY_HOURS: string(exportSasValidityHours)

  // Receipts go to their own write-once container; receipts and manifests are signed in Key Vault (ES256).
  // RECEIPT_SIGNING_KEY (the HMAC key of receipts issued before ES256) is deliberately not given to the app:
  // it can no longer sign, so nobody can forge an old-style receipt through it (operators verify those).
  RECEIPT_STORAGE_ACCOUNT_URL: receiptBlobEndpoint
  RECEIPT_CONTAINER: receiptContainerName
  SIGNING_KEY_VAULT_KEY_ID: signingKeyId

  // Service Bus trigger (connection="SERVICEBUS_CONNECTION", queue_name="%SERVICEBUS_QUEUE%").
  SERVICEBUS_CONNECTION__fullyQualifiedNamespace: serviceBusHost
  SERVICEBUS_CONNECTION__credential: 'managedidentity'
  SERVICEBUS_CONNECTION__clientId: identityClientId
  SERVICEBUS_QUEUE: serviceBusQueueName

  // Schedules and retention.
  DSR_SCHEDULES: dsrSchedules
  SCHEDULER_TICK: schedulerTick
  HOUSEKEEPING_SCHEDULE: housekeepingSchedule
  EXPORT_RETENTION_DAYS: string(exportRetentionDays)
  HISTORY_RETENTION_DAYS: string(historyRetentionDays)
}

// Task hub backend. host.json names no storage provider type, so the Durable extension picks its default,
// Azure Storage (AzureWebJobsStorage). For the Durable Task Scheduler, app settings override host.json
// (AzureFunctionsJobHost__<path>, "Override host.json values" in the host.json reference): the extension matches
// storageProvider.type against its providers' names ("azureManaged" is the scheduler's) and reads the
// connection string from the setting connectionStringName names. Identity only: the user-assigned identity's
// client id, no key (the scheduler has none). Same code, same host.json.
var taskHubSettings = empty(durableTaskSchedulerEndpoint) ? {} : {
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
  DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
}

// Extra aliases' training keys: the setting named by trainingKeySetting holds a Key Vault reference.
var extraKeySettings = toObject(extraTrainingKeySecrets, entry => entry.setting, entry => kvRef(keyVaultName, entry.secretName))

module site 'br/public:avm/res/web/site:0.24.0' = {
  name: 'site'
  params: {
    name: name
    location: location
    kind: 'functionapp,linux'
    tags: union(tags, { 'azd-service-name': 'api' })
    serverFarmResourceId: planId
    httpsOnly: true
    managedIdentities: {
      userAssignedResourceIds: [identityId]
    }
    keyVaultAccessIdentityResourceId: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: 'https://${hubStorageName}.${blobSuffix}/${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
    siteConfig: {
      alwaysOn: false // Flex Consumption scales to zero; the module's default (true) is for dedicated plans
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    configs: [
      {
        name: 'appsettings'
        // Bicep is the source of truth: settings added by hand are dropped on the next `azd provision`.
        retainCurrentAppSettings: false
        properties: union(appSettings, extraKeySettings, taskHubSettings)
      }
    ]
  }
}

output name string = site.outputs.name
output defaultHostname string = site.outputs.defaultHostname
