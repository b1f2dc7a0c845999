package validation

import (
	"fmt"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// ValidateTolerations checks pod tolerations.
func ValidateTolerations(tols []core.Toleration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range tols {
		idxPath := path.Index(i)
		if t.Key != "" {
			errs = append(errs, ValidateLabelName(t.Key, idxPath.Child("key"))...)
		}
		// An empty key with Exists tolerates every taint; with Equal it would tolerate nothing.
		if t.Key == "" && t.Operator != core.TolerationOpExists {
			errs = append(errs, field.Invalid(idxPath.Child("operator"), t.Operator, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		// Only NoExecute taints evict, so only they have a time to tolerate.
		if t.TolerationSeconds != nil && t.Effect != core.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(idxPath.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case core.TolerationOpEqual, "":
			if msgs := IsValidLabelValue(t.Value); len(msgs) > 0 {
				errs = append(errs, field.Invalid(idxPath.Child("operator"), t.Value, strings.Join(msgs, ";")))
			}
		case core.TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(idxPath.Child("operator"), t.Value, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, field.NotSupported(idxPath.Child("operator"), t.Operator, supportedTolerationOps))
		}
		if t.Effect != "" {
			errs = append(errs, validateTaintEffect(t.Effect, idxPath.Child("effect"))...)
		}
	}
	return errs
}

func validateTaintEffect(effect core.TaintEffect, path *field.Path) field.ErrorList {
	if !slices.Contains(supportedTaintEffects, effect) {
		return field.ErrorList{field.NotSupported(path, effect, supportedTaintEffects)}
	}
	return nil
}

func validatePodDNSConfig(cfg *core.PodDNSConfig, policy core.DNSPolicy, path *field.Path) field.ErrorList {
	if policy == core.DNSNone {
		if cfg == nil {
			return field.ErrorList{field.Required(path, "must provide `dnsConfig` when `dnsPolicy` is None")}
		}
		if len(cfg.Nameservers) == 0 {
			return field.ErrorList{field.Required(path.Child("nameservers"), "must provide at least one DNS nameserver when `dnsPolicy` is None")}
		}
	}
	if cfg == nil {
		return nil
	}
	var errs field.ErrorList
	if len(cfg.Nameservers) > maxDNSNameservers {
		errs = append(errs, field.Invalid(path.Child("nameservers"), cfg.Nameservers, fmt.Sprintf("must not have more than %v nameservers", maxDNSNameservers)))
	}
	for i, ns := range cfg.Nameservers {
		errs = append(errs, IsValidIP(path.Child("nameservers").Index(i), ns)...)
	}
	if len(cfg.Searches) > maxDNSSearchPaths {
		errs = append(errs, field.Invalid(path.Child("searches"), cfg.Searches, fmt.Sprintf("must not have more than %v search paths", maxDNSSearchPaths)))
	}
	for i, s := range cfg.Searches {
		if s != "." {
			errs = append(errs, validateDNS1123Subdomain(strings.TrimSuffix(s, "."), path.Child("searches").Index(i))...)
		}
	}
	for i, o := range cfg.Options {
		if o.Name == "" {
			errs = append(errs, field.Required(path.Child("options").Index(i), "must not be empty"))
		}
	}
	return errs
}

func validatePodSecurityContext(spec *core.PodSpec, path *field.Path) field.ErrorList {
	sc := spec.SecurityContext
	if sc == nil {
		return nil
	}
	errs := validateIDs(sc.RunAsUser, sc.RunAsGroup, path)
	if sc.FSGroup != nil {
		errs = append(errs, validateID(*sc.FSGroup, path.Child("fsGroup"))...)
	}
	for i, g := range sc.SupplementalGroups {
		errs = append(errs, validateID(g, path.Child("supplementalGroups").Index(i))...)
	}
	return append(errs, validateSysctls(spec, path.Child("sysctls"))...)
}

// validateSysctls: well-formed names, each once, and none of a namespace the pod shares with
// the node (they would change the node's own settings). Whether a node allows a sysctl is the
// node agent's to say (SysctlForbidden).
func validateSysctls(spec *core.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, s := range spec.SecurityContext.Sysctls {
		p := path.Index(i).Child("name")
		switch {
		case s.Name == "":
			errs = append(errs, field.Required(p, ""))
		case !core.IsValidSysctlName(s.Name):
			errs = append(errs, field.Invalid(p, s.Name, fmt.Sprintf("must have at most %d characters and match regex %s", core.SysctlMaxLength, core.SysctlNameRegexp)))
		case names[s.Name]:
			errs = append(errs, field.Duplicate(p, s.Name))
		}
		switch ns := core.NamespaceOfSysctl(s.Name); {
		case spec.HostNetwork && ns == core.SysctlNet:
			errs = append(errs, field.Invalid(p, s.Name, "may not be specified when 'hostNetwork' is true"))
		case spec.HostIPC && ns == core.SysctlIPC:
			errs = append(errs, field.Invalid(p, s.Name, "may not be specified when 'hostIPC' is true"))
		}
		names[s.Name] = true
	}
	return errs
}

func validateAffinity(a *core.Affinity, path *field.Path) field.ErrorList {
	if a == nil {
		return nil
	}
	var errs field.ErrorList
	if na := a.NodeAffinity; na != nil {
		np := path.Child("nodeAffinity")
		if req := na.RequiredDuringSchedulingIgnoredDuringExecution; req != nil {
			rp := np.Child("requiredDuringSchedulingIgnoredDuringExecution")
			if len(req.NodeSelectorTerms) == 0 {
				errs = append(errs, field.Required(rp.Child("nodeSelectorTerms"), "must have at least one node selector term"))
			}
			for i, term := range req.NodeSelectorTerms {
				errs = append(errs, validateNodeSelectorTerm(term, rp.Child("nodeSelectorTerms").Index(i))...)
			}
		}
		for i, pref := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			pp := np.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			errs = append(errs, validateWeight(pref.Weight, pp.Child("weight"))...)
			errs = append(errs, validateNodeSelectorTerm(pref.Preference, pp.Child("preference"))...)
		}
	}
	for _, pa := range []struct {
		name      string
		required  []core.PodAffinityTerm
		preferred []core.WeightedPodAffinityTerm
	}{
		{"podAffinity", podAffinityRequired(a.PodAffinity), podAffinityPreferred(a.PodAffinity)},
		{"podAntiAffinity", podAntiAffinityRequired(a.PodAntiAffinity), podAntiAffinityPreferred(a.PodAntiAffinity)},
	} {
		pp := path.Child(pa.name)
		for i, term := range pa.required {
			errs = append(errs, validatePodAffinityTerm(term, pp.Child("requiredDuringSchedulingIgnoredDuringExecution").Index(i))...)
		}
		for i, w := range pa.preferred {
			wp := pp.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			errs = append(errs, validateWeight(w.Weight, wp.Child("weight"))...)
			errs = append(errs, validatePodAffinityTerm(w.PodAffinityTerm, wp.Child("podAffinityTerm"))...)
		}
	}
	return errs
}

func podAffinityRequired(a *core.PodAffinity) []core.PodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.RequiredDuringSchedulingIgnoredDuringExecution
}

func podAffinityPreferred(a *core.PodAffinity) []core.WeightedPodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.PreferredDuringSchedulingIgnoredDuringExecution
}

func podAntiAffinityRequired(a *core.PodAntiAffinity) []core.PodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.RequiredDuringSchedulingIgnoredDuringExecution
}

func podAntiAffinityPreferred(a *core.PodAntiAffinity) []core.WeightedPodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.PreferredDuringSchedulingIgnoredDuringExecution
}

func validateWeight(w int32, path *field.Path) field.ErrorList {
	if w <= 0 || w > 100 {
		return field.ErrorList{field.Invalid(path, w, "must be in the range 1-100")}
	}
	return nil
}

func validatePodAffinityTerm(t core.PodAffinityTerm, path *field.Path) field.ErrorList {
	errs := ValidateLabelSelector(t.LabelSelector, path.Child("labelSelector"))
	errs = append(errs, ValidateLabelSelector(t.NamespaceSelector, path.Child("namespaceSelector"))...)
	for i, ns := range t.Namespaces {
		for _, msg := range NameIsDNSLabel(ns, false) {
			errs = append(errs, field.Invalid(path.Child("namespaces").Index(i), ns, msg))
		}
	}
	if t.TopologyKey == "" {
		errs = append(errs, field.Required(path.Child("topologyKey"), "can not be empty"))
	} else {
		errs = append(errs, ValidateLabelName(t.TopologyKey, path.Child("topologyKey"))...)
	}
	return errs
}

func validateNodeSelectorTerm(term core.NodeSelectorTerm, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for j, req := range term.MatchExpressions {
		rp := path.Child("matchExpressions").Index(j)
		errs = append(errs, ValidateLabelName(req.Key, rp.Child("key"))...)
		errs = append(errs, validateNodeSelectorOperator(req.Operator, req.Values, rp)...)
	}
	for j, req := range term.MatchFields {
		rp := path.Child("matchFields").Index(j)
		// Only metadata.name can be matched as a field, with one value.
		if req.Key != "metadata.name" {
			errs = append(errs, field.NotSupported(rp.Child("key"), req.Key, []string{"metadata.name"}))
		}
		errs = append(errs, validateNodeSelectorOperator(req.Operator, req.Values, rp)...)
	}
	return errs
}

func validateNodeSelectorOperator(op core.NodeSelectorOperator, values []string, path *field.Path) field.ErrorList {
	switch op {
	case core.NodeSelectorOpIn, core.NodeSelectorOpNotIn:
		if len(values) == 0 {
			return field.ErrorList{field.Required(path.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'")}
		}
	case core.NodeSelectorOpExists, core.NodeSelectorOpDoesNotExist:
		if len(values) > 0 {
			return field.ErrorList{field.Forbidden(path.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")}
		}
	case core.NodeSelectorOpGt, core.NodeSelectorOpLt:
		if len(values) != 1 {
			return field.ErrorList{field.Required(path.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'")}
		}
	default:
		return field.ErrorList{field.NotSupported(path.Child("operator"), op, supportedNodeSelectorOps)}
	}
	return nil
}

func validateTopologySpreadConstraints(constraints []core.TopologySpreadConstraint, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, c := range constraints {
		sp := path.Index(i)
		if c.MaxSkew <= 0 {
			errs = append(errs, field.Invalid(sp.Child("maxSkew"), c.MaxSkew, "must be greater than zero"))
		}
		if c.TopologyKey == "" {
			errs = append(errs, field.Required(sp.Child("topologyKey"), "can not be empty"))
		} else {
			errs = append(errs, ValidateLabelName(c.TopologyKey, sp.Child("topologyKey"))...)
		}
		if !slices.Contains(supportedUnsatisfiable, c.WhenUnsatisfiable) {
			errs = append(errs, field.NotSupported(sp.Child("whenUnsatisfiable"), c.WhenUnsatisfiable, supportedUnsatisfiable))
		}
		key := c.TopologyKey + "/" + string(c.WhenUnsatisfiable)
		if seen[key] {
			errs = append(errs, field.Duplicate(sp, fmt.Sprintf("{%v, %v}", c.TopologyKey, c.WhenUnsatisfiable)))
		}
		seen[key] = true
		errs = append(errs, ValidateLabelSelector(c.LabelSelector, sp.Child("labelSelector"))...)
	}
	return errs
}
