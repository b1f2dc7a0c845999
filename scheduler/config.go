package scheduler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// Configuration is the --config file, shaped like Kubernetes' KubeSchedulerConfiguration
// (kubescheduler.config.k8s.io/v1). Fields skiff does not implement are rejected, not ignored,
// so that a configuration never silently means something else here.
type Configuration struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Parallelism bounds the goroutines filtering and scoring nodes (default 16).
	Parallelism *int32 `json:"parallelism,omitempty"`
	// PercentageOfNodesToScore: once this share of the nodes were found feasible, stop looking
	// (0, the default, adapts it to the cluster size like Kubernetes: 50% at 100 nodes down to
	// 5% at 5,000; clusters under 100 nodes are always searched fully).
	PercentageOfNodesToScore *int32 `json:"percentageOfNodesToScore,omitempty"`
	// Per-pod backoff after a failed attempt: initial, doubling up to max (defaults 1 and 10).
	PodInitialBackoffSeconds *int64 `json:"podInitialBackoffSeconds,omitempty"`
	PodMaxBackoffSeconds     *int64 `json:"podMaxBackoffSeconds,omitempty"`
	// Profiles: one per schedulerName (default: one "default-scheduler" profile).
	Profiles []Profile `json:"profiles,omitempty"`
	// LeaderElection and ClientConnection are accepted for compatibility; the command-line
	// flags take precedence where both are given.
	LeaderElection   *LeaderElectionConfiguration `json:"leaderElection,omitempty"`
	ClientConnection *ClientConnection            `json:"clientConnection,omitempty"`
}

// Profile is a scheduling profile, chosen by a pod's spec.schedulerName.
type Profile struct {
	SchedulerName            string         `json:"schedulerName"`
	PercentageOfNodesToScore *int32         `json:"percentageOfNodesToScore,omitempty"`
	Plugins                  *Plugins       `json:"plugins,omitempty"`
	PluginConfig             []PluginConfig `json:"pluginConfig,omitempty"`
	// Policy is a skiff extension for teaching: instead of scoring, pick among the feasible
	// nodes by "round-robin", "random" or "least-pods" (filters still apply in full).
	Policy string `json:"policy,omitempty"`
}

// Plugins lists enabled and disabled plugins per extension point. skiff runs a plugin's
// PreFilter with its Filter and its PreScore with its Score, so preFilter and preScore may only
// repeat what filter and score say.
type Plugins struct {
	MultiPoint PluginSet `json:"multiPoint,omitempty"`
	PreEnqueue PluginSet `json:"preEnqueue,omitempty"`
	QueueSort  PluginSet `json:"queueSort,omitempty"`
	PreFilter  PluginSet `json:"preFilter,omitempty"`
	Filter     PluginSet `json:"filter,omitempty"`
	PostFilter PluginSet `json:"postFilter,omitempty"`
	PreScore   PluginSet `json:"preScore,omitempty"`
	Score      PluginSet `json:"score,omitempty"`
	Reserve    PluginSet `json:"reserve,omitempty"`
	Permit     PluginSet `json:"permit,omitempty"`
	PreBind    PluginSet `json:"preBind,omitempty"`
	Bind       PluginSet `json:"bind,omitempty"`
	PostBind   PluginSet `json:"postBind,omitempty"`
}

// PluginSet enables and disables plugins; disabling "*" disables every default.
type PluginSet struct {
	Enabled  []PluginRef `json:"enabled,omitempty"`
	Disabled []PluginRef `json:"disabled,omitempty"`
}

// PluginRef names a plugin; Weight applies to score plugins (default: the plugin's default
// weight, else 1).
type PluginRef struct {
	Name   string `json:"name"`
	Weight *int32 `json:"weight,omitempty"`
}

// PluginConfig holds a plugin's args.
type PluginConfig struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

// LeaderElectionConfiguration is the leaderElection section.
type LeaderElectionConfiguration struct {
	LeaderElect       *bool  `json:"leaderElect,omitempty"`
	LeaseDuration     string `json:"leaseDuration,omitempty"`
	RenewDeadline     string `json:"renewDeadline,omitempty"`
	RetryPeriod       string `json:"retryPeriod,omitempty"`
	ResourceLock      string `json:"resourceLock,omitempty"`
	ResourceName      string `json:"resourceName,omitempty"`
	ResourceNamespace string `json:"resourceNamespace,omitempty"`
}

// ClientConnection is the clientConnection section.
type ClientConnection struct {
	Kubeconfig         string  `json:"kubeconfig,omitempty"`
	QPS                float32 `json:"qps,omitempty"`
	Burst              int32   `json:"burst,omitempty"`
	AcceptContentTypes string  `json:"acceptContentTypes,omitempty"`
	ContentType        string  `json:"contentType,omitempty"`
}

// Supported apiVersions of the file.
var configAPIVersions = []string{"kubescheduler.config.k8s.io/v1", "kubescheduler.config.k8s.io/v1beta3"}

// Policies a profile may name.
const (
	PolicyRoundRobin = "round-robin"
	PolicyRandom     = "random"
	PolicyLeastPods  = "least-pods"
)

// LoadConfigFile reads and checks a configuration file. Errors name the offending field.
func LoadConfigFile(path string) (*Configuration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scheduler config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("scheduler config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes YAML or JSON strictly (an unknown field is an error naming its path) and
// validates the result, including building every profile's plugins.
func ParseConfig(data []byte) (*Configuration, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	var generic any
	if err := json.Unmarshal(js, &generic); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if _, ok := generic.(map[string]any); !ok {
		return nil, fmt.Errorf("the file must hold a KubeSchedulerConfiguration object")
	}
	if err := checkFields(nil, generic, reflect.TypeFor[Configuration]()); err != nil {
		return nil, err
	}
	var cfg Configuration
	dec := json.NewDecoder(bytes.NewReader(js))
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if errs := cfg.validate(); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	if _, err := buildProfiles(&cfg, pluginsHandle(&cfg)); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// checkFields walks decoded JSON against the Go type and reports the first unknown field with
// its full path ("profiles[0].plugins.scor"). json.RawMessage values (plugin args) are checked
// by the plugins themselves.
func checkFields(path *field.Path, v any, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[json.RawMessage]() {
		return nil
	}
	switch val := v.(type) {
	case map[string]any:
		if t.Kind() != reflect.Struct {
			return nil
		}
		known := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				known[name] = f.Type
			}
		}
		keys := make([]string, 0, len(val))
		for k := range val {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := known[k]
			child := field.NewPath(k)
			if path != nil {
				child = path.Child(k)
			}
			if !ok {
				return fmt.Errorf("%s: unknown field", child)
			}
			if err := checkFields(child, val[k], ft); err != nil {
				return err
			}
		}
	case []any:
		if t.Kind() != reflect.Slice {
			return nil
		}
		for i, e := range val {
			if err := checkFields(path.Index(i), e, t.Elem()); err != nil {
				return err
			}
		}
	}
	return nil
}

// validate checks the top-level fields and the profiles' shape; the plugin lists are checked
// when the profiles are built.
func (c *Configuration) validate() field.ErrorList {
	var errs field.ErrorList
	if c.APIVersion == "" {
		errs = append(errs, field.Required(field.NewPath("apiVersion"), "want kubescheduler.config.k8s.io/v1"))
	} else if !contains(configAPIVersions, c.APIVersion) {
		errs = append(errs, field.NotSupported(field.NewPath("apiVersion"), c.APIVersion, configAPIVersions))
	}
	if c.Kind != "KubeSchedulerConfiguration" {
		errs = append(errs, field.NotSupported(field.NewPath("kind"), c.Kind, []string{"KubeSchedulerConfiguration"}))
	}
	if c.Parallelism != nil && *c.Parallelism <= 0 {
		errs = append(errs, field.Invalid(field.NewPath("parallelism"), *c.Parallelism, "should be an integer value greater than zero"))
	}
	errs = append(errs, validPercentage(field.NewPath("percentageOfNodesToScore"), c.PercentageOfNodesToScore)...)
	if c.PodInitialBackoffSeconds != nil && *c.PodInitialBackoffSeconds <= 0 {
		errs = append(errs, field.Invalid(field.NewPath("podInitialBackoffSeconds"), *c.PodInitialBackoffSeconds, "must be greater than 0"))
	}
	if c.PodMaxBackoffSeconds != nil {
		initial := int64(1)
		if c.PodInitialBackoffSeconds != nil {
			initial = *c.PodInitialBackoffSeconds
		}
		if *c.PodMaxBackoffSeconds < initial {
			errs = append(errs, field.Invalid(field.NewPath("podMaxBackoffSeconds"), *c.PodMaxBackoffSeconds, "must be greater than or equal to podInitialBackoffSeconds"))
		}
	}
	if le := c.LeaderElection; le != nil && le.ResourceLock != "" && le.ResourceLock != "leases" {
		errs = append(errs, field.NotSupported(field.NewPath("leaderElection", "resourceLock"), le.ResourceLock, []string{"leases"}))
	}
	seen := map[string]int{}
	for i, p := range c.Profiles {
		path := field.NewPath("profiles").Index(i)
		if p.SchedulerName == "" {
			errs = append(errs, field.Required(path.Child("schedulerName"), ""))
		} else if j, dup := seen[p.SchedulerName]; dup {
			errs = append(errs, field.Duplicate(path.Child("schedulerName"), fmt.Sprintf("%s (also profiles[%d])", p.SchedulerName, j)))
		}
		seen[p.SchedulerName] = i
		errs = append(errs, validPercentage(path.Child("percentageOfNodesToScore"), p.PercentageOfNodesToScore)...)
		if p.Policy != "" && !contains([]string{PolicyRoundRobin, PolicyRandom, PolicyLeastPods}, p.Policy) {
			errs = append(errs, field.NotSupported(path.Child("policy"), p.Policy, []string{PolicyRoundRobin, PolicyRandom, PolicyLeastPods}))
		}
	}
	return errs
}

func validPercentage(path *field.Path, v *int32) field.ErrorList {
	if v != nil && (*v < 0 || *v > 100) {
		return field.ErrorList{field.Invalid(path, *v, "not in valid range [0-100]")}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// defaultConfiguration is what runs without --config: one default-scheduler profile.
func defaultConfiguration() *Configuration {
	return &Configuration{APIVersion: configAPIVersions[0], Kind: "KubeSchedulerConfiguration",
		Profiles: []Profile{{SchedulerName: core.DefaultSchedulerName}}}
}
