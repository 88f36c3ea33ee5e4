// Custom Vision data-subject requests on Azure Functions (Flex Consumption) — everything `azd up` provisions.
//
// One resource group holding:
//   - a user-assigned managed identity: the app's only identity (storage, Service Bus, Key Vault, ARM, telemetry)
//   - storage account "hub": AzureWebJobsStorage (Durable task hub queues/tables/blobs, unless taskHubBackend says
//     the Durable Task Scheduler) + the Flex deployment package
//   - optionally a Durable Task Scheduler + task hub (taskHubBackend = 'durableTaskScheduler')
//   - storage account "exports": exports; blob soft delete, versioning, change feed and container
//     soft delete all off, so a delete of an export really deletes it
//   - Service Bus namespace + request queue (its dead-letter queue receives invalid messages)
//   - storage account "receipts": delete receipts in a container with a version-level WORM retention policy
//   - Key Vault (RBAC): Custom Vision training keys (app settings are Key Vault references), the EC P-256 key that
//     signs receipts and export manifests (the app may only read its public part and sign), the old HMAC receipt key
//   - Log Analytics + Application Insights (local auth off: the identity publishes telemetry)
//   - Flex Consumption plan + Function App (Python 3.11)
//   - role assignments (infra/modules/rbac.bicep; ids in infra/modules/role-ids.bicep)
// No shared keys or connection strings anywhere: every connection is identity-based.
// Requires Bicep >= 0.38 (compile-time imports, @onlyIfNotExists); azd installs a current Bicep itself.

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names and tags every resource.')
param environmentName string

@minLength(1)
@description('Region for every resource; must offer the Flex Consumption plan.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of the operator (azd sets it to the signed-in user); gets Key Vault Secrets Officer, Service Bus Data Sender and Storage Blob Data Reader on exports. Empty: none.')
param principalId string = ''

@allowed(['User', 'ServicePrincipal', 'Group'])
@description('Principal type of principalId (ServicePrincipal when a pipeline runs azd).')
param principalType string = 'User'

// ---- Custom Vision resources (DESIGN.md §3: resources come from settings, never from requests) ----

@minLength(1)
@description('Training endpoint of the Custom Vision resource "default", e.g. https://myresource.cognitiveservices.azure.com')
param customVisionEndpoint string

@secure()
@description('Training key of the resource "default"; stored in Key Vault. Empty: the app uses its identity (Entra ID).')
param customVisionTrainingKey string = ''

@description('ARM resource id of the "default" Custom Vision account; enables the account category. Empty: skipped.')
param customVisionArmId string = ''

@description('Allow the delete of the "account" category to delete and purge the "default" account through ARM.')
param customVisionAllowAccountDelete bool = false

@description('CUSTOMVISION_RESOURCES: JSON object of extra aliases, {"alias": {"endpoint", "trainingKeySetting"?, "armId"?, "allowAccountDelete"?, "tps"?, "timeoutSeconds"?}}.')
param customVisionResources string = '{}'

@secure()
@description('JSON object {"SETTING_NAME": "training key"} for the extra aliases\' trainingKeySetting names; each becomes a Key Vault secret and a Key Vault reference app setting of that name.')
param customVisionExtraTrainingKeys string = '{}'

@description('Assign the app identity Cognitive Services Contributor + Custom Vision Contributor on every configured armId (needs rights to assign roles there).')
param grantCustomVisionAccess bool = true

@minValue(1)
@description('Seconds one Training API call may take, retries included (CUSTOMVISION_TIMEOUT_SECONDS).')
param customVisionTimeoutSeconds int = 300

@minValue(1)
@description('Training API calls/s the resource "default" allows (CUSTOMVISION_TPS): 10 on S0, 2 on F0. Shared by all instances.')
param customVisionTps int = 10

@allowed(['shared', 'process'])
@description('RATE_BUDGET_SCOPE: shared = one Training API budget per resource for every instance (a blob in the export account); process = each instance paces itself.')
param rateBudgetScope string = 'shared'

// ---- Task hub backend (docs/operations.md#task-hub-backend) ----

@allowed(['azureStorage', 'durableTaskScheduler'])
@description('Where the Durable task hub lives: azureStorage (queues and tables of the hub account) or durableTaskScheduler (a Microsoft.DurableTask scheduler, identity-only). Same code and host.json either way.')
param taskHubBackend string = 'azureStorage'

@allowed(['Consumption', 'Dedicated'])
@description('Durable Task Scheduler SKU (taskHubBackend = durableTaskScheduler).')
param durableTaskSchedulerSku string = 'Consumption'

@minValue(1)
@maxValue(3)
@description('Capacity units of a Dedicated Durable Task Scheduler.')
param durableTaskSchedulerCapacity int = 1

// ---- Exports ----

@description('Blob container for exports and receipts (EXPORT_CONTAINER).')
param exportContainerName string = 'dsr-exports'

@minValue(1)
@maxValue(168)
@description('Hours a manifest SAS link stays valid (EXPORT_SAS_VALIDITY_HOURS); a user delegation SAS allows 7 days at most.')
param exportSasValidityHours int = 24

@secure()
@description('HMAC receipt key of deployments from before ES256 signing; created only when absent, never overwritten, unused by the app.')
param receiptSigningKey string = newGuid()

// ---- Receipts and signatures (docs/delete-and-receipts.md) ----

@description('Container of receipts in their own account (RECEIPT_CONTAINER); write-once.')
param receiptContainerName string = 'dsr-receipts'

@minValue(1)
@maxValue(146000)
@description('Days each receipt stays immutable (version-level WORM) after it is written.')
param receiptImmutabilityDays int = 1825

@description('ISO 8601 duration after which Key Vault rotates the signing key (older versions stay published).')
param signingKeyRotation string = 'P1Y'

// ---- Service Bus and schedules (triggers/; docs/service-bus.md) ----

@description('Name of the request queue (SERVICEBUS_QUEUE).')
param serviceBusQueueName string = 'dsr-requests'

@minValue(1)
@description('Deliveries before a message moves to the dead-letter queue.')
param serviceBusMaxDeliveryCount int = 5

@description('DSR_SCHEDULES: JSON list of scheduled requests (cron + request template). Default: none.')
param dsrSchedules string = '[]'

@description('SCHEDULER_TICK: NCRONTAB (6 fields) of the timer that starts due scheduled requests.')
param schedulerTick string = '0 */1 * * * *'

@description('HOUSEKEEPING_SCHEDULE: NCRONTAB of the retention clean-up timer.')
param housekeepingSchedule string = '0 30 2 * * *'

@minValue(1)
@description('EXPORT_RETENTION_DAYS: days an export stays in the export container.')
param exportRetentionDays int = 30

@minValue(1)
@description('HISTORY_RETENTION_DAYS: days finished orchestration history stays in the task hub.')
param historyRetentionDays int = 90

// ---- Scale ----

@allowed([512, 2048, 4096])
@description('Memory of one Flex Consumption instance (MB).')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('Most instances the app scales out to. The Training API allows ~10 calls/s per resource: more instances than that do not make one request faster.')
param maximumInstanceCount int = 40

@minValue(1)
@description('PYTHON_THREADPOOL_THREAD_COUNT: worker threads for sync activities; keep >= maxConcurrentActivityFunctions in host.json.')
param pythonThreadCount int = 16

// ---- Names ----

var abbrs = {
  identity: 'id-'
  plan: 'plan-'
  functionApp: 'func-'
  storage: 'st'
  serviceBus: 'sb-'
  keyVault: 'kv-'
  logAnalytics: 'log-'
  appInsights: 'appi-'
  resourceGroup: 'rg-'
}
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = '${abbrs.functionApp}dsr-${resourceToken}'
var deploymentContainerName = 'app-package-${take(resourceToken, 12)}'
var keyVaultName = take('${abbrs.keyVault}dsr-${resourceToken}', 24)
var hubStorageName = take('${abbrs.storage}hub${resourceToken}', 24)
var exportStorageName = take('${abbrs.storage}exp${resourceToken}', 24)
var receiptStorageName = take('${abbrs.storage}rcp${resourceToken}', 24)
var schedulerName = take('dts-dsr-${resourceToken}', 64)
// One place for the task hub's name: host.json (the extension uses it with either backend).
var taskHubName = loadJsonContent('../host.json').extensions.durableTask.hubName
var useScheduler = taskHubBackend == 'durableTaskScheduler'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourceGroup}${environmentName}'
  location: location
  tags: tags
}

module identity 'br/public:avm/res/managed-identity/user-assigned-identity:0.6.0' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.identity}dsr-${resourceToken}'
    location: location
    tags: tags
  }
}

// ---- Monitoring ----

module logAnalytics 'br/public:avm/res/operational-insights/workspace:0.16.1' = {
  name: 'logAnalytics'
  scope: rg
  params: {
    name: '${abbrs.logAnalytics}${resourceToken}'
    location: location
    tags: tags
    dataRetention: 30
  }
}

module appInsights 'br/public:avm/res/insights/component:0.8.0' = {
  name: 'appInsights'
  scope: rg
  params: {
    name: '${abbrs.appInsights}${resourceToken}'
    location: location
    tags: tags
    workspaceResourceId: logAnalytics.outputs.resourceId
    disableLocalAuth: true
  }
}

// ---- Storage: task hub + deployment package ----

module hubStorage 'br/public:avm/res/storage/storage-account:0.33.0' = {
  name: 'hubStorage'
  scope: rg
  params: {
    name: hubStorageName
    location: location
    tags: tags
    skuName: 'Standard_LRS'
    kind: 'StorageV2'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    blobServices: {
      containers: [
        { name: deploymentContainerName }
      ]
    }
  }
}

// ---- Durable Task Scheduler (when chosen) ----

module durableTaskScheduler 'modules/durable-task-scheduler.bicep' = if (useScheduler) {
  name: 'durableTaskScheduler'
  scope: rg
  params: {
    name: schedulerName
    location: location
    tags: tags
    taskHubName: taskHubName
    skuName: durableTaskSchedulerSku
    capacity: durableTaskSchedulerCapacity
    appPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
  }
}

// ---- Storage: exports ----

module exportStorage 'br/public:avm/res/storage/storage-account:0.33.0' = {
  name: 'exportStorage'
  scope: rg
  params: {
    name: exportStorageName
    location: location
    tags: tags
    skuName: 'Standard_LRS'
    kind: 'StorageV2'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    blobServices: {
      // A delete must really delete (GDPR Art. 17): no soft-deleted copies, versions or change feed of
      // exports. Blob soft delete is a setting of the account's blob service, which is why exports get
      // an account of their own.
      deleteRetentionPolicyEnabled: false
      containerDeleteRetentionPolicyEnabled: false
      isVersioningEnabled: false
      changeFeedEnabled: false
      containers: [
        {
          name: exportContainerName
          publicAccess: 'None'
        }
      ]
    }
  }
}

// ---- Storage: receipts (write-once) ----

module receiptStorage 'modules/receipts.bicep' = {
  name: 'receiptStorage'
  scope: rg
  params: {
    name: receiptStorageName
    location: location
    tags: tags
    containerName: receiptContainerName
    immutabilityDays: receiptImmutabilityDays
  }
}

// ---- Service Bus ----

module serviceBus 'br/public:avm/res/service-bus/namespace:0.17.0' = {
  name: 'serviceBus'
  scope: rg
  params: {
    name: '${abbrs.serviceBus}dsr-${resourceToken}'
    location: location
    tags: tags
    skuObject: { name: 'Standard' }
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    queues: [
      {
        name: serviceBusQueueName
        // Every queue has a dead-letter sub-queue ({queue}/$DeadLetterQueue): invalid requests are
        // dead-lettered by the trigger with a reason; messages that keep failing land there after
        // maxDeliveryCount deliveries; expired ones too.
        maxDeliveryCount: serviceBusMaxDeliveryCount
        deadLetteringOnMessageExpiration: true
        lockDuration: 'PT1M'
        defaultMessageTimeToLive: 'P14D'
        requiresDuplicateDetection: true
        duplicateDetectionHistoryTimeWindow: 'PT10M'
      }
    ]
  }
}

// Fully qualified namespace (host name) for identity-based connections: https://{ns}.servicebus.windows.net:443/
var serviceBusHost = split(split(replace(serviceBus.outputs.serviceBusEndpoint, 'https://', ''), ':')[0], '/')[0]

// ---- Key Vault + secrets ----

module keyVault 'br/public:avm/res/key-vault/vault:0.14.0' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: keyVaultName
    location: location
    tags: tags
    sku: 'standard'
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// The settings named by the extra aliases' trainingKeySetting (from the non-secret CUSTOMVISION_RESOURCES).
var extraKeySettings = filter(
  map(items(json(customVisionResources)), entry => string(entry.value.?trainingKeySetting ?? '')),
  setting => !empty(setting)
)

module secrets 'modules/secrets.bicep' = {
  name: 'secrets'
  scope: rg
  params: {
    keyVaultName: keyVault.outputs.name
    customVisionTrainingKey: customVisionTrainingKey
    extraTrainingKeys: customVisionExtraTrainingKeys
    extraKeySettings: extraKeySettings
    receiptSigningKey: receiptSigningKey
  }
}

module signing 'modules/signing.bicep' = {
  name: 'signing'
  scope: rg
  params: {
    keyVaultName: keyVault.outputs.name
    keyName: 'dsr-signing'
    rotateAfter: signingKeyRotation
  }
}

// ---- Function App ----

module plan 'br/public:avm/res/web/serverfarm:0.7.0' = {
  name: 'plan'
  scope: rg
  params: {
    name: '${abbrs.plan}${resourceToken}'
    location: location
    tags: tags
    skuName: 'FC1'
    kind: 'functionapp'
    reserved: true
    zoneRedundant: false
  }
}

module app 'modules/function-app.bicep' = {
  name: 'functionApp'
  scope: rg
  // Roles first, so the app's first start can already reach storage, Key Vault and Service Bus.
  dependsOn: [rbac]
  params: {
    name: functionAppName
    location: location
    tags: tags
    planId: plan.outputs.resourceId
    identityId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    hubStorageName: hubStorage.outputs.name
    deploymentContainerName: deploymentContainerName
    exportBlobEndpoint: 'https://${exportStorage.outputs.name}.blob.${environment().suffixes.storage}/'
    exportContainerName: exportContainerName
    exportSasValidityHours: exportSasValidityHours
    appInsightsConnectionString: appInsights.outputs.connectionString
    serviceBusHost: serviceBusHost
    serviceBusQueueName: serviceBusQueueName
    keyVaultName: keyVault.outputs.name
    useTrainingKey: !empty(customVisionTrainingKey)
    trainingKeySecretName: secrets.outputs.trainingKeySecretName
    signingKeyId: signing.outputs.keyId
    receiptBlobEndpoint: receiptStorage.outputs.blobEndpoint
    receiptContainerName: receiptStorage.outputs.containerName
    extraTrainingKeySecrets: secrets.outputs.extraTrainingKeySecrets
    customVisionEndpoint: customVisionEndpoint
    customVisionArmId: customVisionArmId
    customVisionAllowAccountDelete: customVisionAllowAccountDelete
    customVisionResources: customVisionResources
    customVisionTimeoutSeconds: customVisionTimeoutSeconds
    customVisionTps: customVisionTps
    rateBudgetScope: rateBudgetScope
    durableTaskSchedulerEndpoint: useScheduler ? durableTaskScheduler!.outputs.endpoint : ''
    dsrSchedules: dsrSchedules
    schedulerTick: schedulerTick
    housekeepingSchedule: housekeepingSchedule
    exportRetentionDays: exportRetentionDays
    historyRetentionDays: historyRetentionDays
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    pythonThreadCount: pythonThreadCount
  }
}

// ---- Role assignments ----

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    appPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
    hubStorageName: hubStorage.outputs.name
    exportStorageName: exportStorage.outputs.name
    serviceBusNamespaceName: serviceBus.outputs.name
    keyVaultName: keyVault.outputs.name
    appInsightsName: appInsights.outputs.name
    receiptStorageName: receiptStorage.outputs.name
    receiptContainerName: receiptStorage.outputs.containerName
    signingKeyName: signing.outputs.keyName
    signerRoleDefinitionId: signing.outputs.signerRoleDefinitionId
  }
}

// The ARM ids of every configured Custom Vision account (the default one and the extra aliases').
var extraArmIds = filter(
  map(items(json(customVisionResources)), entry => string(entry.value.?armId ?? '')),
  id => !empty(id)
)
var customVisionArmIds = union(empty(customVisionArmId) ? [] : [customVisionArmId], extraArmIds)

module customVisionAccess 'modules/customvision-access.bicep' = [
  for armId in (grantCustomVisionAccess ? customVisionArmIds : []): {
    name: 'cv-access-${uniqueString(armId)}'
    scope: resourceGroup(split(armId, '/')[2], split(armId, '/')[4])
    params: {
      accountName: last(split(armId, '/'))
      principalId: identity.outputs.principalId
    }
  }
]

// ---- Outputs (azd stores them in .azure/<env>/.env) ----

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = app.outputs.name
output DSR_HOST string = 'https://${app.outputs.defaultHostname}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output EXPORT_STORAGE_ACCOUNT_URL string = 'https://${exportStorage.outputs.name}.blob.${environment().suffixes.storage}/'
output EXPORT_CONTAINER string = exportContainerName
output SERVICEBUS_NAMESPACE string = serviceBusHost
output SERVICEBUS_QUEUE string = serviceBusQueueName
output APPLICATIONINSIGHTS_NAME string = appInsights.outputs.name
output RECEIPT_STORAGE_ACCOUNT_URL string = receiptStorage.outputs.blobEndpoint
output RECEIPT_CONTAINER string = receiptStorage.outputs.containerName
output DSR_KEYS_URL string = 'https://${app.outputs.defaultHostname}/api/keys'
output TASK_HUB_BACKEND string = taskHubBackend
output DURABLE_TASK_SCHEDULER_ENDPOINT string = useScheduler ? durableTaskScheduler!.outputs.endpoint : ''
