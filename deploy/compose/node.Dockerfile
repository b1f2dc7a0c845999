# A node: containerd, runc, the CNI plugins, iptables/nftables and conntrack from Debian's
# packages, skiff-nodeagent (which starts containerd for itself), skiff-proxy and the pause
# program. BASE is skiff.local/node-base:bookworm, made from Debian's packages by
# base-image.sh (no registry), or debian:bookworm-slim for users who have a registry.
ARG BASE=skiff.local/node-base:bookworm
FROM ${BASE}
# The local base has every package already; debian:bookworm-slim gets them here.
RUN set -e; need=""; \
    for p in containerd runc containernetworking-plugins iptables nftables conntrack iproute2 ca-certificates procps; do \
      dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"; \
    done; \
    if [ -n "$need" ]; then \
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need && rm -rf /var/lib/apt/lists/*; \
    fi
COPY bin/skiff-nodeagent bin/skiff-proxy bin/skiff-pause /usr/local/bin/
COPY node-entrypoint.sh /usr/local/bin/skiff-node
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/skiff-node"]
