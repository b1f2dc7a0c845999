package client

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadKubeconfig(t *testing.T) {
	dir := t.TempDir()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	writeFile(t, dir, "ca.pem", "CA-FROM-FILE")
	writeFile(t, dir, "cert.pem", "CERT-FROM-FILE")
	writeFile(t, dir, "key.pem", "KEY-FROM-FILE")
	writeFile(t, dir, "token", "tok-from-file\n")
	main := writeFile(t, dir, "config", `apiVersion: v1
kind: Config
current-context: admin
clusters:
- name: skiff
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: `+b64("CA-DATA")+`
- name: files
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority: ca.pem
    tls-server-name: api.internal
- name: dev
  cluster:
    server: http://127.0.0.1:8080
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    client-certificate-data: `+b64("CERT-DATA")+`
    client-key-data: `+b64("KEY-DATA")+`
- name: files
  user:
    client-certificate: cert.pem
    client-key: `+filepath.Join(dir, "key.pem")+`
- name: bot
  user:
    token: abc
- name: tokenfile
  user:
    tokenFile: token
contexts:
- name: admin
  context: {cluster: skiff, user: admin}
- name: files
  context: {cluster: files, user: files}
- name: bot
  context: {cluster: dev, user: bot, namespace: kube-system}
- name: tokenfile
  context: {cluster: dev, user: tokenfile}
- name: anonymous
  context: {cluster: dev}
- name: broken
  context: {cluster: nowhere, user: bot}
`)

	for _, tc := range []struct {
		context string
		want    Config
		wantErr string
	}{
		{"", Config{Host: "https://127.0.0.1:6443", TLS: TLSConfig{CAData: []byte("CA-DATA"), CertData: []byte("CERT-DATA"), KeyData: []byte("KEY-DATA")}}, ""},
		{"files", Config{Host: "https://10.0.0.1:6443", TLS: TLSConfig{CAData: []byte("CA-FROM-FILE"), CertData: []byte("CERT-FROM-FILE"), KeyData: []byte("KEY-FROM-FILE"), ServerName: "api.internal"}}, ""},
		{"bot", Config{Host: "http://127.0.0.1:8080", BearerToken: "abc", TLS: TLSConfig{Insecure: true}}, ""},
		{"tokenfile", Config{Host: "http://127.0.0.1:8080", BearerToken: "tok-from-file", TLS: TLSConfig{Insecure: true}}, ""},
		{"anonymous", Config{Host: "http://127.0.0.1:8080", TLS: TLSConfig{Insecure: true}}, ""},
		{"missing", Config{}, `no context "missing"`},
		{"broken", Config{}, `unknown cluster "nowhere"`},
	} {
		t.Run(tc.context, func(t *testing.T) {
			got, err := LoadKubeconfig(main, tc.context)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Host != tc.want.Host || got.BearerToken != tc.want.BearerToken ||
				string(got.TLS.CAData) != string(tc.want.TLS.CAData) ||
				string(got.TLS.CertData) != string(tc.want.TLS.CertData) ||
				string(got.TLS.KeyData) != string(tc.want.TLS.KeyData) ||
				got.TLS.ServerName != tc.want.TLS.ServerName || got.TLS.Insecure != tc.want.TLS.Insecure {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestKubeconfigEnv checks $KUBECONFIG: a list of files, first definition wins, missing
// files skipped.
func TestKubeconfigEnv(t *testing.T) {
	dir := t.TempDir()
	first := writeFile(t, dir, "a", `current-context: one
clusters:
- name: c
  cluster: {server: "https://first:6443"}
contexts:
- name: one
  context: {cluster: c}
`)
	second := writeFile(t, dir, "b", `current-context: two
clusters:
- name: c
  cluster: {server: "https://second:6443"}
- name: d
  cluster: {server: "https://d:6443"}
contexts:
- name: two
  context: {cluster: d}
`)
	t.Setenv("KUBECONFIG", strings.Join([]string{filepath.Join(dir, "missing"), first, second}, string(os.PathListSeparator)))

	for _, tc := range []struct{ context, host string }{
		{"", "https://first:6443"}, // current-context of the first file that sets one
		{"one", "https://first:6443"},
		{"two", "https://d:6443"},
	} {
		cfg, err := LoadKubeconfig("", tc.context)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Host != tc.host {
			t.Errorf("context %q: host %q, want %q", tc.context, cfg.Host, tc.host)
		}
	}

	t.Setenv("KUBECONFIG", filepath.Join(dir, "missing"))
	if _, err := LoadKubeconfig("", ""); err == nil {
		t.Error("a missing kubeconfig must be an error")
	}
}
