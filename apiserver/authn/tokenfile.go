package authn

import (
	"context"
	"crypto/subtle"
	"encoding/csv"
	"fmt"
	"os"
	"strings"
)

// TokenFile reads a static token file as kube-apiserver's --token-auth-file does: one CSV
// line per token, "token,user,uid[,\"group1,group2\"]".
func TokenFile(path string) (TokenAuthenticator, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	users := map[string]*User{}
	for i, rec := range recs {
		if len(rec) < 3 || rec[0] == "" || rec[1] == "" {
			return nil, fmt.Errorf("token file %s: line %d: want token,user,uid[,groups]", path, i+1)
		}
		u := &User{Name: rec[1], UID: rec[2]}
		if len(rec) > 3 && rec[3] != "" {
			for _, g := range strings.Split(rec[3], ",") {
				u.Groups = append(u.Groups, strings.TrimSpace(g))
			}
		}
		users[rec[0]] = u
	}
	return TokenFunc(func(_ context.Context, token string) (*User, bool, error) {
		for t, u := range users {
			if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
				c := *u
				c.Groups = append([]string(nil), u.Groups...)
				return &c, true, nil
			}
		}
		return nil, false, nil
	}), nil
}
