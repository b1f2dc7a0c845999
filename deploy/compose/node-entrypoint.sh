#!/bin/bash
# A skiff node in a container: check what the node needs from the container and the kernel
# (each failure says what is wrong and how to fix it, and nothing is started), then run
# skiff-nodeagent (which starts containerd) and skiff-proxy; stop both, and remove the
# node's containers and pod cgroups, when the container is stopped.
set -u
NAME=${SKIFF_NODE_NAME:-$(hostname)}
CLUSTER=/var/lib/skiff/cluster   # the pki service's files (read-only)
DATA=/var/lib/skiff/node         # this node's volume: containerd, pods, logs
CGROUP_ROOT=/skiff-compose-$NAME

fail() {
	echo "skiff node $NAME: $*" >&2
	exit 1
}

check() {
	# Privileges: the node mounts filesystems, creates network namespaces and writes sysctls.
	# Without `privileged: true` Docker mounts /proc/sys read-only; CAP_SYS_ADMIN (and no
	# AppArmor confinement) may make it writable again, as privileged would have it.
	[ -w /proc/sys/net/ipv4/ip_forward ] || mount -o remount,rw /proc/sys 2>/dev/null || true
	if ! echo 1 2>/dev/null >/proc/sys/net/ipv4/ip_forward; then
		fail "this container is not privileged (/proc/sys is read-only, so IP forwarding cannot be turned on): run it with 'privileged: true' (or, as deploy/compose/docker-compose.yml does, the capabilities and security options listed there), or 'docker run --privileged'"
	fi
	if ! grep -qw overlay /proc/filesystems && ! modprobe overlay 2>/dev/null; then
		fail "the kernel has no overlay filesystem, which containerd's overlayfs snapshotter needs: load it on the host with 'modprobe overlay' (CONFIG_OVERLAY_FS)"
	fi
	if ! grep -q cgroup /proc/filesystems || [ ! -d /sys/fs/cgroup ] || [ ! -w /sys/fs/cgroup ]; then
		fail "no writable cgroup filesystem at /sys/fs/cgroup: the node puts pods in cgroups; run the container privileged on a host with cgroups (v1 or v2) mounted"
	fi
	if ! iptables -w -S >/dev/null 2>&1; then
		fail "iptables does not work here ($(iptables -S 2>&1 | head -1)): skiff-proxy programs Services with it; load the kernel modules on the host ('modprobe ip_tables iptable_nat nf_conntrack' or nf_tables)"
	fi
	if ! ip link add skiff-check type bridge 2>/dev/null; then
		fail "cannot create a bridge, which the CNI bridge plugin needs for pods: load the module on the host ('modprobe bridge', CONFIG_BRIDGE)"
	fi
	ip link del skiff-check
	for f in "$CLUSTER/kubeconfigs/node-$NAME.kubeconfig" "$CLUSTER/kubeconfigs/proxy.kubeconfig" "$CLUSTER/pki/ca.crt"; do
		[ -r "$f" ] || fail "$f is missing: the pki service writes it (for node names given to its --nodes; is '$NAME' among them?)"
	done
}

check
sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
# Mounts made for pods' volumes must reach their containers.
mount --make-rshared / 2>/dev/null || true
mkdir -p "$DATA"

skiff-nodeagent --kubeconfig "$CLUSTER/kubeconfigs/node-$NAME.kubeconfig" --node-name "$NAME" \
	--data-dir "$DATA" --cgroup-root "$CGROUP_ROOT" ${SKIFF_NODEAGENT_FLAGS:-} &
agent=$!
skiff-proxy --kubeconfig "$CLUSTER/kubeconfigs/proxy.kubeconfig" --node-name "$NAME" ${SKIFF_PROXY_FLAGS:-} &
proxy=$!

stop() {
	kill -TERM "$agent" "$proxy" 2>/dev/null
	wait "$agent" "$proxy" 2>/dev/null
	# The containers and the pods' cgroups (on a cgroup v1 host they are the host's) go
	# with the node; its volume keeps containerd's images and the pods' files.
	skiff-nodeagent cleanup --data-dir "$DATA" --cgroup-root "$CGROUP_ROOT" || true
	# Then the node's own cgroups (its QoS levels and root), empty now, in every hierarchy.
	for d in /sys/fs/cgroup/"$CGROUP_ROOT" /sys/fs/cgroup/*/"$CGROUP_ROOT"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	exit 0
}
trap stop TERM INT

# One of the two ended by itself: stop the other and let docker restart the container.
wait -n "$agent" "$proxy"
code=$?
trap - TERM INT
kill -TERM "$agent" "$proxy" 2>/dev/null
wait 2>/dev/null
exit "$code"
