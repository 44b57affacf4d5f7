// Package chaos is a soak test of the local data plane under crashes (issue 11, "Chaos,
// measured"): the real `nodeless dataplane` binary ($NODELESS_BIN) runs an ECS service that rolls
// to other revisions and scales while the test kills the nodeless process, its containerd, or both,
// with SIGKILL at random moments (seeded), and issues RunTask calls with clientTokens across the
// kills. After each restart it measures how long the service takes to converge and checks:
//
//   - no object the API acknowledged is lost (cluster, task definitions, service, tasks);
//   - no sample (ListTasks+DescribeTasks every 100 ms) shows more of the service's tasks not STOPPED
//     than maximumPercent allows (floor(maximumPercent × desiredCount / 100), the larger desiredCount
//     while a scale-down is under way);
//   - no clientToken started more than one task;
//   - containerd holds exactly the containers of the tasks not STOPPED;
//   - after `nodeless down`, no process (shim, containerd, uplink), mount or network namespace of the
//     state dir is left; zombies (this sandbox's pid 1 does not reap) are counted apart.
//
// It is skipped unless NODELESS_SOAK is set (`make soak` sets it), needs root, containerd, runc and
// slirp4netns, and binds only 127.0.0.1:
//
//	make build
//	NODELESS_SOAK=1 NODELESS_SOAK_KILLS=100 NODELESS_BIN=$PWD/bin/nodeless \
//	    go test -run '^TestSoak$' -v -count=1 -timeout 90m ./bench/chaos
//
// NODELESS_SOAK_KILLS is the number of kills (default 3), NODELESS_SOAK_SEED the seed of every
// random choice (default: the clock; it is logged first, so a failing run can be replayed),
// NODELESS_SOAK_BUDGET bounds the whole soak (default 60m; no new kill starts after it), and
// NODELESS_SOAK_SUMMARY names a file the Markdown summary is also written to. Convergence times are
// measured and reported, never asserted (the project keeps timing out of pass/fail).
package chaos
