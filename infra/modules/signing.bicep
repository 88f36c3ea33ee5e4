// The key that signs receipts and export manifests (ES256), and the only role the app gets on it.
//
// An EC P-256 key in Key Vault, usable for sign/verify only and never exportable: the private key never
// leaves the vault. The app's identity gets a custom role on this one key with exactly two data actions:
// keys/read (the public key and its versions, for the kid and GET /api/keys) and keys/sign/action. No decrypt,
// no wrap, no create, no delete. Rotation (a new key version) keeps older versions, so their public keys stay
// in the JWKS and older receipts keep verifying (docs/operations.md#keys).

@description('Key Vault (RBAC authorization) that holds the key.')
param keyVaultName string

@description('Name of the signing key.')
param keyName string

@description('ISO 8601 duration after which Key Vault rotates the key to a new version (the old one stays).')
param rotateAfter string

var resourceGroupId = resourceGroup().id

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

// Created once: a redeploy must not add a version (a version made outside the rotation would still be
// published, but would needlessly grow the key set). Rotation is the vault's policy or an operator's command.
@onlyIfNotExists()
resource key 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  parent: vault
  name: keyName
  properties: {
    kty: 'EC'
    curveName: 'P-256'
    keyOps: ['sign', 'verify']
    attributes: {
      enabled: true
      exportable: false
    }
    rotationPolicy: {
      lifetimeActions: [
        {
          trigger: { timeAfterCreate: rotateAfter }
          action: { type: 'rotate' }
        }
      ]
    }
  }
}

// Custom role: sign with the key and read its public parts, nothing else.
resource signerRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, keyVaultName, keyName, 'dsr-signer')
  properties: {
    roleName: 'DSR receipt signer (${keyVaultName}/${keyName})'
    description: 'Sign with one Key Vault key (ES256) and read its public key and versions; nothing else.'
    type: 'CustomRole'
    assignableScopes: [resourceGroupId]
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: [
          'Microsoft.KeyVault/vaults/keys/read'
          'Microsoft.KeyVault/vaults/keys/sign/action'
        ]
        notDataActions: []
      }
    ]
  }
}

output keyName string = keyName

@description('Key id without a version (SIGNING_KEY_VAULT_KEY_ID): the app signs with the newest version.')
output keyId string = '${vault.properties.vaultUri}keys/${keyName}'

output signerRoleDefinitionId string = signerRole.id
