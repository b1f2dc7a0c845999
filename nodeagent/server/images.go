package server

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// POST /images takes one image archive (docker save or OCI layout, as a tar stream,
// optionally gzip-compressed) and loads it into the node's containerd, in the namespace
// the node's pods run from, so that pods with imagePullPolicy Never or IfNotPresent use
// it. It answers the names of the images it loaded, one a line. The API server relays
// POST /api/v1/nodes/NAME/images here (`skiff image import`); like exec, only the API
// server's client certificate (and system:masters) may call it (auth.go).

// DefaultMaxImageBytes bounds an uploaded image archive unless Server.MaxImageBytes says
// otherwise: big enough for real application images, small enough that a mistaken upload
// (a disk image, a home directory) is refused before it fills the node's disk.
const DefaultMaxImageBytes int64 = 4 << 30

// ImageImporter is the part of a runtime that can load image archives (containerd; the
// sim runtime has no images).
type ImageImporter interface {
	Import(ctx context.Context, r io.Reader) ([]string, error)
}

func (s *Server) maxImageBytes() int64 {
	if s.MaxImageBytes > 0 {
		return s.MaxImageBytes
	}
	return DefaultMaxImageBytes
}

func (s *Server) importImage(w http.ResponseWriter, r *http.Request) {
	imp, ok := s.Runtime.(ImageImporter)
	if !ok {
		http.Error(w, "this node's runtime cannot load images (simulated node)", http.StatusBadRequest)
		return
	}
	limit := s.maxImageBytes()
	if r.ContentLength > limit {
		http.Error(w, tooLarge(r.ContentLength, limit), http.StatusRequestEntityTooLarge)
		return
	}
	body := bufio.NewReaderSize(http.MaxBytesReader(w, r.Body, limit), 4096)
	if err := checkArchive(body); err != nil {
		http.Error(w, "invalid image archive: "+err.Error(), http.StatusBadRequest)
		return
	}
	names, err := imp.Import(r.Context(), body)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		http.Error(w, tooLarge(-1, limit), http.StatusRequestEntityTooLarge)
		return
	case errors.Is(err, runtime.ErrInvalidImageArchive):
		http.Error(w, err.Error(), http.StatusBadRequest) // it says "invalid image archive"
		return
	case err != nil:
		http.Error(w, "import the image archive: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if s.Log != nil {
		s.Log.Info("imported images", "images", names)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, n := range names {
		fmt.Fprintln(w, n)
	}
}

func tooLarge(size, limit int64) string {
	if size < 0 {
		return fmt.Sprintf("image archive is larger than this node agent takes (%d bytes; --max-image-archive-bytes)", limit)
	}
	return fmt.Sprintf("image archive of %d bytes is larger than this node agent takes (%d bytes; --max-image-archive-bytes)", size, limit)
}

// checkArchive looks at the start of the stream, without consuming it, and refuses what is
// neither a tar archive nor gzip: a wrong file is answered at once and clearly, not with
// whatever containerd's importer says halfway through.
func checkArchive(r *bufio.Reader) error {
	head, err := r.Peek(512)
	if len(head) == 0 {
		if err == nil || errors.Is(err, io.EOF) {
			return errors.New("the upload is empty")
		}
		return err
	}
	if bytes.HasPrefix(head, []byte{0x1f, 0x8b}) {
		return nil // gzip: containerd decompresses it
	}
	if len(head) < 512 {
		return fmt.Errorf("%d bytes is too short for a tar archive (docker save or OCI layout)", len(head))
	}
	if _, err := tar.NewReader(bytes.NewReader(head)).Next(); err != nil {
		return fmt.Errorf("not a tar archive (docker save or OCI layout): %w", err)
	}
	return nil
}
