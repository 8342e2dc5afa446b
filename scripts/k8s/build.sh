#!/usr/bin/env bash
# Build (or reuse) the binaries of the local test control plane.
#
# Everything comes from the Go module proxy: kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, kubelet and kube-proxy from
# k8s.io/kubernetes, etcd from go.etcd.io/etcd/server/v3, CoreDNS (with the
# plugins the local cluster uses), kwok and helm from their modules.
# Binaries land in ${MLPY_K8S_CACHE:-~/.cache/mlpy-k8s}/<k8s-version>/bin and are
# reused when present with a matching version stamp, so a second run is a no-op.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/k8s/versions.env disable=SC1091
source "$HERE/versions.env"

# Go needs HOME for its module and build caches; some CI environments leave it unset.
export HOME="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[ -x "$GO" ] || { echo "build.sh: no Go toolchain (set GO=/path/to/go)" >&2; exit 1; }
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0
export GOMAXPROCS="${GOMAXPROCS:-$(nproc)}"
NICE=(nice -n 10)
BUILD=("$GO" build -p "$GOMAXPROCS" -trimpath)

CACHE_ROOT="${MLPY_K8S_CACHE:-$HOME/.cache/mlpy-k8s}"
ROOT="$CACHE_ROOT/$K8S_VERSION"
BIN="$ROOT/bin"
WORK="$ROOT/src"
mkdir -p "$BIN" "$WORK"

T0=$SECONDS
log() { printf '[build.sh %4ds] %s\n' "$((SECONDS - T0))" "$*"; }

# fresh NAME... VERSION: true when every binary exists and was stamped with VERSION.
fresh() {
  local version="${*: -1}" n
  for n in "${@:1:$#-1}"; do
    [ -x "$BIN/$n" ] && [ "$(cat "$BIN/.$n.version" 2>/dev/null)" = "$version" ] || return 1
  done
}
stamp() {
  local version="${*: -1}" n
  for n in "${@:1:$#-1}"; do echo "$version" >"$BIN/.$n.version"; done
}

# quiet LOG CMD...: run CMD with its output in LOG; show the log's tail if it fails.
quiet() {
  local logfile=$1; shift
  if ! "$@" >"$logfile" 2>&1; then
    echo "build.sh: failed: $* (log: $logfile)" >&2
    tail -n 40 "$logfile" >&2
    return 1
  fi
}

# newmod DIR: an empty throw-away module to build a tool in.
newmod() {
  rm -rf "$1"; mkdir -p "$1"
  printf 'module mlpy.local/k8sbuild/%s\n\ngo 1.26.0\n' "$(basename "$1")" >"$1/go.mod"
}

# build_wrapped NAME MODULE VERSION LDFLAGS < main.go: a generated main package built against MODULE.
build_wrapped() {
  local name=$1 mod=$2 version=$3 ldflags=$4
  if fresh "$name" "$version"; then log "reuse $name $version"; cat >/dev/null; return; fi
  log "build $name $version"
  local t=$SECONDS d="$WORK/$name"
  newmod "$d"
  cat >"$d/main.go"
  (cd "$d" && quiet get.log "$GO" get "$mod@$version" \
    && quiet tidy.log "$GO" mod tidy \
    && "${NICE[@]}" "${BUILD[@]}" -ldflags="-s -w $ldflags" -o "$BIN/$name" .)
  stamp "$name" "$version"
  log "built $name in $((SECONDS - t))s"
}

# The etcd main package lives in go.etcd.io/etcd/v3, whose go.mod has replace directives (so
# `go install ...@v` refuses it); etcdmain.Main is the same entry.
build_etcd() {
  build_wrapped etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "" <<'GO'
// Command etcd wraps etcdmain so etcd builds straight from the module proxy.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
}

# CoreDNS with only the plugins the local cluster's Corefile uses: the same coremain as the release
# binary, a fraction of its dependencies to compile.
build_coredns() {
  build_wrapped coredns github.com/coredns/coredns "$COREDNS_VERSION" \
    "-X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" <<'GO'
// Command coredns is CoreDNS with the plugins a cluster-only DNS needs: no forward.
package main

import (
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"

	"github.com/coredns/coredns/coremain"
)

func main() { coremain.Run() }
GO
}

# build_tool NAME MODULE VERSION PACKAGE [LDFLAGS]
build_tool() {
  local name=$1 mod=$2 version=$3 pkg=$4 ldflags="${5:-}"
  if fresh "$name" "$version"; then log "reuse $name $version"; return; fi
  log "build $name $version"
  local t=$SECONDS d="$WORK/$name"
  newmod "$d"
  (cd "$d" && quiet get.log "$GO" get "$mod@$version" \
    && "${NICE[@]}" "${BUILD[@]}" -ldflags="-s -w $ldflags" -o "$BIN/$name" "$pkg")
  stamp "$name" "$version"
  log "built $name in $((SECONDS - t))s"
}

build_kubernetes() {
  local all=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy) names=() n
  for n in "${all[@]}"; do fresh "$n" "$K8S_VERSION" || names+=("$n"); done
  if [ "${#names[@]}" -eq 0 ]; then log "reuse ${all[*]} $K8S_VERSION"; return; fi
  log "build ${names[*]} $K8S_VERSION"
  local t=$SECONDS d="$WORK/kubernetes" upstream staging v="${K8S_VERSION#v}"
  staging="v0.${v#*.}"   # v1.37.2 -> v0.37.2: the published staging module version
  newmod "$d"
  upstream="$("$GO" mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
  # k8s.io/kubernetes points its staging modules at ./staging/src/...; as a
  # dependency those replaces are ignored, so map each to its published release.
  {
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/src/.*#\t\1 => \1 '"$staging"'#p' "$upstream"
    echo ")"
  } >>"$d/go.mod"
  local pkgs=()
  for n in "${names[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$n"); done
  local major="${v%%.*}" minor="${v#*.}"; minor="${minor%%.*}"
  local x="-X k8s.io/component-base/version"
  local ldflags="-s -w $x.gitVersion=$K8S_VERSION $x.gitMajor=$major $x.gitMinor=$minor $x.gitTreeState=clean"
  ldflags+=" $x/base.gitVersion=$K8S_VERSION $x/base.gitMajor=$major $x/base.gitMinor=$minor"
  # Resolves the whole dependency graph of the four commands into go.mod (downloads modules).
  (cd "$d" && quiet get.log "$GO" get "${pkgs[@]/%/@$K8S_VERSION}")
  # One link per binary, one after the other: linking kube-apiserver peaks at a
  # few GiB, and the shared packages are compiled once and cached.
  for n in "${names[@]}"; do
    local tn=$SECONDS
    (cd "$d" && "${NICE[@]}" "${BUILD[@]}" -ldflags="$ldflags" -o "$BIN/$n" "k8s.io/kubernetes/cmd/$n")
    stamp "$n" "$K8S_VERSION"
    log "built $n in $((SECONDS - tn))s"
  done
  log "built kubernetes binaries in $((SECONDS - t))s"
}

# helm as its release is built: it reports the Kubernetes version of its client-go as the default
# for `helm template` (without it, v1.20, and charts that need a newer Kubernetes refuse to render).
build_helm() {
  local stamp="$HELM_VERSION+capabilities"
  if fresh helm "$stamp"; then log "reuse helm $HELM_VERSION"; return; fi
  log "build helm $HELM_VERSION"
  local t=$SECONDS d="$WORK/helm" kube minor
  newmod "$d"
  (cd "$d" && quiet get.log "$GO" get "helm.sh/helm/v3@$HELM_VERSION")
  kube="$(cd "$d" && "$GO" list -m -f '{{.Version}}' k8s.io/client-go)"  # v0.35.1 -> Kubernetes 1.35
  minor="${kube#v0.}"; minor="${minor%%.*}"
  local x="-X helm.sh/helm/v3/pkg"
  (cd "$d" && "${NICE[@]}" "${BUILD[@]}" -o "$BIN/helm" \
    -ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION $x/chartutil.k8sVersionMajor=1 $x/chartutil.k8sVersionMinor=$minor $x/lint/rules.k8sVersionMajor=1 $x/lint/rules.k8sVersionMinor=$minor" \
    helm.sh/helm/v3/cmd/helm)
  stamp helm "$stamp"
  log "built helm in $((SECONDS - t))s (default Kubernetes 1.$minor)"
}

# Like envtest: a KUBEBUILDER_ASSETS directory holding every binary is used as is.
REQUIRED=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl)
if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  have=0
  for n in "${REQUIRED[@]}"; do [ -x "$KUBEBUILDER_ASSETS/$n" ] && have=$((have + 1)); done
  if [ "$have" -eq "${#REQUIRED[@]}" ]; then
    log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has all of: ${REQUIRED[*]}; nothing to build"
    exit 0
  fi
  log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks some binaries; building into $BIN"
fi

only="${1:-all}"
case "$only" in
  all|etcd) build_etcd ;;&
  all|kwok) build_tool kwok sigs.k8s.io/kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok \
              "-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" ;;&
  all|kubernetes) build_kubernetes ;;&
  all|coredns) build_coredns ;;&
  all|helm) build_helm ;;&
  all|etcd|kwok|kubernetes|coredns|helm) ;;
  *) echo "usage: $0 [all|etcd|kwok|kubernetes|coredns|helm]" >&2; exit 2 ;;
esac
log "done: binaries in $BIN ($(du -sh "$CACHE_ROOT" 2>/dev/null | cut -f1) cache)"
echo "$BIN"
