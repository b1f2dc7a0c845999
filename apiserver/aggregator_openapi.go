package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/apiregistration"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/openapi"
)

// What the API server keeps of each extension server, learned by the availability loop
// (aggregator.go) and never asked for while serving a request, so an extension that does
// not answer slows no client: its resource list (aggregated discovery) from each
// successful check, and its OpenAPI documents — /openapi/v2 merged into this server's,
// its /openapi/v3 document of the APIService's group version listed in this server's index
// and served from here — fetched when the APIService is first seen available, when its
// spec changes and every OpenAPIRefreshPeriod after, as kube-aggregator's OpenAPI
// controllers do. An extension that stops answering keeps what was last fetched; a
// deleted APIService's documents go.

// OpenAPIRefreshPeriod is how often an available extension's OpenAPI is fetched again.
const OpenAPIRefreshPeriod = time.Minute

// extension is what was last learned from one aggregated APIService's server.
type extension struct {
	resources []meta.APIResource
	fresh     bool // the last check got the resource list
	specKey   string
	fetched   time.Time // OpenAPI last fetched (zero: never)
	v2        []byte
	v3        []byte // the document of apis/GROUP/VERSION
	v3Path    string
}

// extensionOpenAPI is this server's documents with the extensions' added, built when
// first asked for after a change.
type extensionOpenAPI struct {
	base  *openAPIDocs
	gen   uint64
	v2    []byte
	v2pb  []byte
	index []byte
	byGV  map[string][]byte
}

// extensionStore holds the extensions, guarded by its mutex.
type extensionStore struct {
	mu     sync.Mutex
	byName map[string]*extension
	gen    uint64 // bumped when any OpenAPI document changes
	merged *extensionOpenAPI
}

// cachedResources is the resource list a's server gave at the last successful check, and
// whether that check was the latest.
func (s *Server) cachedResources(a *apiregistration.APIService) ([]meta.APIResource, bool) {
	e := &s.agg.ext
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.byName[a.Name]
	if x == nil {
		return nil, false
	}
	return x.resources, x.fresh
}

// specKey identifies what an APIService's documents depend on.
func specKey(a *apiregistration.APIService) string {
	b, _ := json.Marshal(a.Spec)
	return string(b)
}

// recordCheck keeps what a check of a learned: the resource list in body (when it passed).
// It reports whether a's OpenAPI should be fetched now.
func (s *Server) recordCheck(a *apiregistration.APIService, passed bool, body []byte, now time.Time) bool {
	e := &s.agg.ext
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.byName[a.Name]
	if x == nil {
		x = &extension{}
		e.byName[a.Name] = x
	}
	x.fresh = false
	if passed {
		var list meta.APIResourceList
		if json.Unmarshal(body, &list) == nil {
			x.resources, x.fresh = list.APIResources, true
		}
	}
	return passed && (x.specKey != specKey(a) || now.Sub(x.fetched) >= s.openAPIRefreshPeriod())
}

func (s *Server) openAPIRefreshPeriod() time.Duration {
	if s.cfg.OpenAPIRefreshPeriod > 0 {
		return s.cfg.OpenAPIRefreshPeriod
	}
	return OpenAPIRefreshPeriod
}

// forgetExtensions drops what was learned of APIServices that are gone or local now.
func (s *Server) forgetExtensions(live []*apiregistration.APIService) {
	keep := map[string]bool{}
	for _, a := range live {
		keep[a.Name] = a.Spec.Service != nil
	}
	e := &s.agg.ext
	e.mu.Lock()
	defer e.mu.Unlock()
	for name, x := range e.byName {
		if !keep[name] {
			delete(e.byName, name)
			if x.v2 != nil || x.v3 != nil {
				e.gen++
			}
		}
	}
}

// fetchOpenAPI asks a's server for its /openapi/v2 (JSON) and, from its /openapi/v3 index,
// the document of a's group version, and keeps what it got; a document it could not get
// stays as last fetched.
func (s *Server) fetchOpenAPI(ctx context.Context, a *apiregistration.APIService, now time.Time) {
	v2, v2err := s.extensionGet(ctx, a, "/openapi/v2")
	if v2err == nil {
		var probe struct {
			Swagger string `json:"swagger"`
		}
		if json.Unmarshal(v2, &probe) != nil || probe.Swagger == "" {
			v2, v2err = nil, fmt.Errorf("/openapi/v2 is no Swagger 2.0 document")
		}
	}
	path := "apis/" + a.Spec.Group + "/" + a.Spec.Version
	v3, v3err := s.extensionGet(ctx, a, "/openapi/v3")
	if v3err == nil {
		var index struct {
			Paths map[string]struct {
				ServerRelativeURL string `json:"serverRelativeURL"`
			} `json:"paths"`
		}
		v3err = json.Unmarshal(v3, &index)
		v3 = nil
		if p, ok := index.Paths[path]; v3err == nil && ok && strings.HasPrefix(p.ServerRelativeURL, "/") {
			v3, v3err = s.extensionGet(ctx, a, p.ServerRelativeURL)
		}
	}
	if v2err != nil || v3err != nil {
		s.log.Info("extension OpenAPI not (fully) fetched; keeping the last documents", "apiservice", a.Name, "v2", v2err, "v3", v3err)
	}
	e := &s.agg.ext
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.byName[a.Name]
	if x == nil {
		return // deleted meanwhile
	}
	if key := specKey(a); x.specKey != key {
		// A changed APIService (another group, version or server): the old documents
		// are not its.
		x.specKey, x.v2, x.v3 = key, nil, nil
		e.gen++
	}
	x.fetched = now
	if v2err == nil && string(v2) != string(x.v2) {
		x.v2 = v2
		e.gen++
	}
	if v3err == nil && v3 != nil && (string(v3) != string(x.v3) || x.v3Path != path) {
		x.v3, x.v3Path = v3, path
		e.gen++
	}
}

// extensionGet GETs path of a's server as this server (system:kube-aggregator) and returns
// the body of a 200 answer.
func (s *Server) extensionGet(ctx context.Context, a *apiregistration.APIService, path string) ([]byte, error) {
	target, aerr := s.serviceTarget(a)
	if aerr != nil {
		return nil, fmt.Errorf("%s", aerr.status.Message)
	}
	tr, aerr := s.transport(a)
	if aerr != nil {
		return nil, fmt.Errorf("%s", aerr.status.Message)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, "https://"+target+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set(headerRemoteUser, "system:kube-aggregator")
	req.Header.Set(headerRemoteGroup, "system:masters")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d", path, resp.StatusCode)
	}
	return b, nil
}

// openAPI is the documents to serve: this server's own, or with the extensions' added.
func (s *Server) openAPI() *extensionOpenAPI {
	base := s.docs.Load()
	own := base.get()
	e := &s.agg.ext
	e.mu.Lock()
	defer e.mu.Unlock()
	if m := e.merged; m != nil && m.base == base && m.gen == e.gen {
		return m
	}
	m := &extensionOpenAPI{base: base, gen: e.gen, v2: own.v2, v2pb: own.v2pb, index: own.index, byGV: own.byGV}
	var v2s [][]byte
	v3s := map[string][]byte{}
	for _, name := range slices.Sorted(maps.Keys(e.byName)) {
		x := e.byName[name]
		if x.v2 != nil {
			v2s = append(v2s, x.v2)
		}
		if _, local := own.byGV[x.v3Path]; x.v3 != nil && !local {
			v3s[x.v3Path] = x.v3
		}
	}
	if len(v2s) > 0 {
		v2, err := openapi.MergeV2(own.v2, v2s...)
		var pb []byte
		if err == nil {
			pb, err = openapi.ProtobufV2(v2)
		}
		if err != nil {
			s.log.Warn("extension OpenAPI v2 not merged", "err", err)
		} else {
			m.v2, m.v2pb = v2, pb
		}
	}
	if len(v3s) > 0 {
		index, err := openapi.AddToV3Index(own.index, v3s)
		if err != nil {
			s.log.Warn("extension OpenAPI v3 not listed", "err", err)
		} else {
			m.index = index
			m.byGV = maps.Clone(own.byGV)
			maps.Copy(m.byGV, v3s)
		}
	}
	e.merged = m
	return m
}
