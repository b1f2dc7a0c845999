package probes

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// maxOutput bounds what a probe's output contributes to an event.
const maxOutput = 10 << 10

// RuntimeRunner probes real containers: exec through the runtime, HTTP, TCP and gRPC to
// the pod's IP (or the host given in the probe).
type RuntimeRunner struct {
	Runtime runtime.Runtime
	// PodIP returns the pod's current IP.
	PodIP func(pod *core.Pod) string
}

func (r *RuntimeRunner) Run(ctx context.Context, _ Kind, pod *core.Pod, c *core.Container, id string, h *core.ProbeHandler) (bool, string) {
	switch {
	case h.Exec != nil:
		return Exec(ctx, r.Runtime, id, h.Exec.Command)
	case h.HTTPGet != nil:
		return HTTPGet(ctx, h.HTTPGet, r.PodIP(pod), c)
	case h.TCPSocket != nil:
		host := h.TCPSocket.Host
		if host == "" {
			host = r.PodIP(pod)
		}
		port, err := resolvePort(h.TCPSocket.Port, c)
		if err != nil {
			return false, err.Error()
		}
		return TCP(ctx, host, port)
	case h.GRPC != nil:
		svc := ""
		if h.GRPC.Service != nil {
			svc = *h.GRPC.Service
		}
		return GRPC(ctx, r.PodIP(pod), int(h.GRPC.Port), svc)
	}
	return false, "probe has no handler"
}

// Exec runs cmd in the container; exit code 0 passes.
func Exec(ctx context.Context, rt runtime.Runtime, id string, cmd []string) (bool, string) {
	timeout := time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	res, err := rt.ExecSync(ctx, id, cmd, timeout)
	if err != nil {
		if ctx.Err() != nil {
			return false, fmt.Sprintf("command %q timed out", strings.Join(cmd, " "))
		}
		return false, err.Error()
	}
	out := string(res.Output)
	if res.ExitCode != 0 && out == "" {
		out = fmt.Sprintf("command %q exited with %d", strings.Join(cmd, " "), res.ExitCode)
	}
	return res.ExitCode == 0, out
}

// HTTPGet passes on a status from 200 to 399. Redirects to the same host are followed.
func HTTPGet(ctx context.Context, a *core.HTTPGetAction, podIP string, c *core.Container) (bool, string) {
	host := a.Host
	if host == "" {
		host = podIP
	}
	port, err := resolvePort(a.Port, c)
	if err != nil {
		return false, err.Error()
	}
	scheme := strings.ToLower(string(a.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := a.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
	if p, q, ok := strings.Cut(path, "?"); ok {
		u.Path, u.RawQuery = p, q
	} else {
		u.Path = path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("User-Agent", "kube-probe/1.33")
	req.Header.Set("Accept", "*/*")
	for _, h := range a.HTTPHeaders {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	client := &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as the kubelet does
			DisableKeepAlives: true,
			Proxy:             nil,
		},
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if r.URL.Hostname() != u.Hostname() || len(via) >= 10 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxOutput))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return true, string(body)
	}
	return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
}

// TCP passes when a connection opens.
func TCP(ctx context.Context, host string, port int) (bool, string) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false, err.Error()
	}
	conn.Close()
	return true, ""
}

// GRPC asks the standard health service; SERVING passes.
func GRPC(ctx context.Context, host string, port int, service string) (bool, string) {
	conn, err := grpc.NewClient(net.JoinHostPort(host, strconv.Itoa(port)),
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithUserAgent("kube-probe/1.33"))
	if err != nil {
		return false, err.Error()
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return false, fmt.Sprintf("failed to connect service %q within %v: %v", net.JoinHostPort(host, strconv.Itoa(port)), ctxTimeout(ctx), err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return false, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus())
	}
	return true, ""
}

func ctxTimeout(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl).Round(time.Second)
	}
	return 0
}

// resolvePort turns a numbered or named port into a number, looking names up in the
// container's ports.
func resolvePort(p intstr.IntOrString, c *core.Container) (int, error) {
	if p.Type == intstr.Int {
		return int(p.IntVal), nil
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	if c != nil {
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				return int(cp.ContainerPort), nil
			}
		}
	}
	return 0, fmt.Errorf("couldn't find port %q in container", p.StrVal)
}

// ResolvePort is resolvePort for hooks.
func ResolvePort(p intstr.IntOrString, c *core.Container) (int, error) { return resolvePort(p, c) }

// Annotations the sim runner reads. The value "fail" fails the probe, anything else (or
// no annotation) passes; a container-specific annotation wins over the pod-wide one:
//
//	sim.skiff.sh/readiness-probe: fail         every readiness probe of the pod fails
//	sim.skiff.sh/liveness-probe.web: fail      the liveness probe of container web fails
const SimAnnotationPrefix = "sim.skiff.sh/"

// SimRunner decides probes of simulated containers from the pod's annotations, which can
// be changed while the pod runs (kubectl annotate).
type SimRunner struct{}

func (SimRunner) Run(_ context.Context, kind Kind, pod *core.Pod, c *core.Container, _ string, _ *core.ProbeHandler) (bool, string) {
	key := SimAnnotationPrefix + strings.ToLower(string(kind)) + "-probe"
	v, ok := pod.Annotations[key+"."+c.Name]
	if !ok {
		v = pod.Annotations[key]
	}
	if v == "fail" {
		return false, "simulated failure (annotation " + key + ")"
	}
	return true, ""
}
