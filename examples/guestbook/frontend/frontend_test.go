package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

type fakeStore struct {
	list []string
	down bool
}

func (f *fakeStore) Do(_ context.Context, args ...string) (any, error) {
	if f.down {
		return nil, errors.New("connection refused")
	}
	switch args[0] {
	case "PING":
		return "PONG", nil
	case "RPUSH":
		f.list = append(f.list, args[2:]...)
		return len(f.list), nil
	case "LRANGE":
		return append([]string(nil), f.list...), nil
	}
	return nil, errors.New("ERR unknown command")
}

func TestHandler(t *testing.T) {
	s := &fakeStore{}
	h := newHandler(s, "Our guests", "frontend-abc")
	do := func(method, path, form string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(form))
		if form != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := do("GET", "/", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), "no entries yet") || !strings.Contains(rec.Body.String(), "<h1>Our guests</h1>") {
		t.Fatalf("empty page: %d %s", rec.Code, rec.Body)
	}
	if rec := do("POST", "/", "entry="+url.QueryEscape("<b>hi</b>")); rec.Code != 200 || !strings.Contains(rec.Body.String(), "&lt;b&gt;hi&lt;/b&gt;") {
		t.Fatalf("post: %d %s", rec.Code, rec.Body)
	}
	do("POST", "/", "entry=second")
	if rec := do("GET", "/entries", ""); rec.Body.String() != "<b>hi</b>\nsecond\n" {
		t.Errorf("entries: %q", rec.Body)
	}
	if rec := do("POST", "/", "entry=+"); rec.Code != http.StatusBadRequest {
		t.Errorf("empty entry: %d", rec.Code)
	}
	if rec := do("GET", "/healthz", ""); rec.Code != 200 {
		t.Errorf("healthz: %d", rec.Code)
	}
	s.down = true
	if rec := do("GET", "/healthz", ""); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("healthz with the store down: %d", rec.Code)
	}
	if rec := do("GET", "/", ""); rec.Code != http.StatusBadGateway {
		t.Errorf("page with the store down: %d", rec.Code)
	}
}

func TestReadReply(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"+PONG\r\n", "PONG"},
		{":3\r\n", "3"},
		{"$5\r\nhello\r\n", "hello"},
		{"$-1\r\n", "<nil>"},
		{"*2\r\n$1\r\na\r\n$1\r\nb\r\n", "[a b]"},
		{"*0\r\n", "[]"},
		{"-ERR nope\r\n", "error: ERR nope"},
	}
	for _, tc := range tests {
		v, err := readReply(bufio.NewReader(strings.NewReader(tc.in)))
		got := fmtAny(v)
		if err != nil {
			got = "error: " + err.Error()
		}
		if got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.in, got, tc.want)
		}
	}
}

func fmtAny(v any) string {
	switch v := v.(type) {
	case nil:
		return "<nil>"
	case []string:
		return "[" + strings.Join(v, " ") + "]"
	}
	return fmt.Sprint(v)
}
