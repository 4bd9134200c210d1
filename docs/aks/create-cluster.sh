#!/usr/bin/env bash
# Create everything tickbot needs on Azure, as docs/aks.md explains step by step: a resource
# group, a container registry, a Key Vault, an AKS cluster (OIDC issuer, Workload Identity, the
# Key Vault CSI add-on, Azure Managed Prometheus) and a dedicated trading node pool (static CPU
# manager, labels, taint, proximity placement group), plus the managed identity the bot uses
# to read its keys.
#
# Set the names for your subscription, then run it (Azure CLI >= 2.60, logged in with az login):
#
#   LOCATION=japaneast PREFIX=tb ./docs/aks/create-cluster.sh
#
# Every step is idempotent enough to re-run after a failure (create commands of existing
# resources update them or fail harmlessly with "already exists").
set -euo pipefail

LOCATION="${LOCATION:-japaneast}"            # near the venue: see docs/aks.md, "Region"
PREFIX="${PREFIX:-tickbot}"                 # lower-case letters and digits
RESOURCE_GROUP="${RESOURCE_GROUP:-${PREFIX}-rg}"
CLUSTER="${CLUSTER:-${PREFIX}-aks}"
ACR="${ACR:-${PREFIX//-/}acr}"              # globally unique, alphanumeric
VAULT="${VAULT:-${PREFIX}-kv}"              # globally unique
IDENTITY="${IDENTITY:-${PREFIX}-bot}"
NAMESPACE="${NAMESPACE:-trading}"
RELEASE="${RELEASE:-tb-binance}"            # the Helm release (its ServiceAccount is RELEASE-tickbot)
K8S_VERSION="${K8S_VERSION:-}"              # empty: the region's default
SYSTEM_VM_SIZE="${SYSTEM_VM_SIZE:-Standard_D2s_v5}"
TRADING_VM_SIZE="${TRADING_VM_SIZE:-Standard_F8s_v2}"   # accelerated networking, high clock
TRADING_ZONE="${TRADING_ZONE:-1}"
POOL="${POOL:-trading}"

az group create --name "$RESOURCE_GROUP" --location "$LOCATION" --output none

# Registry; Microsoft Defender for Containers scans what is pushed to it.
az acr create --resource-group "$RESOURCE_GROUP" --name "$ACR" --sku Standard --output none
az security pricing create --name Containers --tier standard --output none

# Key Vault with Azure RBAC for data access.
az keyvault create --resource-group "$RESOURCE_GROUP" --name "$VAULT" --location "$LOCATION" \
    --enable-rbac-authorization true --output none

version_args=()
if [[ -n "$K8S_VERSION" ]]; then
    version_args=(--kubernetes-version "$K8S_VERSION")
fi
az aks create --resource-group "$RESOURCE_GROUP" --name "$CLUSTER" --location "$LOCATION" \
    "${version_args[@]}" \
    --node-count 2 --node-vm-size "$SYSTEM_VM_SIZE" --nodepool-name system \
    --enable-oidc-issuer --enable-workload-identity \
    --enable-addons azure-keyvault-secrets-provider \
    --enable-azure-monitor-metrics \
    --network-plugin azure --network-policy azure \
    --attach-acr "$ACR" --generate-ssh-keys --output none

# The trading pool: one zone, a proximity placement group, whole cores pinned by the kubelet's
# static CPU manager, tainted so only the bot runs there.
PPG_ID=$(az ppg create --resource-group "$RESOURCE_GROUP" --name "${PREFIX}-ppg" \
    --location "$LOCATION" --zone "$TRADING_ZONE" --intent-vm-sizes "$TRADING_VM_SIZE" \
    --type Standard --query id --output tsv)
KUBELET_CONFIG="$(mktemp)"
trap 'rm -f "$KUBELET_CONFIG"' EXIT
cat >"$KUBELET_CONFIG" <<'JSON'
{"cpuManagerPolicy": "static", "topologyManagerPolicy": "single-numa-node"}
JSON
az aks nodepool add --resource-group "$RESOURCE_GROUP" --cluster-name "$CLUSTER" \
    --name "$POOL" --mode User --node-count 1 --node-vm-size "$TRADING_VM_SIZE" \
    --zones "$TRADING_ZONE" --ppg "$PPG_ID" --kubelet-config "$KUBELET_CONFIG" \
    --labels tickbot.io/pool=trading --node-taints tickbot.io/dedicated=trading:NoSchedule \
    --output none

# The bot's identity: allowed to read secrets, federated with the release's ServiceAccount.
az identity create --resource-group "$RESOURCE_GROUP" --name "$IDENTITY" --output none
CLIENT_ID=$(az identity show --resource-group "$RESOURCE_GROUP" --name "$IDENTITY" \
    --query clientId --output tsv)
PRINCIPAL_ID=$(az identity show --resource-group "$RESOURCE_GROUP" --name "$IDENTITY" \
    --query principalId --output tsv)
VAULT_ID=$(az keyvault show --name "$VAULT" --query id --output tsv)
az role assignment create --assignee-object-id "$PRINCIPAL_ID" \
    --assignee-principal-type ServicePrincipal --role "Key Vault Secrets User" \
    --scope "$VAULT_ID" --output none
ISSUER=$(az aks show --resource-group "$RESOURCE_GROUP" --name "$CLUSTER" \
    --query oidcIssuerProfile.issuerUrl --output tsv)
az identity federated-credential create --resource-group "$RESOURCE_GROUP" \
    --identity-name "$IDENTITY" --name "${RELEASE}-${NAMESPACE}" --issuer "$ISSUER" \
    --subject "system:serviceaccount:${NAMESPACE}:${RELEASE}-tickbot" \
    --audiences api://AzureADTokenExchange --output none

az aks get-credentials --resource-group "$RESOURCE_GROUP" --name "$CLUSTER" --overwrite-existing
kubectl create namespace "$NAMESPACE" --dry-run=client --output yaml | kubectl apply -f -

TENANT_ID=$(az account show --query tenantId --output tsv)
cat <<EOT
Done. For the chart's values:
  image.repository:               ${ACR}.azurecr.io/tickbot
  credentials.keyVault.vaultName: ${VAULT}
  credentials.keyVault.tenantId:  ${TENANT_ID}
  credentials.keyVault.clientId:  ${CLIENT_ID}
Next: put the venue keys in the vault (docs/aks.md, "Secrets"), push the image, helm install.
EOT
