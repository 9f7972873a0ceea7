{{/* The chart name, or nameOverride. */}}
{{- define "concur-launch-connector.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The resource name prefix: fullnameOverride, or release-chart (the release alone when it already holds the chart name). */}}
{{- define "concur-launch-connector.fullname" -}}
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

{{/* fullname with a suffix, still at most 63 characters (the fullname is shortened first); args: list $ "suffix". */}}
{{- define "concur-launch-connector.suffixedName" -}}
{{- $suffix := index . 1 }}
{{- printf "%s-%s" (include "concur-launch-connector.fullname" (index . 0) | trunc (int (sub 62 (len $suffix))) | trimSuffix "-") $suffix }}
{{- end }}

{{/* The chart label value: name-version. */}}
{{- define "concur-launch-connector.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "concur-launch-connector.labels" -}}
helm.sh/chart: {{ include "concur-launch-connector.chart" . }}
{{ include "concur-launch-connector.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that select the connector pods (never change them: Deployment selectors are immutable). */}}
{{- define "concur-launch-connector.selectorLabels" -}}
app.kubernetes.io/name: {{ include "concur-launch-connector.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "concur-launch-connector.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "concur-launch-connector.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The connector image reference: repository@digest, or repository:tag (appVersion by default). */}}
{{- define "concur-launch-connector.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* The Secret the pods read: existingSecret, or the one the chart creates. */}}
{{- define "concur-launch-connector.secretName" -}}
{{- default (include "concur-launch-connector.fullname" .) .Values.existingSecret }}
{{- end }}

{{/* Label that lets a pod through the NetworkPolicy to the connector (the helm test pod has it): a fixed key, the fullname as value. */}}
{{- define "concur-launch-connector.clientLabel" -}}
concur-launch-connector.io/client: {{ include "concur-launch-connector.fullname" . | quote }}
{{- end }}

{{/* True when more than one pod may run at once (several replicas or an HPA). */}}
{{- define "concur-launch-connector.multiReplica" -}}
{{- if or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) }}true{{- end }}
{{- end }}

{{/* True when the migration hook Job runs (PostgreSQL with migration.enabled). */}}
{{- define "concur-launch-connector.migrationJob" -}}
{{- if and (eq .Values.database.type "postgresql") .Values.migration.enabled }}true{{- end }}
{{- end }}

{{/* Environment variable prefix of a tenant's secrets: TENANT_<ID>_ (id upper-cased, - as _). */}}
{{- define "concur-launch-connector.tenantPrefix" -}}
{{- printf "TENANT_%s_" (. | upper | replace "-" "_") }}
{{- end }}

{{/* The secret values each tenant needs, as named under secrets.tenants.<id>. */}}
{{- define "concur-launch-connector.tenantSecretNames" -}}
connectorPassword oauthClientSecret oauthRefreshToken
{{- end }}

{{/* The Secret key of one tenant secret; args: list tenantId valueName (connectorPassword, oauthClientSecret, oauthRefreshToken). */}}
{{- define "concur-launch-connector.secretKeyOf" -}}
{{- $suffix := get (dict "connectorPassword" "CONNECTOR_PASSWORD" "oauthClientSecret" "OAUTH_CLIENT_SECRET" "oauthRefreshToken" "OAUTH_REFRESH_TOKEN") (index . 1) }}
{{- printf "%s%s" (include "concur-launch-connector.tenantPrefix" (index . 0)) $suffix }}
{{- end }}

{{/* Names of the Secret keys the pods read, one a line, in a fixed order. */}}
{{- define "concur-launch-connector.secretKeys" -}}
CONNECTOR_ENCRYPTION_KEY
CONNECTOR_AUDIT_CHAIN_KEY
{{- if eq .Values.database.type "postgresql" }}
DATABASE_URL
{{- end }}
{{- if .Values.redis.enabled }}
REDIS_URL
{{- end }}
{{- if and .Values.metrics.enabled .Values.metrics.auth.enabled }}
METRICS_USERNAME
METRICS_PASSWORD
{{- end }}
{{- range .Values.tenants }}
{{- $id := .id }}
{{- range include "concur-launch-connector.tenantSecretNames" . | splitList " " }}
{{ include "concur-launch-connector.secretKeyOf" (list $id .) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Data of the chart's Secret (base64), keyed like the connector's variables. Shared by the Secret and the migration hook's copy. */}}
{{- define "concur-launch-connector.secretData" -}}
{{- $s := .Values.secrets -}}
CONNECTOR_ENCRYPTION_KEY: {{ $s.encryptionKey | b64enc | quote }}
CONNECTOR_AUDIT_CHAIN_KEY: {{ $s.auditChainKey | b64enc | quote }}
{{- if eq .Values.database.type "postgresql" }}
DATABASE_URL: {{ $s.databaseUrl | b64enc | quote }}
{{- end }}
{{- if .Values.redis.enabled }}
REDIS_URL: {{ $s.redisUrl | b64enc | quote }}
{{- end }}
{{- if and .Values.metrics.enabled .Values.metrics.auth.enabled }}
METRICS_USERNAME: {{ $s.metricsUsername | b64enc | quote }}
METRICS_PASSWORD: {{ $s.metricsPassword | b64enc | quote }}
{{- end }}
{{- range .Values.tenants }}
{{- $id := .id }}
{{- $t := get $s.tenants $id | default dict }}
{{- range include "concur-launch-connector.tenantSecretNames" . | splitList " " }}
{{ include "concur-launch-connector.secretKeyOf" (list $id .) }}: {{ get $t . | default "" | b64enc | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The connector's configuration file (connector.yaml), laid over the image's config/default.yaml. */}}
{{- define "concur-launch-connector.configFile" -}}
{{- $tenants := list }}
{{- range .Values.tenants }}
{{- $tenant := deepCopy . }}
{{- $_ := set $tenant "connector" (merge (dict "password" "from-env") (.connector | default dict)) }}
{{- $_ := set $tenant "oauth" (merge (dict "clientSecret" "from-env" "refreshToken" "from-env") (.oauth | default dict)) }}
{{- $tenants = append $tenants $tenant }}
{{- end }}
{{- $storage := dict "poolSize" (int .Values.database.poolSize) }}
{{- if eq .Values.database.type "sqlite" }}
{{- $_ := set $storage "dataDir" "/data" }}
{{- $_ := set $storage "migrateOnStart" true }}
{{- else }}
{{- $_ := set $storage "migrateOnStart" (not .Values.migration.enabled) }}
{{- end }}
{{- $owned := dict
  "server" (dict
    "port" 3000
    "host" "0.0.0.0"
    "trustProxy" .Values.connector.trustProxy
    "shutdownDelaySeconds" (int .Values.connector.shutdown.delaySeconds)
    "shutdownGraceSeconds" (int .Values.connector.shutdown.graceSeconds))
  "storage" $storage
  "redis" (dict "keyPrefix" .Values.redis.keyPrefix)
  "metrics" (dict "enabled" .Values.metrics.enabled)
  "logging" (dict "level" .Values.connector.logLevel "format" "json")
  "sandbox" (dict "enabled" false)
  "tenants" $tenants
  "audit" (merge (deepCopy (dig "audit" dict .Values.config)) (dict "auditors" list)) }}
{{- toYaml (merge $owned (deepCopy .Values.config)) }}
{{- end }}

{{/* Environment of the connector container and the migration Job: production mode, the config file, and every secret as a VAR_FILE path. */}}
{{- define "concur-launch-connector.env" -}}
- name: NODE_ENV
  value: production
- name: CONNECTOR_CONFIG
  value: /etc/concur-launch-connector/connector.yaml
{{- range (include "concur-launch-connector.secretKeys" . | splitList "\n") }}
- name: {{ . }}_FILE
  value: /var/run/secrets/concur-launch-connector/{{ . }}
{{- end }}
{{- end }}

{{/* Volume mounts shared by the connector container and the migration Job. */}}
{{- define "concur-launch-connector.volumeMounts" -}}
- name: config
  mountPath: /etc/concur-launch-connector
  readOnly: true
- name: secrets
  mountPath: /var/run/secrets/concur-launch-connector
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if .Values.lookup.existingConfigMap }}
- name: lookup
  mountPath: /etc/concur-lookup
  readOnly: true
{{- end }}
{{- if eq .Values.database.type "sqlite" }}
- name: data
  mountPath: /data
{{- end }}
{{- end }}

{{/* Volumes shared by the Deployment and the migration Job; args: dict "ctx" $ "configMap" name "secret" name. */}}
{{- define "concur-launch-connector.volumes" -}}
{{- $ := .ctx -}}
- name: config
  configMap:
    name: {{ .configMap }}
- name: secrets
  secret:
    secretName: {{ .secret }}
    defaultMode: 288 # 0440: the owner and the pod's fsGroup read
- name: tmp
  emptyDir:
    sizeLimit: {{ $.Values.tmpSizeLimit }}
{{- if $.Values.lookup.existingConfigMap }}
- name: lookup
  configMap:
    name: {{ $.Values.lookup.existingConfigMap }}
{{- end }}
{{- if eq $.Values.database.type "sqlite" }}
- name: data
  persistentVolumeClaim:
    claimName: {{ $.Values.database.persistence.existingClaim | default (include "concur-launch-connector.suffixedName" (list $ "data")) }}
{{- end }}
{{- end }}

{{/* Fails the render with one message per setting that cannot work. */}}
{{- define "concur-launch-connector.validateValues" -}}
{{- $problems := list }}
{{- $v := .Values }}
{{- $replicas := ternary (printf "autoscaling.enabled=true (up to %d replicas)" (int $v.autoscaling.maxReplicas)) (printf "replicaCount=%d" (int $v.replicaCount)) $v.autoscaling.enabled }}
{{- if include "concur-launch-connector.multiReplica" . }}
{{- if eq $v.database.type "sqlite" }}
{{- $problems = append $problems (printf "%s with database.type=sqlite: the embedded SQLite file serves one pod only. Set database.type=postgresql (and DATABASE_URL), or replicaCount=1 with autoscaling.enabled=false." $replicas) }}
{{- end }}
{{- if not $v.redis.enabled }}
{{- $problems = append $problems (printf "%s with redis.enabled=false: nonces, launch sessions and rate limits kept in memory are not shared between pods, so a signed URL could be replayed on another pod. Set redis.enabled=true (and REDIS_URL), or replicaCount=1 with autoscaling.enabled=false." $replicas) }}
{{- end }}
{{- end }}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- $problems = append $problems (printf "autoscaling.minReplicas=%d is above autoscaling.maxReplicas=%d." (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- end }}
{{- if and $v.autoscaling.enabled (not $v.autoscaling.targetCPUUtilizationPercentage) (not $v.autoscaling.targetMemoryUtilizationPercentage) }}
{{- $problems = append $problems "autoscaling.enabled=true needs autoscaling.targetCPUUtilizationPercentage or autoscaling.targetMemoryUtilizationPercentage above 0." }}
{{- end }}
{{- if $v.sandbox.enabled }}
{{- $problems = append $problems "sandbox.enabled=true: the built-in stand-in Concur is for demos on one machine (`npm start`) and the connector refuses it under NODE_ENV=production, which the chart sets. Set sandbox.enabled=false." }}
{{- end }}
{{- if empty $v.tenants }}
{{- $problems = append $problems "tenants is empty: list at least one Concur company (id, name, companyDomains, connector.username, oauth.baseUrl, oauth.clientId, fields, lookup); see docs/configuration.md." }}
{{- end }}
{{- $ids := list }}
{{- range $v.tenants }}
{{- if has .id $ids }}
{{- $problems = append $problems (printf "tenants: the id %q is listed twice; tenant ids must be unique." .id) }}
{{- end }}
{{- $ids = append $ids .id }}
{{- end }}
{{- range $id, $_ := $v.secrets.tenants }}
{{- if not (has $id $ids) }}
{{- $problems = append $problems (printf "secrets.tenants.%s: no tenant has the id %q (tenants: %s)." $id $id (join ", " $ids)) }}
{{- end }}
{{- end }}
{{- range $v.tenants }}
{{- $lookup := .lookup | default dict }}
{{- if and (eq (toString $lookup.type) "file") $lookup.file (not (hasPrefix "/" (toString $lookup.file))) (not (hasKey $v.lookup.files (toString $lookup.file))) }}
{{- $problems = append $problems (printf "tenants[%s].lookup.file=%q is not a key of lookup.files (%s): add the file there, or give the absolute path of a file in lookup.existingConfigMap (/etc/concur-lookup/<key>)." .id $lookup.file (join ", " (keys $v.lookup.files | sortAlpha) | default "empty")) }}
{{- end }}
{{- end }}
{{- $s := $v.secrets }}
{{- if $v.existingSecret }}
{{- $set := list }}
{{- range $key := list "encryptionKey" "auditChainKey" "databaseUrl" "redisUrl" "metricsUsername" "metricsPassword" }}
{{- if get $s $key }}
{{- $set = append $set (printf "secrets.%s" $key) }}
{{- end }}
{{- end }}
{{- range $id, $_ := $s.tenants }}
{{- $set = append $set (printf "secrets.tenants.%s" $id) }}
{{- end }}
{{- if $set }}
{{- $problems = append $problems (printf "existingSecret=%s and %s are both set: the pods read only the existing Secret, so these values would be ignored. Put them in Secret %s (keys: %s), or drop existingSecret." $v.existingSecret (join ", " $set) $v.existingSecret (include "concur-launch-connector.secretKeys" . | splitList "\n" | join ", ")) }}
{{- end }}
{{- else }}
{{- if not $s.encryptionKey }}
{{- $problems = append $problems "secrets.encryptionKey is missing: set it to base64 of 32 random bytes (`openssl rand -base64 32`), the same for every pod, or use existingSecret." }}
{{- else if ne (len (b64dec $s.encryptionKey)) 32 }}
{{- $problems = append $problems "secrets.encryptionKey must be base64 of exactly 32 bytes (`openssl rand -base64 32`)." }}
{{- end }}
{{- if not $s.auditChainKey }}
{{- $problems = append $problems "secrets.auditChainKey is missing: set it to base64 of 32 random bytes (`openssl rand -base64 32`), other than the encryption key and the same for every pod, and keep a copy: verify-audit needs it. Or use existingSecret with the key CONNECTOR_AUDIT_CHAIN_KEY." }}
{{- else if ne (len (b64dec $s.auditChainKey)) 32 }}
{{- $problems = append $problems "secrets.auditChainKey must be base64 of exactly 32 bytes (`openssl rand -base64 32`)." }}
{{- else if eq $s.auditChainKey (toString $s.encryptionKey) }}
{{- $problems = append $problems "secrets.auditChainKey is the encryption key: give the audit chain a key of its own (`openssl rand -base64 32`)." }}
{{- end }}
{{- if and (eq $v.database.type "postgresql") (not $s.databaseUrl) }}
{{- $problems = append $problems "database.type=postgresql needs secrets.databaseUrl (postgresql://user:password@host:5432/db), or existingSecret with the key DATABASE_URL." }}
{{- end }}
{{- if and $v.redis.enabled (not $s.redisUrl) }}
{{- $problems = append $problems "redis.enabled=true needs secrets.redisUrl (redis://:password@host:6379), or existingSecret with the key REDIS_URL." }}
{{- end }}
{{- if and $v.metrics.enabled $v.metrics.auth.enabled (or (not $s.metricsUsername) (not $s.metricsPassword)) }}
{{- $problems = append $problems "metrics.auth.enabled=true needs secrets.metricsUsername and secrets.metricsPassword (or existingSecret with METRICS_USERNAME and METRICS_PASSWORD); set metrics.auth.enabled=false only if /metrics is not reachable from outside." }}
{{- end }}
{{- range $v.tenants }}
{{- $id := .id }}
{{- $t := get $s.tenants $id | default dict }}
{{- range include "concur-launch-connector.tenantSecretNames" . | splitList " " }}
{{- if not (get $t .) }}
{{- $problems = append $problems (printf "secrets.tenants.%s.%s is missing (or use existingSecret with the key %s)." $id . (include "concur-launch-connector.secretKeyOf" (list $id .))) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $v.ingress.enabled (empty $v.ingress.tls) (not $v.ingress.tlsTerminatedUpstream) }}
{{- $problems = append $problems "ingress.enabled=true without ingress.tls: Concur calls the connector only over HTTPS and sends the Test Connection password with every call. Add ingress.tls (secretName and hosts; cert-manager can issue it), or set ingress.tlsTerminatedUpstream=true if a load balancer in front of the ingress controller ends TLS." }}
{{- end }}
{{- if and $v.metrics.enabled $v.metrics.serviceMonitor.enabled $v.networkPolicy.enabled (empty $v.networkPolicy.metricsFrom) }}
{{- $problems = append $problems "metrics.serviceMonitor.enabled=true with networkPolicy.enabled=true and an empty networkPolicy.metricsFrom: the NetworkPolicy would block Prometheus from /metrics. Set networkPolicy.metricsFrom to Prometheus's namespace or pods (e.g. [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}])." }}
{{- end }}
{{- range $i, $tls := $v.ingress.tls }}
{{- if and $v.ingress.enabled (not $tls.secretName) }}
{{- $problems = append $problems (printf "ingress.tls[%d] has no secretName: name the Secret that holds (or that cert-manager will issue) the certificate for %s." $i (join ", " ($tls.hosts | default list))) }}
{{- end }}
{{- end }}
{{- if $problems }}
{{- fail (printf "\n\nconcur-launch-connector: these values cannot work:\n  - %s\n" (join "\n  - " $problems)) }}
{{- end }}
{{- end }}

{{/* Data of the chart's ConfigMap: connector.yaml and the lookup files. Shared by the ConfigMap and the migration hook's copy. */}}
{{- define "concur-launch-connector.configMapData" -}}
connector.yaml: |
  {{- include "concur-launch-connector.configFile" . | nindent 2 }}
{{- range $name, $content := .Values.lookup.files }}
{{ $name }}: |
  {{- $content | nindent 2 }}
{{- end }}
{{- end }}

{{/* Annotations of the migration hook and the copies of the ConfigMap and Secret it reads (created first, by weight). */}}
{{- define "concur-launch-connector.migrationHook" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: {{ . | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end }}

{{/* nodeSelector, affinity and tolerations of the connector pods and the migration Job. */}}
{{- define "concur-launch-connector.scheduling" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
