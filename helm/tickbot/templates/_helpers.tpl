{{/* Names: every helper is prefixed "tickbot." so it cannot collide in a parent chart. */}}
{{- define "tickbot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tickbot.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tickbot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tickbot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tickbot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tickbot.labels" -}}
helm.sh/chart: {{ include "tickbot.chart" . }}
{{ include "tickbot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tickbot
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "tickbot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tickbot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tickbot.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The config as the bot reads it: the values' config with the defaults this chart owns
(lease name and namespace, journal path) filled in where the user left them unset. */}}
{{- define "tickbot.config" -}}
{{- $cfg := deepCopy .Values.config }}
{{- $lease := default dict $cfg.lease }}
{{- if $lease.enabled }}
{{- $_ := set $lease "name" (default (include "tickbot.fullname" .) $lease.name) }}
{{- $_ := set $lease "namespace" (default .Release.Namespace $lease.namespace) }}
{{- $_ := set $cfg "lease" $lease }}
{{- end }}
{{- $journal := default dict $cfg.journal }}
{{- $_ := set $journal "path" (default (printf "%s/journal" .Values.journal.mountPath) $journal.path) }}
{{- $_ := set $cfg "journal" $journal }}
{{- toYaml $cfg }}
{{- end }}

{{- define "tickbot.metricsPort" -}}
{{- $m := default dict .Values.config.metrics }}
{{- default 9464 $m.port }}
{{- end }}

{{- define "tickbot.leaseEnabled" -}}
{{- $l := default dict .Values.config.lease }}
{{- if $l.enabled }}true{{- end }}
{{- end }}

{{- define "tickbot.leaseName" -}}
{{- $l := default dict .Values.config.lease }}
{{- default (include "tickbot.fullname" .) $l.name }}
{{- end }}

{{- define "tickbot.shutdownTimeout" -}}
{{- $r := default dict .Values.config.runtime }}
{{- default 10 $r.shutdown_timeout_s }}
{{- end }}

{{/* Checks the schema cannot express (it cannot compare two values): a failed check stops the
render with a message naming the value to change. */}}
{{- define "tickbot.validate" -}}
{{- $r := .Values.resources }}
{{- range $k := list "cpu" "memory" }}
{{- if ne (toString (index $r.requests $k)) (toString (index $r.limits $k)) }}
{{- fail (printf "resources.requests.%s (%v) must equal resources.limits.%s (%v): Guaranteed QoS" $k (index $r.requests $k) $k (index $r.limits $k)) }}
{{- end }}
{{- end }}
{{- $cpu := toString $r.requests.cpu }}
{{- if not (regexMatch "^[1-9][0-9]*$" $cpu) }}
{{- fail (printf "resources.requests.cpu must be a whole number of CPUs (got %s): the static CPU manager pins only integer requests" $cpu) }}
{{- end }}
{{- if gt (int .Values.replicaCount) 1 }}
{{- fail "replicaCount must be 0 or 1: two bots would trade one account" }}
{{- end }}
{{- if le (float64 .Values.terminationGracePeriodSeconds) (float64 (include "tickbot.shutdownTimeout" .)) }}
{{- fail (printf "terminationGracePeriodSeconds (%v) must exceed config.runtime.shutdown_timeout_s (%v)" .Values.terminationGracePeriodSeconds (include "tickbot.shutdownTimeout" .)) }}
{{- end }}
{{- if and .Values.credentials.existingSecret .Values.credentials.keyVault.enabled }}
{{- fail "set credentials.existingSecret or credentials.keyVault.enabled, not both" }}
{{- end }}
{{- if .Values.credentials.keyVault.enabled }}
{{- range $k := list "vaultName" "tenantId" "clientId" }}
{{- if not (index $.Values.credentials.keyVault $k) }}
{{- fail (printf "credentials.keyVault.%s is required when credentials.keyVault.enabled" $k) }}
{{- end }}
{{- end }}
{{- if not .Values.credentials.keyVault.objects }}
{{- fail "credentials.keyVault.objects must list the vault secrets to mount" }}
{{- end }}
{{- end }}
{{- if and (eq (toString .Values.config.mode) "live") (not (or .Values.credentials.existingSecret .Values.credentials.keyVault.enabled)) }}
{{- fail "config.mode live needs credentials: set credentials.existingSecret or credentials.keyVault" }}
{{- end }}
{{- end }}

{{- define "tickbot.hasCredentials" -}}
{{- if or .Values.credentials.existingSecret .Values.credentials.keyVault.enabled }}true{{- end }}
{{- end }}

{{- define "tickbot.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}
