package containerd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	ctrd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/nodeagent/images"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// ensurePause imports the pause image built from PauseBinary, named after its content so
// a new pause program gets a new image.
func (r *Runtime) ensurePause(ctx context.Context) (ctrd.Image, error) {
	data, err := os.ReadFile(r.o.PauseBinary)
	if err != nil {
		return nil, fmt.Errorf("the pause program (skiff-pause, next to skiff-nodeagent): %w", err)
	}
	sum := sha256.Sum256(data)
	name := "skiff.local/pause:" + hex.EncodeToString(sum[:6])
	if img, err := r.client.GetImage(ctx, name); err == nil {
		return img, r.unpack(ctx, img)
	}
	var buf bytes.Buffer
	err = images.Build(&buf, images.Image{Name: name, Entrypoint: []string{"/pause"},
		Files: []images.File{{Path: "/pause", Mode: 0o755, Data: data}}})
	if err != nil {
		return nil, err
	}
	imgs, err := r.importArchive(ctx, &buf)
	if err != nil {
		return nil, err
	}
	return imgs[0], nil
}

func (r *Runtime) unpack(ctx context.Context, img ctrd.Image) error {
	ok, err := img.IsUnpacked(ctx, r.o.Snapshotter)
	if err != nil || ok {
		return err
	}
	return img.Unpack(ctx, r.o.Snapshotter)
}

// Import loads a docker-save or OCI archive and unpacks its images; it returns their names.
func (r *Runtime) Import(ctx context.Context, rd io.Reader) ([]string, error) {
	imgs, err := r.importArchive(r.ns(ctx), rd)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(imgs))
	for i, img := range imgs {
		names[i] = img.Name()
	}
	return names, nil
}

func (r *Runtime) importArchive(ctx context.Context, rd io.Reader) ([]ctrd.Image, error) {
	metas, err := r.client.Import(ctx, rd, ctrd.WithImportPlatform(nil), ctrd.WithAllPlatforms(false))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		// What fails here is reading the archive (its tar stream, manifest, blobs): the
		// archive's fault, which callers tell from a node's failure by this error. The
		// reader's own error stays in the chain (an upload cut off at its size limit).
		return nil, fmt.Errorf("import: %w: %w", runtime.ErrInvalidImageArchive, err)
	}
	var out []ctrd.Image
	for _, m := range metas {
		img := ctrd.NewImageWithPlatform(r.client, m, nil)
		if err := r.unpack(ctx, img); err != nil {
			return nil, fmt.Errorf("unpack %s: %w", m.Name, err)
		}
		out = append(out, img)
	}
	if len(out) == 0 {
		return nil, errNoImages
	}
	return out, nil
}

// normalize turns "busybox" into "docker.io/library/busybox:latest", as Kubernetes does.
func normalize(ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	return reference.TagNameOnly(named).String(), nil
}

func imageID(img ctrd.Image) string {
	named, err := reference.ParseNormalizedNamed(img.Name())
	if err != nil {
		return img.Target().Digest.String()
	}
	return named.Name() + "@" + img.Target().Digest.String()
}

// EnsureImage applies imagePullPolicy: Never uses what is there, IfNotPresent pulls what
// is not, Always pulls.
func (r *Runtime) EnsureImage(ctx context.Context, ref string, policy core.PullPolicy, _ []runtime.PullAuth) (*runtime.Image, error) {
	ctx = r.ns(ctx)
	name, err := normalize(ref)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", runtime.ErrImagePull, err)
	}
	img, err := r.client.GetImage(ctx, name)
	present := err == nil
	if err != nil && !errdefs.IsNotFound(err) {
		return nil, err
	}
	switch {
	case policy == core.PullNever && !present:
		return nil, fmt.Errorf("%w: Container image %q is not present with pull policy of Never", runtime.ErrImageNeverPull, ref)
	case policy == core.PullAlways || !present:
		pctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		pulled, err := r.client.Pull(pctx, name, ctrd.WithPullUnpack, ctrd.WithPullSnapshotter(r.o.Snapshotter))
		if err != nil {
			return nil, fmt.Errorf("%w: failed to pull and unpack image %q: %v", runtime.ErrImagePull, name, err)
		}
		img = pulled
	}
	if err := r.unpack(ctx, img); err != nil {
		return nil, err
	}
	return r.describe(ctx, img)
}

func (r *Runtime) describe(ctx context.Context, img ctrd.Image) (*runtime.Image, error) {
	out := &runtime.Image{Ref: img.Name(), Names: []string{img.Name(), imageID(img)},
		Pinned: r.pause != nil && img.Target().Digest == r.pause.Target().Digest}
	if size, err := img.Size(ctx); err == nil {
		out.SizeBytes = size
	}
	if spec, err := img.Spec(ctx); err == nil {
		out.StopSignal, out.User = spec.Config.StopSignal, spec.Config.User
	}
	return out, nil
}

func (r *Runtime) ListImages(ctx context.Context) ([]runtime.Image, error) {
	ctx = r.ns(ctx)
	imgs, err := r.client.ListImages(ctx)
	if err != nil {
		return nil, err
	}
	byDigest := map[string]*runtime.Image{}
	var out []runtime.Image
	for _, img := range imgs {
		d := img.Target().Digest.String()
		if e, ok := byDigest[d]; ok {
			e.Names = append(e.Names, img.Name())
			continue
		}
		ri, err := r.describe(ctx, img)
		if err != nil {
			continue
		}
		out = append(out, *ri)
		byDigest[d] = &out[len(out)-1]
	}
	return out, nil
}

// ImportFiles loads image archives into a node's containerd: the node is named by its
// data dir (which records its containerd address and namespace), or by address and
// namespace directly. It is what `skiff image import` does for each node.
func ImportFiles(ctx context.Context, dataDir, address, namespace string, files []string) ([]string, error) {
	if len(files) == 0 {
		return nil, errors.New("no image archive given")
	}
	if dataDir != "" {
		i, err := readInfo(dataDir)
		if err != nil {
			return nil, err
		}
		if address == "" {
			address = i.Address
		}
		if namespace == "" {
			namespace = i.Namespace
		}
	}
	if address == "" || namespace == "" {
		return nil, errors.New("need the node's --data-dir, or --containerd-address and --namespace")
	}
	c, err := ctrd.New(address, ctrd.WithDefaultNamespace(namespace), ctrd.WithTimeout(10*time.Second))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	r := &Runtime{o: Options{Namespace: namespace, Snapshotter: "overlayfs"}, client: c}
	var names []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		n, err := r.Import(ctx, fh)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		names = append(names, n...)
	}
	return names, nil
}
