package tutorials

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	doc := strings.Join([]string{
		"# A chapter",
		"```console",
		"sudo skiff up",
		"```",
		"```sh",
		"kubectl get pods",
		"kubectl get pods -o wide",
		"```",
		"<!-- test: eventually web.*Running -->",
		"```text",
		"NAME  READY",
		"```",
		"```sh",
		"kubectl auth can-i delete pods",
		"```",
		"",
		"<!-- test: fails 30s ^no -->",
		"```sh",
		"kubectl delete -f x.yaml",
		"```",
		"```sh",
		"kubectl exec client -- wget -qO- http://web/",
		"```",
		"<!-- test: fails-eventually 20s refused -->",
	}, "\n")
	steps, err := parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 4 {
		t.Fatalf("got %d steps, want 4: %+v", len(steps), steps)
	}
	if s := steps[0]; s.Line != 5 || s.Script != "kubectl get pods\nkubectl get pods -o wide\n" || !s.Eventually || s.Fails || s.Expect.String() != "web.*Running" || s.Timeout != defaultEventually {
		t.Errorf("step 0: %+v", s)
	}
	if s := steps[1]; !s.Fails || s.Eventually || s.Timeout != 30*time.Second || s.Expect.String() != "^no" {
		t.Errorf("step 1: %+v", s)
	}
	if s := steps[2]; s.Expect != nil || s.Fails {
		t.Errorf("step 2: %+v", s)
	}
	if s := steps[3]; !s.Fails || !s.Eventually || s.Timeout != 20*time.Second || s.Expect.String() != "refused" {
		t.Errorf("step 3: %+v", s)
	}
}

func TestParseRefusesMistakes(t *testing.T) {
	for name, doc := range map[string]string{
		"comment without block":     "<!-- test: expect x -->",
		"comment after text":        "```text\nx\n```\n<!-- test: expect x -->",
		"two comments":              "```sh\nx\n```\n<!-- test: expect x -->\n<!-- test: expect y -->",
		"unknown kind":              "```sh\nx\n```\n<!-- test: maybe x -->",
		"bad regexp":                "```sh\nx\n```\n<!-- test: expect ( -->",
		"eventually after a change": "```sh\nkubectl delete pod x\nkubectl get pods\n```\n<!-- test: eventually x -->",
		"unclosed block":            "```sh\nx\n",
	} {
		if _, err := parse(doc); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
