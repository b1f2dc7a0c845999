// Command inclusterlist lists the pods of its own namespace the way a program in a pod
// reaches the API server — the files and variables client-go's rest.InClusterConfig reads:
// the token, CA and namespace the ServiceAccount volume mounts at
// /var/run/secrets/kubernetes.io/serviceaccount, and https://$KUBERNETES_SERVICE_HOST:
// $KUBERNETES_SERVICE_PORT. It prints one line, "status=CODE pods=N", and exits 0 whatever
// the API server answered (the test reads the line); it fails only when it cannot ask.
//
// With -until CODE it asks again every half second until the answer is CODE (or -timeout
// passes), for permissions granted a moment before the pod started.
//
// Build it static for an image: CGO_ENABLED=0 go build -o inclusterlist ./test/images/inclusterlist
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The in-cluster files, where client-go looks for them.
const saDir = "/var/run/secrets/kubernetes.io/serviceaccount"

func main() {
	until := flag.Int("until", 0, "repeat until the API server answers with this status code")
	timeout := flag.Duration("timeout", time.Minute, "how long -until keeps asking")
	flag.Parse()
	c, err := inCluster()
	if err != nil {
		fmt.Fprintln(os.Stderr, "inclusterlist:", err)
		os.Exit(1)
	}
	deadline := time.Now().Add(*timeout)
	for {
		code, n, err := c.listPods()
		if err != nil {
			fmt.Fprintln(os.Stderr, "inclusterlist:", err)
			os.Exit(1)
		}
		if *until == 0 || code == *until || time.Now().After(deadline) {
			fmt.Printf("status=%d pods=%d\n", code, n)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

type client struct {
	base, namespace string
	// tokenFile is read per request, as client-go does: the node agent refreshes it.
	tokenFile string
	hc        *http.Client
}

func inCluster() (*client, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, errors.New("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set")
	}
	ca, err := os.ReadFile(filepath.Join(saDir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, errors.New("no certificate in ca.crt")
	}
	ns, err := os.ReadFile(filepath.Join(saDir, "namespace"))
	if err != nil {
		return nil, err
	}
	return &client{
		base:      "https://" + net.JoinHostPort(host, port),
		namespace: strings.TrimSpace(string(ns)),
		tokenFile: filepath.Join(saDir, "token"),
		hc: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}},
	}, nil
}

// listPods GETs the namespace's pods and returns the status code and, on 200, how many.
func (c *client) listPods() (int, int, error) {
	token, err := os.ReadFile(c.tokenFile)
	if err != nil {
		return 0, 0, err
	}
	req, err := http.NewRequest(http.MethodGet, c.base+"/api/v1/namespaces/"+c.namespace+"/pods", nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, 0, nil
	}
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return 0, 0, fmt.Errorf("pod list: %w", err)
	}
	return resp.StatusCode, len(list.Items), nil
}
