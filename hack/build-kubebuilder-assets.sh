#!/usr/bin/env bash
# Builds kube-apiserver, etcd and kubectl from the versions go.mod pins (no download but the Go
# module proxy) into .cache/kubebuilder-assets/<kubernetes version>/, for tools that want
# KUBEBUILDER_ASSETS (controller-runtime's envtest). nodeless's own tests do not need them: they use
# internal/testenv. A second run with the same go.sum does nothing.
#
#   eval "$(hack/build-kubebuilder-assets.sh)"     # sets KUBEBUILDER_ASSETS
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
dir="$PWD/.cache/kubebuilder-assets/$version"
stamp="$dir/.go.sum.sha256"
want=$(sha256sum go.sum | cut -d' ' -f1)

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] ||
   [ ! -x "$dir/kube-apiserver" ] || [ ! -x "$dir/etcd" ] || [ ! -x "$dir/kubectl" ]; then
  mkdir -p "$dir"
  ldflags=$(hack/kube-version-ldflags.sh)
  echo "building kube-apiserver, etcd and kubectl $version into $dir (cold: minutes)" >&2
  go build -ldflags "$ldflags" -o "$dir/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  go build -o "$dir/etcd" ./hack/etcd
  go build -ldflags "$ldflags" -o "$dir/kubectl" k8s.io/kubernetes/cmd/kubectl
  echo "$want" > "$stamp"
fi
echo "export KUBEBUILDER_ASSETS=$dir"
