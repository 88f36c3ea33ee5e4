// The Durable Task Scheduler as the task hub backend (main.bicep: taskHubBackend = 'durableTaskScheduler').
//
// A scheduler (Microsoft.DurableTask/schedulers) with one task hub named like host.json's durableTask.hubName:
// the Durable extension's "azureManaged" provider connects to the hub of that name. Access is identity-only (the
// scheduler has no keys): the app's identity holds Durable Task Data Contributor on this task hub, nothing wider.
// The app settings that switch the extension to this backend are set in function-app.bicep (taskHubSettings).

import * as roles from 'role-ids.bicep'

param name string
param location string
param tags object

@description('Task hub name: host.json durableTask.hubName.')
param taskHubName string

@allowed(['Consumption', 'Dedicated'])
@description('Consumption: billed per action. Dedicated: reserved capacity units (docs/operations.md#task-hub-backend).')
param skuName string

@minValue(1)
@maxValue(3)
@description('Capacity units of the Dedicated SKU (unused by Consumption).')
param capacity int

@description('Principal id of the app\'s user-assigned identity.')
param appPrincipalId string

@description('Operator object id (may be empty): reads the task hub in the scheduler dashboard.')
param operatorPrincipalId string

param operatorPrincipalType string

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // Every caller still needs a Durable Task role (identity-only access); an empty list would refuse everyone.
    ipAllowlist: ['0.0.0.0/0']
    sku: skuName == 'Dedicated' ? { name: 'Dedicated', capacity: capacity } : { name: 'Consumption' }
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
  properties: {}
}

// The app: start, run, query, terminate and purge its orchestrations, on this task hub only.
resource appAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(taskHub.id, appPrincipalId, roles.durableTaskDataContributor)
  scope: taskHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.durableTaskDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The operator: read orchestrations in the scheduler's dashboard (no start, terminate or purge).
resource operatorAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(taskHub.id, operatorPrincipalId, roles.durableTaskDataReader)
  scope: taskHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.durableTaskDataReader)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

@description('The scheduler endpoint the extension connects to (DURABLE_TASK_SCHEDULER_CONNECTION_STRING).')
output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
