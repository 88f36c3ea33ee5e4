// Key Vault secrets: Custom Vision training keys (the app reads them through Key Vault references) and the HMAC key
// of receipts issued before ES256 signing (operators verify those with it; the app no longer has it). Values arrive
// as @secure() parameters and never appear in outputs.

@description('Key Vault (RBAC authorization) that holds the secrets.')
param keyVaultName string

@secure()
@description('Training key of the "default" resource; empty: no secret (the app uses Entra ID).')
param customVisionTrainingKey string

@secure()
@description('JSON object {"SETTING_NAME": "training key"} for extra aliases (CUSTOMVISION_RESOURCES trainingKeySetting).')
param extraTrainingKeys string

@description('The trainingKeySetting names in CUSTOMVISION_RESOURCES (not secret): one secret each.')
param extraKeySettings array

@secure()
@description('HMAC receipt key, created only when absent; an existing secret is never overwritten.')
param receiptSigningKey string

var trainingKeySecretName = 'customvision-training-key'
var receiptKeySecretName = 'receipt-signing-key'
// Key Vault secret names allow letters, digits and dashes: SETTING_NAME -> cv-key-setting-name.
var extraEntries = map(extraKeySettings, setting => {
  setting: setting
  secretName: 'cv-key-${toLower(replace(setting, '_', '-'))}'
})

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource trainingKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(customVisionTrainingKey)) {
  parent: vault
  name: trainingKeySecretName
  properties: {
    value: customVisionTrainingKey
    contentType: 'Custom Vision training key (resource "default")'
  }
}

resource extraKeys 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [
  for (entry, i) in extraEntries: {
    parent: vault
    name: entry.secretName
    properties: {
      value: string(json(extraTrainingKeys)[entry.setting])
      contentType: 'Custom Vision training key (${entry.setting})'
    }
  }
]

// HMAC receipts issued before ES256 are verified with this key for as long as they are kept: a redeploy must
// not change it. @onlyIfNotExists leaves an existing secret alone. Nothing signs with it any more.
@onlyIfNotExists()
resource receiptKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: receiptKeySecretName
  properties: {
    value: receiptSigningKey
    contentType: 'HMAC-SHA256 key of receipts issued before ES256 (RECEIPT_SIGNING_KEY; verification only)'
  }
}

@description('Secret that holds the default training key when one is given.')
output trainingKeySecretName string = trainingKeySecretName

output receiptKeySecretName string = receiptKey.name

@description('[{setting, secretName}] for the extra aliases\' training keys (names only, no values).')
output extraTrainingKeySecrets array = extraEntries
