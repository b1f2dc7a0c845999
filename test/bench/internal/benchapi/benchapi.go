// Package benchapi holds what the API benchmarks share: requests that expect one status
// (and report the body when they get another), and the way a benchmark gives up.
package benchapi

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
)

// Do sends a request with a JSON body and wants status want.
func Do(hc *http.Client, method, url, body string, want int) error {
	req, err := http.NewRequest(method, url, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}

// Post creates (201).
func Post(hc *http.Client, url, body string) error {
	return Do(hc, "POST", url, body, http.StatusCreated)
}

// Put replaces (200).
func Put(hc *http.Client, url, body string) error { return Do(hc, "PUT", url, body, http.StatusOK) }

// GetOK reads (200).
func GetOK(hc *http.Client, url string) error { return Do(hc, "GET", url, "", http.StatusOK) }

// Check ends the benchmark named name when err is set: a benchmark that cannot do what it
// measures has nothing to report.
func Check(name string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
