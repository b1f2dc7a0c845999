package tables

import (
	"reflect"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/api/meta"
)

func TestCSRRows(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	created := meta.ObjectMeta{Name: "csr-1", CreationTimestamp: meta.NewTime(now.Add(-30 * time.Second))}
	day := int32(86400)
	cond := func(ts ...certificates.RequestConditionType) []certificates.CertificateSigningRequestCondition {
		var out []certificates.CertificateSigningRequestCondition
		for _, t := range ts {
			out = append(out, certificates.CertificateSigningRequestCondition{Type: t, Status: "True"})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		csr  certificates.CertificateSigningRequest
		want []any
	}{
		{"pending", certificates.CertificateSigningRequest{ObjectMeta: created,
			Spec: certificates.CertificateSigningRequestSpec{SignerName: "kubernetes.io/kube-apiserver-client-kubelet", Username: "system:bootstrap:abcdef"}},
			[]any{"csr-1", "30s", "kubernetes.io/kube-apiserver-client-kubelet", "system:bootstrap:abcdef", "<none>", "Pending"}},
		{"approved and issued", certificates.CertificateSigningRequest{ObjectMeta: created,
			Spec:   certificates.CertificateSigningRequestSpec{SignerName: "s.io/x", Username: "u", ExpirationSeconds: &day},
			Status: certificates.CertificateSigningRequestStatus{Conditions: cond(certificates.CertificateApproved), Certificate: []byte("c")}},
			[]any{"csr-1", "30s", "s.io/x", "u", "24h", "Approved,Issued"}},
		{"denied wins, failed", certificates.CertificateSigningRequest{ObjectMeta: created,
			Status: certificates.CertificateSigningRequestStatus{Conditions: cond(certificates.CertificateFailed, certificates.CertificateDenied)}},
			[]any{"csr-1", "30s", "<none>", "", "<none>", "Denied,Failed"}},
	} {
		if got := certificateSigningRequestPrinter.Row(&tc.csr, now).Cells; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %#v, want %#v", tc.name, got, tc.want)
		}
	}
}
