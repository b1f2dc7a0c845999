package apiserver

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
)

func TestSplitSchemeNamePort(t *testing.T) {
	for _, tc := range []struct {
		id                 string
		scheme, name, port string
		ok                 bool
	}{
		{"web", "", "web", "", true},
		{"web:8080", "", "web", "8080", true},
		{"web:http", "", "web", "http", true},
		{"https:web:443", "https", "web", "443", true},
		{"http:web:", "http", "web", "", true},
		{"ftp:web:21", "", "", "", false},
		{":80", "", "", "", false},
		{"a:b:c:d", "", "", "", false},
	} {
		scheme, name, port, ok := splitSchemeNamePort(tc.id)
		if scheme != tc.scheme || name != tc.name || port != tc.port || ok != tc.ok {
			t.Errorf("%q: got %q %q %q %v, want %q %q %q %v", tc.id, scheme, name, port, ok, tc.scheme, tc.name, tc.port, tc.ok)
		}
	}
}

func TestJoinPreservingTrailingSlash(t *testing.T) {
	for _, tc := range []struct{ base, elem, want string }{
		{"", "", ""},
		{"", "/", "/"},
		{"", "/a/b", "/a/b"},
		{"", "/a/b/", "/a/b/"},
		{"/x", "a", "/x/a"},
		{"/x/", "/a/", "/x/a/"},
	} {
		if got := joinPreservingTrailingSlash(tc.base, tc.elem); got != tc.want {
			t.Errorf("join(%q, %q) = %q, want %q", tc.base, tc.elem, got, tc.want)
		}
	}
}

// Absolute links to the page's own host go back through the proxy path; relative links,
// links elsewhere and attributes that are not URLs are left alone (Kubernetes' transport).
func TestRewriteHTML(t *testing.T) {
	tr := &rewritingTransport{pathPrepend: "/api/v1/namespaces/ns/pods/p/proxy"}
	source := &url.URL{Host: "10.0.0.5:80", Path: "/"}
	for _, tc := range []struct{ in, want string }{
		{`<a href="/rewriteme">test</a>`, `<a href="/api/v1/namespaces/ns/pods/p/proxy/rewriteme">test</a>`},
		{`<a href="/dir/">d</a>`, `<a href="/api/v1/namespaces/ns/pods/p/proxy/dir/">d</a>`},
		{`<a href="rel">r</a>`, `<a href="rel">r</a>`},
		{`<a href="http://other/x">o</a>`, `<a href="http://other/x">o</a>`},
		{`<a href="http://10.0.0.5:80/x">same</a>`, `<a href="/api/v1/namespaces/ns/pods/p/proxy/x">same</a>`},
		{`<img src="/i.png" alt="/not-a-url"/>`, `<img src="/api/v1/namespaces/ns/pods/p/proxy/i.png" alt="/not-a-url"/>`},
		{`<a href="/api/v1/namespaces/ns/pods/p/proxy/already">a</a>`, `<a href="/api/v1/namespaces/ns/pods/p/proxy/already">a</a>`},
		{`<p title="/x">text &amp; more</p>`, `<p title="/x">text &amp; more</p>`},
	} {
		var out bytes.Buffer
		err := rewriteHTML(strings.NewReader(tc.in), &out, func(u *url.URL) string { return tr.rewriteURL(u, source, "apiserver:6443") })
		if err != nil || out.String() != tc.want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", tc.in, out.String(), err, tc.want)
		}
	}
}
