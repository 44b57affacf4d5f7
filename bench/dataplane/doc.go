// Package dataplane benchmarks the local data plane with real containers: RunTask → RUNNING and
// RunTask → first HTTP answer over 50 tasks (p50/p99), and 50 tasks started at once — through the
// ECS API, through the container runtime alone, and, beside them in the same run, the same containers
// started directly with the containerd client. Run it with
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/dataplane
//
// It needs root, containerd and runc, and skips otherwise.
package dataplane
