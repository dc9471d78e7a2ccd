{{- define "vpsie-autoscaler.name" -}}vpsie-autoscaler{{- end -}}
{{- define "vpsie-autoscaler.labels" -}}
app.kubernetes.io/name: vpsie-autoscaler
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}
{{- define "vpsie-autoscaler.selector" -}}
app.kubernetes.io/name: vpsie-autoscaler
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
