package apiserver

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// rewritingTransport is apimachinery's proxy.Transport: it tells the backend where the
// request came in (X-Forwarded-Uri) and rewrites the absolute links of HTML answers and
// redirects (same host, absolute path) to go through the proxy path again, so that a page
// served through /api/v1/.../proxy/ links back through it.
type rewritingTransport struct {
	pathPrepend string // the request path up to the backend's part, e.g. /api/v1/namespaces/ns/pods/p/proxy
	next        http.RoundTripper
}

// urlAttrs are the URL-valued attributes of each element (Kubernetes' atomsToAttrs).
var urlAttrs = map[atom.Atom][]string{
	atom.A: {"href"}, atom.Applet: {"codebase"}, atom.Area: {"href"}, atom.Audio: {"src"},
	atom.Base: {"href"}, atom.Blockquote: {"cite"}, atom.Body: {"background"},
	atom.Button: {"formaction"}, atom.Command: {"icon"}, atom.Del: {"cite"}, atom.Embed: {"src"},
	atom.Form: {"action"}, atom.Frame: {"longdesc", "src"}, atom.Head: {"profile"},
	atom.Html: {"manifest"}, atom.Iframe: {"longdesc", "src"}, atom.Img: {"longdesc", "src", "usemap"},
	atom.Input: {"src", "usemap", "formaction"}, atom.Ins: {"cite"}, atom.Link: {"href"},
	atom.Object: {"classid", "codebase", "data", "usemap"}, atom.Q: {"cite"}, atom.Script: {"src"},
	atom.Source: {"src"}, atom.Video: {"poster", "src"},
}

func (t *rewritingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	uri := path.Join(t.pathPrepend, req.URL.EscapedPath())
	if strings.HasSuffix(req.URL.Path, "/") {
		uri += "/"
	}
	req.Header.Set("X-Forwarded-Uri", uri)
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		u, err := url.Parse(loc)
		if err != nil {
			resp.Body.Close()
			return nil, errInternal(fmt.Errorf("error trying to parse Location header: %w", err))
		}
		resp.Header.Set("Location", t.rewriteURL(u, req.URL, req.Host))
		return resp, nil
	}
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	if strings.TrimSpace(ct) != "text/html" {
		return resp, nil
	}
	return t.rewriteResponse(req, resp)
}

// rewriteURL puts the proxy path in front of an absolute-path link to the page's own host;
// relative links and links to other hosts already work as they are.
func (t *rewritingTransport) rewriteURL(u, source *url.URL, sourceHost string) string {
	if (u.Host != "" && u.Host != source.Host && u.Host != sourceHost) || !strings.HasPrefix(u.Path, "/") {
		return u.String()
	}
	u.Scheme, u.Host = "", ""
	if strings.HasPrefix(u.Path, t.pathPrepend) {
		return u.String()
	}
	orig := u.Path
	u.Path = path.Join(t.pathPrepend, u.Path)
	if strings.HasSuffix(orig, "/") {
		u.Path += "/"
	}
	return u.String()
}

func (t *rewritingTransport) rewriteResponse(req *http.Request, resp *http.Response) (*http.Response, error) {
	body := resp.Body
	defer body.Close()
	var (
		r   io.Reader = body
		out bytes.Buffer
		w   io.Writer = &out
		gzw *gzip.Writer
	)
	switch resp.Header.Get("Content-Encoding") {
	case "":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, fmt.Errorf("read gzip answer: %w", err)
		}
		r, gzw = zr, gzip.NewWriter(&out)
		w = gzw
	default:
		return resp, nil // an encoding not understood: the links stay as they are
	}
	err := rewriteHTML(r, w, func(u *url.URL) string { return t.rewriteURL(u, req.URL, req.Host) })
	if gzw != nil {
		gzw.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("rewrite links: %w", err)
	}
	resp.Body = io.NopCloser(&out)
	resp.Header.Del("Content-Length")
	resp.ContentLength = int64(out.Len())
	return resp, nil
}

// rewriteHTML copies an HTML document token by token, rewriting URL-valued attributes.
func rewriteHTML(r io.Reader, w io.Writer, rewrite func(*url.URL) string) error {
	z := html.NewTokenizer(r)
	for {
		var err error
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() == io.EOF {
				return nil
			}
			return z.Err()
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			for i, a := range tok.Attr {
				for _, name := range urlAttrs[tok.DataAtom] {
					if a.Key != name {
						continue
					}
					if u, perr := url.Parse(a.Val); perr == nil {
						tok.Attr[i].Val = rewrite(u)
					}
				}
			}
			_, err = io.WriteString(w, tok.String())
		default:
			_, err = w.Write(z.Raw())
		}
		if err != nil {
			return err
		}
	}
}
