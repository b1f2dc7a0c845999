package skifftest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/client"
)

var crdResource = client.Resource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// installCRDs creates every CRD of Options.CRDs and CRDManifests and waits until each is
// Established (served, in discovery), so a test may use its kinds at once.
func (c *Cluster) installCRDs(ctx context.Context, crds []crdManifest) error {
	if len(crds) == 0 {
		return nil
	}
	admin, err := client.New(c.ClientConfig())
	if err != nil {
		return err
	}
	res := client.For[apiextensions.CustomResourceDefinition](admin, crdResource)
	for _, crd := range crds {
		// Sent as written: the server judges (and warns about) fields skiff's types lack.
		if err := admin.Do(ctx, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd.json, nil); err != nil {
			return fmt.Errorf("CRD %s: %w", crd.name, err)
		}
	}
	for _, crd := range crds {
		name := crd.name
		if err := c.wait(ctx, "CRD "+name+" Established", func() (bool, string) {
			got, err := res.Get(ctx, "", name)
			if err != nil {
				return false, err.Error()
			}
			var seen []string
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensions.Established && cond.Status == apiextensions.ConditionTrue {
					return true, ""
				}
				seen = append(seen, fmt.Sprintf("%s=%s (%s)", cond.Type, cond.Status, cond.Message))
			}
			return false, "conditions: " + strings.Join(seen, ", ")
		}); err != nil {
			return err
		}
	}
	return nil
}

// readCRDs reads the CRDs of paths (files, or directories of .yaml/.yml/.json files in name
// order) and of manifests. Every document must be a CustomResourceDefinition.
func readCRDs(paths, manifests []string) ([]crdManifest, error) {
	var out []crdManifest
	add := func(source string, data []byte) error {
		docs, err := splitDocuments(data)
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		for i, doc := range docs {
			js, err := yaml.YAMLToJSON(doc)
			if err != nil {
				return fmt.Errorf("%s: document %d: %w", source, i+1, err)
			}
			var head struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := json.Unmarshal(js, &head); err != nil {
				return fmt.Errorf("%s: document %d: %w", source, i+1, err)
			}
			if head.Kind != "CustomResourceDefinition" {
				return fmt.Errorf("%s: document %d is a %q, not a CustomResourceDefinition", source, i+1, head.Kind)
			}
			out = append(out, crdManifest{name: head.Metadata.Name, json: js})
		}
		return nil
	}
	for _, p := range paths {
		files, err := manifestFiles(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("CRDs: %w", err)
			}
			if err := add(f, data); err != nil {
				return nil, err
			}
		}
	}
	for i, m := range manifests {
		if err := add(fmt.Sprintf("CRDManifests[%d]", i), []byte(m)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// crdManifest is one CRD as JSON.
type crdManifest struct {
	name string
	json []byte
}

// manifestFiles is p itself, or the manifest files in directory p.
func manifestFiles(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("CRDs: %w", err)
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("CRDs: %w", err)
	}
	var files []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".yaml", ".yml", ".json":
			if !e.IsDir() {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("CRDs: no .yaml, .yml or .json file in directory %s", p)
	}
	return files, nil
}

// splitDocuments splits a YAML stream at "---" lines, dropping empty documents.
func splitDocuments(data []byte) ([][]byte, error) {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		if len(bytes.TrimSpace(stripComments(cur.Bytes()))) > 0 {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
		}
		cur.Reset()
	}
	r := bufio.NewReader(bytes.NewReader(data))
	for {
		line, err := r.ReadString('\n')
		if strings.TrimRight(line, " \t\r\n") == "---" || strings.HasPrefix(line, "--- ") {
			flush()
		} else {
			cur.WriteString(line)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	flush()
	if len(docs) == 0 {
		return nil, errors.New("no documents")
	}
	return docs, nil
}

// stripComments drops comment lines, so a document of comments only counts as empty.
func stripComments(b []byte) []byte {
	var out bytes.Buffer
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out.Write(l)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}
