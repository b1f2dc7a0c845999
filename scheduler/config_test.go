package scheduler

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

const header = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"

func TestParseConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"not YAML", "profiles: [", "not valid YAML"},
		{"wrong kind", "apiVersion: kubescheduler.config.k8s.io/v1\nkind: Pod\n", `kind: Unsupported value: "Pod"`},
		{"old apiVersion", "apiVersion: kubescheduler.config.k8s.io/v1alpha1\nkind: KubeSchedulerConfiguration\n", `apiVersion: Unsupported value: "kubescheduler.config.k8s.io/v1alpha1"`},
		{"misspelled top-level field", header + "percentageOfNodeToScore: 10\n", "percentageOfNodeToScore: unknown field"},
		{"misspelled nested field", header + "profiles:\n- schedulerName: a\n  plugins:\n    scor:\n      enabled: []\n", "profiles[0].plugins.scor: unknown field"},
		{"percentage out of range", header + "percentageOfNodesToScore: 101\n", "percentageOfNodesToScore: Invalid value: 101"},
		{"profile percentage", header + "profiles:\n- schedulerName: a\n  percentageOfNodesToScore: -1\n", "profiles[0].percentageOfNodesToScore: Invalid value: -1"},
		{"missing schedulerName", header + "profiles:\n- plugins: {}\n", "profiles[0].schedulerName: Required value"},
		{"duplicate schedulerName", header + "profiles:\n- schedulerName: a\n- schedulerName: a\n", "profiles[1].schedulerName: Duplicate value"},
		{"unknown plugin", header + "profiles:\n- schedulerName: a\n  plugins:\n    score:\n      enabled:\n      - name: NodeResourceFit\n",
			`profiles[0].plugins.score.enabled[0].name: Unsupported value: "NodeResourceFit"`},
		{"weight out of range", header + "profiles:\n- schedulerName: a\n  plugins:\n    score:\n      enabled:\n      - name: ImageLocality\n        weight: 1000\n",
			"profiles[0].plugins.score.enabled[0].weight: Invalid value: 1000"},
		{"plugin without a Filter", header + "profiles:\n- schedulerName: a\n  plugins:\n    filter:\n      enabled:\n      - name: ImageLocality\n",
			`profiles[0].plugins.filter: Invalid value: "ImageLocality": plugin has no Filter`},
		{"bad plugin args", header + "profiles:\n- schedulerName: a\n  pluginConfig:\n  - name: NodeResourcesFit\n    args:\n      scoringStrategy:\n        type: Cheapest\n",
			`profiles[0].pluginConfig[0].args: scoringStrategy.type: Unsupported value: "Cheapest"`},
		{"unknown plugin arg", header + "profiles:\n- schedulerName: a\n  pluginConfig:\n  - name: InterPodAffinity\n    args:\n      hardPodAffinityWeigth: 3\n",
			`profiles[0].pluginConfig[0].args: unknown field "hardPodAffinityWeigth"`},
		{"unknown policy", header + "profiles:\n- schedulerName: a\n  policy: best\n", `profiles[0].policy: Unsupported value: "best"`},
		{"backoff max below initial", header + "podInitialBackoffSeconds: 5\npodMaxBackoffSeconds: 2\n", "podMaxBackoffSeconds: Invalid value: 2"},
		{"unsupported extension point plugin", header + "profiles:\n- schedulerName: a\n  plugins:\n    permit:\n      enabled:\n      - name: Coscheduling\n",
			`profiles[0].plugins.permit.enabled[0].name: Unsupported value: "Coscheduling"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadConfigFileNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sched.yaml")
	if err := os.WriteFile(path, []byte(header+"bogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfigFile(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "bogus: unknown field") {
		t.Fatalf("error %v", err)
	}
}

func names[T fw.Plugin](ps []T) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name())
	}
	return out
}

func TestProfilesResolvePlugins(t *testing.T) {
	tests := []struct {
		name       string
		profile    string
		filters    []string
		scores     []string // name:weight
		preemption bool
	}{
		{name: "defaults", profile: "- schedulerName: d\n",
			filters:    []string{"NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodePorts", "NodeResourcesFit", "VolumeBinding", "PodTopologySpread", "InterPodAffinity"},
			scores:     []string{"TaintToleration:3", "NodeAffinity:2", "NodeResourcesFit:1", "PodTopologySpread:2", "InterPodAffinity:2", "NodeResourcesBalancedAllocation:1", "ImageLocality:1"},
			preemption: true},
		{name: "disable and re-weight", profile: `- schedulerName: d
  plugins:
    filter:
      disabled: [{name: InterPodAffinity}, {name: PodTopologySpread}]
    score:
      disabled: [{name: "*"}]
      enabled: [{name: NodeResourcesFit, weight: 5}]
    postFilter:
      disabled: [{name: DefaultPreemption}]
`,
			filters: []string{"NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodePorts", "NodeResourcesFit", "VolumeBinding"},
			scores:  []string{"NodeResourcesFit:5"}},
		{name: "multiPoint disables everything, enables a few", profile: `- schedulerName: d
  plugins:
    multiPoint:
      disabled: [{name: "*"}]
      enabled: [{name: NodeResourcesFit}, {name: TaintToleration, weight: 7}]
`,
			filters: []string{"NodeResourcesFit", "TaintToleration"},
			scores:  []string{"NodeResourcesFit:1", "TaintToleration:7"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(header + "profiles:\n" + tc.profile))
			if err != nil {
				t.Fatal(err)
			}
			ps, err := buildProfiles(cfg, pluginsHandle(cfg))
			if err != nil {
				t.Fatal(err)
			}
			p := ps["d"]
			if got := names(p.framework.Filter); !slices.Equal(got, tc.filters) {
				t.Errorf("filters %v, want %v", got, tc.filters)
			}
			var scores []string
			for _, s := range p.framework.Score {
				scores = append(scores, s.Name()+":"+strconv.FormatInt(s.Weight, 10))
			}
			if !slices.Equal(scores, tc.scores) {
				t.Errorf("scores %v, want %v", scores, tc.scores)
			}
			if p.preemption != tc.preemption {
				t.Errorf("preemption %v, want %v", p.preemption, tc.preemption)
			}
		})
	}
}

func TestNumFeasibleNodesToFind(t *testing.T) {
	tests := []struct {
		percentage int32
		nodes      int
		want       int
	}{
		{0, 10, 10},
		{0, 99, 99},
		{0, 100, 100},   // 50% of 100, raised to the minimum of 100
		{0, 1000, 420},  // 50 − 1000/125 = 42%
		{0, 5000, 500},  // 50 − 40 = 10%
		{0, 10000, 500}, // floor of 5%
		{0, 150, 100},   // never under 100
		{30, 1000, 300}, // explicit
		{100, 5000, 5000},
	}
	for _, tc := range tests {
		if got := numFeasibleNodesToFind(tc.percentage, tc.nodes); got != tc.want {
			t.Errorf("percentage %d, %d nodes: %d, want %d", tc.percentage, tc.nodes, got, tc.want)
		}
	}
}

func TestFitErrorMessage(t *testing.T) {
	st := func(code fw.Code, reasons ...string) *fw.Status { return fw.NewStatus(code, reasons...) }
	tests := []struct {
		name string
		err  FitError
		want string
	}{
		{"no nodes", FitError{}, "no nodes available to schedule pods"},
		{"reasons counted and sorted", FitError{NumAllNodes: 5, Statuses: map[string]*fw.Status{
			"a": st(fw.Unschedulable, "Insufficient cpu"),
			"b": st(fw.Unschedulable, "Insufficient cpu"),
			"c": st(fw.UnschedulableAndUnresolvable, "node(s) had untolerated taint {dedicated: gpu}"),
			"d": st(fw.UnschedulableAndUnresolvable, "node(s) had untolerated taint {dedicated: gpu}"),
			"e": st(fw.UnschedulableAndUnresolvable, "node(s) had untolerated taint {dedicated: gpu}"),
		}}, "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {dedicated: gpu}."},
		{"a node with several reasons counts each", FitError{NumAllNodes: 1, Statuses: map[string]*fw.Status{
			"a": st(fw.Unschedulable, "Insufficient cpu", "Insufficient memory"),
		}}, "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."},
		{"prefilter", FitError{NumAllNodes: 3, PreFilterStatus: st(fw.UnschedulableAndUnresolvable, "bad selector")}, "0/3 nodes are available: bad selector."},
		{"absent nodes and a postfilter message", FitError{NumAllNodes: 3, AbsentReason: "Preemption is not helpful for scheduling",
			Statuses: map[string]*fw.Status{"a": st(fw.Unschedulable, "No preemption victims found for incoming pod")}, PostFilterMsg: "x"},
			"0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling. x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Fatalf("\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

func TestPickCandidate(t *testing.T) {
	victim := func(prio int32, start int64) *fw.PodInfo {
		return fw.NewPodInfo(&core.Pod{Spec: core.PodSpec{Priority: &prio},
			ObjectMeta: meta.ObjectMeta{CreationTimestamp: meta.NewTime(time.Unix(start, 0))}})
	}
	tests := []struct {
		name string
		cs   []candidate
		want string
	}{
		{"lowest highest-priority victim", []candidate{
			{node: "a", victims: []*fw.PodInfo{victim(500, 0)}},
			{node: "b", victims: []*fw.PodInfo{victim(100, 0), victim(100, 0)}},
		}, "b"},
		{"then the lowest sum of priorities", []candidate{
			{node: "a", victims: []*fw.PodInfo{victim(100, 0), victim(50, 0)}},
			{node: "b", victims: []*fw.PodInfo{victim(100, 0), victim(10, 0)}},
		}, "b"},
		{"then the fewest victims (negative priorities too)", []candidate{
			{node: "a", victims: []*fw.PodInfo{victim(-10, 0), victim(-10, 0)}},
			{node: "b", victims: []*fw.PodInfo{victim(-10, 0)}},
		}, "b"},
		{"then the most recently started", []candidate{
			{node: "a", victims: []*fw.PodInfo{victim(100, 10)}},
			{node: "b", victims: []*fw.PodInfo{victim(100, 20)}},
		}, "b"},
		{"then the first by name", []candidate{
			{node: "b", victims: []*fw.PodInfo{victim(100, 10)}},
			{node: "a", victims: []*fw.PodInfo{victim(100, 10)}},
		}, "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := pickCandidate(tc.cs).node; got != tc.want {
				t.Fatalf("picked %s, want %s", got, tc.want)
			}
		})
	}
}
