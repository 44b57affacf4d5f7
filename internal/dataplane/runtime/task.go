package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
)

// task is the runtime's supervision of one task: its containers, namespace and port proxies.
type task struct {
	c      *Containerd
	id     string
	spec   TaskSpec
	dir    string
	nsPath string
	log    logr.Logger

	// ctx ends on Remove or runtime shutdown; startCtx also ends once a stop is requested, which
	// aborts pulls and starts still under way.
	ctx         context.Context
	cancel      context.CancelFunc
	startCtx    context.Context
	startCancel context.CancelFunc
	wg          sync.WaitGroup

	mu           sync.Mutex
	ctrs         []*ctr
	byName       map[string]*ctr
	proxies      map[string]proxy
	startFailure string
	stopping     bool
	stopCh       chan struct{}
	changed      chan struct{} // closed and replaced on every state change

	notifyMu sync.Mutex
	// attached is set for Attach: a container missing from containerd is then reported lost, not
	// created.
	attached bool
	// setupDone is closed once setup has run (files, ports); netDone once the network namespace is
	// set up and joined to the VPC (or that failed and failed the task), which run does while the
	// containers are being created.
	setupDone chan struct{}
	netDone   chan struct{}

	// counted is set for a Start (not an Attach): the runtime counts it as starting until every
	// container passed its start (startsLeft reaches 0; passedStart).
	counted    bool
	startsLeft atomic.Int32
}

// ctr is one container of a task.
type ctr struct {
	spec     containerSpec
	id       string
	state    ContainerState
	created  bool          // this process created it in containerd (not an earlier one)
	started  bool          // its process was started at least once
	starting bool          // its process exists or is being created: only its own goroutine ends it
	done     bool          // terminal: exited, or will never start
	exited   chan struct{} // closed when done

	// daemon is the containerd generation (containerdproc.Supervisor.Generation) read before this
	// process created the container; shimUnsure is set when a creation or start of its task
	// failed, which may leave a shim behind. Remove searches for forgotten shims unless the same
	// daemon saw the container's whole life in this process (witnessed).
	daemon     uint64
	shimUnsure bool
	// passOnce makes passedStart count the container once.
	passOnce sync.Once
}

// Start implements Runtime.
func (c *Containerd) Start(ctx context.Context, spec TaskSpec) (store.TaskRuntimeState, error) {
	return c.begin(ctx, spec, nil)
}

// Attach implements Runtime: the same path as Start, reusing the recorded host ports; containers
// that run are watched again, containers that exited meanwhile are reported, containers that never
// started (waiting on dependsOn) are started.
func (c *Containerd) Attach(ctx context.Context, spec TaskSpec, state store.TaskRuntimeState) error {
	_, err := c.begin(ctx, spec, &state)
	return err
}

func (c *Containerd) begin(ctx context.Context, spec TaskSpec, prev *store.TaskRuntimeState) (store.TaskRuntimeState, error) {
	if err := c.wait(ctx); err != nil {
		return store.TaskRuntimeState{}, err
	}
	if spec.TaskID == "" {
		return store.TaskRuntimeState{}, fmt.Errorf("starting task: empty task ID")
	}
	c.mu.Lock()
	if t := c.tasks[spec.TaskID]; t != nil {
		c.mu.Unlock()
		select {
		case <-t.setupDone:
		case <-ctx.Done():
			return store.TaskRuntimeState{}, fmt.Errorf("starting task %s: %w", spec.TaskID, ctx.Err())
		}
		return t.runtimeState(), nil
	}
	t := c.newTask(spec)
	t.attached = prev != nil
	t.counted = prev == nil
	if t.counted {
		c.beginStart()
	}
	c.tasks[spec.TaskID] = t
	c.mu.Unlock()
	// Set up outside c.mu: tasks starting together create their namespaces in parallel.
	t.setup(prev)
	close(t.setupDone)
	// The first report (every container PENDING with its ID and host ports, or the start failure)
	// reaches the Observer before Start returns, so that the caller can store it with the handle in
	// one transaction instead of two (bench/README.md, "Faster starts").
	t.notify()
	t.run()
	return t.runtimeState(), nil
}

func (c *Containerd) newTask(spec TaskSpec) *task {
	t := &task{
		c:         c,
		id:        spec.TaskID,
		spec:      spec,
		dir:       filepath.Join(c.opts.StateDir, "tasks", spec.TaskID),
		nsPath:    netnsPath(c.opts.StateDir, spec.TaskID),
		log:       c.log.WithValues("task", spec.TaskID),
		byName:    map[string]*ctr{},
		proxies:   map[string]proxy{},
		stopCh:    make(chan struct{}),
		changed:   make(chan struct{}),
		setupDone: make(chan struct{}),
		netDone:   make(chan struct{}),
	}
	t.ctx, t.cancel = context.WithCancel(c.runCtx)
	t.startCtx, t.startCancel = context.WithCancel(t.ctx)
	return t
}

// setup parses the spec, writes the task files and opens the port proxies (the network namespace is
// run's, while the containers are created). A failure becomes the task's StartFailure (reported by
// run), not an error of Start.
func (t *task) setup(prev *store.TaskRuntimeState) {
	specs, err := containerSpecs(t.spec, prev == nil)
	var secrets *secretsError
	if errors.As(err, &secrets) {
		t.startFailure = err.Error()
		return
	}
	if err != nil {
		t.startFailure = "invalid task definition: " + err.Error()
		return
	}
	for _, cs := range specs {
		c := &ctr{spec: cs, id: containerID(t.id, cs.Name), exited: make(chan struct{})}
		c.state = ContainerState{Name: cs.Name, Status: model.TaskStatusPending, Health: model.HealthUnknown, RuntimeID: c.id}
		t.ctrs = append(t.ctrs, c)
		t.byName[cs.Name] = c
	}
	if err := validateDependencies(specs); err != nil {
		t.startFailure = "invalid dependsOn: " + err.Error()
		return
	}
	if err := writeTaskFiles(t.dir, t.files()); err != nil {
		t.startFailure = "task setup failed: " + err.Error()
		return
	}
	if err := t.makeVolumes(); err != nil {
		t.startFailure = "task setup failed: " + err.Error()
		return
	}
	if err := t.openPorts(prev); err != nil {
		t.startFailure = "port mapping failed: " + err.Error()
	}
}

func (t *task) hostname() string {
	return "ip-" + t.id[:min(len(t.id), 12)]
}

// joinNetwork sets up the task's network (setupNetwork) while its containers are being created
// (image, snapshot: nothing there needs the network) and fails the task when that fails; a
// container's process starts only once it is done (waitNetwork). Sequentially this takes the
// namespace and the VPC's veth pair, a few ms, off the way to RUNNING (bench/README.md, "Faster
// starts").
func (t *task) joinNetwork() {
	defer close(t.netDone)
	if err := t.setupNetwork(); err != nil {
		t.fail("network setup failed: " + err.Error())
	}
}

// waitNetwork waits until joinNetwork is done; it returns why the container must not start (the
// network failed and failed the task, a stop was asked for, the runtime shuts down), or "".
func (t *task) waitNetwork() string {
	select {
	case <-t.netDone:
	case <-t.startCtx.Done(): // a stop was asked for, or the runtime shuts down
	}
	if t.ctx.Err() != nil {
		return "runtime shutting down"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopping {
		return "Task stopped before the container started"
	}
	return ""
}

// setupNetwork creates the task's namespace and, when the task has a VPC interface, joins it to
// the VPC (both idempotent: Attach after a restart finds them as they were).
func (t *task) setupNetwork() error {
	t.takeSpare()
	if err := vpc.EnsureNamespace(t.nsPath); err != nil {
		return err
	}
	if t.spec.Network == nil {
		return nil
	}
	if t.c.opts.VPC == nil {
		return errors.New("the task has a VPC address but the runtime has no VPC")
	}
	return t.c.opts.VPC.AttachTask(t.id, t.nsPath, *t.spec.Network)
}

// files is what the task's resolv.conf, hosts and hostname say.
func (t *task) files() taskFiles {
	f := taskFiles{hostname: t.hostname(), dns: t.spec.DNS}
	if t.spec.Network != nil {
		f.ip, f.vpcDNS = t.spec.Network.Address.Addr().String(), vpc.Nameserver.String()
		if r := t.c.opts.Resolver; r.IsValid() {
			f.resolver = r.String()
		}
	}
	return f
}

func (t *task) openPorts(prev *store.TaskRuntimeState) error {
	for _, c := range t.ctrs {
		for _, pm := range c.spec.Ports {
			cp := deref(pm.ContainerPort)
			proto := strings.ToLower(deref(pm.Protocol))
			if proto == "" {
				proto = "tcp"
			}
			if cp <= 0 || (proto != "tcp" && proto != "udp") {
				continue
			}
			key := portKey(cp, proto)
			if t.proxies[key] != nil {
				continue
			}
			preferred := cp
			if hp := deref(pm.HostPort); hp > 0 {
				preferred = hp
			}
			if prev != nil && prev.HostPorts[key] > 0 {
				preferred = prev.HostPorts[key]
			}
			p, err := openProxy(proto, preferred, t.nsPath, cp, t.log)
			if err != nil {
				return err
			}
			t.proxies[key] = p
		}
	}
	return nil
}

func (t *task) runtimeState() store.TaskRuntimeState {
	st := store.TaskRuntimeState{Namespace: Namespace, ContainerIDs: map[string]string{}, NetNSPath: t.nsPath}
	for _, c := range t.ctrs {
		st.ContainerIDs[c.spec.Name] = c.id
	}
	if len(t.proxies) > 0 {
		st.HostPorts = map[string]int32{}
		for k, p := range t.proxies {
			st.HostPorts[k] = p.hostPort()
		}
	}
	return st
}

// run starts the task's goroutines and returns: one that joins the network and one per container,
// or one that fails the task when setup did. The containers' goroutines come last and from
// Start's own goroutine, so that the newest of them is the next this thread runs once Start's
// caller waits: the container's creation is the start's critical path, the network is not
// (waitNetwork). Started from a goroutine of their own, which then set up the namespace, they
// waited 0.4-0.9 ms p50 for a thread (traced: bench/README.md, "Faster starts, fifth pass").
func (t *task) run() {
	if t.counted {
		t.startsLeft.Store(int32(len(t.ctrs)))
		if t.startFailure != "" || len(t.ctrs) == 0 {
			t.c.endStart() // no container goroutine will pass its start
		}
	}
	if t.startFailure != "" {
		close(t.netDone)
		t.goTracked(func() { t.fail(t.startFailure) })
		return
	}
	t.goTracked(t.joinNetwork)
	for _, c := range t.ctrs {
		t.wg.Add(1)
		go t.runContainer(c)
	}
}

// goTracked runs f in a goroutine that Remove waits for (waitGoroutines).
func (t *task) goTracked(f func()) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
}

// snapshot is the task's state as the Observer sees it. Callers hold t.mu.
func (t *task) snapshot() TaskState {
	st := TaskState{StartFailure: t.startFailure}
	for _, c := range t.ctrs {
		cs := c.state
		if cs.ExitCode != nil {
			code := *cs.ExitCode
			cs.ExitCode = &code
		}
		st.Containers = append(st.Containers, cs)
	}
	if len(t.proxies) > 0 {
		st.HostPorts = map[string]int32{}
		for k, p := range t.proxies {
			st.HostPorts[k] = p.hostPort()
		}
	}
	return st
}

// notify sends the current state to the Observer; calls for one task are serialised and each sends
// a state at least as new as the previous one.
func (t *task) notify() {
	t.notifyMu.Lock()
	defer t.notifyMu.Unlock()
	t.mu.Lock()
	st := t.snapshot()
	t.mu.Unlock()
	t.c.opts.Observer(t.id, st)
}

// changedLocked wakes everything waiting for a state change. Callers hold t.mu.
func (t *task) changedLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// update applies f under the lock, wakes waiters and notifies the Observer.
func (t *task) update(f func()) {
	t.mu.Lock()
	f()
	t.changedLocked()
	t.mu.Unlock()
	t.notify()
}

// fail records why the task cannot start, marks containers that never started as stopped, and
// stops the rest.
func (t *task) fail(reason string) {
	t.update(func() {
		if t.startFailure == "" {
			t.startFailure = reason
		}
		for _, c := range t.ctrs {
			if !c.started && !c.starting && !c.done {
				c.finishLocked(nil, reason)
			}
		}
	})
	t.requestStop()
}

// finishLocked makes the container terminal. Callers hold t.mu.
func (c *ctr) finishLocked(code *int32, reason string) {
	if c.done {
		return
	}
	c.done = true
	c.state.Status = model.TaskStatusStopped
	c.state.ExitCode = code
	if reason != "" {
		c.state.Reason = reason
	}
	close(c.exited)
}

// requestStop makes every container stop: pending ones never start, running ones get SIGTERM and,
// after their stopTimeout, SIGKILL.
func (t *task) requestStop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopping {
		return
	}
	t.stopping = true
	close(t.stopCh)
	t.startCancel()
	t.changedLocked()
}

// Stop implements Runtime.
func (c *Containerd) Stop(ctx context.Context, taskID string) error {
	t := c.getTask(taskID)
	if t == nil {
		return nil
	}
	<-t.setupDone
	t.requestStop()
	for _, ct := range t.ctrs {
		select {
		case <-ct.exited:
		case <-ctx.Done():
			return fmt.Errorf("stopping task %s: %w", taskID, ctx.Err())
		case <-t.ctx.Done():
			return fmt.Errorf("stopping task %s: the runtime is shutting down", taskID)
		}
	}
	return nil
}

// detach ends supervision without touching the containers (runtime shutdown).
func (t *task) detach() {
	<-t.setupDone
	t.cancel()
	t.closeProxies()
}

func (t *task) closeProxies() {
	t.mu.Lock()
	proxies := make([]proxy, 0, len(t.proxies))
	for _, p := range t.proxies {
		proxies = append(proxies, p)
	}
	t.mu.Unlock()
	for _, p := range proxies {
		p.close()
	}
}

// Remove implements Runtime.
func (c *Containerd) Remove(ctx context.Context, taskID string, state store.TaskRuntimeState) error {
	if err := c.wait(ctx); err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, id := range state.ContainerIDs {
		ids[id] = true
	}
	c.mu.Lock()
	t := c.tasks[taskID]
	delete(c.tasks, taskID)
	c.mu.Unlock()
	since := map[string]uint64{} // see witnessed
	if t != nil {
		t.detach()
		ended := t.waitGoroutines(10 * time.Second)
		for _, ct := range t.ctrs {
			ids[ct.id] = true
			if ended {
				since[ct.id] = c.witnessed(ct)
			}
		}
	}
	var errs []error
	for _, id := range sortedKeys(ids) {
		if err := c.deleteContainer(ctx, id, since[id]); err != nil {
			errs = append(errs, err)
		}
	}
	if c.opts.VPC != nil {
		if err := c.opts.VPC.DetachTask(taskID); err != nil {
			errs = append(errs, err)
		}
	}
	nsPath := state.NetNSPath
	if nsPath == "" {
		nsPath = netnsPath(c.opts.StateDir, taskID)
	}
	if err := vpc.RemoveNamespace(nsPath); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(filepath.Join(c.opts.StateDir, "tasks", taskID)); err != nil {
		errs = append(errs, fmt.Errorf("removing task files: %w", err))
	}
	if err := os.RemoveAll(stdioDir(c.opts.StateDir, taskID)); err != nil {
		errs = append(errs, fmt.Errorf("removing the stdio FIFOs: %w", err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("removing task %s: %v", taskID, errs)
	}
	return nil
}

// waitGoroutines waits up to limit for the task's goroutines to end, and reports whether they did.
func (t *task) waitGoroutines(limit time.Duration) bool {
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(limit):
		t.log.Info("task goroutines still running after removal")
		return false
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (t *task) volumeDir(name string) string { return taskVolumeDir(t.c.opts.StateDir, t.id, name) }

func taskVolumeDir(stateDir, taskID, volume string) string {
	return filepath.Join(stateDir, "tasks", taskID, "volumes", volume)
}

// VolumeDir is the host directory of a task's volume, where its containers' mounts of it point:
// the virtual node rewrites the files of configMap, secret, downwardAPI and projected volumes
// there (podfiles.Write) to keep them current. It fails when the task has no such volume (yet:
// the directory is made when the task starts, and removed with the task).
func (c *Containerd) VolumeDir(taskID, volume string) (string, error) {
	if !volumeName.MatchString(volume) || !volumeName.MatchString(taskID) {
		return "", fmt.Errorf("task %q, volume %q: not a task ID and volume name", taskID, volume)
	}
	dir := taskVolumeDir(c.opts.StateDir, taskID, volume)
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("volume %s of task %s: %w", volume, taskID, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("volume %s of task %s: %s is not a directory", volume, taskID, dir)
	}
	return dir, nil
}

// makeVolumes creates the task's ephemeral volumes, writable by any user (like an emptyDir).
func (t *task) makeVolumes() error {
	for _, v := range t.spec.Definition.Volumes {
		dir := t.volumeDir(deref(v.Name))
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return fmt.Errorf("creating volume %s: %w", deref(v.Name), err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			return fmt.Errorf("creating volume %s: %w", deref(v.Name), err)
		}
	}
	return nil
}
