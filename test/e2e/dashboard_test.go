package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/test/cdp"
	"github.com/skiff-sh/skiff/test/harness"
)

// startDashboard runs `skiff dashboard` for cluster c and returns the URL it prints.
func startDashboard(t *testing.T, c *harness.Cluster) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(harness.Binaries(t), "skiff"), "dashboard", "--data-dir", c.DataDir,
		"--port", strconv.Itoa(harness.FreePort(t)))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(c.DataDir, "dashboard.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case line <- sc.Text():
			default:
			}
		}
	}()
	select {
	case l := <-line:
		// "skiff dashboard: http://127.0.0.1:PORT/ (cluster https://...; Ctrl-C stops it)"
		for _, f := range strings.Fields(l) {
			if strings.HasPrefix(f, "http://127.0.0.1:") {
				return f
			}
		}
		t.Fatalf("no URL in %q", l)
	case <-time.After(time.Minute):
		b, _ := os.ReadFile(logf.Name())
		t.Fatalf("skiff dashboard printed no URL within a minute:\n%s", b)
	}
	return ""
}

// openBrowser starts headless chromium (skipping the test when there is none) and opens a
// projector-sized page.
func openBrowser(t *testing.T, ctx context.Context) *cdp.Page {
	t.Helper()
	chromium, err := cdp.FindChromium()
	if err != nil {
		t.Skip(err)
	}
	b, err := cdp.Launch(ctx, chromium)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	p, err := b.NewPage(ctx, 1280, 800)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func waitPage(t *testing.T, ctx context.Context, p *cdp.Page, what, expr string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := p.WaitFor(wctx, expr, 100*time.Millisecond); err != nil {
		var html string
		_ = p.Eval(ctx, `document.body.innerText`, &html)
		t.Fatalf("%s: %v\npage text:\n%s", what, err, html)
	}
}

// screenshot saves the page to $SKIFF_SCREENSHOTS/name when that is set (how docs/ gets its
// pictures).
func screenshot(t *testing.T, ctx context.Context, p *cdp.Page, name string) {
	dir := os.Getenv("SKIFF_SCREENSHOTS")
	if dir == "" {
		return
	}
	if err := p.Screenshot(ctx, filepath.Join(dir, name)); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
}

// TestDashboard drives the dashboard in a real headless browser against `skiff up --runtime
// sim`: the node list with the pods, a pod's journey page, a new pod appearing without a
// reload, and the page saying it is disconnected while the cluster is down and catching up
// once it is back.
func TestDashboard(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p := openBrowser(t, ctx)
	c := harness.Up(t, "", "--runtime", "sim", "--nodes", "2")
	c.Kubectl.Run(t, "create", "deployment", "web", "--image=nginx", "--replicas=2")
	c.Kubectl.Run(t, "expose", "deployment", "web", "--port=80")
	url := startDashboard(t, c)

	// The node list: every node, each with its pods, linked to their journeys.
	if err := p.Navigate(ctx, url); err != nil {
		t.Fatal(err)
	}
	waitPage(t, ctx, p, "two nodes and both web pods on them, ready",
		`document.querySelectorAll('[data-node]').length === 2 &&
		 [...document.querySelectorAll('[data-node] [data-pod^="default/web-"] .badge')].filter(b => b.textContent === "Running").length === 2`)
	var nodes []string
	if err := p.Eval(ctx, `[...document.querySelectorAll('[data-node]')].map(n => n.dataset.node)`, &nodes); err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(c.Kubectl.Run(t, "get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"))
	slices.Sort(want)
	if !slices.Equal(nodes, want) {
		t.Fatalf("nodes on the page %v, kubectl says %v", nodes, want)
	}
	waitPage(t, ctx, p, "the chains: web's ReplicaSet with 2 pods, web's EndpointSlice with 2 ready pods",
		`document.querySelectorAll('[data-deployment="default/web"] [data-pod]').length === 2 &&
		 document.querySelectorAll('[data-service="default/web"] li.endpoint.ready [data-pod^="default/web-"]').length === 2`)
	screenshot(t, ctx, p, "dashboard-cluster.png")

	// A pod's journey: every stage reached, with the scheduler's reasons.
	var podPath string
	if err := p.Eval(ctx, `document.querySelector('[data-node] [data-pod^="default/web-"] a').getAttribute("href")`, &podPath); err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, strings.TrimSuffix(url, "/")+podPath); err != nil {
		t.Fatal(err)
	}
	waitPage(t, ctx, p, "the journey with every stage done",
		`(() => { const s = [...document.querySelectorAll('#journey li')];
		  const done = st => s.some(li => li.dataset.stage === st && li.classList.contains("done"));
		  return ["created","admitted","scheduled","sandbox","image","started","ready"].every(done) })()`)
	var scheduled string
	if err := p.Eval(ctx, `document.querySelector('#journey li[data-stage="scheduled"]').innerText`, &scheduled); err != nil {
		t.Fatal(err)
	}
	pod := podPath[strings.LastIndex(podPath, "/")+1:]
	node := strings.TrimSpace(c.Kubectl.Run(t, "get", "pod", pod, "-o", "jsonpath={.spec.nodeName}"))
	for _, w := range []string{"Scheduled to " + node, "by default-scheduler", "why: highest total score", "filters: 2 of 2 node(s) evaluated, 2 feasible", "score " + node} {
		if !strings.Contains(scheduled, w) {
			t.Errorf("scheduled step lacks %q:\n%s", w, scheduled)
		}
	}
	var created string
	if err := p.Eval(ctx, `document.querySelector('#journey li[data-stage="created"]').innerText`, &created); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(created, "Created by ReplicaSet web-") {
		t.Errorf("created step: %s", created)
	}
	waitPage(t, ctx, p, "the pod's events listed", `document.querySelector('#events') && document.querySelector('#events').innerText.includes("Successfully assigned default/`+pod+` to `+node+`")`)
	screenshot(t, ctx, p, "dashboard-journey.png")

	// Live: a pod created now appears on the open page, with no reload (a mark set in the
	// page survives).
	if err := p.Navigate(ctx, url); err != nil {
		t.Fatal(err)
	}
	waitPage(t, ctx, p, "the cluster page", `document.querySelectorAll('[data-node]').length === 2`)
	if err := p.Eval(ctx, `window.notReloaded = true`, nil); err != nil {
		t.Fatal(err)
	}
	c.Kubectl.Run(t, "run", "live", "--image=nginx")
	waitPage(t, ctx, p, "the new pod on a node without a reload",
		`window.notReloaded === true && document.querySelector('[data-node] [data-pod="default/live"]') !== null`)

	// The cluster goes away: the page says so; it comes back: the page is live again and
	// shows what changed meanwhile.
	if err := c.Stop(t); err != nil {
		t.Fatal(err)
	}
	waitPage(t, ctx, p, "the page saying disconnected",
		`document.body.dataset.connected === "false" && document.getElementById("conn").textContent.includes("disconnected")`)
	screenshot(t, ctx, p, "dashboard-disconnected.png")
	c.Start(t)
	pods := client.For[core.Pod](c.Client(t), client.Resource{Version: "v1", Resource: "pods", Namespaced: true})
	_, err := pods.Create(ctx, &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "after", Namespace: "default"},
		Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "nginx"}}}})
	if err != nil {
		t.Fatal(err)
	}
	waitPage(t, ctx, p, "the page live again with the pod created after the restart",
		`window.notReloaded === true && document.body.dataset.connected === "true" && document.querySelector('[data-pod="default/after"]') !== null`)
}

// TestDashboardLatency measures how long a new pod takes to show on an open dashboard page:
// from just before the create request to the moment the page put it into its DOM (the
// page records Date.now() per pod in window.skiffSeen as it builds the pod's element). The reference, in the same run, is a plain
// API watch: from the same instant to the pod's ADDED event. Not a check (no timing
// thresholds in tests): SKIFF_DASHBOARD_LATENCY=1 runs it and it logs the numbers for
// docs/PERFORMANCE.md.
func TestDashboardLatency(t *testing.T) {
	if os.Getenv("SKIFF_DASHBOARD_LATENCY") == "" {
		t.Skip("a measurement: SKIFF_DASHBOARD_LATENCY=1 runs it")
	}
	const n = 30
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p := openBrowser(t, ctx)
	c := harness.Up(t, "", "--runtime", "sim", "--nodes", "2")
	url := startDashboard(t, c)
	if err := p.Navigate(ctx, url); err != nil {
		t.Fatal(err)
	}
	waitPage(t, ctx, p, "the cluster page", `document.querySelectorAll('[data-node]').length === 2`)
	pods := client.For[core.Pod](c.Client(t), client.Resource{Version: "v1", Resource: "pods", Namespaced: true})
	w, err := pods.Watch(ctx, "default", client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var page, watch []time.Duration
	for i := range n {
		name := fmt.Sprintf("lat-%d", i)
		start := time.Now()
		if _, err := pods.Create(ctx, &core.Pod{ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "default"},
			Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "nginx"}}}}); err != nil {
			t.Fatal(err)
		}
		for ev := range w.ResultChan() {
			if ev.Type == meta.Added && ev.Object.Name == name {
				watch = append(watch, time.Since(start))
				break
			}
		}
		key := "default/" + name
		waitPage(t, ctx, p, key+" on the page", fmt.Sprintf(`window.skiffSeen[%q] !== undefined`, key))
		var seenMs int64
		if err := p.Eval(ctx, fmt.Sprintf(`window.skiffSeen[%q]`, key), &seenMs); err != nil {
			t.Fatal(err)
		}
		page = append(page, time.UnixMilli(seenMs).Sub(start))
		time.Sleep(200 * time.Millisecond) // let the pod's own updates (bound, running) pass, so each sample starts quiet
	}
	p50 := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)/2]
	}
	t.Logf("page (create → drawn), ms: %v", page)
	t.Logf("watch (create → ADDED), ms: %v", watch)
	t.Logf("p50: page %v, plain watch %v, page − watch %v, page ÷ watch %.2f", p50(page), p50(watch), p50(page)-p50(watch),
		float64(p50(page))/float64(p50(watch)))
}
