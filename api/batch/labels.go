package batch

// The unprefixed job labels the job controller used before batch.kubernetes.io/ existed;
// Kubernetes still puts both on a job's pods.
const (
	LegacyJobNameLabel       = "job-name"
	LegacyControllerUidLabel = "controller-uid"
)
