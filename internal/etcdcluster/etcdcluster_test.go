package etcdcluster

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// start runs member i of s until the test ends.
func start(t *testing.T, s *Spec, i int) {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(bin, s.Args(i, true)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

func TestClusterFormsAndSpecIsKept(t *testing.T) {
	dir := t.TempDir()
	s, err := LoadOrCreate(dir, 3, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.Members {
		start(t, s, i)
	}
	for i := range s.Members {
		if err := s.WaitHealthy(context.Background(), i, time.Minute, nil); err != nil {
			t.Fatal(err)
		}
	}
	again, err := LoadOrCreate(dir, 3, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if again.InitialCluster() != s.InitialCluster() || again.Token != s.Token {
		t.Errorf("the spec read back differs: %s %s, was %s %s", again.InitialCluster(), again.Token, s.InitialCluster(), s.Token)
	}
	if _, err := LoadOrCreate(dir, 5, "127.0.0.1"); err == nil || !strings.Contains(err.Error(), "has 3 members, not 5") {
		t.Errorf("another member count: err = %v", err)
	}
}

// A member whose peers are not there never gets a leader: the error says it cannot reach
// them and names them.
func TestMemberWithoutPeers(t *testing.T) {
	s, err := LoadOrCreate(t.TempDir(), 3, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	start(t, s, 0)
	err = s.WaitHealthy(context.Background(), 0, 3*time.Second, nil)
	if err == nil {
		t.Fatal("a member alone of three reported healthy")
	}
	for _, want := range []string{"cannot reach a quorum of its peers", "m1 at " + s.Members[1].PeerURL, "m2 at "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// A member that never started: it does not answer.
	err = s.WaitHealthy(context.Background(), 1, time.Second, nil)
	if err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("a member never started: err = %v", err)
	}
}
