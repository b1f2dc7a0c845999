package apiserver

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

func TestWarningsBecomeHeaders(t *testing.T) {
	h := withWarnings(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addWarnings(r.Context(), "first", `a "quoted" one`)
		addWarnings(r.Context(), "first") // a retried update repeats itself
		w.WriteHeader(http.StatusCreated)
		addWarnings(r.Context(), "too late") // the headers are gone
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	want := []string{`299 - "first"`, `299 - "a \"quoted\" one"`}
	if got := rec.Result().Header.Values("Warning"); !reflect.DeepEqual(got, want) {
		t.Errorf("Warning headers %q, want %q", got, want)
	}
	if rec.Code != http.StatusCreated {
		t.Errorf("code %d", rec.Code)
	}
}
