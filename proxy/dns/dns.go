// Package dns is the cluster DNS the proxy serves on every node, answering as CoreDNS's
// kubernetes plugin does for the records pods rely on:
//
//	<svc>.<ns>.svc.<domain>              A: the cluster IP; for a headless Service the ready
//	                                     endpoints' IPs; CNAME for an ExternalName Service
//	<host>.<svc>.<ns>.svc.<domain>       A: the endpoint with that hostname (StatefulSet pods,
//	                                     pods with hostname + subdomain), or <a-b-c-d>
//	_<port>._<proto>.<svc>.<ns>.svc...   SRV for named ports (targets in the additional section)
//	<a-b-c-d>.<ns>.pod.<domain>          A: a-b-c-d
//	<reversed IP>.in-addr.arpa           PTR for Service cluster IPs and named endpoints
//
// Unknown names in the cluster domain get NXDOMAIN (with the zone's SOA, so resolvers cache
// the miss and walk their search list quickly); names that exist with no record of the
// asked type get NOERROR and no answer. Everything else is forwarded to the upstream
// resolvers (the node's resolv.conf); when none answers in time the reply is SERVFAIL.
package dns

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
)

// Lister is what the server answers from: the proxy's informer caches.
type Lister interface {
	Service(namespace, name string) (*core.Service, bool)
	ServiceByClusterIP(ip string) (*core.Service, bool)
	EndpointSlices(namespace, service string) []*discovery.EndpointSlice
	EndpointSlicesByAddress(ip string) []*discovery.EndpointSlice
}

// Config of a Server.
type Config struct {
	// Addr is where to listen, UDP and TCP ("10.96.0.10:53"; port 0 picks one).
	Addr string
	// Domain is the cluster domain (default cluster.local).
	Domain string
	// Upstreams are "ip:port" resolvers for other names; empty answers SERVFAIL.
	Upstreams []string
	// UpstreamTimeout bounds one upstream attempt (default 2s).
	UpstreamTimeout time.Duration
	// TTL of cluster records in seconds (default 5, as CoreDNS).
	TTL    uint32
	Lister Lister
	Log    *slog.Logger
}

// Server is a running DNS server.
type Server struct {
	cfg     Config
	zone    string // "cluster.local."
	udp     *dns.Server
	tcp     *dns.Server
	udpAddr net.Addr
	tcpAddr net.Addr

	requests  *prometheus.CounterVec
	responses *prometheus.CounterVec
	duration  prometheus.Histogram
	fwdErrors prometheus.Counter
}

// Start listens on cfg.Addr (UDP and TCP) and serves until ctx ends or Close.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Domain == "" {
		cfg.Domain = "cluster.local"
	}
	if cfg.UpstreamTimeout <= 0 {
		cfg.UpstreamTimeout = 2 * time.Second
	}
	if cfg.TTL == 0 {
		cfg.TTL = 5
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Lister == nil {
		return nil, errors.New("dns: Config.Lister is required")
	}
	s := &Server{
		cfg:  cfg,
		zone: dns.Fqdn(strings.ToLower(strings.Trim(cfg.Domain, "."))),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "skiff_dns_requests_total",
			Help: "DNS requests, by where they were answered: cluster (from the API) or forward (upstream)."}, []string{"zone"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "skiff_dns_responses_total",
			Help: "DNS responses by rcode."}, []string{"rcode"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "skiff_dns_request_duration_seconds",
			Help: "Time to answer a DNS request.", Buckets: prometheus.ExponentialBuckets(0.00005, 4, 10)}),
		fwdErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "skiff_dns_forward_errors_total",
			Help: "Forwarded requests no upstream answered."}),
	}
	pc, ln, err := listenBoth(cfg.Addr)
	if err != nil {
		return nil, err
	}
	s.udpAddr, s.tcpAddr = pc.LocalAddr(), ln.Addr()
	h := dns.HandlerFunc(s.serve)
	s.udp = &dns.Server{PacketConn: pc, Handler: h, UDPSize: dns.DefaultMsgSize}
	s.tcp = &dns.Server{Listener: ln, Handler: h, ReadTimeout: 5 * time.Second}
	var started sync.WaitGroup
	started.Add(2)
	s.udp.NotifyStartedFunc = started.Done
	s.tcp.NotifyStartedFunc = started.Done
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		go func() {
			if err := srv.ActivateAndServe(); err != nil {
				cfg.Log.Error("dns server stopped", "err", err)
			}
		}()
	}
	started.Wait()
	context.AfterFunc(ctx, s.Close)
	cfg.Log.Info("serving cluster DNS", "addr", s.udpAddr.String(), "domain", cfg.Domain, "upstreams", cfg.Upstreams)
	return s, nil
}

// Addr is the UDP address served (the TCP one is the same).
func (s *Server) Addr() string { return s.udpAddr.String() }

// Close stops serving.
func (s *Server) Close() {
	_ = s.udp.Shutdown()
	_ = s.tcp.Shutdown()
}

// Collectors are the server's metrics.
func (s *Server) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.requests, s.responses, s.duration, s.fwdErrors}
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	start := time.Now()
	var resp *dns.Msg
	tcp := false
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		tcp = true
	}
	switch {
	case len(req.Question) != 1 || req.Opcode != dns.OpcodeQuery:
		resp = new(dns.Msg).SetRcode(req, dns.RcodeFormatError)
	default:
		q := req.Question[0]
		name := strings.ToLower(q.Name)
		switch {
		case dns.IsSubDomain(s.zone, name):
			s.requests.WithLabelValues("cluster").Inc()
			resp = s.cluster(req, q, name)
		default:
			if r := s.reverse(req, q, name); r != nil {
				s.requests.WithLabelValues("cluster").Inc()
				resp = r
			} else {
				s.requests.WithLabelValues("forward").Inc()
				resp = s.forward(req)
			}
		}
	}
	resp.RecursionAvailable = true
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = max(int(opt.UDPSize()), dns.MinMsgSize)
		if resp.IsEdns0() == nil {
			resp.SetEdns0(uint16(min(size, dns.DefaultMsgSize)), false)
		}
	}
	if !tcp {
		resp.Truncate(size)
	}
	s.responses.WithLabelValues(dns.RcodeToString[resp.Rcode]).Inc()
	s.duration.Observe(time.Since(start).Seconds())
	if err := w.WriteMsg(resp); err != nil {
		s.cfg.Log.Debug("dns write", "err", err)
	}
}

// reply starts an authoritative answer to req.
func (s *Server) reply(req *dns.Msg) *dns.Msg {
	m := new(dns.Msg).SetReply(req)
	m.Authoritative = true
	return m
}

func (s *Server) soa() dns.RR {
	return &dns.SOA{Hdr: dns.RR_Header{Name: s.zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: s.cfg.TTL},
		Ns: "ns.dns." + s.zone, Mbox: "hostmaster." + s.zone, Serial: 1, Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: s.cfg.TTL}
}

func (s *Server) nxdomain(req *dns.Msg) *dns.Msg {
	m := s.reply(req)
	m.Rcode = dns.RcodeNameError
	m.Ns = []dns.RR{s.soa()}
	return m
}

// nodata is NOERROR without answers: the name exists, not with that type.
func (s *Server) nodata(req *dns.Msg) *dns.Msg {
	m := s.reply(req)
	m.Ns = []dns.RR{s.soa()}
	return m
}

func (s *Server) hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: s.cfg.TTL}
}

func (s *Server) a(name, ip string) dns.RR {
	return &dns.A{Hdr: s.hdr(name, dns.TypeA), A: net.ParseIP(ip).To4()}
}

// answer builds the response for a name with the given A records (and SRV, if any).
func (s *Server) answer(req *dns.Msg, q dns.Question, ips []string, srv []dns.RR, extra []dns.RR) *dns.Msg {
	m := s.reply(req)
	switch q.Qtype {
	case dns.TypeA, dns.TypeANY:
		for _, ip := range ips {
			m.Answer = append(m.Answer, s.a(q.Name, ip))
		}
	case dns.TypeSRV:
		m.Answer = srv
		m.Extra = extra
	}
	if len(m.Answer) == 0 {
		m.Ns = []dns.RR{s.soa()}
	}
	return m
}

// cluster answers a name in the cluster domain.
func (s *Server) cluster(req *dns.Msg, q dns.Question, name string) *dns.Msg {
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		return s.nxdomain(req)
	}
	rel := strings.TrimSuffix(strings.TrimSuffix(name, s.zone), ".")
	if rel == "" { // the zone apex
		m := s.reply(req)
		if q.Qtype == dns.TypeSOA {
			m.Answer = []dns.RR{s.soa()}
		} else {
			m.Ns = []dns.RR{s.soa()}
		}
		return m
	}
	l := strings.Split(rel, ".")
	n := len(l)
	switch {
	case l[n-1] == "svc" && n == 1, l[n-1] == "pod" && n == 1:
		return s.nodata(req)
	case l[n-1] == "svc" && n == 2: // <ns>.svc
		return s.nodata(req)
	case l[n-1] == "svc" && n == 3:
		return s.service(req, q, l[1], l[0])
	case l[n-1] == "svc" && n == 4:
		return s.endpoint(req, q, l[2], l[1], l[0])
	case l[n-1] == "svc" && n == 5 && strings.HasPrefix(l[0], "_") && strings.HasPrefix(l[1], "_"):
		return s.portSRV(req, q, l[3], l[2], l[0][1:], l[1][1:])
	case l[n-1] == "pod" && n == 3:
		ip, ok := dashedIP(l[0])
		if !ok {
			return s.nxdomain(req)
		}
		return s.answer(req, q, []string{ip}, nil, nil)
	}
	return s.nxdomain(req)
}

func dashedIP(label string) (string, bool) {
	a, err := netip.ParseAddr(strings.ReplaceAll(label, "-", "."))
	if err != nil || !a.Is4() {
		return "", false
	}
	return a.String(), true
}

func dashed(ip string) string { return strings.ReplaceAll(ip, ".", "-") }

func headless(svc *core.Service) bool { return svc.Spec.ClusterIP == core.ClusterIPNone }

// readyEndpoint is one endpoint address DNS publishes.
type readyEndpoint struct {
	ip, hostname string
	ports        []discovery.EndpointPort
}

// endpoints are the ready IPv4 endpoints of a Service, sorted by IP, each once.
func (s *Server) endpoints(ns, svc string) []readyEndpoint {
	var out []readyEndpoint
	seen := map[string]int{}
	for _, sl := range s.cfg.Lister.EndpointSlices(ns, svc) {
		if sl.AddressType != discovery.AddressTypeIPv4 {
			continue
		}
		for _, e := range sl.Endpoints {
			if len(e.Addresses) == 0 || (e.Conditions.Ready != nil && !*e.Conditions.Ready) {
				continue
			}
			ip := e.Addresses[0]
			if i, ok := seen[ip]; ok {
				out[i].ports = append(out[i].ports, sl.Ports...)
				continue
			}
			re := readyEndpoint{ip: ip, ports: slices.Clone(sl.Ports)}
			if e.Hostname != nil {
				re.hostname = strings.ToLower(*e.Hostname)
			}
			seen[ip] = len(out)
			out = append(out, re)
		}
	}
	slices.SortFunc(out, func(a, b readyEndpoint) int {
		return netip.MustParseAddr(a.ip).Compare(netip.MustParseAddr(b.ip))
	})
	return out
}

func (e readyEndpoint) label() string {
	if e.hostname != "" {
		return e.hostname
	}
	return dashed(e.ip)
}

func (s *Server) svcName(ns, svc string) string { return svc + "." + ns + ".svc." + s.zone }

func (s *Server) service(req *dns.Msg, q dns.Question, ns, name string) *dns.Msg {
	svc, ok := s.cfg.Lister.Service(ns, name)
	if !ok {
		return s.nxdomain(req)
	}
	if svc.Spec.Type == core.ServiceTypeExternalName {
		return s.cname(req, q, dns.Fqdn(strings.ToLower(svc.Spec.ExternalName)))
	}
	var srv, extra []dns.RR
	if headless(svc) {
		eps := s.endpoints(ns, name)
		var ips []string
		for _, e := range eps {
			ips = append(ips, e.ip)
			if q.Qtype == dns.TypeSRV {
				target := e.label() + "." + s.svcName(ns, name)
				for _, p := range e.ports {
					if p.Port != nil {
						srv = append(srv, &dns.SRV{Hdr: s.hdr(q.Name, dns.TypeSRV), Priority: 0, Weight: 100, Port: uint16(*p.Port), Target: target})
					}
				}
				extra = append(extra, s.a(target, e.ip))
			}
		}
		return s.answer(req, q, ips, srv, extra)
	}
	if !isIPv4(svc.Spec.ClusterIP) {
		return s.nodata(req)
	}
	target := s.svcName(ns, name)
	for _, p := range svc.Spec.Ports {
		srv = append(srv, &dns.SRV{Hdr: s.hdr(q.Name, dns.TypeSRV), Priority: 0, Weight: 100, Port: uint16(p.Port), Target: target})
	}
	if len(srv) > 0 {
		extra = []dns.RR{s.a(target, svc.Spec.ClusterIP)}
	}
	return s.answer(req, q, []string{svc.Spec.ClusterIP}, srv, extra)
}

// cname answers with a CNAME to target and, as a recursive server would, target's own
// records of the asked type (from the cluster or the upstreams).
func (s *Server) cname(req *dns.Msg, q dns.Question, target string) *dns.Msg {
	m := s.reply(req)
	m.Answer = []dns.RR{&dns.CNAME{Hdr: s.hdr(q.Name, dns.TypeCNAME), Target: target}}
	if q.Qtype == dns.TypeCNAME {
		return m
	}
	sub := new(dns.Msg)
	sub.SetQuestion(target, q.Qtype)
	sub.RecursionDesired = true
	var r *dns.Msg
	if dns.IsSubDomain(s.zone, target) {
		if len(req.Question) > 0 && strings.EqualFold(req.Question[0].Name, target) {
			return m // a loop
		}
		r = s.cluster(sub, sub.Question[0], target)
	} else if len(s.cfg.Upstreams) > 0 {
		r = s.forward(sub)
	}
	if r != nil && r.Rcode == dns.RcodeSuccess {
		m.Answer = append(m.Answer, r.Answer...)
	}
	return m
}

// endpoint answers <host>.<svc>.<ns>.svc: the endpoint named host (hostname, or its
// dashed IP).
func (s *Server) endpoint(req *dns.Msg, q dns.Question, ns, name, host string) *dns.Msg {
	if _, ok := s.cfg.Lister.Service(ns, name); !ok {
		return s.nxdomain(req)
	}
	var ips []string
	for _, e := range s.endpoints(ns, name) {
		if e.hostname == host || dashed(e.ip) == host {
			ips = append(ips, e.ip)
		}
	}
	if len(ips) == 0 {
		return s.nxdomain(req)
	}
	return s.answer(req, q, ips, nil, nil)
}

// portSRV answers _<port>._<proto>.<svc>.<ns>.svc.
func (s *Server) portSRV(req *dns.Msg, q dns.Question, ns, name, port, proto string) *dns.Msg {
	svc, ok := s.cfg.Lister.Service(ns, name)
	if !ok || svc.Spec.Type == core.ServiceTypeExternalName {
		return s.nxdomain(req)
	}
	var sp *core.ServicePort
	for i, p := range svc.Spec.Ports {
		pr := p.Protocol
		if pr == "" {
			pr = core.ProtocolTCP
		}
		if p.Name != "" && strings.EqualFold(p.Name, port) && strings.EqualFold(string(pr), proto) {
			sp = &svc.Spec.Ports[i]
		}
	}
	if sp == nil {
		return s.nxdomain(req)
	}
	var srv, extra []dns.RR
	var ips []string
	if headless(svc) {
		for _, e := range s.endpoints(ns, name) {
			for _, p := range e.ports {
				if p.Name != nil && *p.Name == sp.Name && p.Port != nil {
					target := e.label() + "." + s.svcName(ns, name)
					srv = append(srv, &dns.SRV{Hdr: s.hdr(q.Name, dns.TypeSRV), Weight: 100, Port: uint16(*p.Port), Target: target})
					extra = append(extra, s.a(target, e.ip))
					ips = append(ips, e.ip)
					break
				}
			}
		}
	} else if isIPv4(svc.Spec.ClusterIP) {
		target := s.svcName(ns, name)
		srv = []dns.RR{&dns.SRV{Hdr: s.hdr(q.Name, dns.TypeSRV), Weight: 100, Port: uint16(sp.Port), Target: target}}
		extra = []dns.RR{s.a(target, svc.Spec.ClusterIP)}
		ips = []string{svc.Spec.ClusterIP}
	}
	return s.answer(req, q, ips, srv, extra)
}

func isIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// reverse answers a PTR query for a Service IP or a named endpoint; nil when the address
// is not the cluster's (the query is then forwarded).
func (s *Server) reverse(req *dns.Msg, q dns.Question, name string) *dns.Msg {
	if q.Qtype != dns.TypePTR || !strings.HasSuffix(name, ".in-addr.arpa.") {
		return nil
	}
	l := strings.Split(strings.TrimSuffix(name, ".in-addr.arpa."), ".")
	if len(l) != 4 {
		return nil
	}
	slices.Reverse(l)
	ip, ok := dashedIP(strings.Join(l, "-"))
	if !ok {
		return nil
	}
	var target string
	if svc, ok := s.cfg.Lister.ServiceByClusterIP(ip); ok {
		target = s.svcName(svc.Namespace, svc.Name)
	} else {
		for _, sl := range s.cfg.Lister.EndpointSlicesByAddress(ip) {
			svcName := sl.Labels["kubernetes.io/service-name"]
			for _, e := range sl.Endpoints {
				if len(e.Addresses) > 0 && e.Addresses[0] == ip && e.Hostname != nil && svcName != "" {
					target = strings.ToLower(*e.Hostname) + "." + s.svcName(sl.Namespace, svcName)
				}
			}
		}
	}
	if target == "" {
		return nil
	}
	m := s.reply(req)
	m.Answer = []dns.RR{&dns.PTR{Hdr: s.hdr(q.Name, dns.TypePTR), Ptr: target}}
	return m
}

// forward asks the upstreams in turn, over UDP (TCP when the answer is truncated); the
// first answer wins.
func (s *Server) forward(req *dns.Msg) *dns.Msg {
	for _, up := range s.cfg.Upstreams {
		c := &dns.Client{Net: "udp", Timeout: s.cfg.UpstreamTimeout, UDPSize: dns.DefaultMsgSize}
		resp, _, err := c.Exchange(req, up)
		if err == nil && resp.Truncated {
			c.Net = "tcp"
			resp, _, err = c.Exchange(req, up)
		}
		if err == nil {
			resp.Id = req.Id
			return resp
		}
		s.cfg.Log.Debug("dns upstream failed", "upstream", up, "name", req.Question[0].Name, "err", err)
	}
	s.fwdErrors.Inc()
	return new(dns.Msg).SetRcode(req, dns.RcodeServerFailure)
}

// Upstreams reads the nameservers of a resolv.conf as "ip:port", leaving out any of
// exclude (the cluster DNS itself: forwarding to it would loop).
func Upstreams(resolvConf string, exclude ...string) []string {
	cc, err := dns.ClientConfigFromFile(resolvConf)
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range cc.Servers {
		if slices.Contains(exclude, s) {
			continue
		}
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	return out
}

// listenBoth listens on addr over UDP and TCP on the same port. With port 0 the TCP
// listener takes the port UDP got, which another program may hold over TCP: then it tries
// another port.
func listenBoth(addr string) (net.PacketConn, net.Listener, error) {
	_, port, _ := net.SplitHostPort(addr)
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || attempt == 10 {
			return nil, nil, err
		}
	}
}
