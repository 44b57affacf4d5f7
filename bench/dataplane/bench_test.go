package dataplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/containerd/containerd"
	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/oci"
	"github.com/go-logr/logr"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
	"github.com/nodeless-dev/nodeless/internal/dataplane/ipam"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// tasks is how many tasks each scenario starts.
const tasks = 50

// pollEvery is how often HTTP is polled: often for one task at a time, less when 50 tasks poll at
// once on two cores.
var pollEvery = 2 * time.Millisecond

// describeEvery is how often the RunTask way's one poller calls DescribeTasks (default 10 ms;
// NODELESS_BENCH_DESCRIBE_EVERY, a Go duration, changes it). Every 2 ms, its CPU (SigV4 on both
// sides, JSON, a read transaction) slowed the container's start itself at load 20 on two cores:
// runc create+start took 106 ms p50 against 83 ms for the Runtime way in the same run, and 97
// against 97 ms when describing every 10 ms. The lag it adds (half the period on average) is the
// client's: RunTask-startedAt-p50-ms is the data plane's own time to RUNNING, without it, and
// RunTask-discovery-p50-ms the lag itself.
var describeEvery = envDuration("NODELESS_BENCH_DESCRIBE_EVERY", 10*time.Millisecond)

// roundPause is the machine's idle time after each start of the sequential scenario, every way's,
// as a user's own pace between starts leaves it (default 300 ms; NODELESS_BENCH_PAUSE, a Go
// duration, changes it, 0s for none). The data plane's pool of ready namespaces refills in idle
// time (runtime.spareSettle after a start); without a pause its kernel work lands in the next
// way's start, which is not how starts one at a time meet it. After every start, not after each
// round: with one pause per round, the way that went first after it always started on a machine
// at rest and the others right after another way's start, and the RunTask way's refill landed in
// the next way's turn (bench/README.md, "eighth pass").
var roundPause = envDurationOrZero("NODELESS_BENCH_PAUSE", 300*time.Millisecond)

// taskCPU is the benchmark's task size in ECS CPU units, for the RunTask and Runtime ways (default
// 2048, two vCPUs; NODELESS_BENCH_CPU changes it), with taskMemory MiB, the least Fargate allows
// with it. The runtime enforces a task's cpu as a CFS quota, as Fargate does: at 256 (a quarter of
// a vCPU) the test server's own start (a Go binary: runtime, threads, the listener) was throttled in
// 24–42 % of the Runtime ways' starts on the seventh pass's machine, 20 ms more from RUNNING to its
// first HTTP answer than the bare way's, whose container has no quota. Two vCPUs on this two-core
// machine is no limit, as for the bare way, so the ratios compare what each way does to start a
// container, not a quarter of a vCPU against the whole machine; 256 measures the quota's cost.
var (
	taskCPU    = envInt("NODELESS_BENCH_CPU", 2048)
	taskMemory = 2 * taskCPU
)

// envDurationOrZero is envDuration that also takes 0.
func envDurationOrZero(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d >= 0 {
		return d
	}
	return def
}

// envDuration is the Go duration in the environment variable name, or def.
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return def
}

// envInt is the integer in the environment variable name, or def. NODELESS_BENCH_SPARES sets the
// RunTask way's pool of ready task namespaces (dataplane.Options.SpareNamespaces: 0 the default,
// negative none), to compare pool sizes in one build.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

// sample is one task's latencies from the start call; startedAt is the RunTask way's task startedAt
// (when the data plane stored RUNNING, in ms), without the lag of polling for it.
type sample struct {
	running, http, startedAt time.Duration
	// throttled is how often the kernel throttled the container's CPU (the task's cpu as a CFS
	// quota) from its creation until it answered: nr_throttled of its cgroup's cpu.stat (-1:
	// unknown).
	throttled int
}

// starter starts task i and returns its latencies; cleanup removes everything it started.
type starter interface {
	start(i int) (sample, error)
	cleanup(b *testing.B)
}

func BenchmarkDataPlane(b *testing.B) {
	env := dataplanetest.StartWith(b, dataplane.Options{SpareNamespaces: envInt("NODELESS_BENCH_SPARES", 0)})
	env.LoadTestImage(b)
	rt := startRuntime(b)
	sameDaemons(b, env.StateDir, rt.stateDir)

	type scenario struct {
		name string
		make func(b *testing.B) starter
	}
	scenarios := []scenario{
		{"RunTask", func(b *testing.B) starter { return newAPIStarter(b, env) }},
		{"Runtime", func(b *testing.B) starter { return &runtimeStarter{rt: rt} }},
		{"RuntimeVPC", func(b *testing.B) starter { return &runtimeStarter{rt: rt, vpc: true} }},
	}
	if os.Getenv("NODELESS_BENCH_PRENET") != "" {
		// What a pool of ready network namespaces could gain at most: every task's namespace made
		// and joined to the VPC, with its address, before the way's clock starts.
		scenarios = append(scenarios, scenario{"RuntimePrenet", func(b *testing.B) starter { return newPrenetStarter(b, rt) }})
	}
	scenarios = append(scenarios, scenario{"containerd", func(b *testing.B) starter {
		return &bareStarter{client: rt.rt.Client(), runc: rt.runc, root: rt.root}
	}})
	way := map[string]int{}
	for j, sc := range scenarios {
		way[sc.name] = j
	}
	bare := way["containerd"]
	// Sequential: the ways take turns task by task, so that they see the same machine load
	// (the machine is shared; load moves a lot within a minute).
	b.Run("sequential", func(b *testing.B) {
		pollEvery = 2 * time.Millisecond
		for n := 0; n < b.N; n++ {
			starters := make([]starter, len(scenarios))
			for i, sc := range scenarios {
				starters[i] = sc.make(b)
			}
			all := make([][]sample, len(scenarios))
			commits := env.DataPlane.Commits()
			for i := 0; i < tasks; i++ {
				for j, s := range starters {
					smp, err := s.start(i)
					if err != nil {
						cleanupAll(b, starters)
						b.Fatalf("%s: %v", scenarios[j].name, err)
					}
					all[j] = append(all[j], smp)
					time.Sleep(roundPause)
				}
			}
			// Only the RunTask way writes to the store, and nothing is stopped before cleanup.
			commits = env.DataPlane.Commits() - commits
			cleanupAll(b, starters)
			settle(b, env.StateDir)
			for j, sc := range scenarios {
				report(b, sc.name+"-", all[j], 0)
			}
			b.ReportMetric(float64(commits)/tasks, "RunTask-commits-per-task")
			ratio := float64(pct(https(all[0]), 50)) / float64(pct(https(all[bare]), 50))
			b.ReportMetric(ratio, "RunTask/containerd-http-p50-x")
			b.ReportMetric(pairedRatio(all[0], all[bare]), "RunTask/containerd-http-paired-p50-x")
			b.ReportMetric(pairedRatio(all[1], all[bare]), "Runtime/containerd-http-paired-p50-x")
			b.ReportMetric(pairedRatio(all[2], all[1]), "RuntimeVPC/Runtime-http-paired-p50-x")
			b.ReportMetric(pairedRatio(all[0], all[2]), "RunTask/RuntimeVPC-http-paired-p50-x")
			if j, ok := way["RuntimePrenet"]; ok {
				b.ReportMetric(pairedRatio(all[j], all[2]), "RuntimePrenet/RuntimeVPC-http-paired-p50-x")
			}
		}
	})
	// 50 at once: the ways take turns round by round, forward then backward, so that each
	// sees the machine's load at both ends (the load moves a lot within a minute).
	b.Run("parallel", func(b *testing.B) {
		pollEvery = 20 * time.Millisecond
		totals := make([][]time.Duration, len(scenarios))
		all := make([][]sample, len(scenarios))
		for n := 0; n < b.N; n++ {
			for round := range 2 {
				for k := range scenarios {
					j := k
					if round == 1 {
						j = len(scenarios) - 1 - k
					}
					smp, total, err := startAtOnce(b, scenarios[j].make(b))
					if err != nil {
						b.Fatalf("%s: %v", scenarios[j].name, err)
					}
					settle(b, env.StateDir)
					totals[j] = append(totals[j], total)
					all[j] = append(all[j], smp...)
				}
			}
		}
		for j, sc := range scenarios {
			report(b, sc.name+"-", all[j], mean(totals[j]))
		}
		b.ReportMetric(float64(mean(totals[0]))/float64(mean(totals[bare])), "RunTask/containerd-all-answered-x")
		b.ReportMetric(float64(mean(totals[1]))/float64(mean(totals[bare])), "Runtime/containerd-all-answered-x")
		b.ReportMetric(float64(mean(totals[2]))/float64(mean(totals[1])), "RuntimeVPC/Runtime-all-answered-x")
		b.ReportMetric(float64(mean(totals[0]))/float64(mean(totals[2])), "RunTask/RuntimeVPC-all-answered-x")
		if j, ok := way["RuntimePrenet"]; ok {
			b.ReportMetric(float64(mean(totals[j]))/float64(mean(totals[2])), "RuntimePrenet/RuntimeVPC-all-answered-x")
		}
	})
}

// startAtOnce starts tasks at once with s and returns their latencies and when the last answered;
// it cleans up before it returns.
func startAtOnce(b *testing.B, s starter) ([]sample, time.Duration, error) {
	all := make([]sample, tasks)
	errs := make([]error, tasks)
	var wg sync.WaitGroup
	begin := time.Now()
	for i := 0; i < tasks; i++ {
		wg.Go(func() { all[i], errs[i] = s.start(i) })
	}
	wg.Wait()
	total := time.Since(begin)
	s.cleanup(b)
	return all, total, errors.Join(errs...)
}

// settleTime is how long the machine is left alone after a way's removals, before the next way
// starts its tasks: the kernel tears network namespaces (and the VPC's veth pairs) down in the
// background after the last reference goes.
const settleTime = 2 * time.Second

// settle waits until the data plane of stateDir has removed every task's network namespace (its
// removals run after StopTask answered and the task was STOPPED: the RunTask way's cleanup does not
// wait for them, and they used to overlap the next way's starts), then settleTime more. The pool's
// spare namespaces (runtime.ContainerdOptions.SpareNamespaces) are not tasks' and stay; the pool
// refills during the settle, when nothing starts.
func settle(b *testing.B, stateDir string) {
	b.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		entries, err := os.ReadDir(filepath.Join(stateDir, "netns"))
		if err != nil {
			b.Fatal(err)
		}
		left := 0
		for _, e := range entries {
			if e.Name() != "vpc" && !strings.HasPrefix(e.Name(), "spare-") { // the VPC's, the pool's
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the data plane still holds %d task network namespaces a minute after its tasks stopped", left)
		}
	}
	time.Sleep(settleTime)
}

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(max(1, len(ds)))
}

func cleanupAll(b *testing.B, starters []starter) {
	for _, s := range starters {
		s.cleanup(b)
	}
}

func https(all []sample) []time.Duration {
	out := make([]time.Duration, len(all))
	for i, s := range all {
		out[i] = s.http
	}
	return out
}

func report(b *testing.B, prefix string, all []sample, total time.Duration) {
	running := make([]time.Duration, len(all))
	for i, s := range all {
		running[i] = s.running
	}
	answer := https(all)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(pct(running, 50)), prefix+"running-p50-ms")
	b.ReportMetric(ms(pct(running, 99)), prefix+"running-p99-ms")
	b.ReportMetric(ms(pct(answer, 50)), prefix+"http-p50-ms")
	b.ReportMetric(ms(pct(answer, 99)), prefix+"http-p99-ms")
	throttled := 0
	for _, s := range all {
		if s.throttled > 0 {
			throttled++
		}
	}
	b.ReportMetric(float64(throttled)/float64(max(1, len(all))), prefix+"cpu-throttled-share")
	if started := startedAts(all); len(started) > 0 {
		b.ReportMetric(ms(pct(started, 50)), prefix+"startedAt-p50-ms")
		b.ReportMetric(ms(pct(discoveries(all), 50)), prefix+"discovery-p50-ms")
	}
	if total > 0 {
		b.ReportMetric(ms(total), prefix+"all-answered-ms")
	}
	b.ReportMetric(0, "ns/op")
}

// pairedRatio is the median over tasks i of a[i].http / b[i].http: task i of each way ran back to
// back, so the pair saw about the same machine load, and the median of the pairs' ratios moves less
// with the load than the ratio of the two medians when the load changes during the run.
func pairedRatio(a, b []sample) float64 {
	ratios := make([]float64, 0, len(a))
	for i := range min(len(a), len(b)) {
		if b[i].http > 0 {
			ratios = append(ratios, float64(a[i].http)/float64(b[i].http))
		}
	}
	if len(ratios) == 0 {
		return 0
	}
	sort.Float64s(ratios)
	return ratios[(len(ratios)-1)/2]
}

func startedAts(all []sample) []time.Duration {
	var out []time.Duration
	for _, s := range all {
		if s.startedAt > 0 {
			out = append(out, s.startedAt)
		}
	}
	return out
}

// discoveries are, per task with a startedAt, the time from the data plane's startedAt until the
// client's DescribeTasks said RUNNING: the RUNNING commit, the poll's lag and the round trip.
func discoveries(all []sample) []time.Duration {
	var out []time.Duration
	for _, s := range all {
		if s.startedAt > 0 {
			out = append(out, s.running-s.startedAt)
		}
	}
	return out
}

func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

// waitHTTP polls http://127.0.0.1:port/ until it answers 200.
func waitHTTP(port int32) error {
	url := "http://127.0.0.1:" + strconv.Itoa(int(port)) + "/"
	c := http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if resp, err := c.Get(url); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(pollEvery)
	}
	return fmt.Errorf("%s did not answer within a minute", url)
}

// --- through the ECS API (RunTask, DescribeTasks) ---

// apiStarter runs tasks with RunTask; one poller describes every task that is not RUNNING yet, up
// to 100 per DescribeTasks, every describeEvery, as a client watching many tasks would (per-task
// pollers made the benchmark measure its own 50 SigV4 clients on two cores).
type apiStarter struct {
	// client makes the measured calls (RunTask, the poller's DescribeTasks): a plain SDK client,
	// as a user's program has (plainClient); env.ECS, which checks every response against the ECS
	// model, registers the definition and describes every task once RUNNING and once STOPPED
	// (cleanup), so the responses are still checked, off the measured path.
	client *ecs.Client
	env    *dataplanetest.Env
	mu     sync.Mutex
	arns   []string
	// watched are the tasks the poller describes, by ARN.
	watched map[string]*watch
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

// watch is one task the poller describes until it is RUNNING and its host port is known.
type watch struct {
	begin time.Time
	// port is the host port of the container's port mapping, once.
	port chan int32
	// running is, once, the time from begin until DescribeTasks said RUNNING, and until startedAt.
	running chan [2]time.Duration
	// failed is sent when the task stopped or DescribeTasks failed.
	failed                chan error
	sentPort, sentRunning bool
}

func newAPIStarter(b *testing.B, env *dataplanetest.Env) *apiStarter {
	_, err := env.ECS.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("bench"), NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String(strconv.Itoa(taskCPU)), Memory: aws.String(strconv.Itoa(taskMemory)),
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String(testimage.DefaultRef), StopTimeout: aws.Int32(2),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(testimage.Port)}},
		}},
	})
	if err != nil {
		b.Fatal(err)
	}
	s := &apiStarter{client: plainClient(env), env: env, watched: map[string]*watch{}, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go s.poll()
	return s
}

func (s *apiStarter) start(_ int) (sample, error) {
	begin := time.Now()
	out, err := s.client.RunTask(context.Background(), &ecs.RunTaskInput{TaskDefinition: aws.String("bench")})
	if err != nil || len(out.Tasks) != 1 {
		return sample{}, fmt.Errorf("RunTask: %w (%+v)", err, out)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	w := &watch{begin: begin, port: make(chan int32, 1), running: make(chan [2]time.Duration, 1), failed: make(chan error, 1)}
	s.mu.Lock()
	s.arns = append(s.arns, arn)
	s.watched[arn] = w
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	// As with the runtime alone: HTTP is polled once the task is RUNNING (polling it earlier makes
	// the port proxy dial into the task's namespace every pollEvery while its container starts).
	var smp sample
	var port int32
	timeout := time.After(time.Minute)
	for smp.running == 0 || port == 0 {
		select {
		case port = <-w.port:
		case r := <-w.running:
			smp.running, smp.startedAt = r[0], r[1]
		case err := <-w.failed:
			return smp, fmt.Errorf("task %s: %w", arn, err)
		case <-timeout:
			return smp, fmt.Errorf("task %s: RUNNING and its host port not seen within a minute", arn)
		}
	}
	if err := waitHTTP(port); err != nil {
		return smp, err
	}
	smp.http = time.Since(begin)
	smp.throttled = throttledCount(runtime.ContainerID(arn[strings.LastIndexByte(arn, '/')+1:], "web"))
	return smp, nil
}

// poll describes the watched tasks every describeEvery while there are any: at a fixed rate (a
// ticker), so that the period is describeEvery and not describeEvery plus the time a
// DescribeTasks takes, as it was up to the fourth pass.
func (s *apiStarter) poll() {
	defer close(s.done)
	tick := time.NewTicker(describeEvery)
	defer tick.Stop()
	for {
		s.mu.Lock()
		arns := make([]string, 0, len(s.watched))
		for arn := range s.watched {
			arns = append(arns, arn)
		}
		s.mu.Unlock()
		if len(arns) == 0 {
			select {
			case <-s.wake:
				continue
			case <-s.stop:
				return
			}
		}
		for i := 0; i < len(arns); i += 100 {
			s.describe(arns[i:min(len(arns), i+100)])
		}
		select {
		case <-tick.C:
		case <-s.stop:
			return
		}
	}
}

// describe describes up to 100 watched tasks and tells their watches what it found.
func (s *apiStarter) describe(arns []string) {
	d, err := s.client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Tasks: arns})
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		for _, arn := range arns {
			s.watched[arn].failed <- fmt.Errorf("DescribeTasks: %w", err)
			delete(s.watched, arn)
		}
		return
	}
	for _, t := range d.Tasks {
		arn := aws.ToString(t.TaskArn)
		w := s.watched[arn]
		if w == nil {
			continue
		}
		if aws.ToString(t.LastStatus) == model.TaskStatusStopped {
			w.failed <- fmt.Errorf("stopped: %s", aws.ToString(t.StoppedReason))
			delete(s.watched, arn)
			continue
		}
		if !w.sentRunning && aws.ToString(t.LastStatus) == model.TaskStatusRunning {
			w.running <- [2]time.Duration{now.Sub(w.begin), aws.ToTime(t.StartedAt).Sub(w.begin)}
			w.sentRunning = true
		}
		if !w.sentPort && len(t.Containers) == 1 && len(t.Containers[0].NetworkBindings) == 1 {
			w.port <- aws.ToInt32(t.Containers[0].NetworkBindings[0].HostPort)
			w.sentPort = true
		}
		if w.sentRunning && w.sentPort {
			delete(s.watched, arn)
		}
	}
}

func (s *apiStarter) cleanup(b *testing.B) {
	close(s.stop)
	<-s.done
	ctx := context.Background()
	// The measured calls' responses were not checked against the ECS model (plainClient): check
	// every task's RUNNING description here, and its STOPPED one below.
	for i := 0; i < len(s.arns); i += 100 {
		if _, err := s.env.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: s.arns[i:min(len(s.arns), i+100)]}); err != nil {
			b.Errorf("DescribeTasks: %v", err)
		}
	}
	for _, arn := range s.arns {
		if _, err := s.env.ECS.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
			b.Errorf("StopTask: %v", err)
		}
	}
	for _, arn := range s.arns {
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			d, err := s.env.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}})
			if err == nil && len(d.Tasks) == 1 && aws.ToString(d.Tasks[0].LastStatus) == model.TaskStatusStopped {
				break
			}
		}
	}
}

// --- through the runtime alone (runtime.Containerd) ---

type benchRuntime struct {
	rt         *runtime.Containerd
	vpc        *vpc.VPC
	lastAddr   atomic.Uint32 // the last address given to a RuntimeVPC task, from the subnet's gateway on
	runc, root string
	stateDir   string
	mu         sync.Mutex
	waiters    map[string]chan struct{}
}

func startRuntime(b *testing.B) *benchRuntime {
	dir, err := os.MkdirTemp("", "bench-runtime-")
	if err != nil {
		b.Fatal(err)
	}
	br := &benchRuntime{waiters: map[string]chan struct{}{}}
	// The runtime has a VPC of its own, as the data plane's runtime does; the Runtime way's tasks
	// do not join it (no TaskSpec.Network: a namespace with lo only), the RuntimeVPC way's do.
	v, err := vpc.New(vpc.Options{StateDir: dir, Logger: logr.Discard()})
	if err != nil {
		b.Fatal(err)
	}
	rt, err := runtime.NewContainerd(runtime.ContainerdOptions{StateDir: dir, Observer: br.observe, VPC: v, Logger: logr.Discard()})
	if err != nil {
		b.Fatal(err)
	}
	br.rt, br.vpc, br.runc, br.root, br.stateDir = rt, v, "/usr/sbin/runc", dir+"/containerd/runc", dir
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- rt.Run(ctx) }()
	go func() { done <- v.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
		<-done
		unmountAll(dir)
		_ = os.RemoveAll(dir)
	})
	<-rt.Ready()
	<-v.Ready()
	f, err := os.Open(testimage.Tarball(b, ""))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := rt.LoadImage(ctx, f); err != nil {
		b.Fatal(err)
	}
	return br
}

func (br *benchRuntime) observe(taskID string, st runtime.TaskState) {
	if len(st.Containers) == 0 || st.Containers[0].Status != model.TaskStatusRunning {
		return
	}
	br.mu.Lock()
	defer br.mu.Unlock()
	if ch, ok := br.waiters[taskID]; ok {
		close(ch)
		delete(br.waiters, taskID)
	}
}

// nextInterface is a VPC interface with the next address of the runtime's subnet (the benchmark
// starts far fewer tasks than the default subnet holds, so addresses are not reused).
func (br *benchRuntime) nextInterface() *vpc.Interface {
	sub := br.vpc.Subnet()
	addr := sub.Gateway()
	for range br.lastAddr.Add(1) {
		addr = addr.Next()
	}
	return &vpc.Interface{Address: sub.WithBits(addr), Gateway: sub.Gateway(), MAC: ipam.MAC(addr)}
}

// prenet is a task whose network namespace was made and joined to the VPC before its start.
type prenet struct {
	id  string
	ifc *vpc.Interface
}

// newPrenetStarter makes the namespaces of tasks tasks where the runtime looks for them
// (StateDir/netns/ID), each with its veth pair and address, as Start's own set-up would; Start
// then finds them made (its set-up is idempotent) and only checks them.
func newPrenetStarter(b *testing.B, br *benchRuntime) *runtimeStarter {
	s := &runtimeStarter{rt: br, pre: make([]prenet, tasks)}
	for i := range s.pre {
		id := fmt.Sprintf("%016x%016x", time.Now().UnixNano(), i)
		ifc := br.nextInterface()
		ns := filepath.Join(br.stateDir, "netns", id)
		if err := vpc.EnsureNamespace(ns); err != nil {
			b.Fatal(err)
		}
		if err := br.vpc.AttachTask(id, ns, *ifc); err != nil {
			b.Fatal(err)
		}
		s.pre[i] = prenet{id: id, ifc: ifc}
	}
	return s
}

type runtimeStarter struct {
	rt *benchRuntime
	// vpc joins each task to the runtime's VPC (a veth pair, an address), as the data plane does.
	vpc bool
	// pre are the tasks' IDs and interfaces whose namespaces newPrenetStarter made beforehand.
	pre    []prenet
	mu     sync.Mutex
	states map[string]store.TaskRuntimeState
}

func (s *runtimeStarter) start(i int) (sample, error) {
	id := fmt.Sprintf("%016x%016x", time.Now().UnixNano(), i)
	var network *vpc.Interface
	switch {
	case s.pre != nil:
		id, network = s.pre[i].id, s.pre[i].ifc
	case s.vpc:
		network = s.rt.nextInterface()
	}
	spec := runtime.TaskSpec{TaskID: id, Cluster: "bench", Definition: model.TaskDefinition{
		Family: "bench", Revision: 1, Cpu: aws.String(strconv.Itoa(taskCPU)), Memory: aws.String(strconv.Itoa(taskMemory)),
		ContainerDefinitions: []model.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String(testimage.DefaultRef), StopTimeout: aws.Int32(2),
			PortMappings: []model.PortMapping{{ContainerPort: aws.Int32(testimage.Port)}},
		}},
	}}
	spec.Network = network
	ch := make(chan struct{})
	s.rt.mu.Lock()
	s.rt.waiters[id] = ch
	s.rt.mu.Unlock()
	begin := time.Now()
	st, err := s.rt.rt.Start(context.Background(), spec)
	if err != nil {
		return sample{}, err
	}
	s.mu.Lock()
	if s.states == nil {
		s.states = map[string]store.TaskRuntimeState{}
	}
	s.states[id] = st
	s.mu.Unlock()
	var smp sample
	select {
	case <-ch:
		smp.running = time.Since(begin)
	case <-time.After(time.Minute):
		return smp, fmt.Errorf("task %s not RUNNING within a minute", id)
	}
	if err := waitHTTP(st.HostPorts["8080/tcp"]); err != nil {
		return smp, err
	}
	smp.http = time.Since(begin)
	smp.throttled = throttledCount(runtime.ContainerID(id, "web"))
	return smp, nil
}

func (s *runtimeStarter) cleanup(b *testing.B) {
	ctx := context.Background()
	for id, st := range s.states {
		if err := s.rt.rt.Stop(ctx, id); err != nil {
			b.Errorf("Stop: %v", err)
		}
		if err := s.rt.rt.Remove(ctx, id, st); err != nil {
			b.Errorf("Remove: %v", err)
		}
	}
}

// --- directly with the containerd client: same image, snapshotter and runc, host network ---

type bareStarter struct {
	client     *containerd.Client
	runc, root string
	mu         sync.Mutex
	ids        []string
}

func (s *bareStarter) start(i int) (sample, error) {
	ctx := context.Background()
	port, err := freePort()
	if err != nil {
		return sample{}, err
	}
	id := fmt.Sprintf("bare-%d-%d", time.Now().UnixNano(), i)
	begin := time.Now()
	img, err := s.client.GetImage(ctx, testimage.DefaultRef)
	if err != nil {
		return sample{}, err
	}
	cont, err := s.client.NewContainer(ctx, id,
		containerd.WithImage(img),
		containerd.WithSnapshotter("overlayfs"),
		containerd.WithNewSnapshot(id, img),
		containerd.WithRuntime("io.containerd.runc.v2", &options.Options{BinaryName: s.runc, Root: s.root}),
		containerd.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("/testserver", "-listen", "127.0.0.1:"+strconv.Itoa(int(port))),
			oci.WithHostNamespace(specs.NetworkNamespace)),
	)
	if err != nil {
		return sample{}, err
	}
	s.mu.Lock()
	s.ids = append(s.ids, id)
	s.mu.Unlock()
	task, err := cont.NewTask(ctx, cio.NullIO)
	if err != nil {
		return sample{}, err
	}
	if err := task.Start(ctx); err != nil {
		return sample{}, err
	}
	smp := sample{running: time.Since(begin)}
	if err := waitHTTP(port); err != nil {
		return smp, err
	}
	smp.http = time.Since(begin)
	smp.throttled = throttledCount(id)
	return smp, nil
}

var nextPort atomic.Int32

// freePort picks a free port below the kernel's ephemeral range, so that neither outgoing
// connections nor listeners on port 0 take it before the container binds it.
func freePort() (int32, error) {
	for range 1000 {
		p := 20000 + nextPort.Add(1)%10000
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(int(p)))
		if err == nil {
			_ = l.Close()
			return p, nil
		}
	}
	return 0, errors.New("no free port in 20000-29999")
}

func (s *bareStarter) cleanup(b *testing.B) {
	ctx := context.Background()
	for _, id := range s.ids {
		cont, err := s.client.LoadContainer(ctx, id)
		if err != nil {
			b.Errorf("loading %s: %v", id, err)
			continue
		}
		if task, err := cont.Task(ctx, nil); err == nil {
			_, _ = task.Delete(ctx, containerd.WithProcessKill)
		}
		if err := cont.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
			b.Errorf("deleting %s: %v", id, err)
		}
	}
}

// unmountAll detaches every mount below dir.
func unmountAll(dir string) {
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mounts []string
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			mounts = append(mounts, f[4])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = unix.Unmount(mounts[i], unix.MNT_DETACH)
	}
}

// sameDaemons fails the benchmark unless the RunTask way's containerd (the data plane's own, under
// stateDirA) and the daemon the other two ways share (under stateDirB) run the same executable
// with the same configuration but for their directories: the ways are compared, not the daemons.
func sameDaemons(b *testing.B, stateDirA, stateDirB string) {
	b.Helper()
	describe := func(stateDir string) (exe, config string) {
		dir := runtime.ContainerdDir(stateDir)
		raw, err := os.ReadFile(filepath.Join(dir, "config.toml"))
		if err != nil {
			b.Fatal(err)
		}
		pid, err := os.ReadFile(filepath.Join(dir, "containerd.pid"))
		if err != nil {
			b.Fatal(err)
		}
		exe, err = os.Readlink("/proc/" + strings.TrimSpace(string(pid)) + "/exe")
		if err != nil {
			b.Fatal(err)
		}
		return exe, strings.ReplaceAll(string(raw), dir, "DIR")
	}
	exeA, configA := describe(stateDirA)
	exeB, configB := describe(stateDirB)
	if exeA != exeB || configA != configB {
		b.Fatalf("the two containerd daemons differ: %s with\n%s\nagainst %s with\n%s", exeA, configA, exeB, configB)
	}
}

// throttledCount is nr_throttled of the container's CPU cgroup (containerd's default cgroup path,
// /<namespace>/<container ID>; cgroup v1 or v2), or -1 when it cannot be read.
func throttledCount(containerID string) int {
	for _, path := range []string{
		filepath.Join("/sys/fs/cgroup/cpu", runtime.Namespace, containerID, "cpu.stat"),
		filepath.Join("/sys/fs/cgroup", runtime.Namespace, containerID, "cpu.stat"),
	} {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if v, ok := strings.CutPrefix(line, "nr_throttled "); ok {
				n, err := strconv.Atoi(v)
				if err == nil {
					return n
				}
			}
		}
	}
	return -1
}

// plainClient is an ECS client of env's data plane as a user's program has one: the SDK's defaults,
// without the check of every response against the ECS model that env.ECS makes for the tests
// (dataplanetest.ConformanceTransport; 5 % of the benchmark process's CPU in the fourth pass,
// on the cores the containers start on).
func plainClient(env *dataplanetest.Env) *ecs.Client {
	return ecs.New(ecs.Options{
		Region:       env.Region,
		BaseEndpoint: aws.String(env.Endpoint),
		Credentials:  aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return env.Credentials, nil }),
	})
}
