#!/usr/bin/env bash
# Points go.mod at Kubernetes release $1 (e.g. v1.37.2): requires k8s.io/kubernetes at that version
# and replaces every staging module it needs (k8s.io/api, client-go, apiserver, ...) with the
# matching v0.<minor>.<patch>. Replaces of k8s.io modules that are no longer staging modules of that
# release are dropped. Run `go mod tidy` afterwards. docs/upgrading-kubernetes.md says why.
#
# k8s.io/kubernetes is not meant to be imported: its go.mod requires every staging module at
# v0.0.0 and replaces them with ./staging/src/..., directories that are not in the module zip. A
# module that imports it must therefore carry the replaces itself; the set of staging modules is
# read from that release's own go.mod (the `k8s.io/... v0.0.0` requirements), never guessed.
#
#   hack/kube-replaces.sh v1.37.2 && go mod tidy
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:?usage: hack/kube-replaces.sh vMAJOR.MINOR.PATCH}
if ! [[ $version =~ ^v1\.([0-9]+)\.([0-9]+)$ ]]; then
  echo "kube-replaces: $version is not a Kubernetes release such as v1.37.2" >&2
  exit 1
fi
staging_version="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"

gomod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
if [ ! -f "$gomod" ]; then
  echo "kube-replaces: no go.mod for k8s.io/kubernetes@$version" >&2
  exit 1
fi
mapfile -t staging < <(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$gomod" | sort -u)
if [ "${#staging[@]}" -eq 0 ]; then
  echo "kube-replaces: k8s.io/kubernetes@$version requires no staging module at v0.0.0" >&2
  exit 1
fi

# Drop the k8s.io replaces of the previous release (some may no longer be staging modules), then
# write the new ones as one block (go mod edit alone would write one `replace` line per module).
drops=()
while read -r old; do
  drops+=("-dropreplace=$old")
done < <(go mod edit -json | awk -F'"' '/"Old": \{/ {getline; if ($4 ~ /^k8s\.io\//) print $4}')
if [ "${#drops[@]}" -gt 0 ]; then
  go mod edit "${drops[@]}"
fi
{
  echo
  echo "// The staging modules of k8s.io/kubernetes $version (hack/kube-replaces.sh)."
  echo "replace ("
  for m in "${staging[@]}"; do
    echo "	$m => $m $staging_version"
  done
  echo ")"
} >> go.mod
go mod edit -fmt -require="k8s.io/kubernetes@$version"
echo "k8s.io/kubernetes $version, ${#staging[@]} staging modules replaced with $staging_version" >&2
