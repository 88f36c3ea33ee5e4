// Parameters for `azd provision` / `azd up`: azd runs Bicep with the azd environment's variables in the
// process environment (.azure/<env>/.env plus `azd env set NAME VALUE`), and readEnvironmentVariable picks
// them up, so JSON values such as CUSTOMVISION_RESOURCES need no escaping. Names match the app settings.
using 'main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME')
param location = readEnvironmentVariable('AZURE_LOCATION')
param principalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')
param principalType = readEnvironmentVariable('AZURE_PRINCIPAL_TYPE', 'User')

// Custom Vision: required endpoint; key optional (Entra ID without one); ARM id optional (account category).
param customVisionEndpoint = readEnvironmentVariable('CUSTOMVISION_ENDPOINT')
param customVisionTrainingKey = readEnvironmentVariable('CUSTOMVISION_TRAINING_KEY', '')
param customVisionArmId = readEnvironmentVariable('CUSTOMVISION_ARM_ID', '')
param customVisionAllowAccountDelete = bool(readEnvironmentVariable('CUSTOMVISION_ALLOW_ACCOUNT_DELETE', 'false'))
param customVisionResources = readEnvironmentVariable('CUSTOMVISION_RESOURCES', '{}')
param customVisionExtraTrainingKeys = readEnvironmentVariable('CUSTOMVISION_EXTRA_TRAINING_KEYS', '{}')
param grantCustomVisionAccess = bool(readEnvironmentVariable('GRANT_CUSTOMVISION_ACCESS', 'true'))

param exportSasValidityHours = int(readEnvironmentVariable('EXPORT_SAS_VALIDITY_HOURS', '24'))
param dsrSchedules = readEnvironmentVariable('DSR_SCHEDULES', '[]')
param maximumInstanceCount = int(readEnvironmentVariable('MAXIMUM_INSTANCE_COUNT', '40'))

// Training API rate of "default" (all instances together) and how it is shared; the task hub backend.
param customVisionTps = int(readEnvironmentVariable('CUSTOMVISION_TPS', '10'))
param rateBudgetScope = readEnvironmentVariable('RATE_BUDGET_SCOPE', 'shared')
param taskHubBackend = readEnvironmentVariable('TASK_HUB_BACKEND', 'azureStorage')
param durableTaskSchedulerSku = readEnvironmentVariable('DURABLE_TASK_SCHEDULER_SKU', 'Consumption')
