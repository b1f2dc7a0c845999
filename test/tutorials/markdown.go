// Package tutorials runs the tutorials in docs/tutorials against a real cluster, exactly as
// written: every ```sh block of a tutorial is run, in order, as the reader would type it, and
// the HTML comments after a block (invisible on the rendered page) say what its output must
// show. So a tutorial that no longer matches skiff fails this package's test.
package tutorials

import (
	"bufio"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// A step is one ```sh block of a tutorial and what the tutorial says it shows.
type step struct {
	Line   int    // where the block starts, for messages
	Script string // the block's text, run by bash
	// Expect must match the block's output (stdout and stderr together); nil: any output.
	Expect *regexp.Regexp
	// Eventually: the block is run again, whole, until Expect matches or Timeout passes —
	// so such a block must only read (a `kubectl delete` in it would run twice).
	Eventually bool
	// Fails: the block must exit non-zero (a refusal the tutorial shows). With Eventually
	// (`fails-eventually`): until it does, for a refusal that takes a moment to take effect
	// (a Service's rules follow its endpoints on every node).
	Fails   bool
	Timeout time.Duration
}

// defaultEventually is how long an `eventually` check polls unless the comment says
// otherwise (`<!-- test: eventually 3m REGEX -->`).
const defaultEventually = 2 * time.Minute

// directive is `<!-- test: KIND [DURATION] REGEX -->` after a block: KIND expect, eventually,
// fails or fails-eventually; the regexp is Go syntax and may match anywhere in the output.
var directive = regexp.MustCompile(`^<!-- test: (expect|eventually|fails-eventually|fails)(?: ([0-9]+[sm]))? (.*) -->$`)

// mutating are kubectl verbs that change the cluster: a block with an `eventually` check is
// run again and again, so it must not contain them (parse refuses it).
var mutating = regexp.MustCompile(`\bkubectl\s+(apply|create|delete|patch|label|annotate|scale|set|run|expose|taint|cordon|uncordon|drain|rollout\s+(undo|restart|pause|resume)|replace|edit)\b`)

// parse returns the runnable steps of a tutorial. Blocks of other languages (```console
// for what the test does itself, ```text for output shown to the reader, ```yaml) are
// not run.
func parse(doc string) ([]step, error) {
	var steps []step
	sc := bufio.NewScanner(strings.NewReader(doc))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	inBlock, runnable := false, false
	attachable := false // the last block closed was a ```sh block with no comment yet
	var block strings.Builder
	start := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		trimmed := strings.TrimSpace(text)
		switch {
		case inBlock && strings.HasPrefix(trimmed, "```"):
			inBlock, attachable = false, runnable
			if runnable {
				steps = append(steps, step{Line: start, Script: block.String()})
			}
		case inBlock:
			block.WriteString(text + "\n")
		case strings.HasPrefix(trimmed, "```"):
			inBlock, runnable, start = true, strings.TrimSpace(strings.TrimPrefix(trimmed, "```")) == "sh", line
			block.Reset()
		case strings.HasPrefix(trimmed, "<!-- test:"):
			m := directive.FindStringSubmatch(trimmed)
			if m == nil {
				return nil, fmt.Errorf("line %d: %q: want <!-- test: expect|eventually|fails|fails-eventually [DURATION] REGEXP -->", line, trimmed)
			}
			if !attachable {
				return nil, fmt.Errorf("line %d: a test comment must follow a ```sh block, one comment per block", line)
			}
			re, err := regexp.Compile(m[3])
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			attachable = false
			s := &steps[len(steps)-1]
			s.Expect, s.Timeout = re, defaultEventually
			s.Eventually = m[1] == "eventually" || m[1] == "fails-eventually"
			s.Fails = m[1] == "fails" || m[1] == "fails-eventually"
			if s.Eventually && mutating.MatchString(s.Script) {
				return nil, fmt.Errorf("line %d: an eventually check re-runs its block, which changes the cluster (%q): check in a block of its own", line, mutating.FindString(s.Script))
			}
			if m[2] != "" {
				d, err := time.ParseDuration(m[2])
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", line, err)
				}
				s.Timeout = d
			}
		}
	}
	if inBlock {
		return nil, fmt.Errorf("line %d: a code block is not closed", start)
	}
	return steps, sc.Err()
}
