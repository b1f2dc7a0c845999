# The control plane's image: static binaries and nothing else (no shell, no libc), so it
# builds with no registry. prepare.sh builds bin/ (CGO_ENABLED=0).
FROM scratch
COPY bin/skiff bin/skiff-apiserver bin/skiff-controller-manager bin/skiff-scheduler /
