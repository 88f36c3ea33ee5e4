// Role assignments of the app's user-assigned identity (and, optionally, the operator), each on the
// narrowest resource that works. Role ids: modules/role-ids.bicep.

import * as roles from 'role-ids.bicep'

@description('Principal id of the app\'s user-assigned identity.')
param appPrincipalId string

@description('Operator object id (may be empty): rotates keys, sends requests to Service Bus, reads exports.')
param operatorPrincipalId string

param operatorPrincipalType string
param hubStorageName string
param exportStorageName string
param serviceBusNamespaceName string
param keyVaultName string
param appInsightsName string
param receiptStorageName string
param receiptContainerName string

@description('The signing key (infra/modules/signing.bicep) and the custom role that may only read it and sign with it.')
param signingKeyName string
param signerRoleDefinitionId string

resource hubStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hubStorageName
}

resource exportStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: exportStorageName
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' existing = {
  name: serviceBusNamespaceName
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource receiptStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: receiptStorageName
}

resource receiptContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: '${receiptStorageName}/default/${receiptContainerName}'
}

resource signingKey 'Microsoft.KeyVault/vaults/keys@2023-07-01' existing = {
  parent: keyVault
  name: signingKeyName
}

// Task hub (Durable Functions on Azure Storage) and the Flex deployment package container.
resource hubBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hubStorage.id, appPrincipalId, roles.storageBlobDataOwner)
  scope: hubStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource hubQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hubStorage.id, appPrincipalId, roles.storageQueueDataContributor)
  scope: hubStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource hubTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hubStorage.id, appPrincipalId, roles.storageTableDataContributor)
  scope: hubStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Exports: write files, copy images server-side, delete expired exports, write receipts.
resource exportBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(exportStorage.id, appPrincipalId, roles.storageBlobDataContributor)
  scope: exportStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// User delegation key for the read-only SAS link to a finished export's manifest (dsr/sas.py).
resource exportDelegator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(exportStorage.id, appPrincipalId, roles.storageBlobDelegator)
  scope: exportStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDelegator)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The Service Bus queue trigger: receive, complete, abandon, dead-letter.
resource busReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(serviceBus.id, appPrincipalId, roles.serviceBusDataReceiver)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataReceiver)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Key Vault references in app settings (training keys).
resource vaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, appPrincipalId, roles.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Receipts: written to their own container, where the immutability policy keeps every version (no delete).
resource receiptWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(receiptContainer.id, appPrincipalId, roles.storageBlobDataContributor)
  scope: receiptContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Sign receipts and manifests with the signing key (custom role: keys/read + keys/sign/action on this key only).
resource keySigner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(signingKey.id, appPrincipalId, signerRoleDefinitionId)
  scope: signingKey
  properties: {
    roleDefinitionId: signerRoleDefinitionId
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Telemetry with Entra ID (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
resource telemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appPrincipalId, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Operator: rotate keys (secrets; the signing key) and read the old HMAC receipt key to verify receipts issued
// before ES256; submit requests through Service Bus; download exports and receipts to hand them over.
resource operatorExports 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(exportStorage.id, operatorPrincipalId, roles.storageBlobDataReader)
  scope: exportStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

resource operatorSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(keyVault.id, operatorPrincipalId, roles.keyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

resource operatorSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(serviceBus.id, operatorPrincipalId, roles.serviceBusDataSender)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

resource operatorReceipts 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(receiptStorage.id, operatorPrincipalId, roles.storageBlobDataReader)
  scope: receiptStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

resource operatorSigningKey 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(signingKey.id, operatorPrincipalId, roles.keyVaultCryptoOfficer)
  scope: signingKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoOfficer)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}
