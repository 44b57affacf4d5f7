// Package chaos is a soak test of the local data plane under crashes (issue 11, "Chaos,
// measured"): the real `nodeless dataplane` binary ($NODELESS_BIN) runs an ECS service that rolls
// to other revisions and scales while the test kills the nodeless process, its containerd, or both,
// with SIGKILL at random moments (seeded), and issues RunTask calls with clientTokens across the
// kills. After each restart it measures how long the service takes to converge (steady, and still
// steady 2 s later) and checks:
//
//   - no object the API acknowledged is lost (cluster, task definitions, service, tasks);
//   - no sample (ListTasks+DescribeTasks every 100 ms) shows more of the service's tasks not STOPPED
//     than maximumPercent allows (floor(maximumPercent × desiredCount / 100), the larger desiredCount
//     while a scale-down is under way);
//   - no clientToken started more than one task;
//   - containerd holds exactly the containers, and runs exactly the shims, of the tasks not STOPPED;
//   - after `nodeless down`, no process (shim, containerd, uplink), mount or network namespace of the
//     state dir is left; zombies (this sandbox's pid 1 does not reap) are counted apart.
//
// It needs root, containerd, runc, slirp4netns and $NODELESS_BIN (it skips otherwise, and in
// -short mode), and binds only 127.0.0.1. By default it kills 3 times (about 20 s), so that
// `make test` runs it: crash recovery is where regressions hide, and each run draws new moments.
// The full soak is `make soak` (100 kills, about 6–8 minutes on 2 cores):
//
//	make build
//	NODELESS_SOAK_KILLS=100 NODELESS_BIN=$PWD/bin/nodeless \
//	    go test -run '^TestSoak$' -v -count=1 -timeout 90m ./bench/chaos
//
// NODELESS_SOAK_KILLS is the number of kills (default 3), NODELESS_SOAK_SEED the seed of every
// random choice (default: the clock; it is logged first, so a failing run can be replayed with the
// same choices — the timing differs), NODELESS_SOAK_BUDGET bounds the whole soak (default 60m; no
// new kill starts after it), NODELESS_SOAK_SUMMARY names a file the Markdown summary is also
// written to, and NODELESS_SOAK_LOGDIR a directory the data plane's logs are copied to. Convergence
// times are measured and reported, never asserted (the project keeps timing out of pass/fail).
package chaos
