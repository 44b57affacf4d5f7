package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/oci"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// errLost marks a container that an attached task should have but containerd does not know.
var errLost = errors.New("container lost while nodeless was down")

// oomReason is the reason ECS gives a container the kernel killed for exceeding its memory.
const oomReason = "OutOfMemoryError: Container killed due to memory usage"

// runContainer takes one container from creation to exit: create (or find) it, wait for its
// dependencies, start it, then watch it until it exits or the task stops.
func (t *task) runContainer(c *ctr) {
	defer t.wg.Done()
	defer t.passedStart(c)
	var cont containerd.Container
	err := t.retryUnavailable(func() (err error) {
		cont, err = t.prepare(c)
		return err
	})
	if errors.Is(err, errLost) {
		t.update(func() { c.finishLocked(nil, err.Error()) })
		if c.spec.Essential {
			t.requestStop()
		}
		return
	}
	if err != nil {
		t.containerFailed(c, err.Error())
		return
	}
	var proc containerd.Task
	err = t.retryUnavailable(func() (err error) {
		if c.created {
			return nil // created just now by this process: it has no task yet
		}
		proc, err = loadTask(t.ctx, cont)
		return err
	})
	if err != nil {
		t.containerFailed(c, "CannotStartContainerError: "+err.Error())
		return
	}
	if proc != nil && (c.spec.Interactive || c.spec.Terminal) {
		t.resumeStdio(c) // after a restart of nodeless: its output reaches the log again
	}
	if proc != nil && createdOnly(t.ctx, proc) {
		proc = nil // started below (NewTask finds it), as its earlier start was cut off
	}
	if !t.claimStart(c, proc != nil) {
		return // the task failed meanwhile and marked this container as never started
	}
	if proc == nil {
		if reason := t.waitNetwork(); reason != "" {
			t.neverStarted(c, reason)
			return
		}
		if reason := t.waitDependencies(c); reason != "" {
			t.neverStarted(c, reason)
			return
		}
		err = t.retryUnavailable(func() (err error) {
			proc, err = t.startProcess(c, cont)
			return err
		})
		if err != nil {
			t.neverStarted(c, "CannotStartContainerError: "+err.Error())
			return
		}
	}
	t.passedStart(c)
	t.supervise(c, cont, proc)
}

// claimStart marks c as starting (its process exists, or is about to be created once its
// dependencies hold), so that a concurrent task failure leaves it to this goroutine; it returns
// false when the container was already given up.
func (t *task) claimStart(c *ctr, hasProcess bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.done {
		return false
	}
	if hasProcess {
		c.starting = true
	}
	return true
}

// retryUnavailable runs f again every 200 ms while containerd is unavailable (restarting after a
// crash: nodeless restarts it within about 100 ms), for up to about half a minute.
func (t *task) retryUnavailable(f func() error) error {
	for i := 0; ; i++ {
		err := f()
		if err == nil || !errdefs.IsUnavailable(err) || i >= 150 {
			return err
		}
		t.log.V(1).Info("containerd unavailable, retrying", "error", err.Error())
		if !sleepCtx(t.startCtx, 200*time.Millisecond) {
			return err
		}
	}
}

// containerFailed ends a task whose container could not be had at all (image, creation).
func (t *task) containerFailed(c *ctr, reason string) {
	if t.finishUnstarted(c, reason) {
		t.fail(reason)
	}
}

// neverStarted marks a container that will not start; the task fails when it was essential (and no
// stop was requested, which is the usual reason a pending container gives up).
func (t *task) neverStarted(c *ctr, reason string) {
	if t.finishUnstarted(c, reason) && c.spec.Essential {
		t.fail(fmt.Sprintf("Essential container %s could not start: %s", c.spec.Name, reason))
	}
}

// finishUnstarted records that c will never start, with reason. It reports false when the task is
// ending anyway (its context is done, or a stop was requested), in which case this is no failure of
// the task and the caller must not fail it: a stop requested during a pull aborts the pull.
func (t *task) finishUnstarted(c *ctr, reason string) bool {
	if t.ctx.Err() != nil {
		return false
	}
	t.mu.Lock()
	stopping := t.stopping
	t.mu.Unlock()
	if stopping {
		t.update(func() { c.finishLocked(nil, "Task stopped before the container started") })
		return false
	}
	t.update(func() { c.finishLocked(nil, reason) })
	return true
}

// prepare finds the container, or pulls its image and creates it. An attached task's container
// is looked up first (missing, it is lost); a started one's is created at once, and found when
// creating it says it exists (an earlier Start created it): most starts are first starts, and
// the lookup was a round trip to containerd on each one's way to RUNNING.
func (t *task) prepare(c *ctr) (containerd.Container, error) {
	if t.attached {
		cont, err := t.c.client.LoadContainer(t.ctx, c.id)
		if errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("%w: container %s not found in containerd", errLost, c.id)
		}
		if err != nil {
			return nil, fmt.Errorf("CannotStartContainerError: loading container: %w", err)
		}
		t.recordDigest(c, cont)
		return cont, nil
	}
	img, err := t.c.ensureImage(t.startCtx, c.spec.Image, c.spec.Auth)
	if err != nil {
		// A container an earlier Start created runs without its image (removed since).
		if cont, lerr := t.c.client.LoadContainer(t.ctx, c.id); lerr == nil {
			t.recordDigest(c, cont)
			return cont, nil
		}
		return nil, err
	}
	// Reported with the next change (RUNNING): one observation less per container on the way up.
	t.mu.Lock()
	c.state.ImageDigest = img.Target().Digest.String()
	t.mu.Unlock()
	cont, err := t.create(c, img)
	if err != nil {
		return nil, fmt.Errorf("CannotCreateContainerError: %w", err)
	}
	return cont, nil
}

func (t *task) recordDigest(c *ctr, cont containerd.Container) {
	img, err := cont.Image(t.ctx)
	if err != nil {
		return
	}
	t.mu.Lock()
	c.state.ImageDigest = img.Target().Digest.String()
	t.mu.Unlock()
}

func (t *task) create(c *ctr, img containerd.Image) (containerd.Container, error) {
	ctx := t.startCtx
	img, err := t.c.knownConfig(ctx, img)
	if err != nil {
		return nil, err
	}
	cfg, err := img.Spec(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading image config of %s: %w", img.Name(), err)
	}
	specOpts, err := t.specOpts(c, img, cfg)
	if err != nil {
		return nil, err
	}
	labels := map[string]string{}
	for k, v := range c.spec.Labels {
		labels[k] = v
	}
	labels["nodeless.task"], labels["nodeless.container"] = t.id, c.spec.Name
	daemon := t.c.sup.Generation()
	newContainer := func() (containerd.Container, error) {
		return t.c.client.NewContainer(ctx, c.id,
			containerd.WithImage(img),
			containerd.WithSnapshotter(snapshotter),
			containerd.WithNewSnapshot(c.id, img),
			containerd.WithRuntime(runtimeName, &options.Options{BinaryName: t.c.opts.RuncBin, Root: t.c.runcRoot()}),
			containerd.WithContainerLabels(labels),
			containerd.WithNewSpec(specOpts...),
		)
	}
	cont, err := newContainer()
	if errdefs.IsAlreadyExists(err) {
		if existing, lerr := t.c.client.LoadContainer(ctx, c.id); lerr == nil {
			t.recordDigest(c, existing) // an earlier Start created it, maybe from an image since retagged
			return existing, nil
		}
		// A snapshot left by an interrupted earlier create: remove it and try once more.
		_ = t.c.client.SnapshotService(snapshotter).Remove(ctx, c.id)
		cont, err = newContainer()
	}
	if err != nil {
		return nil, fmt.Errorf("creating container %s: %w", c.id, err)
	}
	c.created, c.daemon = true, daemon
	return cont, nil
}

func (c *Containerd) runcRoot() string { return filepath.Join(c.opts.StateDir, "containerd", "runc") }

// specOpts builds the OCI spec: image defaults with ECS overrides, the task's network namespace and
// files, and cgroup limits.
func (t *task) specOpts(c *ctr, img containerd.Image, cfg ocispec.Image) ([]oci.SpecOpts, error) {
	args := processArgs(cfg.Config.Entrypoint, cfg.Config.Cmd, c.spec.EntryPoint, c.spec.Command)
	if len(args) == 0 {
		return nil, fmt.Errorf("container %s has no command: the image sets no ENTRYPOINT/CMD and the definition none", c.spec.Name)
	}
	env := mergeEnv(cfg.Config.Env, c.spec.Env)
	hostname := c.spec.Hostname
	if hostname == "" {
		hostname = t.hostname()
	}
	opts := []oci.SpecOpts{
		oci.WithImageConfig(img),
		oci.WithProcessArgs(args...),
		func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			s.Process.Env = env
			return nil
		},
		oci.WithHostname(hostname),
		oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: t.nsPath}),
		oci.WithMounts(t.fileMounts()),
		oci.WithMounts(t.volumeMounts(c)),
		withUlimits(c.spec.Ulimits),
		withCapabilities(c.spec.Capabilities),
	}
	if c.spec.Terminal {
		opts = append(opts, oci.WithTTY)
	}
	if c.spec.ReadonlyFS {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	if c.spec.WorkingDir != "" {
		opts = append(opts, oci.WithProcessCwd(c.spec.WorkingDir))
	}
	if c.spec.User != "" {
		opts = append(opts, oci.WithUser(c.spec.User))
	}
	limits, err := t.limitOpts(c)
	if err != nil {
		return nil, err
	}
	return append(opts, limits...), nil
}

func (t *task) fileMounts() []specs.Mount {
	var out []specs.Mount
	for _, f := range []string{"resolv.conf", "hosts", "hostname"} {
		out = append(out, specs.Mount{
			Destination: "/etc/" + f,
			Type:        "bind",
			Source:      filepath.Join(t.dir, f),
			Options:     []string{"rbind", "ro"},
		})
	}
	return out
}

func (t *task) volumeMounts(c *ctr) []specs.Mount {
	var out []specs.Mount
	for _, m := range c.spec.Mounts {
		mode := "rw"
		if deref(m.ReadOnly) {
			mode = "ro"
		}
		out = append(out, specs.Mount{
			Destination: deref(m.ContainerPath),
			Type:        "bind",
			Source:      t.volumeDir(deref(m.SourceVolume)),
			Options:     []string{"rbind", mode},
		})
	}
	return out
}

// withUlimits sets ECS ulimits (nofile, nproc, ...) as process rlimits.
func withUlimits(ulimits []model.Ulimit) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		for _, u := range ulimits {
			rl := specs.POSIXRlimit{Type: "RLIMIT_" + strings.ToUpper(u.Name), Hard: uint64(u.HardLimit), Soft: uint64(u.SoftLimit)}
			replaced := false
			for i := range s.Process.Rlimits {
				if s.Process.Rlimits[i].Type == rl.Type {
					s.Process.Rlimits[i], replaced = rl, true
				}
			}
			if !replaced {
				s.Process.Rlimits = append(s.Process.Rlimits, rl)
			}
		}
		return nil
	}
}

// limitOpts maps ECS cpu/memory to cgroup limits: memory (container, else task) as the hard limit,
// container cpu units as shares, task cpu units as a CFS quota.
func (t *task) limitOpts(c *ctr) ([]oci.SpecOpts, error) {
	var opts []oci.SpecOpts
	if c.spec.MemoryMiB > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(c.spec.MemoryMiB)<<20))
	}
	if c.spec.MemoryReservationMiB > 0 {
		opts = append(opts, withMemoryReservation(c.spec.MemoryReservationMiB<<20))
	}
	if c.spec.CPU > 0 {
		opts = append(opts, oci.WithCPUShares(uint64(max(c.spec.CPU, 2))))
	}
	cpu := deref(t.spec.Definition.Cpu)
	if t.spec.Overrides != nil && t.spec.Overrides.Cpu != nil {
		cpu = *t.spec.Overrides.Cpu
	}
	units, err := parseCPU(cpu)
	if err != nil {
		return nil, err
	}
	if units > 0 {
		const period = 100000
		opts = append(opts, oci.WithCPUCFS(units*period/1024, period))
	}
	return opts, nil
}

func withMemoryReservation(bytes int64) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		if s.Linux.Resources == nil {
			s.Linux.Resources = &specs.LinuxResources{}
		}
		if s.Linux.Resources.Memory == nil {
			s.Linux.Resources.Memory = &specs.LinuxMemory{}
		}
		s.Linux.Resources.Memory.Reservation = &bytes
		return nil
	}
}

// createdOnly reports whether proc was created and never started: the process that created it
// was killed before it called Start (or before containerd's answer to NewTask reached it).
// Supervising such a task as running would report RUNNING for a process that never runs.
func createdOnly(ctx context.Context, proc containerd.Task) bool {
	st, err := proc.Status(ctx)
	return err == nil && st.Status == containerd.Created
}

// loadTask returns the container's task (process), or nil when it has none yet.
func loadTask(ctx context.Context, cont containerd.Container) (containerd.Task, error) {
	proc, err := cont.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading task of %s: %w", cont.ID(), err)
	}
	return proc, nil
}

func (t *task) startProcess(c *ctr, cont containerd.Container) (containerd.Task, error) {
	logPath := LogPath(t.c.opts.StateDir, t.id, c.spec.Name)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, fmt.Errorf("creating log directory: %w", err)
	}
	// Creating and starting are not interrupted half-way (a shim left with a mounted rootfs and no
	// client would leak); a stop requested meanwhile is handled once the process runs.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), time.Minute)
	defer cancel()
	creator := t.c.logCreator(logPath)
	if c.spec.Interactive || c.spec.Terminal {
		creator = t.stdioCreator(c)
	}
	if !c.created {
		// An earlier process created the container, and may have been killed while containerd
		// started its shim (killStrandedShims).
		t.c.killStrandedShims(cont.ID())
	}
	proc, err := t.newTask(ctx, c, cont, creator, 0)
	for i := 1; err != nil && !c.created && !errdefs.IsAlreadyExists(err) && ctx.Err() == nil && i <= 3; i++ {
		t.c.awaitInterruptedCreate(ctx, cont.ID(), err)
		proc, err = t.newTask(ctx, c, cont, creator, i)
	}
	if errdefs.IsAlreadyExists(err) {
		proc, err = t.c.loadOrRecreateTask(ctx, cont, creator)
	}
	if err != nil {
		c.shimUnsure = true
		return nil, fmt.Errorf("creating task: %w", err)
	}
	if err := proc.Start(ctx); err != nil {
		if startedBefore(ctx, proc) {
			return proc, nil
		}
		c.shimUnsure = true
		_, _ = proc.Delete(ctx, containerd.WithProcessKill)
		return nil, fmt.Errorf("starting task: %w", err)
	}
	return proc, nil
}

// createAttempt bounds the first attempt to create the task of a container an earlier process
// created; each further attempt gets twice as long.
const createAttempt = 5 * time.Second

// newTask creates c's task in containerd. For a container an earlier process created, the attempt
// is bounded (createAttempt << attempt): a SIGKILL of nodeless while containerd created its task
// can leave a shim that takes the creation and never answers (bug 6 in bench/README.md is one way,
// handled before the first attempt; a hang of a minute with nodeless and containerd killed in
// turn, not root-caused, may be another). When the attempt runs out, the container's shims are
// killed: containerd's creation then fails at once and is undone, and the caller tries again.
func (t *task) newTask(ctx context.Context, c *ctr, cont containerd.Container, creator cio.Creator, attempt int) (containerd.Task, error) {
	if c.created {
		return cont.NewTask(ctx, creator)
	}
	actx, cancel := context.WithTimeout(ctx, createAttempt<<attempt)
	defer cancel()
	proc, err := cont.NewTask(actx, creator)
	if err != nil && actx.Err() != nil && ctx.Err() == nil {
		if pids := killForgottenShims(t.c.sup.Address(), cont.ID()); len(pids) > 0 {
			t.log.Info("creating the task did not answer: killed the container's shims", "container", c.spec.Name, "after", createAttempt<<attempt, "pids", pids)
		}
	}
	return proc, err
}

// supervise watches a container that has a process: running, exited, health; it stops it when the
// task stops, and stops the task when it was essential and exited.
func (t *task) supervise(c *ctr, cont containerd.Container, proc containerd.Task) {
	t.update(func() {
		c.started = true
		if !c.done {
			c.state.Status = model.TaskStatusRunning
		}
	})
	go t.waitExit(c, cont, proc)
	if c.spec.Health != nil {
		t.wg.Add(1)
		go t.healthLoop(c, cont, proc)
	}
	select {
	case <-c.exited:
	case <-t.stopCh:
		if t.waitDependents(c) {
			t.terminate(c, proc)
		}
	case <-t.ctx.Done():
		return
	}
	if c.spec.Essential {
		t.requestStop()
	}
}

// terminate sends SIGTERM, then SIGKILL after the container's stopTimeout, and waits for the exit.
func (t *task) terminate(c *ctr, proc containerd.Task) {
	if err := t.signal(proc, syscall.SIGTERM); err != nil && !errdefs.IsNotFound(err) {
		t.log.V(1).Info("SIGTERM failed", "container", c.spec.Name, "error", err.Error())
	}
	timer := time.NewTimer(c.spec.StopTimeout)
	defer timer.Stop()
	select {
	case <-c.exited:
		return
	case <-t.ctx.Done():
		return
	case <-timer.C:
	}
	if err := t.signal(proc, syscall.SIGKILL, containerd.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
		t.log.V(1).Info("SIGKILL failed", "container", c.spec.Name, "error", err.Error())
	}
	select {
	case <-c.exited:
	case <-t.ctx.Done():
	}
}

// signal sends sig to proc, again every 200 ms while containerd is unavailable (restarting after a
// crash), for up to about half a minute: a SIGTERM lost to a containerd restart left the container
// running until its stop timeout (30 s by default), holding its deployment's place (found by
// bench/chaos).
func (t *task) signal(proc containerd.Task, sig syscall.Signal, opts ...containerd.KillOpts) error {
	for i := 0; ; i++ {
		err := proc.Kill(t.ctx, sig, opts...)
		if err == nil || !errdefs.IsUnavailable(err) || i >= 150 {
			return err
		}
		if !sleepCtx(t.ctx, 200*time.Millisecond) {
			return err
		}
	}
}

// waitExit records the container's exit. A broken connection to containerd (restart) is not an
// exit: the task is loaded again and waited for again.
func (t *task) waitExit(c *ctr, cont containerd.Container, proc containerd.Task) {
	for t.ctx.Err() == nil {
		code, err := waitOnce(t.ctx, proc)
		if err == nil {
			t.recordExit(c, int32(code))
			return
		}
		if t.ctx.Err() != nil {
			return
		}
		t.log.V(1).Info("waiting for container failed, retrying", "container", c.spec.Name, "error", err.Error())
		if !sleepCtx(t.ctx, time.Second) {
			return
		}
		p, err := cont.Task(t.ctx, nil)
		switch {
		case errdefs.IsNotFound(err):
			t.update(func() { c.finishLocked(nil, "container state lost: its task no longer exists in containerd") })
			return
		case err == nil:
			proc = p
		}
	}
}

func waitOnce(ctx context.Context, proc containerd.Task) (uint32, error) {
	ch, err := proc.Wait(ctx)
	if err != nil {
		return 0, err
	}
	select {
	case st := <-ch:
		code, _, err := st.Result()
		return code, err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (t *task) recordExit(c *ctr, code int32) {
	reason := ""
	if t.c.oomKilled(c.id) || (code == 137 && t.oomAfterAll(c.id)) {
		reason = oomReason
	}
	t.update(func() { c.finishLocked(&code, reason) })
}

// oomAfterAll gives the OOM event a moment to arrive after a SIGKILL exit.
func (t *task) oomAfterAll(id string) bool {
	for i := 0; i < 5; i++ {
		if !sleepCtx(t.ctx, 40*time.Millisecond) || t.c.oomKilled(id) {
			return t.c.oomKilled(id)
		}
	}
	return false
}

// deleteContainer kills and deletes a container's task, then the container and its snapshot, and
// kills a shim of it that containerd forgot (see killForgottenShims). The search reads every
// process's command line; it is left out when the container's whole life was witnessed (since is
// the daemon generation read before this process created it, 0 if not: see witnessed) and the
// daemon of that generation, still the current one, deleted its task just now or found none: that
// daemon started every shim of the container and shut them down itself (bench/README.md, "Faster
// starts, fourth pass").
func (c *Containerd) deleteContainer(ctx context.Context, id string, since uint64) error {
	witnessed := since != 0
	cont, err := c.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		c.killForgottenShims(id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("loading container %s: %w", id, err)
	}
	proc, err := cont.Task(ctx, nil)
	switch {
	case err == nil:
		if _, err := proc.Delete(ctx, containerd.WithProcessKill); err != nil {
			if !errdefs.IsNotFound(err) {
				return fmt.Errorf("deleting task of %s: %w", id, err)
			}
			witnessed = false // deleted by someone else meanwhile
		}
	case !errdefs.IsNotFound(err):
		witnessed = false
	}
	if err := cont.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("deleting container %s: %w", id, err)
	}
	if !witnessed || c.sup.Generation() != since {
		c.killForgottenShims(id)
	}
	c.mu.Lock()
	delete(c.oom, id)
	c.mu.Unlock()
	return nil
}

// witnessed returns the daemon generation before which this process created ct, when the
// container's whole life was this process's and nothing left a shim in doubt (a creation or start
// of its task failed), or 0. The caller must know that ct's goroutine has ended.
//
// A shim is forgotten when its daemon or nodeless is killed while a task is created or deleted
// (chaos soak, bugs 1 and 6; run J: a deletion cut off by a kill of nodeless). A container this
// process created, whose task it created and started without a failure, and whose task the same
// daemon deletes, was never in such a window: the daemon knew its shim throughout and shuts it
// down when it deletes the task. Any daemon restart since its creation, any earlier process, any
// failed creation or start brings the search back.
func (c *Containerd) witnessed(ct *ctr) uint64 {
	if !ct.created || ct.shimUnsure {
		return 0
	}
	return ct.daemon
}

// killForgottenShims kills the shims of container id that containerd no longer knows.
func (c *Containerd) killForgottenShims(id string) {
	c.shimSearches.Add(1)
	if pids := killForgottenShims(c.sup.Address(), id); len(pids) > 0 {
		c.log.Info("killed a containerd shim its daemon had forgotten", "container", id, "pids", pids)
	}
}

// killStrandedShims kills the shims of container id whose start containerd gave up (see
// killStrandedShims).
func (c *Containerd) killStrandedShims(id string) {
	if pids := killStrandedShims(c.sup.Address(), id); len(pids) > 0 {
		c.log.Info("killed a containerd shim stranded by an interrupted start", "container", id, "pids", pids)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
