// Package images builds the test images skiff's tests run, with no registry: busybox from
// Debian's busybox-static, or any static program. Each is written as a docker-save
// archive that `skiff image import` (or containerd) loads. See ./build for the command.
package images

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/skiff-sh/skiff/nodeagent/images"
)

// BusyboxPath is where Debian's busybox-static installs its binary.
const BusyboxPath = "/bin/busybox"

// Busybox is an image of busybox-static with a symlink per applet (sh, sleep, wget,
// httpd, nc, ...), its default command a shell. It is tagged name (e.g.
// "skiff.test/busybox:1"; avoid :latest, which Kubernetes always pulls).
func Busybox(name string) (images.Image, error) {
	data, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return images.Image{}, fmt.Errorf("busybox-static is needed (apt-get install busybox-static): %w", err)
	}
	if !bytes.Contains(data[:min(len(data), 4096)], []byte("\x7fELF")) {
		return images.Image{}, errors.New(BusyboxPath + " is not an ELF binary")
	}
	out, err := exec.Command(BusyboxPath, "--list-full").Output()
	if err != nil {
		return images.Image{}, fmt.Errorf("busybox --list-full: %w", err)
	}
	files := append(images.Skeleton(), images.File{Path: "/bin/busybox", Mode: 0o755, Data: data})
	for _, applet := range strings.Fields(string(out)) {
		p := "/" + applet
		if p == "/bin/busybox" {
			continue
		}
		files = append(files, images.File{Path: p, Mode: 0o777, Link: "/bin/busybox"})
	}
	return images.Image{Name: name, Files: files, Cmd: []string{"sh"}}, nil
}

// Static is an image running one static binary as its entrypoint.
func Static(name, binary string, args ...string) (images.Image, error) {
	return images.FromBinary(name, binary, "/"+baseName(binary), args...)
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// WriteFile builds img into the archive path.
func WriteFile(path string, img images.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := images.Build(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
