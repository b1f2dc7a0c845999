package launcher

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/skiff-sh/skiff/pki"
)

// InitOptions configure Init.
type InitOptions struct {
	// DataDir is the control plane's directory (default /var/lib/skiff, where the systemd
	// units in deploy/systemd look).
	DataDir string
	// AdvertiseAddress is the IP of this machine the other machines reach the API server at.
	AdvertiseAddress string
	// Port is the API server's port (default 6443).
	Port int
	// EtcdMembers, if any, are an external etcd cluster (skiff-etcd.service on each): Init
	// writes its PKI and each member's files (writeEtcdMembers), and the API server uses it
	// instead of its embedded etcd.
	EtcdMembers []EtcdMember
	// EtcdServers, without EtcdMembers, are an external etcd cluster whose CA and client
	// certificate are already in DATA/pki (a second control-plane machine, FetchCerts).
	EtcdServers []string
	Out         io.Writer
}

// Init prepares the control-plane machine of a cluster whose programs run as systemd
// services (`skiff init`, like kubeadm init's certificate and kubeconfig phases): the
// cluster CA and every certificate the control plane needs (DATA/pki), the controller
// manager's and scheduler's kubeconfigs (DATA/kubeconfigs), the administrator's (DATA/kubeconfig)
// and DATA/skiff.env, the settings the units read. It starts nothing: the units do
// (deploy/systemd). Run again, it keeps the CA and reissues only what changed.
func Init(o InitOptions) error {
	if o.DataDir == "" {
		o.DataDir = "/var/lib/skiff"
	}
	if o.Port == 0 {
		o.Port = 6443
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	ip := net.ParseIP(o.AdvertiseAddress)
	if ip == nil {
		return fmt.Errorf("--advertise-address %q: give the IP address of this machine that the workers reach it at", o.AdvertiseAddress)
	}
	if ip.IsLoopback() || ip.IsUnspecified() {
		return errors.New("--advertise-address must be an address other machines reach, not loopback or 0.0.0.0")
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return err
	}
	sec, err := openClusterPKI(o.DataDir)
	if err != nil {
		return err
	}
	if _, err := sec.apiServerArgs(ip); err != nil {
		return err
	}
	port := strconv.Itoa(o.Port)
	local := "https://" + net.JoinHostPort("127.0.0.1", port)
	public := "https://" + net.JoinHostPort(ip.String(), port)
	if err := sec.kubeconfig(filepath.Join(o.DataDir, "kubeconfig"), pki.AdminName, public, pki.Admin); err != nil {
		return err
	}
	// The controller manager and scheduler run beside the API server: loopback.
	if _, err := sec.component(pki.ControllerManagerName, local, pki.ControllerManager); err != nil {
		return err
	}
	if _, err := sec.component(pki.SchedulerName, local, pki.Scheduler); err != nil {
		return err
	}
	var etcdFlags string
	if len(o.EtcdMembers) > 0 {
		if etcdFlags, err = writeEtcdMembers(o.DataDir, o.EtcdMembers); err != nil {
			return err
		}
	} else if len(o.EtcdServers) > 0 {
		etcdFlags = etcdArgs(o.DataDir, o.EtcdServers)
	}
	// SKIFF_ETCD_ARGS is empty for the embedded etcd: skiff-apiserver.service's $SKIFF_ETCD_ARGS
	// is then no argument at all.
	env := fmt.Sprintf("# Written by skiff init; read by the skiff-* systemd units.\nSKIFF_ADVERTISE_ADDRESS=%s\nSKIFF_PORT=%s\nSKIFF_ETCD_ARGS=%s\n", ip, port, etcdFlags)
	if err := os.WriteFile(filepath.Join(o.DataDir, "skiff.env"), []byte(env), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, `skiff init: the control plane's certificates and kubeconfigs are in %s.
Start it:
  systemctl enable --now skiff-apiserver skiff-controller-manager skiff-scheduler
Then make the command the workers join with:
  skiff token create --kubeconfig %s --print-join-command
`, o.DataDir, filepath.Join(o.DataDir, "kubeconfig"))
	if len(o.EtcdMembers) > 0 {
		fmt.Fprintf(o.Out, "Before the API server: copy %s/NAME/ to etcd member NAME's /var/lib/skiff/ and start skiff-etcd there.\n",
			filepath.Join(o.DataDir, etcdMembersSubdir))
	}
	return nil
}
