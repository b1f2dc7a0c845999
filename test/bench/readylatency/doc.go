// Package readylatency measures the time from an EndpointSlice endpoint becoming ready to
// the first connection through its Service's ClusterIP succeeding, with the real proxy
// (in-process, against an in-process API server) programming a network namespace made for
// the run. It is a benchmark, not a test (go test runs none of it without -bench); it
// needs root. See readylatency_test.go and docs/PERFORMANCE.md.
package readylatency
