// Command conversion-webhook is a custom resource conversion webhook small enough to read in
// one sitting: it converts Paints (example.com) between v1, whose spec.color names the
// colour, and v2, which calls the same field spec.paint. The API server POSTs an
// apiextensions.k8s.io/v1 ConversionReview to /convert; the answer carries the objects in
// request.desiredAPIVersion, in order, with the same uid. See docs/extending.md.
//
//	conversion-webhook --cert tls.crt --key tls.key --addr 127.0.0.1:9444
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
)

// review is the part of a ConversionReview this webhook reads and writes.
type review struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Request    *request  `json:"request,omitempty"`
	Response   *response `json:"response,omitempty"`
}

type request struct {
	UID               string           `json:"uid"`
	DesiredAPIVersion string           `json:"desiredAPIVersion"`
	Objects           []map[string]any `json:"objects"`
}

type response struct {
	UID              string           `json:"uid"`
	ConvertedObjects []map[string]any `json:"convertedObjects"`
	Result           map[string]any   `json:"result"`
}

// Convert renames the field for the desired version; everything else is kept, metadata
// included (the API server keeps only the labels and annotations a webhook changes).
func Convert(obj map[string]any, desired string) map[string]any {
	spec, _ := obj["spec"].(map[string]any)
	rename := func(from, to string) {
		if v, ok := spec[from]; ok {
			spec[to] = v
			delete(spec, from)
		}
	}
	if spec != nil {
		switch desired {
		case "example.com/v2":
			rename("color", "paint")
		case "example.com/v1":
			rename("paint", "color")
		}
	}
	obj["apiVersion"] = desired
	return obj
}

// Handle answers one ConversionReview.
func Handle(w http.ResponseWriter, r *http.Request) {
	var in review
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Request == nil {
		http.Error(w, "expected a ConversionReview with a request", http.StatusBadRequest)
		return
	}
	out := review{APIVersion: in.APIVersion, Kind: "ConversionReview", Response: &response{
		UID: in.Request.UID, Result: map[string]any{"status": "Success"}, ConvertedObjects: []map[string]any{}}}
	for _, o := range in.Request.Objects {
		out.Response.ConvertedObjects = append(out.Response.ConvertedObjects, Convert(o, in.Request.DesiredAPIVersion))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func main() {
	cert := flag.String("cert", "tls.crt", "serving certificate (PEM)")
	key := flag.String("key", "tls.key", "its private key (PEM)")
	addr := flag.String("addr", "127.0.0.1:9444", "address to listen on")
	flag.Parse()
	http.HandleFunc("/convert", Handle)
	log.Printf("converting paints.example.com on https://%s/convert", *addr)
	log.Fatal(http.ListenAndServeTLS(*addr, *cert, *key, nil))
}
