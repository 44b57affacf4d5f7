package pods

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// Settings of BenchmarkManyAtOnce, from the environment.
const (
	// deploymentsEnvVar: how many Deployments of 1 replica (default 100).
	deploymentsEnvVar = "NODELESS_BENCH_DEPLOYMENTS"
	// restEnvVar: how long the steady state is watched (a Go duration, default 3m).
	restEnvVar = "NODELESS_BENCH_REST"
)

// settle is how long the benchmark waits after every Deployment is Available before it starts
// counting the steady state: the Pod controller polls changing tasks every 5 s and a task counts
// as at rest only once a poll saw it unchanged.
const settle = time.Minute

// BenchmarkManyAtOnce: N Deployments × 1 replica created at once (one goroutine per Deployment)
// until all are Available: wall time and per-Deployment p50/p99 from its own Create. Beside it, N
// bare RunTasks at once on the same data plane until all are RUNNING. Then the ECS calls the
// Pods cost: counted at the data plane (its per-request log line, `nodeless up --v=1`) while they
// converge, while they settle, at rest (per Pod per minute), and while they are deleted.
func BenchmarkManyAtOnce(b *testing.B) {
	n := envInt(deploymentsEnvVar, 100)
	rest := 3 * time.Minute
	if d, err := time.ParseDuration(os.Getenv(restEnvVar)); err == nil && d > 0 {
		rest = d
	}
	// --v=1 for the data plane's request lines; a log large enough not to be rotated meanwhile.
	bn := start(b, "--v=1", "--log-max-size=2048")
	calls := &callLog{path: filepath.Join(bn.env.StateDir, "logs", "nodeless.log")}
	// Warm up as BenchmarkStartOne does: the image's snapshot, the Pod path once.
	bn.startDeployment(b, "warm")

	logLoad(b, "before the baseline")
	wall, each := bn.manyTasks(b, n)
	b.ReportMetric(wall.Seconds(), "s-all-running-tasks")
	reportPct(b, "task-running", each)

	logLoad(b, "before the Deployments")
	calls.mark(b)
	stages := &podStages{}
	wall, each = bn.manyDeployments(b, n, stages)
	converge := calls.mark(b)
	b.ReportMetric(wall.Seconds(), "s-all-available")
	reportPct(b, "deploy-available", each)
	b.ReportMetric(float64(converge.total())/float64(n), "calls/pod-converge")
	b.ReportMetric(float64(converge.writes())/float64(n), "writes/pod-converge")
	b.Logf("ECS calls until all %d Available: %s", n, converge)

	time.Sleep(settle)
	settled := calls.mark(b)
	b.Logf("ECS calls in the %s after: %s", settle, settled)
	b.ReportMetric(float64(settled.total())/float64(n), "calls/pod-settle")

	logLoad(b, "at rest, begin")
	time.Sleep(rest)
	atRest := calls.mark(b)
	logLoad(b, "at rest, end")
	b.Logf("ECS calls at rest over %s with %d Pods: %s", rest, n, atRest)
	perPodMinute := func(k int) float64 { return float64(k) / float64(n) / rest.Minutes() }
	b.ReportMetric(perPodMinute(atRest.reads()), "reads/pod/min-rest")
	b.ReportMetric(perPodMinute(atRest.writes()), "writes/pod/min-rest")
	if vm, anon, err := rss(bn.env.PID()); err == nil {
		b.ReportMetric(vm, "MiB-rss-rest")
		b.ReportMetric(anon, "MiB-anon-rest")
	}

	// Where the time went, from the first Create (after the counted windows: these are the
	// benchmark's own ECS calls).
	stages.taskTimes(b, bn)
	stages.report(b)

	begin := time.Now()
	bn.deleteAll(b, n)
	deleted := calls.mark(b)
	b.ReportMetric(time.Since(begin).Seconds(), "s-all-deleted")
	b.ReportMetric(float64(deleted.total())/float64(n), "calls/pod-delete")
	b.Logf("ECS calls until every Pod is gone: %s", deleted)
	b.ReportMetric(0, "ns/op")
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// manyTasks runs n baseline tasks at once (n RunTask calls in parallel), polls them with one
// DescribeTasks per 100 every 50 ms until all are RUNNING, then stops them all. It returns the
// wall time from the first RunTask and each task's time to RUNNING from its own RunTask.
func (bn *bench) manyTasks(b *testing.B, n int) (time.Duration, []time.Duration) {
	b.Helper()
	ctx := context.Background()
	begin := time.Now()
	arns := make([]string, n)
	starts := make([]time.Time, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			starts[i] = time.Now()
			out, err := bn.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(baselineCluster), TaskDefinition: aws.String(baselineFamily)})
			if err != nil || len(out.Tasks) != 1 {
				errs <- fmt.Errorf("RunTask: %w", err)
				return
			}
			arns[i] = aws.ToString(out.Tasks[0].TaskArn)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	index := map[string]int{}
	for i, arn := range arns {
		index[arn] = i
	}
	each := make([]time.Duration, n)
	left := n
	var wall time.Duration
	deadline := time.Now().Add(waitTimeout)
	for left > 0 {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d tasks not RUNNING within %s", left, n, waitTimeout)
		}
		for from := 0; from < n; from += 100 {
			d, err := bn.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(baselineCluster), Tasks: arns[from:min(n, from+100)]})
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			for _, t := range d.Tasks {
				i := index[aws.ToString(t.TaskArn)]
				switch aws.ToString(t.LastStatus) {
				case model.TaskStatusRunning:
					if each[i] == 0 {
						each[i], wall, left = now.Sub(starts[i]), now.Sub(begin), left-1
					}
				case model.TaskStatusStopped:
					b.Fatalf("task %s stopped: %s", aws.ToString(t.TaskArn), aws.ToString(t.StoppedReason))
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, arn := range arns {
		bn.stopTask(b, arn)
	}
	return wall, each
}

// manyDeployments creates n Deployments at once and returns the wall time from the first Create
// until the last is Available, and each Deployment's time from its own Create to Available.
func (bn *bench) manyDeployments(b *testing.B, n int, stages *podStages) (time.Duration, []time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
	defer cancel()
	ns := bn.env.Namespace
	w, err := bn.kube.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "bench=many"})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	pw, err := bn.kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "bench=many"})
	if err != nil {
		b.Fatal(err)
	}
	defer pw.Stop()
	var mu sync.Mutex
	starts := map[string]time.Time{}
	begin := time.Now()
	stages.begin = begin
	go stages.follow(pw)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d := deployment(fmt.Sprintf("m%03d", i))
			d.Labels["bench"] = "many"
			mu.Lock()
			starts[d.Name] = time.Now()
			mu.Unlock()
			if _, err := bn.kube.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
				b.Errorf("creating %s: %v", d.Name, err)
			}
		})
	}
	done := map[string]time.Duration{}
	var wall time.Duration
	for len(done) < n {
		select {
		case <-ctx.Done():
			wg.Wait()
			b.Fatalf("%d of %d Deployments Available within %s", len(done), n, 2*waitTimeout)
		case ev, ok := <-w.ResultChan():
			if !ok {
				b.Fatal("deployment watch closed")
			}
			d, isD := ev.Object.(*appsv1.Deployment)
			if !isD || !available(d) {
				continue
			}
			if _, seen := done[d.Name]; !seen {
				mu.Lock()
				done[d.Name] = time.Since(starts[d.Name])
				mu.Unlock()
				wall = time.Since(begin)
				stages.add("deployment Available", d.Name, wall)
			}
		}
	}
	wg.Wait()
	each := make([]time.Duration, 0, n)
	for _, d := range done {
		each = append(each, d)
	}
	return wall, each
}

// deleteAll deletes the n Deployments and waits until none of their Pods is left (each Pod is
// deleted by the Pod controller once its task is STOPPED).
func (bn *bench) deleteAll(b *testing.B, n int) {
	b.Helper()
	ctx := context.Background()
	for i := range n {
		if err := bn.kube.AppsV1().Deployments(bn.env.Namespace).Delete(ctx, fmt.Sprintf("m%03d", i), metav1.DeleteOptions{}); err != nil {
			b.Errorf("deleting m%03d: %v", i, err)
		}
	}
	bn.waitNoPods(b, "app")
}

// callLog counts the requests the data plane served or refused, by operation, from its log lines
// (`"request served" ... operation="RunTask"`, written at -v 1) in `nodeless up`'s log file.
type callLog struct {
	path   string
	offset int64
}

var operationRE = regexp.MustCompile(`"request (served|refused)".*operation="([A-Za-z]+)"`)

// calls is a count of ECS (and Secrets Manager) operations.
type calls map[string]int

// mark returns the calls logged since the previous mark.
func (c *callLog) mark(b *testing.B) calls {
	b.Helper()
	f, err := os.Open(c.path)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if fi, err := f.Stat(); err != nil || fi.Size() < c.offset {
		b.Fatalf("%s shrank below the last mark (%v): rotated? raise --log-max-size", c.path, err)
	}
	if _, err := f.Seek(c.offset, io.SeekStart); err != nil {
		b.Fatal(err)
	}
	out := calls{}
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break // a partial last line is read again at the next mark
		}
		c.offset += int64(len(line))
		if m := operationRE.FindStringSubmatch(line); m != nil {
			out[m[2]]++
		}
	}
	return out
}

func (c calls) total() int {
	n := 0
	for _, k := range c {
		n += k
	}
	return n
}

func (c calls) writes() int {
	n := 0
	for op, k := range c {
		if ecsapi.IsWrite(op) {
			n += k
		}
	}
	return n
}

func (c calls) reads() int { return c.total() - c.writes() }

func (c calls) String() string {
	ops := make([]string, 0, len(c))
	for op := range c {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	parts := make([]string, len(ops))
	for i, op := range ops {
		parts[i] = fmt.Sprintf("%s %d", op, c[op])
	}
	return fmt.Sprintf("%d (%d writes): %s", c.total(), c.writes(), strings.Join(parts, ", "))
}

// podStages records, from the first Create, when each Pod reached each stage (by Pod name).
type podStages struct {
	begin time.Time
	mu    sync.Mutex
	at    map[string]map[string]time.Duration // stage → pod → time
}

// stageOrder is the order in which podStages reports its stages.
var stageOrder = []string{"Pod created", "Pod bound", "task stored (createdAt)", "task running (startedAt)", "Pod has podIP", "Pod Ready", "deployment Available"}

func (ps *podStages) add(stage, name string, d time.Duration) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.at == nil {
		ps.at = map[string]map[string]time.Duration{}
	}
	if ps.at[stage] == nil {
		ps.at[stage] = map[string]time.Duration{}
	}
	if _, seen := ps.at[stage][name]; !seen {
		ps.at[stage][name] = d
	}
}

// follow records the Pods' stages from a watch until it is stopped.
func (ps *podStages) follow(w watch.Interface) {
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok {
			continue
		}
		now := time.Since(ps.begin)
		ps.add("Pod created", p.Name, now)
		if p.Spec.NodeName != "" {
			ps.add("Pod bound", p.Name, now)
		}
		if p.Status.PodIP != "" {
			ps.add("Pod has podIP", p.Name, now)
		}
		if podReady(p) {
			ps.add("Pod Ready", p.Name, now)
		}
	}
}

// taskTimes adds the data plane's createdAt and startedAt of every task in the Pods' cluster.
func (ps *podStages) taskTimes(b *testing.B, bn *bench) {
	b.Helper()
	ctx := context.Background()
	var arns []string
	p := ecs.NewListTasksPaginator(bn.ecs, &ecs.ListTasksInput{Cluster: aws.String(podCluster)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			b.Fatal(err)
		}
		arns = append(arns, page.TaskArns...)
	}
	for from := 0; from < len(arns); from += 100 {
		d, err := bn.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(podCluster), Tasks: arns[from:min(len(arns), from+100)]})
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range d.Tasks {
			if t.CreatedAt != nil {
				ps.add("task stored (createdAt)", aws.ToString(t.TaskArn), t.CreatedAt.Sub(ps.begin))
			}
			if t.StartedAt != nil {
				ps.add("task running (startedAt)", aws.ToString(t.TaskArn), t.StartedAt.Sub(ps.begin))
			}
		}
	}
}

// report logs, per stage, how many Pods reached it and when (p50, p99, last), from the first Create.
func (ps *podStages) report(b *testing.B) {
	b.Helper()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, stage := range stageOrder {
		var ds []time.Duration
		for _, d := range ps.at[stage] {
			ds = append(ds, d)
		}
		b.Logf("stage %-26s %3d reached, from the first Create: p50 %6.0f ms, p99 %6.0f ms, last %6.0f ms",
			stage, len(ds), ms(pct(ds, 50)), ms(pct(ds, 99)), ms(pct(ds, 100)))
	}
}
