{{/* vim: set filetype=mustache: */}}

{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "datastudio-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "datastudio-gateway.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "datastudio-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "datastudio-gateway.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "datastudio-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "datastudio-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "datastudio-gateway.labels" -}}
helm.sh/chart: {{ include "datastudio-gateway.chart" . }}
{{ include "datastudio-gateway.selectorLabels" . }}
app.kubernetes.io/component: gateway
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: datastudio-gateway
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* metadata.annotations block from commonAnnotations merged with the given map (.extra). */}}
{{- define "datastudio-gateway.annotations" -}}
{{- $all := merge (dict) (.extra | default dict) (.ctx.Values.commonAnnotations | default dict) -}}
{{- with $all -}}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/* Label on client pods that the NetworkPolicy lets reach the gRPC port. */}}
{{- define "datastudio-gateway.clientLabel" -}}
{{- printf "%s-client" (include "datastudio-gateway.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "datastudio-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "datastudio-gateway.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "datastudio-gateway.image" -}}
{{- $repo := .Values.image.repository -}}
{{- if .Values.image.registry -}}
{{- $repo = printf "%s/%s" .Values.image.registry .Values.image.repository -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "datastudio-gateway.configMapName" -}}
{{- printf "%s-config" (include "datastudio-gateway.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Name of the credentials Secret: existingSecret, or the chart-managed one. */}}
{{- define "datastudio-gateway.secretName" -}}
{{- if .Values.existingSecret -}}
{{- .Values.existingSecret -}}
{{- else -}}
{{- printf "%s-credentials" (include "datastudio-gateway.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Fixed paths inside the container (the gateway's contract). */}}
{{- define "datastudio-gateway.configDir" -}}/etc/datastudio-gateway{{- end -}}
{{- define "datastudio-gateway.secretsDir" -}}/var/run/secrets/datastudio-gateway{{- end -}}
{{- define "datastudio-gateway.stateDir" -}}/var/lib/datastudio-gateway{{- end -}}
{{- define "datastudio-gateway.tlsDir" -}}/var/run/secrets/datastudio-gateway-tls{{- end -}}
{{- define "datastudio-gateway.clientCADir" -}}/var/run/secrets/datastudio-gateway-client-ca{{- end -}}
{{- define "datastudio-gateway.jwksDir" -}}/var/run/secrets/datastudio-gateway-jwks{{- end -}}
{{- define "datastudio-gateway.rrsaTokenDir" -}}/var/run/secrets/ack.alibabacloud.com/rrsa-tokens{{- end -}}
{{- define "datastudio-gateway.oidcTokenDir" -}}/var/run/secrets/tokens{{- end -}}

{{/*
Parse a humantime duration ("20s", "1m30s", "1m 30s", "500ms", "2min") into milliseconds.
Prints the number; callers pipe it through atoi.
*/}}
{{- define "datastudio-gateway.durationMillis" -}}
{{- $s := toString . | trim -}}
{{- if not (regexMatch "^([0-9]+ *[a-zA-Z]+ *)+$" $s) -}}
{{- fail (printf "datastudio-gateway: cannot parse duration %q: expected a humantime duration such as 20s, 1m30s or 500ms" $s) -}}
{{- end -}}
{{- $total := 0 -}}
{{- range $part := regexFindAll "[0-9]+ *[a-zA-Z]+" $s -1 -}}
{{- $n := regexFind "[0-9]+" $part | atoi -}}
{{- $u := regexFind "[a-zA-Z]+" $part -}}
{{- if has $u (list "ns" "nsec" "nanos") -}}
{{- $total = add $total (div (add $n 999999) 1000000) -}}
{{- else if has $u (list "us" "usec" "micros") -}}
{{- $total = add $total (div (add $n 999) 1000) -}}
{{- else if has $u (list "ms" "msec" "millis") -}}
{{- $total = add $total $n -}}
{{- else if has $u (list "s" "sec" "secs" "second" "seconds") -}}
{{- $total = add $total (mul $n 1000) -}}
{{- else if has $u (list "m" "min" "mins" "minute" "minutes") -}}
{{- $total = add $total (mul $n 60000) -}}
{{- else if has $u (list "h" "hr" "hrs" "hour" "hours") -}}
{{- $total = add $total (mul $n 3600000) -}}
{{- else -}}
{{- fail (printf "datastudio-gateway: cannot parse duration %q: unknown unit %q (use ms, s, m or h)" $s $u) -}}
{{- end -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/*
The shutdown grace in effect: a DSGW_SERVER__SHUTDOWN_GRACE in extraEnv wins over
config.server.shutdown_grace, as it does in the gateway; 20s when neither is set.
*/}}
{{- define "datastudio-gateway.shutdownGrace" -}}
{{- $grace := "20s" -}}
{{- with .Values.config.server -}}
{{- with .shutdown_grace -}}{{- $grace = toString . -}}{{- end -}}
{{- end -}}
{{- range .Values.extraEnv -}}
{{- if and (eq (toString .name) "DSGW_SERVER__SHUTDOWN_GRACE") .value -}}
{{- $grace = toString .value -}}
{{- end -}}
{{- end -}}
{{- $grace -}}
{{- end -}}

{{/* Shutdown grace in whole seconds, rounded up. */}}
{{- define "datastudio-gateway.shutdownGraceSeconds" -}}
{{- $ms := include "datastudio-gateway.durationMillis" (include "datastudio-gateway.shutdownGrace" .) | atoi -}}
{{- div (add $ms 999) 1000 -}}
{{- end -}}

{{/*
terminationGracePeriodSeconds: the configured value, which must exceed
preStopSleepSeconds + shutdown grace, or that sum + 10 when unset.
*/}}
{{- define "datastudio-gateway.terminationGracePeriodSeconds" -}}
{{- $grace := include "datastudio-gateway.shutdownGraceSeconds" . | atoi -}}
{{- $sleep := int (.Values.preStopSleepSeconds | default 0) -}}
{{- $needed := add $grace $sleep -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds -}}
{{- add $needed 10 -}}
{{- else -}}
{{- $tgps := int .Values.terminationGracePeriodSeconds -}}
{{- if le $tgps $needed -}}
{{- fail (printf "datastudio-gateway: terminationGracePeriodSeconds (%d) must be greater than preStopSleepSeconds (%d) + the gateway's shutdown grace (%s = %ds), or in-flight calls are killed mid-drain: set it to at least %d, or leave it null to have it computed" $tgps $sleep (include "datastudio-gateway.shutdownGrace" .) $grace (add $needed 1)) -}}
{{- end -}}
{{- $tgps -}}
{{- end -}}
{{- end -}}

{{/* The rate limiter backend (local unless config.limits.backend says otherwise). */}}
{{- define "datastudio-gateway.limitsBackend" -}}
{{- $backend := "local" -}}
{{- with .Values.config.limits -}}
{{- with .backend -}}{{- $backend = toString . -}}{{- end -}}
{{- end -}}
{{- $backend -}}
{{- end -}}

{{/* Pods the Deployment asks for: autoscaling.maxReplicas (the worst case) or replicaCount. */}}
{{- define "datastudio-gateway.podCount" -}}
{{- if .Values.autoscaling.enabled -}}
{{- int .Values.autoscaling.maxReplicas -}}
{{- else -}}
{{- int .Values.replicaCount -}}
{{- end -}}
{{- end -}}

{{/*
Extra pods a rolling update may start beside them: updateStrategy.rollingUpdate.maxSurge as
Kubernetes reads it (an integer, or a percentage of the pods rounded up; 25% when unset),
0 with the Recreate strategy.
*/}}
{{- define "datastudio-gateway.surge" -}}
{{- $strategy := .Values.updateStrategy | default dict -}}
{{- if eq (toString ($strategy.type | default "RollingUpdate")) "Recreate" -}}
0
{{- else -}}
{{- $rolling := $strategy.rollingUpdate | default dict -}}
{{- $surge := "25%" -}}
{{- if hasKey $rolling "maxSurge" -}}{{- $surge = $rolling.maxSurge -}}{{- end -}}
{{- $pods := include "datastudio-gateway.podCount" . | atoi -}}
{{- if kindIs "string" $surge -}}
{{- if hasSuffix "%" $surge -}}
{{- $pct := trimSuffix "%" $surge | atoi -}}
{{- div (add (mul $pods $pct) 99) 100 -}}
{{- else -}}
{{- atoi $surge -}}
{{- end -}}
{{- else -}}
{{- int $surge -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
limits.replicas: how many pods can run at once and share the vendor limits: the pods asked for
(autoscaling.maxReplicas or replicaCount) plus the rolling update's surge, so the fleet stays under
the vendor's limit mid-rollout too. The local backend divides every limit by it; the redis backend
keeps one count for all pods and uses it only for each pod's share while Redis is unreachable
(fail_local).
*/}}
{{- define "datastudio-gateway.limitsReplicas" -}}
{{- add (include "datastudio-gateway.podCount" . | atoi) (include "datastudio-gateway.surge" . | atoi) -}}
{{- end -}}

{{/* Probes use gRPC unless asked for http, or TLS is on (native gRPC probes cannot do TLS). */}}
{{- define "datastudio-gateway.probeType" -}}
{{- if .Values.tls.enabled -}}http{{- else -}}{{- .Values.probes.type -}}{{- end -}}
{{- end -}}

{{/*
Credential files the pod needs, as a list of dicts {workspace, key}:
with the chart-managed Secret, every entry of .Values.credentials; with existingSecret, every
`{ file: <secretsDir>/<workspace>/<key> }` reference in config.workspaces. Printed as JSON.
*/}}
{{- define "datastudio-gateway.credentialItems" -}}
{{- $items := list -}}
{{- if .Values.existingSecret -}}
{{- $refs := include "datastudio-gateway.credentialFileRefs" . | fromJsonArray -}}
{{- range $refs -}}
{{- $items = append $items (dict "workspace" .workspace "key" .key) -}}
{{- end -}}
{{- else -}}
{{- range $ws := keys (.Values.credentials | default dict) | sortAlpha -}}
{{- $entries := index $.Values.credentials $ws | default dict -}}
{{- range $key := keys $entries | sortAlpha -}}
{{- $items = append $items (dict "workspace" $ws "key" $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $items | toJson -}}
{{- end -}}

{{/*
Every `{ file: ... }` secret reference under the secrets directory in the config
(config.workspaces.*.credentials.*, one level deeper for credentials.iam.password, and
server.page_token_key), as JSON [{workspace, key, path, from}]. Fails on references the
Secret layout cannot serve.
*/}}
{{- define "datastudio-gateway.credentialFileRefs" -}}
{{- $root := printf "%s/" (include "datastudio-gateway.secretsDir" .) -}}
{{- $candidates := list -}}
{{- $workspaces := .Values.config.workspaces | default dict -}}
{{- range $ws := keys $workspaces | sortAlpha -}}
{{- $w := index $workspaces $ws | default dict -}}
{{- $creds := dict -}}
{{- if kindIs "map" $w -}}{{- $creds = $w.credentials | default dict -}}{{- end -}}
{{- range $name := keys $creds | sortAlpha -}}
{{- $ref := index $creds $name -}}
{{- if kindIs "map" $ref -}}
{{- if hasKey $ref "file" -}}
{{- $candidates = append $candidates (dict "from" (printf "config.workspaces.%s.credentials.%s" $ws $name) "ref" $ref) -}}
{{- else -}}
{{- range $sub := keys $ref | sortAlpha -}}
{{- $inner := index $ref $sub -}}
{{- if and (kindIs "map" $inner) (hasKey $inner "file") -}}
{{- $candidates = append $candidates (dict "from" (printf "config.workspaces.%s.credentials.%s.%s" $ws $name $sub) "ref" $inner) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $server := .Values.config.server | default dict -}}
{{- if and (kindIs "map" $server.page_token_key) (hasKey ($server.page_token_key | default dict) "file") -}}
{{- $candidates = append $candidates (dict "from" "config.server.page_token_key" "ref" $server.page_token_key) -}}
{{- end -}}
{{- $refs := list -}}
{{- $seen := dict -}}
{{- range $candidates -}}
{{- $path := toString .ref.file -}}
{{- if hasPrefix $root $path -}}
{{- $parts := splitList "/" (trimPrefix $root $path) -}}
{{- if or (ne (len $parts) 2) (not (regexMatch "^[A-Za-z0-9_-]+$" (index $parts 0))) (not (regexMatch "^[A-Za-z0-9_-]+$" (index (append $parts "") 1))) -}}
{{- fail (printf "datastudio-gateway: %s.file is %q; files under %s must be <dir>/<key> (letters, digits, _ and -), served from Secret key <dir>.<key>" .from $path $root) -}}
{{- end -}}
{{- $id := printf "%s.%s" (index $parts 0) (index $parts 1) -}}
{{- if not (hasKey $seen $id) -}}
{{- $_ := set $seen $id true -}}
{{- $refs = append $refs (dict "workspace" (index $parts 0) "key" (index $parts 1) "path" $path "from" .from) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $refs | toJson -}}
{{- end -}}

{{/* data of the chart-managed Secret (empty with existingSecret); also hashed into checksum/secret. */}}
{{- define "datastudio-gateway.secretData" -}}
{{- if not .Values.existingSecret -}}
{{- range $ws := keys (.Values.credentials | default dict) | sortAlpha }}
{{- $entries := index $.Values.credentials $ws | default dict }}
{{- range $key := keys $entries | sortAlpha }}
{{ printf "%s.%s" $ws $key }}: {{ index $entries $key | toString | b64enc | quote }}
{{- end }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* Render-time checks that the schema cannot express. Prints nothing. */}}
{{- define "datastudio-gateway.validate" -}}
{{- if and (eq .Values.mode "serve") (not .Values.config.workspaces) -}}
{{- fail "datastudio-gateway: mode is serve and config.workspaces is empty, so the gateway would not start: add a workspace and its credentials (credentials / existingSecret), or try the chart with --set mode=demo" -}}
{{- end -}}
{{- $_ := include "datastudio-gateway.terminationGracePeriodSeconds" . -}}
{{- if and (eq (include "datastudio-gateway.limitsBackend" .) "redis") (not .Values.redis.existingSecret) -}}
{{- fail "datastudio-gateway: config.limits.backend is redis: set redis.existingSecret (and redis.existingSecretKey) to the Secret holding the Redis URL" -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- fail (printf "datastudio-gateway: autoscaling.minReplicas (%d) is greater than autoscaling.maxReplicas (%d)" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) -}}
{{- fail "datastudio-gateway: tls.enabled needs tls.existingSecret (a kubernetes.io/tls Secret with tls.crt and tls.key)" -}}
{{- end -}}
{{- if .Values.tls.clientCA.enabled -}}
{{- if not .Values.tls.enabled -}}
{{- fail "datastudio-gateway: tls.clientCA.enabled (mTLS) needs tls.enabled" -}}
{{- end -}}
{{- if not .Values.tls.clientCA.existingSecret -}}
{{- fail "datastudio-gateway: tls.clientCA.enabled needs tls.clientCA.existingSecret (the Secret holding the client CA bundle)" -}}
{{- end -}}
{{- end -}}
{{- with .Values.cloudIdentity.alibabaRrsa -}}
{{- if and .enabled (not (and .roleArn .oidcProviderArn)) -}}
{{- fail "datastudio-gateway: cloudIdentity.alibabaRrsa.enabled needs roleArn and oidcProviderArn (with ACK's pod-identity webhook, leave it off and annotate the ServiceAccount with pod-identity.alibabacloud.com/role-name instead)" -}}
{{- end -}}
{{- end -}}
{{- with .Values.cloudIdentity.huaweiWorkloadIdentity -}}
{{- if and .enabled (not (and .idpId .audience)) -}}
{{- fail "datastudio-gateway: cloudIdentity.huaweiWorkloadIdentity.enabled needs idpId (the IAM identity provider) and audience (its client id)" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.grpcRoute.enabled (not .Values.grpcRoute.parentRefs) -}}
{{- fail "datastudio-gateway: grpcRoute.enabled needs grpcRoute.parentRefs (the Gateway the route attaches to)" -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.hosts) -}}
{{- fail "datastudio-gateway: ingress.enabled needs ingress.hosts (at least one host)" -}}
{{- end -}}
{{- if and .Values.auth.jwt.enabled (not .Values.auth.jwt.jwksSecret) -}}
{{- fail "datastudio-gateway: auth.jwt.enabled needs auth.jwt.jwksSecret (the Secret holding the JWKS document)" -}}
{{- end -}}
{{- if not .Values.existingSecret -}}
{{- range include "datastudio-gateway.credentialFileRefs" . | fromJsonArray -}}
{{- $ws := index ($.Values.credentials | default dict) .workspace | default dict -}}
{{- if not (hasKey $ws .key) -}}
{{- fail (printf "datastudio-gateway: %s.file refers to %s, but credentials.%s.%s is not set (and no existingSecret is given)" .from .path .workspace .key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The gateway's config.yaml: values.config plus the keys the chart owns. */}}
{{- define "datastudio-gateway.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) -}}
{{- $server := get $cfg "server" | default dict -}}
{{- $_ := set $server "grpc_listen" (printf "0.0.0.0:%d" (int .Values.containerPorts.grpc)) -}}
{{- $_ = set $server "admin_listen" (printf "0.0.0.0:%d" (int .Values.containerPorts.admin)) -}}
{{- if .Values.tls.enabled -}}
{{- $tlsCfg := dict "cert_file" (printf "%s/tls.crt" (include "datastudio-gateway.tlsDir" .)) "key_file" (printf "%s/tls.key" (include "datastudio-gateway.tlsDir" .)) -}}
{{- if .Values.tls.clientCA.enabled -}}
{{- $_ = set $tlsCfg "client_ca_file" (printf "%s/%s" (include "datastudio-gateway.clientCADir" .) .Values.tls.clientCA.key) -}}
{{- end -}}
{{- $_ = set $server "tls" $tlsCfg -}}
{{- end -}}
{{- if .Values.pageTokenKey.existingSecret -}}
{{- $_ = set $server "page_token_key" (dict "env" "DATASTUDIO_GATEWAY_PAGE_TOKEN_KEY") -}}
{{- end -}}
{{- $_ = set $cfg "server" $server -}}
{{- $limits := get $cfg "limits" | default dict -}}
{{- $_ = set $limits "backend" (include "datastudio-gateway.limitsBackend" .) -}}
{{- $_ = set $limits "replicas" (include "datastudio-gateway.limitsReplicas" . | atoi) -}}
{{- if eq (include "datastudio-gateway.limitsBackend" .) "redis" -}}
{{- $redis := get $limits "redis" | default dict -}}
{{- $_ = set $redis "url" (dict "env" "DATASTUDIO_GATEWAY_REDIS_URL") -}}
{{- $_ = set $limits "redis" $redis -}}
{{- end -}}
{{- $_ = set $cfg "limits" $limits -}}
{{- if or .Values.auth.jwt.enabled .Values.auth.policies -}}
{{- $auth := get $cfg "auth" | default dict -}}
{{- if .Values.auth.jwt.enabled -}}
{{- $jwt := dict "jwks_file" (printf "%s/%s" (include "datastudio-gateway.jwksDir" .) .Values.auth.jwt.jwksKey) -}}
{{- with .Values.auth.jwt.issuer -}}{{- $_ = set $jwt "issuer" . -}}{{- end -}}
{{- with .Values.auth.jwt.audiences -}}{{- $_ = set $jwt "audiences" . -}}{{- end -}}
{{- with .Values.auth.jwt.identityClaim -}}{{- $_ = set $jwt "identity_claim" . -}}{{- end -}}
{{- $_ = set $auth "jwt" $jwt -}}
{{- end -}}
{{- with .Values.auth.policies -}}{{- $_ = set $auth "policies" . -}}{{- end -}}
{{- $_ = set $cfg "auth" $auth -}}
{{- end -}}
{{- if not (hasKey $cfg "workspaces") -}}
{{- $_ = set $cfg "workspaces" dict -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* A probe: grpc on the gRPC port, or http on the admin port. Args: ctx, probe, path. */}}
{{- define "datastudio-gateway.probe" -}}
{{- $p := .probe -}}
{{- if eq (include "datastudio-gateway.probeType" .ctx) "grpc" }}
grpc:
  port: {{ .ctx.Values.containerPorts.grpc }}
  {{- with $p.service }}
  service: {{ . | quote }}
  {{- end }}
{{- else }}
httpGet:
  path: {{ .path }}
  port: admin
{{- end }}
initialDelaySeconds: {{ $p.initialDelaySeconds }}
periodSeconds: {{ $p.periodSeconds }}
timeoutSeconds: {{ $p.timeoutSeconds }}
failureThreshold: {{ $p.failureThreshold }}
successThreshold: {{ $p.successThreshold }}
{{- end -}}
