// Package dataplanetest starts the full local data plane — API, scheduler and a private containerd
// running real containers — in-process on a free port with a temporary state dir, for end-to-end
// tests:
//
//	env := dataplanetest.Start(t) // skips unless root with containerd and runc on PATH
//	out, err := env.ECS.RunTask(ctx, &ecs.RunTaskInput{...})
//	env = env.Restart(t)          // same state dir: tasks are re-attached, not restarted
//
// At the end of the test every container the data plane started is killed and removed, the data
// plane stopped, and what it mounted under the state dir unmounted.
package dataplanetest
