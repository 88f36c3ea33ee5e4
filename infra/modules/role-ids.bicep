// Built-in Azure RBAC role definition ids used by this deployment, one named constant each.
// These GUIDs are the same in every tenant ("Azure built-in roles" in the Azure RBAC docs);
// tests/infra/test_bicep.py checks each constant against the documented id for its role name.

@export()
@description('Storage Blob Data Owner: task hub blobs, leases and the Flex deployment package container.')
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'

@export()
@description('Storage Blob Data Contributor: read, write and delete export blobs; write receipts (kept by WORM).')
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

@export()
@description('Storage Blob Data Reader: given to the operator (principalId) to download exports and receipts.')
var storageBlobDataReader = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'

@export()
@description('Storage Queue Data Contributor: Durable Functions control and work-item queues.')
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'

@export()
@description('Storage Table Data Contributor: Durable Functions History and Instances tables.')
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

@export()
@description('Storage Blob Delegator: get a user delegation key to sign read-only SAS links to manifests.')
var storageBlobDelegator = 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a'

@export()
@description('Azure Service Bus Data Receiver: the Service Bus queue trigger (receive, complete, dead-letter).')
var serviceBusDataReceiver = '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'

@export()
@description('Azure Service Bus Data Sender: given to the operator (principalId) to submit requests.')
var serviceBusDataSender = '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'

@export()
@description('Key Vault Secrets User: resolve Key Vault references in app settings.')
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

@export()
@description('Key Vault Secrets Officer: given to the operator (principalId) to rotate keys.')
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

@export()
@description('Key Vault Crypto Officer: given to the operator (principalId) on the signing key, to rotate it.')
var keyVaultCryptoOfficer = '14b46e9e-c2b7-41b4-b07b-48a6ebf60603'

@export()
@description('Monitoring Metrics Publisher: send telemetry to Application Insights with Entra ID (local auth off).')
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

@export()
@description('Cognitive Services Contributor: ARM Accounts_Get / ListKeys / Delete for the account category.')
var cognitiveServicesContributor = '25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68'

@export()
@description('Cognitive Services Custom Vision Contributor: Training API with Entra ID when no training key is set.')
var customVisionContributor = 'c1ff6cc2-c111-46fe-8896-e0ef812ad9f3'

@export()
@description('Durable Task Data Contributor: the app identity on its task hub in the Durable Task Scheduler (taskHubBackend).')
var durableTaskDataContributor = '0ad04412-c4d5-4796-b79c-f76d14c8d402'

@export()
@description('Durable Task Data Reader: given to the operator (principalId) to watch the task hub in the scheduler\'s dashboard.')
var durableTaskDataReader = 'd6a5505f-6ebb-45a4-896e-ac8274cfc0ac'
