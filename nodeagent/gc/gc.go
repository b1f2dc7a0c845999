// Package gc is the node agent's garbage collector: the kubelet's container and image
// garbage collection, which the eviction manager also calls on to reclaim disk.
//
//   - Dead containers: of each pod's container (by name), the newest MaxPerPodContainer
//     exited attempts are kept — the newest is what `kubectl logs --previous` reads, and
//     what the pod worker counts restarts and crash-loop back-off from — and older ones
//     are removed. Sandboxes that are not ready and not their pod's newest go too. What
//     runs, or was created and not yet started, is never touched; pods the API no longer
//     has are the pod workers' to remove, whole.
//   - Unused images: when the image filesystem is more than HighThresholdPercent full,
//     images no container uses (running or exited) are removed, least recently used
//     first, until LowThresholdPercent is reached (by their sizes). Never a pinned image
//     (the pause image), nor one first seen less than MinImageAge ago (it may have just
//     been pulled for a container about to be created).
//
// Everything is level-triggered: each round lists what the runtime has and acts on it, so
// a restarted agent simply carries on. Only when an image was last used is remembered in
// memory; after a restart images are ordered by when this collector first saw them.
package gc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// Config of a collector. Zero values take the kubelet's defaults.
type Config struct {
	Runtime runtime.Runtime
	// MaxPerPodContainer is how many exited attempts of each container of a pod are kept
	// (at least 1, the default).
	MaxPerPodContainer int
	// HighThresholdPercent and LowThresholdPercent of image filesystem usage start and
	// stop image garbage collection (default 85 and 80; 100 turns it off).
	HighThresholdPercent, LowThresholdPercent int
	// MinImageAge protects images first seen less than this long ago (default 2m;
	// negative: none).
	MinImageAge time.Duration
	// Period of the rounds (default 1m).
	Period time.Duration
	// Event reports what the node should show as an event ("Warning", "FreeDiskSpaceFailed",
	// ...); nil emits none.
	Event func(eventType, reason, message string)
	Log   *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.MaxPerPodContainer < 1 {
		c.MaxPerPodContainer = 1
	}
	if c.HighThresholdPercent <= 0 {
		c.HighThresholdPercent = 85
	}
	if c.LowThresholdPercent <= 0 {
		c.LowThresholdPercent = 80
	}
	c.LowThresholdPercent = min(c.LowThresholdPercent, c.HighThresholdPercent)
	if c.MinImageAge == 0 {
		c.MinImageAge = 2 * time.Minute
	}
	if c.Period <= 0 {
		c.Period = time.Minute
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Collector collects one node's garbage.
type Collector struct {
	cfg  Config
	rt   runtime.Runtime
	kick chan struct{}

	mu     sync.Mutex
	images map[string]*imageRecord // by Ref
}

// imageRecord is what the collector remembers of an image.
type imageRecord struct {
	firstSeen, lastUsed time.Time
}

// New returns a collector; Run runs it.
func New(cfg Config) *Collector {
	cfg.setDefaults()
	return &Collector{cfg: cfg, rt: cfg.Runtime, kick: make(chan struct{}, 1), images: map[string]*imageRecord{}}
}

// Run collects every Period, and at once when kicked, until ctx ends.
func (g *Collector) Run(ctx context.Context) {
	t := time.NewTicker(g.cfg.Period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-g.kick:
		}
		if _, err := g.CollectContainers(ctx); err != nil && ctx.Err() == nil {
			g.cfg.Log.Warn("container garbage collection", "err", err)
		}
		if _, err := g.CollectImages(ctx); err != nil && ctx.Err() == nil {
			g.cfg.Log.Warn("image garbage collection", "err", err)
			g.event("Warning", "ImageGCFailed", err.Error())
		}
	}
}

// Kick asks for a round now.
func (g *Collector) Kick() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

func (g *Collector) event(eventType, reason, msg string) {
	if g.cfg.Event != nil {
		g.cfg.Event(eventType, reason, msg)
	}
}

// CollectContainers removes the dead containers beyond MaxPerPodContainer per container
// of a pod, and the dead sandboxes that are not their pod's newest. It returns how many
// it removed.
func (g *Collector) CollectContainers(ctx context.Context) (int, error) {
	cs, err := g.rt.ListContainers(ctx, "")
	if err != nil {
		return 0, fmt.Errorf("list containers: %w", err)
	}
	removed := 0
	var errs []error
	for _, c := range DeadContainers(cs, g.cfg.MaxPerPodContainer) {
		if err := g.rt.RemoveContainer(ctx, c.ID); err != nil {
			if !errors.Is(err, runtime.ErrContainerRunning) { // restarted meanwhile: fine
				errs = append(errs, fmt.Errorf("remove container %s (%s/%s %s): %w", c.ID, c.Pod.Namespace, c.Pod.Name, c.Name, err))
			}
			continue
		}
		removed++
	}
	sbs, err := g.rt.ListPodSandboxes(ctx, "")
	if err != nil {
		return removed, errors.Join(append(errs, fmt.Errorf("list sandboxes: %w", err))...)
	}
	for _, sb := range DeadSandboxes(sbs) {
		if err := g.rt.RemovePodSandbox(ctx, sb.ID); err != nil {
			errs = append(errs, fmt.Errorf("remove sandbox %s (%s/%s): %w", sb.ID, sb.Pod.Namespace, sb.Pod.Name, err))
			continue
		}
		removed++
	}
	if removed > 0 {
		g.cfg.Log.Info("removed dead containers", "count", removed)
	}
	return removed, errors.Join(errs...)
}

// DeadContainers picks, among cs, the exited containers to remove: all but the newest
// keep attempts of each container name of each pod.
func DeadContainers(cs []*runtime.Container, keep int) []*runtime.Container {
	type key struct{ pod, name string }
	exited := map[key][]*runtime.Container{}
	for _, c := range cs {
		if c.State == runtime.ContainerExited {
			k := key{c.Pod.UID, c.Name}
			exited[k] = append(exited[k], c)
		}
	}
	var out []*runtime.Container
	for _, l := range exited {
		if len(l) <= keep {
			continue
		}
		sort.Slice(l, func(i, j int) bool { return newer(l[i], l[j]) })
		out = append(out, l[keep:]...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// newer orders containers newest first: by attempt, then creation time.
func newer(a, b *runtime.Container) bool {
	if a.Attempt != b.Attempt {
		return a.Attempt > b.Attempt
	}
	return a.CreatedAt.After(b.CreatedAt)
}

// DeadSandboxes picks the sandboxes to remove: not ready, and not the newest of their pod
// (a pod's newest sandbox is what its worker reads its IP and attempt from).
func DeadSandboxes(sbs []*runtime.Sandbox) []*runtime.Sandbox {
	newest := map[string]*runtime.Sandbox{}
	for _, sb := range sbs {
		if n, ok := newest[sb.Pod.UID]; !ok || sb.Attempt > n.Attempt || sb.Attempt == n.Attempt && sb.CreatedAt.After(n.CreatedAt) {
			newest[sb.Pod.UID] = sb
		}
	}
	var out []*runtime.Sandbox
	for _, sb := range sbs {
		if sb.State != runtime.SandboxReady && newest[sb.Pod.UID] != sb {
			out = append(out, sb)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// CollectImages removes unused images, least recently used first, while the image
// filesystem is above HighThresholdPercent, until LowThresholdPercent. It returns the
// bytes it expects to have freed (the images' sizes).
func (g *Collector) CollectImages(ctx context.Context) (int64, error) {
	usage, err := g.rt.ImageFsUsage(ctx)
	if errors.Is(err, runtime.ErrNotSupported) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("image filesystem usage: %w", err)
	}
	candidates, err := g.candidates(ctx)
	if err != nil {
		return 0, err
	}
	if usage.UsedPercent() <= float64(g.cfg.HighThresholdPercent) || g.cfg.HighThresholdPercent >= 100 {
		return 0, nil
	}
	// Free down to the low threshold: used - low% of capacity.
	used := usage.CapacityBytes - usage.FreeBytes
	target := int64(used) - int64(float64(usage.CapacityBytes)*float64(g.cfg.LowThresholdPercent)/100)
	g.cfg.Log.Info("image filesystem above the high threshold", "usedPercent", fmt.Sprintf("%.1f", usage.UsedPercent()),
		"highThreshold", g.cfg.HighThresholdPercent, "toFree", target)
	freed, err := g.remove(ctx, candidates, target)
	if freed < target {
		msg := fmt.Sprintf("Failed to garbage collect required amount of images. Attempted to free %d bytes, but only found %d bytes eligible to free.", target, freed)
		g.event("Warning", "FreeDiskSpaceFailed", msg)
		err = errors.Join(err, errors.New(msg))
	}
	return freed, err
}

// DeleteUnusedImages removes every image that may be removed (unused, not pinned, old
// enough), whatever the thresholds: the eviction manager's reclaim under disk pressure.
func (g *Collector) DeleteUnusedImages(ctx context.Context) error {
	candidates, err := g.candidates(ctx)
	if err != nil {
		return err
	}
	_, err = g.remove(ctx, candidates, math.MaxInt64)
	return err
}

// DeleteAllUnusedContainers removes the dead containers and sandboxes the policy allows
// (the eviction manager's reclaim under disk pressure).
func (g *Collector) DeleteAllUnusedContainers(ctx context.Context) error {
	_, err := g.CollectContainers(ctx)
	return err
}

// candidates lists the images and containers and returns the images that may go, least
// recently used first.
func (g *Collector) candidates(ctx context.Context) ([]runtime.Image, error) {
	imgs, err := g.rt.ListImages(ctx)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	cs, err := g.rt.ListContainers(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	return g.observe(imgs, cs), nil
}

// remove removes candidates in order until target bytes are freed; it returns the bytes.
func (g *Collector) remove(ctx context.Context, candidates []runtime.Image, target int64) (int64, error) {
	var freed int64
	var removed []string
	var errs []error
	for _, img := range candidates {
		if freed >= target {
			break
		}
		if err := g.rt.RemoveImage(ctx, img.Ref); err != nil {
			errs = append(errs, fmt.Errorf("remove image %s: %w", img.Ref, err))
			continue
		}
		freed += img.SizeBytes
		removed = append(removed, img.Ref)
		g.mu.Lock()
		delete(g.images, img.Ref)
		g.mu.Unlock()
	}
	if len(removed) > 0 {
		g.cfg.Log.Info("removed unused images", "images", removed, "bytes", freed)
	}
	return freed, errors.Join(errs...)
}

// observe records when images are used and returns those that may be removed, least
// recently used first: not pinned, used by no container, first seen MinImageAge ago.
func (g *Collector) observe(imgs []runtime.Image, cs []*runtime.Container) []runtime.Image {
	now := g.cfg.Now()
	inUse := map[string]bool{}
	for _, c := range cs {
		inUse[c.Image], inUse[c.ImageRef] = true, true
		if name, _, ok := strings.Cut(c.ImageRef, "@"); ok { // name@digest: the name too
			inUse[name] = true
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	seen := map[string]bool{}
	var out []runtime.Image
	for _, img := range imgs {
		seen[img.Ref] = true
		rec, ok := g.images[img.Ref]
		if !ok {
			rec = &imageRecord{firstSeen: now}
			g.images[img.Ref] = rec
		}
		used := inUse[img.Ref]
		for _, n := range img.Names {
			used = used || inUse[n]
		}
		if used {
			rec.lastUsed = now
			continue
		}
		if img.Pinned || now.Sub(rec.firstSeen) < g.cfg.MinImageAge {
			continue
		}
		out = append(out, img)
	}
	for ref := range g.images {
		if !seen[ref] {
			delete(g.images, ref) // removed by someone else
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := g.images[out[i].Ref], g.images[out[j].Ref]
		if !a.lastUsed.Equal(b.lastUsed) {
			return a.lastUsed.Before(b.lastUsed)
		}
		if !a.firstSeen.Equal(b.firstSeen) {
			return a.firstSeen.Before(b.firstSeen)
		}
		return out[i].Ref < out[j].Ref
	})
	return out
}
