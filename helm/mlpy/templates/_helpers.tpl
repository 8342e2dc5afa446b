{{/* Chart name, overridable. */}}
{{- define "mlpy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, or the release name when it already contains the chart name. */}}
{{- define "mlpy.fullname" -}}
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

{{- define "mlpy.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The standard app.kubernetes.io labels, without the component. */}}
{{- define "mlpy.baseLabels" -}}
helm.sh/chart: {{ include "mlpy.chart" . }}
app.kubernetes.io/name: {{ include "mlpy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mlpy
{{- end }}

{{/* Labels of the operator's objects. */}}
{{- define "mlpy.labels" -}}
{{ include "mlpy.baseLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{/* Labels the operator's Service selects its pod by; never change on upgrade. */}}
{{- define "mlpy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mlpy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "mlpy.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mlpy.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* An image reference with global.imageRegistry in place of its own registry (a first path part
with a dot, a colon or "localhost"), or in front of it when it names none. */}}
{{- define "mlpy.registry" -}}
{{- $image := .image }}
{{- with .global.imageRegistry }}
{{- $parts := splitList "/" $image }}
{{- $first := first $parts }}
{{- if and (gt (len $parts) 1) (or (contains "." $first) (contains ":" $first) (eq $first "localhost")) }}
{{- $image = join "/" (rest $parts) }}
{{- end }}
{{- $image = printf "%s/%s" (trimSuffix "/" .) $image }}
{{- end }}
{{- $image }}
{{- end }}

{{- define "mlpy.operatorImage" -}}
{{- $image := printf "%s:%s" .Values.operator.image.repository (default .Chart.AppVersion .Values.operator.image.tag) }}
{{- include "mlpy.registry" (dict "image" $image "global" (.Values.global | default dict)) }}
{{- end }}

{{- define "mlpy.serverImage" -}}
{{- $image := default (printf "ghcr.io/mlpy/mlpy-server:%s" .Chart.AppVersion) .Values.operator.serverImage }}
{{- include "mlpy.registry" (dict "image" $image "global" (.Values.global | default dict)) }}
{{- end }}

{{/* true when the operator watches the whole cluster. */}}
{{- define "mlpy.clusterWide" -}}
{{- if .Values.operator.watchNamespaces }}false{{ else }}true{{ end }}
{{- end }}

{{/* Namespaces that get the drift Job's ServiceAccount, as a JSON list. */}}
{{- define "mlpy.driftJobNamespaces" -}}
{{- $namespaces := .Values.driftJob.namespaces | default .Values.operator.watchNamespaces | default (list .Release.Namespace) }}
{{- uniq $namespaces | toJson }}
{{- end }}

{{/* Namespaces that get the training Jobs' ServiceAccount, as a JSON list. */}}
{{- define "mlpy.trainingNamespaces" -}}
{{- $namespaces := .Values.training.namespaces | default .Values.operator.watchNamespaces | default (list .Release.Namespace) }}
{{- uniq $namespaces | toJson }}
{{- end }}

{{/*
What the operator does inside a namespace it watches. kopf lists, watches and patches the custom
resources (progress annotations under mlpy.io/) and their status, and posts Events; the reconcilers
server-side apply the children (apply creates or patches) and remove the ones a spec no longer wants.
*/}}
{{- define "mlpy.operatorRules" -}}
- apiGroups: ["mlpy.io"]
  resources: ["modelversions", "experiments", "driftmonitors"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["mlpy.io"]
  resources: ["modelversions/status", "experiments/status", "driftmonitors/status"]
  verbs: ["get", "patch"]
# Children carry ownerReferences with blockOwnerDeletion, which the OwnerReferencesPermissionEnforcement
# admission plugin (on in OpenShift) allows only to who may update the owner's finalizers.
- apiGroups: ["mlpy.io"]
  resources: ["modelversions/finalizers", "experiments/finalizers", "driftmonitors/finalizers"]
  verbs: ["update"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["batch"]
  resources: ["cronjobs"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# Routers carry production traffic: a node drain takes their pods one at a time.
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# Read only: a serving pod that is not Ready says why (a hash mismatch), and the version's status says it.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list"]
{{- if .Values.rbac.driftJobAccessByOperator }}
# Per-DriftMonitor access for its job's pods: a ServiceAccount and a Role limited by resourceNames to
# that one monitor. The API server lets the operator grant only what it holds itself (no escalate or
# bind verbs), so this cannot widen anyone's access beyond the rules above.
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["get", "create", "patch", "delete"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings"]
  verbs: ["get", "create", "patch", "delete"]
{{- end }}
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
