// Command skiff-pause is the first process of every pod sandbox: it holds the pod's
// namespaces (network, IPC, UTS) for the app containers that join them, reaps zombies
// when it is the pod's PID 1, and exits on SIGINT or SIGTERM. It imports nothing that
// needs cgo, so it builds as a static binary and runs in an image with no libc.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
