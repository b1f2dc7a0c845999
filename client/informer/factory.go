package informer

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
)

// Factory shares informers between the controllers of one process, so that each resource
// is listed and watched once however many controllers read it.
type Factory struct {
	c         *client.Client
	namespace string
	resync    time.Duration

	mu        sync.Mutex
	informers map[client.Resource]sharedInformer
	started   map[client.Resource]bool
}

type sharedInformer interface {
	Run(ctx context.Context)
	HasSynced() bool
}

// NewFactory returns a factory whose informers watch namespace ("" = all) with the
// given resync period.
func NewFactory(c *client.Client, namespace string, resync time.Duration) *Factory {
	return &Factory{
		c:         c,
		namespace: namespace,
		resync:    resync,
		informers: map[client.Resource]sharedInformer{},
		started:   map[client.Resource]bool{},
	}
}

// For returns the factory's informer of r, making it on first use. Every caller of one
// resource must use the same T (it panics otherwise: a programming error).
func For[T any, PT interface {
	*T
	meta.Object
}](f *Factory, r client.Resource) *Informer[T, PT] {
	f.mu.Lock()
	defer f.mu.Unlock()
	if existing, ok := f.informers[r]; ok {
		inf, ok := existing.(*Informer[T, PT])
		if !ok {
			panic(fmt.Sprintf("informer: %s requested as %T, already made as %T", r.Resource, (*Informer[T, PT])(nil), existing))
		}
		return inf
	}
	inf := NewInformer(client.For[T, PT](f.c, r), f.namespace, client.ListOptions{}, f.resync)
	f.informers[r] = inf
	return inf
}

// Start runs, each in its own goroutine until ctx ends, every informer not yet started.
// Call it again after asking for more informers.
func (f *Factory) Start(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for r, inf := range f.informers {
		if !f.started[r] {
			f.started[r] = true
			go inf.Run(ctx)
		}
	}
}

// WaitForCacheSync waits for every informer made so far to sync; false if ctx ended first.
func (f *Factory) WaitForCacheSync(ctx context.Context) bool {
	f.mu.Lock()
	synced := make([]func() bool, 0, len(f.informers))
	for _, inf := range f.informers {
		synced = append(synced, inf.HasSynced)
	}
	f.mu.Unlock()
	return WaitForCacheSync(ctx, synced...)
}
