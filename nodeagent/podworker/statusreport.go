package podworker

// Reporting status: what a sync observed becomes the pod's API status (computed in
// status.go), written as a merge patch of only what changed.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/nodeagent/logs"
	"github.com/skiff-sh/skiff/nodeagent/probes"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// reportStatus computes the pod's status from the runtime and writes it if it changed.
func (m *Manager) reportStatus(ctx context.Context, pod *core.Pod, st *podState) error {
	sbs, cs, err := m.list(ctx, pod.UID)
	if err != nil {
		return err
	}
	o := newObserved()
	o.sandbox = newest(sbs)
	o.containers = group(cs)
	o.startTime = st.startTime
	o.nodeIP = m.cfg.NodeIP()
	o.runtimeType = m.rt.Type()
	for k, v := range st.waiting {
		o.waiting[k] = v
	}
	running := map[string]string{}
	for _, c := range cs {
		if c.State == runtime.ContainerRunning && (!c.Init || isSidecarName(pod, c.Name)) {
			if l := o.containers[c.Name]; len(l) > 0 && l[0].ID == c.ID {
				running[c.Name] = c.ID
			}
		}
		if c.State == runtime.ContainerExited && c.Message == "" {
			c.Message = m.terminationMessage(pod, st, c)
		}
	}
	if m.cfg.Probes != nil && pod.DeletionTimestamp == nil {
		m.cfg.Probes.Update(pod, running)
	}
	for _, id := range running {
		r, ok := probes.Result{Ready: true, Started: true}, true
		if m.cfg.Probes != nil {
			r, ok = m.cfg.Probes.Result(id)
		}
		o.ready[id], o.started[id] = ok && r.Ready, ok && r.Started
	}
	status := o.podStatus(pod)
	m.mu.Lock()
	m.podIPs[pod.UID] = status.PodIP
	m.mu.Unlock()
	if pod.DeletionTimestamp != nil && status.Phase != core.PodSucceeded && status.Phase != core.PodFailed {
		// A deleted pod whose containers are all down ends Failed (Succeeded if all exited 0).
		status.Phase = core.PodFailed
		if allSucceeded(status.ContainerStatuses) {
			status.Phase = core.PodSucceeded
		}
	}
	return m.writeStatus(ctx, pod, st, status)
}

func allSucceeded(l []core.ContainerStatus) bool {
	for _, s := range l {
		if s.State.Terminated == nil || s.State.Terminated.ExitCode != 0 {
			return false
		}
	}
	return len(l) > 0
}

// terminationMessage reads an exited container's termination message file, or with
// FallbackToLogsOnError the end of its log.
func (m *Manager) terminationMessage(pod *core.Pod, st *podState, c *runtime.Container) string {
	if m.cfg.RootDir == "" {
		return ""
	}
	st.mu.Lock()
	msg, ok := st.messages[c.ID]
	st.mu.Unlock()
	if ok {
		return msg
	}
	data, _ := os.ReadFile(m.terminationFile(pod.UID, c.Name, c.Attempt))
	data = data[:min(len(data), 4096)]
	msg = string(data)
	if spec := findContainer(pod, c.Name); msg == "" && c.ExitCode != 0 && spec != nil &&
		spec.TerminationMessagePolicy == core.TerminationMessageFallbackToLogsOnError && c.LogPath != "" {
		msg = logs.Tail(c.LogPath, 80, 2048)
	}
	st.mu.Lock()
	st.messages[c.ID] = msg
	st.mu.Unlock()
	return msg
}

// writeStatus writes status through pods/status when it differs from what the API has.
func (m *Manager) writeStatus(ctx context.Context, pod *core.Pod, st *podState, status core.PodStatus) error {
	newJSON, err := json.Marshal(status)
	if err != nil {
		return err
	}
	oldJSON := st.apiStatusJSON(pod)
	if string(newJSON) == string(oldJSON) {
		return nil
	}
	if string(newJSON) == string(st.lastSent) && time.Since(st.lastSentAt) < 5*time.Second {
		return nil // sent already; the informer has not caught up
	}
	patch, err := statusPatch(oldJSON, newJSON)
	if err != nil {
		return err
	}
	if err := m.cfg.Pods.PatchDiscard(ctx, pod.Namespace, pod.Name, client.MergePatchType, patch, "status"); err != nil {
		if client.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("update status of %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	st.lastSent, st.lastSentAt = newJSON, time.Now()
	return nil
}

// apiStatusJSON is pod.Status encoded, remembered for the pod's resourceVersion (a
// pod's status is the same wherever its resourceVersion is).
func (st *podState) apiStatusJSON(pod *core.Pod) []byte {
	st.mu.Lock()
	defer st.mu.Unlock()
	if pod.ResourceVersion != "" && pod.ResourceVersion == st.apiRV {
		return st.apiStatus
	}
	b, _ := json.Marshal(pod.Status)
	if bytes.Equal(b, st.lastSent) {
		b = st.lastSent // usually: what was written came back; keep one copy
	}
	st.apiRV, st.apiStatus = pod.ResourceVersion, b
	return b
}

// statusPatch is a JSON merge patch {"metadata":{"uid":...},"status":...} that turns the
// old status into the new one (fields that disappeared are nulled).
func statusPatch(oldJSON, newJSON []byte) ([]byte, error) {
	var oldM, newM map[string]any
	if err := json.Unmarshal(oldJSON, &oldM); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(newJSON, &newM); err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"status": mergeDiff(oldM, newM)})
}

// mergeDiff is the RFC 7386 merge patch from a to b.
func mergeDiff(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, bv := range b {
		av, ok := a[k]
		am, aIsMap := av.(map[string]any)
		bm, bIsMap := bv.(map[string]any)
		switch {
		case ok && aIsMap && bIsMap:
			if d := mergeDiff(am, bm); len(d) > 0 {
				out[k] = d
			}
		case !ok || !reflect.DeepEqual(av, bv): // decoded JSON: maps, slices, float64, string, bool, nil
			out[k] = bv
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			out[k] = nil
		}
	}
	return out
}
