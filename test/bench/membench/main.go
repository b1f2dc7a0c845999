// Command membench measures the API server's memory (with its embedded etcd, in one process
// as skiff-apiserver runs them) after many updates of one large object — the reliability
// issue's "300 updates of a 900 KB ConfigMap took the server from 1.4 GB to 4.1 GB" — and
// after that object is deleted. It reports RSS and the Go heap in use, with the bound the
// server keeps: the watch cache holds at most 64 MiB of history per kind, plus the live
// objects. It is a benchmark, not a test.
//
//	go run ./test/bench/membench [-updates 300] [-size 900000]
package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/skiff-sh/skiff/test/bench/internal/benchapi"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/storage"
)

var (
	updates = flag.Int("updates", 300, "updates of the large ConfigMap")
	size    = flag.Int("size", 900_000, "bytes of data in the ConfigMap")
)

func main() {
	flag.Parse()
	dir, err := os.MkdirTemp("", "membench-")
	benchapi.Check("membench", err)
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchapi.Check("membench", os.MkdirAll(filepath.Join(dir, "etcd"), 0o700))
	e, err := storage.StartEmbedded(ctx, filepath.Join(dir, "etcd"), storage.EmbeddedOptions{})
	benchapi.Check("membench", err)
	defer e.Close()
	defer cancel()
	api, err := apiserver.New(ctx, apiserver.Config{Insecure: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		storage.NewEtcd(e.Client(), storage.EtcdOptions{}))
	benchapi.Check("membench", err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	benchapi.Check("membench", err)
	go http.Serve(ln, api.Handler())
	base := "http://" + ln.Addr().String() + "/api/v1/namespaces/default/configmaps"

	report := func(what string) {
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("  %-44s RSS %6.0f MiB   Go heap in use %6.0f MiB\n", what, rssMiB(), float64(ms.HeapInuse)/(1<<20))
	}
	fmt.Printf("membench: %d updates of a %d-byte ConfigMap (embedded etcd and API server in one process)\n", *updates, *size)
	report("started")
	data := strings.Repeat("x", *size)
	benchapi.Check("membench", benchapi.Post(http.DefaultClient, base, fmt.Sprintf(`{"metadata":{"name":"big"},"data":{"d":%q}}`, data)))
	start := time.Now()
	for i := 0; i < *updates; i++ {
		// Each update changes the value, so etcd keeps a new revision of the whole object.
		d := strconv.Itoa(i) + data[len(strconv.Itoa(i)):]
		benchapi.Check("membench", benchapi.Put(http.DefaultClient, base+"/big", fmt.Sprintf(`{"metadata":{"name":"big"},"data":{"d":%q}}`, d)))
	}
	fmt.Printf("  (%d updates in %s)\n", *updates, time.Since(start).Round(time.Millisecond))
	report(fmt.Sprintf("after %d updates", *updates))
	benchapi.Check("membench", benchapi.Do(http.DefaultClient, "DELETE", base+"/big", "", 200))
	report("after the delete")
	fmt.Printf("  bound: watch history ≤ 64 MiB per kind (%d updates × %d B = %d MiB written)\n", *updates, *size, *updates**size>>20)
}

func rssMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	benchapi.Check("membench", err)
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
