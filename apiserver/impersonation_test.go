package apiserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authz"
)

// allowList allows the verb impersonate on "resource[/subresource] namespace/name" keys.
type allowList map[string]bool

func (l allowList) Authorize(_ context.Context, a authz.Attributes) (authz.Decision, string, error) {
	if a.Verb != "impersonate" || !a.ResourceRequest {
		return authz.NoOpinion, "", nil
	}
	res := a.Resource
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	if l[res+" "+a.Namespace+"/"+a.Name] || l[res+" "+a.Namespace+"/*"] {
		return authz.Allow, "", nil
	}
	return authz.NoOpinion, "", nil
}

func TestImpersonate(t *testing.T) {
	alice := &authn.User{Name: "alice", Groups: []string{"dev", authn.GroupAuthenticated}}
	all := allowList{"users /*": true, "groups /*": true, "serviceaccounts kube-system/*": true,
		"uids /*": true, "userextras/scopes /*": true, "userextras/example.com/team /*": true}
	cases := []struct {
		name     string
		allow    allowList
		headers  map[string][]string
		wantCode int
		wantUser *authn.User
		wantMsg  string
	}{
		{name: "no headers", allow: allowList{}, wantCode: 200, wantUser: alice},
		{name: "user", allow: all, headers: map[string][]string{"Impersonate-User": {"bob"}}, wantCode: 200,
			wantUser: &authn.User{Name: "bob", Groups: []string{"system:authenticated"}}},
		{name: "user and groups", allow: all, headers: map[string][]string{"Impersonate-User": {"bob"}, "Impersonate-Group": {"a", "b"}},
			wantCode: 200, wantUser: &authn.User{Name: "bob", Groups: []string{"a", "b", "system:authenticated"}}},
		{name: "unauthenticated group given", allow: all, headers: map[string][]string{"Impersonate-User": {"bob"}, "Impersonate-Group": {"system:unauthenticated"}},
			wantCode: 200, wantUser: &authn.User{Name: "bob", Groups: []string{"system:unauthenticated"}}},
		{name: "anonymous", allow: all, headers: map[string][]string{"Impersonate-User": {"system:anonymous"}},
			wantCode: 200, wantUser: &authn.User{Name: "system:anonymous", Groups: []string{"system:unauthenticated"}}},
		{name: "service account", allow: all, headers: map[string][]string{"Impersonate-User": {"system:serviceaccount:kube-system:robot"}},
			wantCode: 200, wantUser: &authn.User{Name: "system:serviceaccount:kube-system:robot",
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"}}},
		{name: "service account with groups", allow: all, headers: map[string][]string{
			"Impersonate-User": {"system:serviceaccount:kube-system:robot"}, "Impersonate-Group": {"x"}},
			wantCode: 200, wantUser: &authn.User{Name: "system:serviceaccount:kube-system:robot", Groups: []string{"x", "system:authenticated"}}},
		{name: "uid and extras", allow: all, headers: map[string][]string{"Impersonate-User": {"bob"}, "Impersonate-Uid": {"u-1"},
			"Impersonate-Extra-Scopes": {"view", "edit"}, "Impersonate-Extra-Example.com%2fteam": {"blue"}},
			wantCode: 200, wantUser: &authn.User{Name: "bob", UID: "u-1", Groups: []string{"system:authenticated"},
				Extra: map[string][]string{"scopes": {"view", "edit"}, "example.com/team": {"blue"}}}},
		{name: "user not allowed", allow: allowList{}, headers: map[string][]string{"Impersonate-User": {"bob"}}, wantCode: 403,
			wantMsg: `users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope`},
		{name: "group not allowed", allow: allowList{"users /bob": true}, headers: map[string][]string{"Impersonate-User": {"bob"}, "Impersonate-Group": {"system:masters"}},
			wantCode: 403, wantMsg: `groups "system:masters" is forbidden: User "alice" cannot impersonate resource "groups" in API group "" at the cluster scope`},
		{name: "service account elsewhere", allow: all, headers: map[string][]string{"Impersonate-User": {"system:serviceaccount:default:robot"}},
			wantCode: 403, wantMsg: `serviceaccounts "robot" is forbidden: User "alice" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "default"`},
		{name: "uid not allowed", allow: allowList{"users /bob": true}, headers: map[string][]string{"Impersonate-User": {"bob"}, "Impersonate-Uid": {"u-1"}},
			wantCode: 403, wantMsg: `uids.authentication.k8s.io "u-1" is forbidden: User "alice" cannot impersonate resource "uids" in API group "authentication.k8s.io" at the cluster scope`},
		{name: "extra not allowed", allow: allowList{"users /bob": true}, headers: map[string][]string{"Impersonate-User": {"bob"}, "Impersonate-Extra-Scopes": {"x"}},
			wantCode: 403, wantMsg: `userextras.authentication.k8s.io "x" is forbidden: User "alice" cannot impersonate resource "userextras/scopes" in API group "authentication.k8s.io" at the cluster scope`},
		{name: "group without user", allow: all, headers: map[string][]string{"Impersonate-Group": {"a"}}, wantCode: 500},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got *authn.User
			var leftHeaders http.Header
			h := impersonate(c.allow, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, _ = authn.UserFrom(r.Context())
				leftHeaders = r.Header
			}))
			req := httptest.NewRequest(http.MethodGet, "/api/v1/pods", nil)
			for k, v := range c.headers {
				req.Header[k] = v
			}
			req = req.WithContext(authn.WithUser(req.Context(), alice))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.wantCode {
				t.Fatalf("code %d, want %d: %s", rec.Code, c.wantCode, rec.Body)
			}
			if c.wantMsg != "" {
				var st meta.Status
				json.Unmarshal(rec.Body.Bytes(), &st)
				if st.Message != c.wantMsg || st.Reason != meta.ReasonForbidden {
					t.Errorf("message %q (%s), want %q", st.Message, st.Reason, c.wantMsg)
				}
			}
			if c.wantUser != nil && !reflect.DeepEqual(got, c.wantUser) {
				t.Errorf("user %+v, want %+v", got, c.wantUser)
			}
			for k := range leftHeaders {
				if len(k) >= 11 && k[:11] == "Impersonate" {
					t.Errorf("header %s passed on", k)
				}
			}
		})
	}
}
