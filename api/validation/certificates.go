package validation

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// knownUsages are the key usages a CertificateSigningRequest may name.
var knownUsages = []certificates.KeyUsage{
	certificates.UsageSigning, certificates.UsageDigitalSignature, certificates.UsageContentCommitment,
	certificates.UsageKeyEncipherment, certificates.UsageKeyAgreement, certificates.UsageDataEncipherment,
	certificates.UsageCertSign, certificates.UsageCRLSign, certificates.UsageEncipherOnly,
	certificates.UsageDecipherOnly, certificates.UsageAny, certificates.UsageServerAuth,
	certificates.UsageClientAuth, certificates.UsageCodeSigning, certificates.UsageEmailProtection,
	certificates.UsageSMIME, certificates.UsageIPsecEndSystem, certificates.UsageIPsecTunnel,
	certificates.UsageIPsecUser, certificates.UsageTimestamping, certificates.UsageOCSPSigning,
	certificates.UsageMicrosoftSGC, certificates.UsageNetscapeSGC,
}

// csrNameFn: a CertificateSigningRequest's name only has to be a valid path segment.
func csrNameFn(name string, prefix bool) []string {
	switch {
	case !prefix && (name == "." || name == ".."):
		return []string{fmt.Sprintf("may not be '%s'", name)}
	case strings.ContainsAny(name, "/%"):
		return []string{"may not contain '/' or '%'"}
	}
	return nil
}

func validateCertificateSigningRequest(csr *certificates.CertificateSigningRequest) field.ErrorList {
	errs := ValidateObjectMeta(&csr.ObjectMeta, false, csrNameFn, field.NewPath("metadata"))
	spec := field.NewPath("spec")
	if _, err := certificates.ParseCSR(csr.Spec.Request); err != nil {
		errs = append(errs, field.Invalid(spec.Child("request"), "<redacted>", err.Error()))
	}
	errs = append(errs, validateSignerName(csr.Spec.SignerName, spec.Child("signerName"))...)
	if e := csr.Spec.ExpirationSeconds; e != nil && *e < 600 {
		errs = append(errs, field.Invalid(spec.Child("expirationSeconds"), *e, "may not specify a duration less than 600 seconds (10 minutes)"))
	}
	if len(csr.Spec.Usages) == 0 {
		errs = append(errs, field.Required(spec.Child("usages"), ""))
	}
	seen := map[certificates.KeyUsage]bool{}
	for i, u := range csr.Spec.Usages {
		p := spec.Child("usages").Index(i)
		switch {
		case !slices.Contains(knownUsages, u):
			errs = append(errs, field.NotSupported(p, u, knownUsages))
		case seen[u]:
			errs = append(errs, field.Duplicate(p, u))
		}
		seen[u] = true
	}
	return append(errs, validateCSRStatus(&csr.Status, field.NewPath("status"))...)
}

// validateSignerName: a qualified name whose prefix is a domain ("example.com/signer").
func validateSignerName(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	domain, path, ok := strings.Cut(name, "/")
	if !ok || domain == "" || path == "" {
		return field.ErrorList{field.Invalid(p, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	var errs field.ErrorList
	for _, msg := range IsDNS1123Subdomain(domain) {
		errs = append(errs, field.Invalid(p, name, "validating domain component: "+msg))
	}
	if len(name) > 571 {
		errs = append(errs, field.TooLong(p, name, 571))
	}
	return errs
}

var conditionStatuses = []core.ConditionStatus{core.ConditionTrue, core.ConditionFalse, core.ConditionUnknown}

func validateCSRStatus(st *certificates.CertificateSigningRequestStatus, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[certificates.RequestConditionType]bool{}
	for i, c := range st.Conditions {
		cp := p.Child("conditions").Index(i)
		if c.Type == "" {
			errs = append(errs, field.Required(cp.Child("type"), ""))
		}
		switch {
		case c.Status == "":
			errs = append(errs, field.Required(cp.Child("status"), ""))
		case !slices.Contains(conditionStatuses, c.Status):
			errs = append(errs, field.NotSupported(cp.Child("status"), c.Status, conditionStatuses))
		}
		switch c.Type {
		case certificates.CertificateApproved, certificates.CertificateDenied, certificates.CertificateFailed:
			if seen[c.Type] {
				errs = append(errs, field.Duplicate(cp.Child("type"), c.Type))
			}
			if c.Type != certificates.CertificateFailed && c.Status != core.ConditionTrue {
				errs = append(errs, field.NotSupported(cp.Child("status"), c.Status, []core.ConditionStatus{core.ConditionTrue}))
			}
		}
		seen[c.Type] = true
	}
	if seen[certificates.CertificateApproved] && seen[certificates.CertificateDenied] {
		errs = append(errs, field.Invalid(p.Child("conditions"), certificates.CertificateDenied, "Approved and Denied conditions are mutually exclusive"))
	}
	if len(st.Certificate) > 0 {
		if !seen[certificates.CertificateApproved] {
			errs = append(errs, field.Invalid(p.Child("certificate"), "<certificate data>", "certificate may only be set if the request is approved"))
		}
		if err := validateCertificatePEM(st.Certificate); err != nil {
			errs = append(errs, field.Invalid(p.Child("certificate"), "<certificate data>", err.Error()))
		}
	}
	return errs
}

// validateCertificatePEM: one or more "CERTIFICATE" blocks, each parseable, nothing else.
func validateCertificatePEM(data []byte) error {
	n := 0
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return fmt.Errorf("only CERTIFICATE PEM blocks are allowed, found %q", b.Type)
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return fmt.Errorf("block %d: %w", n, err)
		}
		n++
	}
	if n == 0 {
		return errors.New("must contain at least one CERTIFICATE PEM block")
	}
	if len(strings.TrimSpace(string(data))) > 0 {
		return errors.New("data after the last PEM block is not allowed")
	}
	return nil
}

// validateCertificateSigningRequestUpdate: the spec never changes; Approved and Denied,
// once set, are never removed; an issued certificate is never replaced.
func validateCertificateSigningRequestUpdate(n, old *certificates.CertificateSigningRequest) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&n.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateCertificateSigningRequest(n)...)
	if !specEqual(&n.Spec, &old.Spec) {
		errs = append(errs, field.Invalid(field.NewPath("spec"), "<spec>", "field is immutable"))
	}
	for _, t := range []certificates.RequestConditionType{certificates.CertificateApproved, certificates.CertificateDenied} {
		if certificates.HasCondition(&old.Status, t) && !certificates.HasCondition(&n.Status, t) {
			errs = append(errs, field.Forbidden(field.NewPath("status", "conditions"), fmt.Sprintf("updates may not remove a condition of type %q", t)))
		}
	}
	if len(old.Status.Certificate) > 0 && string(old.Status.Certificate) != string(n.Status.Certificate) {
		errs = append(errs, field.Forbidden(field.NewPath("status", "certificate"), "updates may not modify existing certificate content"))
	}
	return errs
}

func specEqual(a, b *certificates.CertificateSigningRequestSpec) bool {
	if string(a.Request) != string(b.Request) || a.SignerName != b.SignerName || a.Username != b.Username ||
		a.UID != b.UID || !slices.Equal(a.Groups, b.Groups) || !slices.Equal(a.Usages, b.Usages) ||
		(a.ExpirationSeconds == nil) != (b.ExpirationSeconds == nil) ||
		(a.ExpirationSeconds != nil && *a.ExpirationSeconds != *b.ExpirationSeconds) || len(a.Extra) != len(b.Extra) {
		return false
	}
	for k, v := range a.Extra {
		if !slices.Equal(v, b.Extra[k]) {
			return false
		}
	}
	return true
}
