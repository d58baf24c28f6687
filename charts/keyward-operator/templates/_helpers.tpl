{{/* The chart's name, or nameOverride. */}}
{{- define "keyward-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of every object: fullnameOverride, else the release name when it
already contains the chart's name, else <release>-<name>. 63 characters at most
(DNS-1123 labels).
*/}}
{{- define "keyward-operator.fullname" -}}
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

{{/* The labels every object carries. */}}
{{- define "keyward-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "keyward-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: keyward
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The labels that select the operator's pods: fixed for the life of a release. */}}
{{- define "keyward-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "keyward-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "keyward-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "keyward-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository@digest, else repository:tag, the tag defaulting to appVersion. */}}
{{- define "keyward-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion (toString .Values.image.tag)) }}
{{- end }}
{{- end }}

{{/*
Whether to render the ServiceMonitor: serviceMonitor.enabled is true, or auto
and the cluster serves prometheus-operator's monitoring.coreos.com/v1 (with
`helm template`, pass --api-versions monitoring.coreos.com/v1).
*/}}
{{- define "keyward-operator.serviceMonitorEnabled" -}}
{{- $setting := toString .Values.serviceMonitor.enabled }}
{{- if eq $setting "true" }}true
{{- else if and (eq $setting "auto") (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") .Values.metrics.service.enabled }}true
{{- else if not (has $setting (list "true" "false" "auto")) }}
{{- fail (printf "serviceMonitor.enabled must be auto, true or false, not %q" $setting) }}
{{- end }}
{{- end }}
