package tables

import (
	"time"

	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/api/meta"
)

// certificateSigningRequestPrinter: NAME AGE SIGNERNAME REQUESTOR REQUESTEDDURATION CONDITION.
var certificateSigningRequestPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	ageColumn,
	column("SignerName", "string", "signerName indicates the requested signer, and is a qualified name."),
	column("Requestor", "string", "request contains an x509 certificate signing request encoded in a \"CERTIFICATE REQUEST\" PEM block."),
	column("RequestedDuration", "string", "expirationSeconds is the requested duration of validity of the issued certificate."),
	column("Condition", "string", "conditions applied to the request. Known conditions are \"Approved\", \"Denied\", and \"Failed\"."),
}, func(c *certificates.CertificateSigningRequest, now time.Time) meta.TableRow {
	signer := c.Spec.SignerName
	if signer == "" {
		signer = "<none>"
	}
	requested := "<none>"
	if e := c.Spec.ExpirationSeconds; e != nil {
		requested = HumanDuration(time.Duration(*e) * time.Second)
	}
	return meta.TableRow{Cells: []any{c.Name, age(c.CreationTimestamp, now), signer, c.Spec.Username, requested, csrCondition(c)}}
})

// csrCondition is kubectl's CONDITION: Denied over Approved over Pending, then ",Failed"
// and ",Issued".
func csrCondition(c *certificates.CertificateSigningRequest) string {
	var approved, denied, failed bool
	for _, cond := range c.Status.Conditions {
		switch cond.Type {
		case certificates.CertificateApproved:
			approved = true
		case certificates.CertificateDenied:
			denied = true
		case certificates.CertificateFailed:
			failed = true
		}
	}
	s := "Pending"
	switch {
	case denied:
		s = "Denied"
	case approved:
		s = "Approved"
	}
	if failed {
		s += ",Failed"
	}
	if len(c.Status.Certificate) > 0 {
		s += ",Issued"
	}
	return s
}
