// Roles of the app's identity on one existing Custom Vision (training) account, deployed into that
// account's resource group (which may be in another subscription of the same tenant).
//
// - Cognitive Services Contributor: the account category (ARM Accounts_Get, Accounts_ListKeys for key
//   fingerprints, Accounts_Delete when account delete is allowed).
// - Cognitive Services Custom Vision Contributor: the Training API with Entra ID, for a resource configured
//   without a training key.
// Purging a deleted account (DeletedAccounts_Purge) is a subscription-scope action and is NOT granted here;
// docs/operations.md#account-deletion says how to grant it when account deletion is enabled.

import * as roles from 'role-ids.bicep'

@description('Name of the Custom Vision account in this resource group.')
param accountName string

@description('Principal id of the app\'s user-assigned identity.')
param principalId string

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: accountName
}

resource accountContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, roles.cognitiveServicesContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.cognitiveServicesContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource trainingContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, roles.customVisionContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.customVisionContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
