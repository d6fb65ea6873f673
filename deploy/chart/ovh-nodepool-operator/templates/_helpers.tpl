{{/* Chart name, shortened to the 63 characters a label value allows. */}}
{{- define "ovhnp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects: the release name, with the chart name unless it is in it. */}}
{{- define "ovhnp.fullname" -}}
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

{{- define "ovhnp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ovhnp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ovhnp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ovhnp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "ovhnp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ovhnp.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ovhnp.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Rules on the OVHNodePool objects, their status, Events and credentials Secrets. They are
     granted cluster-wide or in each watched namespace. */}}
{{- define "ovhnp.objectRules" -}}
# Kopf lists and watches the objects, and patches them for its finalizer and annotations. The
# operator reads one object before it reports a pool as foreign, as its watch may lag.
- apiGroups: ["ovh.nodepool-operator.io"]
  resources: ["ovhnodepools"]
  verbs: ["get", "list", "watch", "patch"]
# The operator merge-patches the status subresource.
- apiGroups: ["ovh.nodepool-operator.io"]
  resources: ["ovhnodepools/status"]
  verbs: ["patch"]
# Kopf posts core/v1 Events about the objects.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
# Credentials Secrets named by spec.credentialsSecretRef: read one by one, never listed.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
{{- end }}
