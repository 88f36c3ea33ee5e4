// Receipts' own storage account: write-once (version-level WORM) evidence of erasure.
//
// Version-level immutability needs blob versioning, which the exports account must not have (a deleted export
// must really be gone), hence an account of its own. The container supports version-level immutability and
// carries a default time-based retention policy: every blob version written to it (each receipt and its HTML
// summary) can be neither changed nor deleted, by anyone, until the period has passed. The policy is created
// unlocked (its period can still be changed); locking it is a deliberate, irreversible step for the operator
// (docs/operations.md#receipts-write-once). Housekeeping works on the export container only and never sees it.

param name string
param location string
param tags object

@description('Container of receipts (RECEIPT_CONTAINER).')
param containerName string

@minValue(1)
@maxValue(146000)
@description('Days every receipt version stays immutable after it is written.')
param immutabilityDays int

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    isVersioningEnabled: true // required by version-level immutability
    changeFeed: { enabled: false }
  }
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: { enabled: true }
  }
}

// The container's default version-level policy: inherited by every blob version written to the container.
resource retention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = {
  parent: container
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: immutabilityDays
    allowProtectedAppendWrites: false
  }
}

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output containerName string = container.name
