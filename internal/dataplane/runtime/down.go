package runtime

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/namespaces"
)

// RemoveAllContainers stops and deletes every container in the nodeless namespace of client's
// containerd, with its task and snapshot (so its rootfs mount goes too), for `nodeless down`. Each
// running container gets SIGTERM, and SIGKILL when it has not exited after grace; they are stopped
// in parallel. It returns the IDs of the containers it deleted, sorted, and every error joined (one
// container that cannot be deleted does not keep the others).
func RemoveAllContainers(ctx context.Context, client *containerd.Client, grace time.Duration) ([]string, error) {
	ctx = namespaces.WithNamespace(ctx, Namespace)
	conts, err := client.Containers(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the containers of namespace %s: %w", Namespace, err)
	}
	var (
		mu      sync.Mutex
		removed []string
		errs    []error
		wg      sync.WaitGroup
	)
	for _, cont := range conts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := removeContainer(ctx, cont, grace)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			removed = append(removed, cont.ID())
		}()
	}
	wg.Wait()
	sort.Strings(removed)
	return removed, errors.Join(errs...)
}

// removeContainer stops cont's task (SIGTERM, SIGKILL after grace), deletes it, then the container
// and its snapshot.
func removeContainer(ctx context.Context, cont containerd.Container, grace time.Duration) error {
	if proc, err := cont.Task(ctx, nil); err == nil {
		stopTask(ctx, proc, grace)
		if _, err := proc.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("deleting the task of container %s: %w", cont.ID(), err)
		}
	} else if !errdefs.IsNotFound(err) {
		return fmt.Errorf("loading the task of container %s: %w", cont.ID(), err)
	}
	if err := cont.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("deleting container %s: %w", cont.ID(), err)
	}
	return nil
}

// stopTask sends SIGTERM and waits up to grace for the task to exit; Delete(WithProcessKill) kills
// what is left.
func stopTask(ctx context.Context, proc containerd.Task, grace time.Duration) {
	st, err := proc.Status(ctx)
	if err != nil || st.Status != containerd.Running && st.Status != containerd.Paused {
		return
	}
	waitCtx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	exited, err := proc.Wait(waitCtx)
	if err != nil {
		return
	}
	if err := proc.Kill(ctx, syscall.SIGTERM, containerd.WithKillAll); err != nil {
		return
	}
	select {
	case <-exited:
	case <-waitCtx.Done():
	}
}
