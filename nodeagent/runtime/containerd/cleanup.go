package containerd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
)

// Cleanup removes everything a node left behind: its containers and sandboxes (detaching
// them from the pod network, so host-local IPAM frees their addresses), its CNI bridge,
// and the containerd started for it. It is what `skiff down` runs for each node after the
// agent has stopped; the Pods stay in the API, and the next agent started on this data dir
// recreates their containers. It returns the UIDs of the pods it found, whose cgroups the
// caller may then remove.
func Cleanup(ctx context.Context, dataDir string, log *slog.Logger) ([]string, error) {
	if log == nil {
		log = slog.Default()
	}
	i, err := readInfo(dataDir)
	if err != nil {
		return nil, err
	}
	o := Options{DataDir: dataDir, Namespace: i.Namespace, Log: log}
	if self, err := os.Executable(); err == nil { // Start makes sure the pause image is there
		o.PauseBinary = filepath.Join(filepath.Dir(self), "skiff-pause")
	}
	if i.Address != daemonSocket(filepath.Join(dataDir, "containerd")) {
		o.Address = i.Address // a containerd of the user's: leave the daemon running
	}
	r, err := Start(ctx, o)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var errs []error
	cs, _, err := r.listKind(r.ns(ctx), kindContainer, "")
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if err := r.killContainer(ctx, c.ID); err != nil {
			errs = append(errs, err)
		}
		if err := r.RemoveContainer(ctx, c.ID); err != nil {
			errs = append(errs, err)
		}
	}
	sbs, err := r.ListPodSandboxes(ctx, "")
	if err != nil {
		return nil, err
	}
	var uids []string
	for _, sb := range sbs {
		uids = append(uids, sb.Pod.UID)
		if err := r.StopPodSandbox(ctx, sb.ID); err != nil {
			errs = append(errs, fmt.Errorf("stop sandbox %s: %w", sb.ID, err))
		}
		if err := r.RemovePodSandbox(ctx, sb.ID); err != nil {
			errs = append(errs, fmt.Errorf("remove sandbox %s: %w", sb.ID, err))
		}
	}
	if out, err := exec.Command("ip", "link", "del", bridgeName(i.Namespace)).CombinedOutput(); err != nil {
		log.Debug("no bridge to delete", "bridge", bridgeName(i.Namespace), "out", string(out))
	}
	log.Info("node cleaned up", "containers", len(cs), "sandboxes", len(sbs))
	return uids, errors.Join(errs...)
}

// killContainer kills a container's task (if it still runs) and deletes it.
func (r *Runtime) killContainer(ctx context.Context, id string) error {
	ctx = r.ns(ctx)
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return nil
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		return nil
	}
	return killAndDelete(ctx, task)
}
