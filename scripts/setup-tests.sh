#!/usr/bin/env bash
# Set up everything the test suite needs on this machine, each part once (a second run takes
# seconds): the virtualenv (and .venv-kserve, the kserve SDK's clients), the Debian packages (when root and apt-get are there), the Kubernetes
# binaries (built with Go from the module proxy) and the images the real node runs (built from the
# Dockerfiles). A part this machine cannot have is skipped with one line saying why; the tests that
# need it then skip with that reason, except under CI=true, where they fail.
set -euo pipefail
cd -P "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

# The services the integration tests start, then what a real node and its image builds need.
SERVICE_PACKAGES=(postgresql redis-server prometheus-pushgateway prometheus nginx-light curl chromium)
NODE_PACKAGES=(containerd runc containernetworking-plugins iptables conntrack iproute2 buildah mmdebstrap)
LOGS="${MLPY_K8S_CACHE:-$HOME/.cache/mlpy-k8s}/setup-logs"
mkdir -p "$LOGS"
t0=$SECONDS
say() { printf '== setup %4ds: %s\n' "$((SECONDS - t0))" "$*"; }

bash scripts/setup-venv.sh dev
say "virtualenv ready"
bash scripts/setup-venv-kserve.sh
say "kserve client ready (.venv-kserve)"

if [ "$(id -u)" != 0 ]; then
  say "skipped: Debian packages (not root: services and the real node need them installed)"
elif ! command -v apt-get >/dev/null; then
  say "skipped: Debian packages (no apt-get on this machine)"
else
  missing=()
  for package in "${SERVICE_PACKAGES[@]}" "${NODE_PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$LOGS/apt.log" 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
      >>"$LOGS/apt.log" 2>&1 || { tail -n 30 "$LOGS/apt.log" >&2; exit 1; }
  fi
  say "Debian packages installed"
fi

# A real node's Services need bridged pod traffic to pass iptables: the kernel's br_netfilter
# (tools/localk8s/host.py checks for it and brings up kwok nodes only without it).
if [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
  :
elif [ "$(id -u)" != 0 ]; then
  say "skipped: kernel module br_netfilter (not root; as root: modprobe br_netfilter), so no real node"
elif ! command -v modprobe >/dev/null; then
  say "skipped: kernel module br_netfilter (no modprobe: apt-get install kmod), so no real node"
elif modprobe br_netfilter 2>"$LOGS/modprobe.log"; then
  say "kernel module br_netfilter loaded"
else
  say "skipped: kernel module br_netfilter ($(tail -n 1 "$LOGS/modprobe.log")), so no real node"
fi

# The Go build (CPU) and the image builds (mostly downloads and unpacking) run side by side.
pids=() names=()
if command -v go >/dev/null; then
  bash scripts/k8s/build.sh >"$LOGS/k8s-build.log" 2>&1 &
  pids+=($!) names+=("Kubernetes binaries")
else
  say "skipped: Kubernetes binaries (no Go toolchain: install Go, then bash scripts/k8s/build.sh)"
fi
.venv/bin/python -m localk8s images --if-possible >"$LOGS/images.log" 2>&1 &
pids+=($!) names+=("images")
failed=0
for i in "${!pids[@]}"; do
  log="$LOGS/$([ "${names[$i]}" = images ] && echo images || echo k8s-build).log"
  if wait "${pids[$i]}"; then
    say "${names[$i]} ready ($(grep -E 'skipped|MB|done' "$log" | tr '\n' ';' | cut -c1-300))"
  else
    failed=1
    echo "setup: ${names[$i]} failed; the end of $log:" >&2
    tail -n 40 "$log" >&2
  fi
done
[ "$failed" = 0 ] || exit 1
say "done"
