package chaos

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
)

// What a kill hits.
const (
	killNodeless   = "nodeless"
	killContainerd = "containerd"
	killBoth       = "both"
)

// plan is every random choice of a round, drawn up front in one order, so that a seed replays the
// same choices whatever the timing.
type plan struct {
	action        string // roll, scale, roll+scale, none
	newRevision   bool   // a roll registers a new revision first
	desired       int32  // the new desiredCount (scale)
	delay         time.Duration
	target        string
	runTask       bool
	runTaskOffset time.Duration
	again         bool // kill again during the recovery
	againDelay    time.Duration
	againTarget   string
}

func (s *soak) draw() plan {
	var p plan
	switch x := s.rng.Float64(); {
	case x < 0.35:
		p.action = "roll"
	case x < 0.60:
		p.action = "scale"
	case x < 0.80:
		p.action = "roll+scale"
	default:
		p.action = "none"
	}
	p.newRevision = s.rng.Float64() < 0.25
	others := slices.DeleteFunc([]int32{1, 2, 3}, func(n int32) bool { return n == s.desired })
	p.desired = others[s.rng.Intn(len(others))]
	p.delay = time.Duration(s.rng.Int63n(int64(maxKillDelay)))
	p.target = []string{killNodeless, killContainerd, killBoth}[s.rng.Intn(3)]
	p.runTask = s.rng.Float64() < 0.7
	p.runTaskOffset = time.Duration(s.rng.Int63n(int64(p.delay + 300*time.Millisecond)))
	p.again = s.rng.Float64() < againChance
	p.againDelay = time.Duration(s.rng.Int63n(int64(1500 * time.Millisecond)))
	p.againTarget = []string{killNodeless, killContainerd, killBoth}[s.rng.Intn(3)]
	return p
}

// round is what one round did and measured.
type round struct {
	n     int
	plan  plan
	kills []string
	// serve is the time from the last restart to the API's first answer; converge to the service
	// steady (see soak.steady). A containerd-only kill's restart is the kill: nodeless restarts it.
	serve, converge time.Duration
	converged       bool
	exited          bool // the restarted nodeless exited on its own
	steadyAtKill    bool // the service was already steady when the (first) kill came
	flapped         int  // times the service left the steady state within stableFor of reaching it
	token           string
	tokenCalls      int
	tokenTasks      int // tasks listed for the token (want 1)
	lost            []string
	containers      string // how containerd's containers differ from the live tasks; "" when they match
	notes           []string
}

func (r round) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "round %d: %s", r.n, r.plan.action)
	if strings.HasPrefix(r.plan.action, "roll") && r.plan.newRevision {
		b.WriteString(" (new revision)")
	}
	fmt.Fprintf(&b, ", kill %s after %s", strings.Join(r.kills, " then "), r.plan.delay.Round(time.Millisecond))
	fmt.Fprintf(&b, "; API after %s, steady after %s", r.serve.Round(time.Millisecond), r.converge.Round(time.Millisecond))
	if !r.converged {
		b.WriteString(" (NOT CONVERGED)")
	}
	if r.steadyAtKill {
		b.WriteString(" (steady at the kill)")
	}
	if r.flapped > 0 {
		fmt.Fprintf(&b, " (left the steady state %d times)", r.flapped)
	}
	if r.token != "" {
		fmt.Fprintf(&b, "; RunTask %s: %d calls, %d tasks", r.token, r.tokenCalls, r.tokenTasks)
	}
	for _, l := range r.lost {
		fmt.Fprintf(&b, "; LOST %s", l)
	}
	if r.containers != "" {
		fmt.Fprintf(&b, "; CONTAINERS %s", r.containers)
	}
	for _, n := range r.notes {
		fmt.Fprintf(&b, "; %s", n)
	}
	return b.String()
}

// tokenResult is the outcome of RunTask retried with one clientToken across a kill.
type tokenResult struct {
	arn   string
	calls int
	err   error
}

// round changes the service, kills at a random moment (RunTask under way), restarts, and measures
// and checks the recovery.
func (s *soak) round(ctx context.Context, n int) round {
	r := round{n: n, plan: s.draw()}
	s.change(ctx, &r)
	var tokenDone chan tokenResult
	if r.plan.runTask {
		r.token = fmt.Sprintf("soak-%d-%d", uint32(s.cfg.seed), n)
		tokenDone = s.runTaskAcross(ctx, r.token, r.plan.runTaskOffset)
	}
	time.Sleep(r.plan.delay)
	r.steadyAtKill, _ = s.steadyNow(ctx)
	start := time.Now()
	restart := s.kill(&r, r.plan.target)
	if r.plan.again && s.kills < s.cfg.kills {
		time.Sleep(r.plan.againDelay)
		restart = s.kill(&r, r.plan.againTarget)
	}
	if _, err := retry(ctx, serveBound, func(ctx context.Context) error {
		if err, gone := s.proc.Exited(); gone {
			return fmt.Errorf("nodeless dataplane exited: %w", err)
		}
		_, err := s.c.ListClusters(ctx, &ecs.ListClustersInput{})
		return err
	}); err != nil {
		r.notes = append(r.notes, "API: "+err.Error())
	}
	if err, gone := s.proc.Exited(); gone {
		// A restart that fails is a finding (see the round's notes and the process's log); the soak
		// goes on with a new process.
		r.exited = true
		r.notes = append(r.notes, fmt.Sprintf("NODELESS EXITED: %v (log %s)", err, s.proc.Log))
		s.start()
	}
	r.serve = time.Since(restart)
	at, err := s.waitStable(ctx, &r)
	if err != nil {
		r.notes = append(r.notes, err.Error())
		r.converge = time.Since(restart)
	} else {
		r.converged, r.converge = true, at.Sub(restart)
	}
	if !r.converged || r.converge > slowRound {
		r.notes = append(r.notes, s.whatHappened(ctx, start))
	}
	if tokenDone != nil {
		s.checkToken(ctx, &r, <-tokenDone)
	}
	s.check(ctx, &r)
	s.sampler.setBound(maxTasks(s.desired))
	s.pids.scan()
	return r
}

// change applies the round's action to the service: the sampler's bound is raised first, to
// maximumPercent of the larger of the old and new desiredCount (a scale-down stops the excess
// tasks; it does not make them vanish).
func (s *soak) change(ctx context.Context, r *round) {
	old := s.desired
	if strings.HasPrefix(r.plan.action, "roll") {
		if r.plan.newRevision {
			var arn string
			if _, err := retry(ctx, serveBound, func(ctx context.Context) (err error) {
				arn, err = s.register(ctx, "web", webCommand(fmt.Sprintf("r%d", r.n)))
				return err
			}); err != nil {
				r.notes = append(r.notes, "registering: "+err.Error())
				return
			}
			s.revisions = append(s.revisions, arn)
		}
		s.target = s.nextRevision()
	}
	if strings.HasSuffix(r.plan.action, "scale") {
		s.desired = r.plan.desired
	}
	if r.plan.action == "none" {
		return
	}
	s.sampler.setBound(maxTasks(max(old, s.desired)))
	if _, err := retry(ctx, serveBound, s.updateService); err != nil {
		r.notes = append(r.notes, "UpdateService: "+err.Error())
	}
}

// nextRevision is the newest revision that is not the current target.
func (s *soak) nextRevision() string {
	for i := len(s.revisions) - 1; i >= 0; i-- {
		if s.revisions[i] != s.target {
			return s.revisions[i]
		}
	}
	return s.target
}

// runTaskAcross calls RunTask with token after offset, and again with the same token until it
// succeeds (a kill may cut a call off before or after the data plane stored its task).
func (s *soak) runTaskAcross(ctx context.Context, token string, offset time.Duration) chan tokenResult {
	done := make(chan tokenResult, 1)
	go func() {
		time.Sleep(offset)
		var res tokenResult
		res.calls, res.err = retry(ctx, serveBound, func(ctx context.Context) error {
			arn, err := s.runTask(ctx, token)
			if errors.As(err, new(errFailures)) {
				res.err = err
				return nil // answered: retrying cannot help
			}
			res.arn = arn
			return err
		})
		done <- res
	}()
	return done
}

// checkToken counts the tasks started with the token: exactly one, the one RunTask returned.
func (s *soak) checkToken(ctx context.Context, r *round, res tokenResult) {
	r.tokenCalls = res.calls
	if res.err != nil {
		r.notes = append(r.notes, "RunTask "+r.token+": "+res.err.Error())
		return
	}
	var arns []string
	if _, err := retry(ctx, serveBound, func(ctx context.Context) (err error) {
		arns, err = listTasks(ctx, s.c, ecs.ListTasksInput{StartedBy: aws.String(r.token)})
		return err
	}); err != nil {
		r.notes = append(r.notes, "listing the token's tasks: "+err.Error())
		return
	}
	r.tokenTasks = len(arns)
	if len(arns) != 1 || arns[0] != res.arn {
		r.notes = append(r.notes, fmt.Sprintf("RunTask %s answered %s, tasks started by it: %v", r.token, shortID(res.arn), arns))
	}
}

// kill kills target with SIGKILL and restarts nodeless when it was killed; it returns the moment
// of the restart (of the kill, when only containerd was killed: nodeless restarts it).
func (s *soak) kill(r *round, target string) time.Time {
	s.kills++
	r.kills = append(r.kills, target)
	if target == killContainerd || target == killBoth {
		if err := s.killContainerd(); err != nil {
			r.notes = append(r.notes, err.Error())
		}
	}
	if target == killContainerd {
		return time.Now()
	}
	s.proc.Kill9(s.t)
	restart := time.Now()
	s.start()
	return restart
}

// killContainerd kills the state dir's live containerd daemon, waiting up to 5 s for one to run
// (nodeless may be restarting it).
func (s *soak) killContainerd() error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		if pid := s.containerdPid(); pid > 0 {
			s.pids.scan()
			return syscall.Kill(pid, syscall.SIGKILL)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no containerd of %s running to kill", s.stateDir)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// containerdPid is the pid of the live containerd daemon whose config is in the state dir, or 0.
func (s *soak) containerdPid() int {
	config := filepath.Join(runtime.ContainerdDir(s.stateDir), "config.toml")
	for _, p := range processes() {
		if p.state != "Z" && len(p.args) > 0 && filepath.Base(p.args[0]) == "containerd" && slices.Contains(p.args, config) {
			return p.pid
		}
	}
	return 0
}

// check looks for lost objects and for containers that do not match the live tasks.
func (s *soak) check(ctx context.Context, r *round) {
	if _, err := retry(ctx, serveBound, func(ctx context.Context) (err error) {
		r.lost, err = s.lost(ctx)
		return err
	}); err != nil {
		r.notes = append(r.notes, "checking for lost objects: "+err.Error())
	}
	r.containers = s.checkContainers(ctx)
}

// containersSettle bounds the wait for containerd's containers to match the live tasks (a task
// STOPPED a moment ago may still have its container, one PENDING not yet).
const containersSettle = 15 * time.Second

// checkContainers waits until the task IDs of containerd's containers are exactly those of the
// cluster's tasks not STOPPED, and otherwise says how they differ.
func (s *soak) checkContainers(ctx context.Context) string {
	deadline := time.Now().Add(containersSettle)
	var diff string
	for {
		callCtx, cancel := context.WithTimeout(ctx, 2*callTimeout)
		live, err := s.liveTaskIDs(callCtx)
		var ids []string
		if err == nil {
			ids, err = dataplanetest.ContainerTaskIDs(callCtx, s.stateDir)
		}
		cancel()
		if err != nil {
			diff = err.Error()
		} else {
			ids = slices.Compact(ids)
			orphans := minus(ids, live)
			missing := minus(live, ids)
			shims := minus(s.shimTaskIDs(), live)
			if len(orphans) == 0 && len(missing) == 0 && len(shims) == 0 {
				return ""
			}
			diff = fmt.Sprintf("containers without a live task %v, live tasks without a container %v, shims without a live task %v",
				orphans, missing, s.describeShims(shims))
		}
		if time.Now().After(deadline) {
			return diff
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// liveTaskIDs are the IDs of the cluster's tasks not STOPPED, sorted.
func (s *soak) liveTaskIDs(ctx context.Context) ([]string, error) {
	arns, err := listTasks(ctx, s.c, ecs.ListTasksInput{})
	if err != nil {
		return nil, err
	}
	tasks, _, err := describeTasks(ctx, s.c, arns)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, t := range tasks {
		if aws.ToString(t.LastStatus) != "STOPPED" {
			ids = append(ids, shortID(aws.ToString(t.TaskArn)))
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// minus is a without the elements of b (both sorted).
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	return out
}

// shimTaskIDs are the task IDs of the state dir's live containerd shims (a shim's -id is its
// container's ID, "<task ID>-<container name>"), sorted, each once.
func (s *soak) shimTaskIDs() []string {
	var ids []string
	for _, cmd := range dataplanetest.ShimsOf(s.stateDir) {
		args := strings.Fields(cmd)
		if i := slices.Index(args, "-id"); i >= 0 && i+1 < len(args) {
			id, _, _ := strings.Cut(args[i+1], "-")
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// describeShims lists the shims of tasks ids with their child processes, "<task>: pid <pid>
// children [comm state ...]".
func (s *soak) describeShims(ids []string) []string {
	procs := processes()
	var out []string
	for pid, cmd := range dataplanetest.ShimsOf(s.stateDir) {
		args := strings.Fields(cmd)
		i := slices.Index(args, "-id")
		if i < 0 || i+1 >= len(args) {
			continue
		}
		id, _, _ := strings.Cut(args[i+1], "-")
		if !slices.Contains(ids, id) {
			continue
		}
		var children []string
		for _, p := range procs {
			if p.ppid == pid {
				children = append(children, p.comm+" "+p.state)
			}
		}
		out = append(out, fmt.Sprintf("%.8s: pid %d children %v", id, pid, children))
	}
	slices.Sort(out)
	return out
}
