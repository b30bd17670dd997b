{{/* Common names and labels. */}}
{{- define "guichet.fullname" -}}
{{- printf "%s" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "guichet.labels" -}}
app.kubernetes.io/name: guichet
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "guichet.selector" -}}
app.kubernetes.io/name: guichet
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Environment, volumes and security shared by every pod. */}}
{{- define "guichet.envFrom" -}}
- configMapRef:
    name: {{ include "guichet.fullname" . }}-config
- secretRef:
    name: {{ .Values.existingSecret }}
{{- end -}}

{{- define "guichet.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{- define "guichet.volumeMounts" -}}
- name: media
  mountPath: /data/media
- name: trust
  mountPath: /etc/guichet/trust
  readOnly: true
- name: tmp
  mountPath: /tmp
- name: var
  mountPath: /app/var
{{- end -}}

{{- define "guichet.volumes" -}}
- name: media
  persistentVolumeClaim:
    claimName: {{ .Values.media.existingClaim }}
- name: trust
  configMap:
    name: {{ .Values.trustConfigMap }}
- name: tmp
  emptyDir: {medium: Memory}
- name: var
  emptyDir: {}
{{- end -}}
