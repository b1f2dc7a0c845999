// Package images builds container images without a registry or a Dockerfile: a single
// uncompressed layer from files on the host, written as a docker-save archive
// (manifest.json + config + layer) that containerd imports. The node agent builds its
// pause image this way; tests build theirs from static programs or busybox-static.
package images

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"time"
)

// File is one entry of the image's filesystem.
type File struct {
	Path string      // absolute path in the image
	Mode os.FileMode // permission bits; a directory has os.ModeDir
	Data []byte      // contents (regular files)
	Link string      // symlink target (a symlink when set)
}

// Image describes an image to build.
type Image struct {
	Name       string // reference, e.g. "skiff.local/pause:1"
	Files      []File
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	User       string
	StopSignal string
}

// epoch is every file's time: the same input builds the same image.
var epoch = time.Unix(0, 0)

// Build writes img to w as a docker-save archive.
func Build(w io.Writer, img Image) error {
	layer, err := layerTar(img.Files)
	if err != nil {
		return err
	}
	layerSum := sha256.Sum256(layer)
	layerHex := hex.EncodeToString(layerSum[:])
	env := img.Env
	if len(env) == 0 {
		env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	type imageConfig struct {
		Entrypoint []string `json:"Entrypoint,omitempty"`
		Cmd        []string `json:"Cmd,omitempty"`
		Env        []string `json:"Env,omitempty"`
		WorkingDir string   `json:"WorkingDir,omitempty"`
		User       string   `json:"User,omitempty"`
		StopSignal string   `json:"StopSignal,omitempty"`
	}
	cfg, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"created":      epoch.UTC().Format(time.RFC3339),
		"config":       imageConfig{img.Entrypoint, img.Cmd, env, img.WorkingDir, img.User, img.StopSignal},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + layerHex}},
		"history":      []map[string]any{{"created": epoch.UTC().Format(time.RFC3339), "created_by": "skiff images.Build"}},
	})
	if err != nil {
		return err
	}
	cfgSum := sha256.Sum256(cfg)
	cfgName := hex.EncodeToString(cfgSum[:]) + ".json"
	manifest, err := json.Marshal([]map[string]any{{
		"Config": cfgName, "RepoTags": []string{img.Name}, "Layers": []string{layerHex + "/layer.tar"},
	}})
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	for _, f := range []struct {
		name string
		data []byte
	}{{cfgName, cfg}, {layerHex + "/layer.tar", layer}, {"manifest.json", manifest}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// layerTar is the layer: every file, with its parent directories, in path order.
func layerTar(files []File) ([]byte, error) {
	entries := map[string]File{}
	for _, f := range files {
		p := path.Clean("/" + f.Path)
		entries[p] = f
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if _, ok := entries[d]; !ok {
				entries[d] = File{Path: d, Mode: os.ModeDir | 0o755}
			}
		}
	}
	names := make([]string, 0, len(entries))
	for p := range entries {
		names = append(names, p)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range names {
		f := entries[p]
		h := &tar.Header{Name: p[1:], Mode: int64(f.Mode.Perm()), ModTime: epoch, Format: tar.FormatPAX}
		switch {
		case f.Link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.Link
		case f.Mode.IsDir():
			h.Typeflag, h.Name = tar.TypeDir, p[1:]+"/"
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Data))
		}
		if f.Mode&os.ModeSticky != 0 {
			h.Mode |= 0o1000
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", p, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Skeleton is the directories and files most programs expect: /tmp, /etc/passwd, ...
func Skeleton() []File {
	return []File{
		{Path: "/tmp", Mode: os.ModeDir | os.ModeSticky | 0o777},
		{Path: "/etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")},
		{Path: "/etc/group", Mode: 0o644, Data: []byte("root:x:0:\nnogroup:x:65534:\n")},
		{Path: "/root", Mode: os.ModeDir | 0o700},
		{Path: "/proc", Mode: os.ModeDir | 0o555},
		{Path: "/sys", Mode: os.ModeDir | 0o555},
		{Path: "/dev", Mode: os.ModeDir | 0o755},
		{Path: "/etc/hosts", Mode: 0o644},
		{Path: "/etc/resolv.conf", Mode: 0o644},
		{Path: "/etc/hostname", Mode: 0o644},
	}
}

// FromBinary is an image running one static program, copied from binPath to /path.
func FromBinary(name, binPath, inImage string, args ...string) (Image, error) {
	data, err := os.ReadFile(binPath)
	if err != nil {
		return Image{}, err
	}
	files := append(Skeleton(), File{Path: inImage, Mode: 0o755, Data: data})
	return Image{Name: name, Files: files, Entrypoint: append([]string{inImage}, args...)}, nil
}
