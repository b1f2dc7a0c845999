package leaderelection

import (
	"crypto/rand"
	"encoding/hex"
	"os"
)

// DefaultIdentity is a candidate's identity when none is configured, as Kubernetes'
// components make it: the host name and a random suffix, so two processes on one host
// (a restart overlapping its predecessor) are told apart.
func DefaultIdentity() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "_" + hex.EncodeToString(b[:])
}
