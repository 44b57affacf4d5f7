// Package pods benchmarks Pods on `nodeless up` as a user runs them: the built nodeless binary (its
// control plane, kube-controller-manager's workload controllers, the kube-scheduler, the virtual
// node and the Pod controller on the local data plane with real containers), against the same
// image started as a bare ECS RunTask on the same data plane in the same run. Run it with
//
//	make build && NODELESS_BIN=$PWD/bin/nodeless go test -run '^$' -bench . -benchtime 1x -timeout 60m ./bench/pods
//
// It needs root, containerd, runc and slirp4netns (dataplane.Preflight), and skips otherwise.
// What each benchmark measures, how, and the results: bench/README.md ("Pods on nodeless up").
package pods
