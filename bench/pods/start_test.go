package pods

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// runsEnvVar sets how many runs BenchmarkStartOne makes of each way (default 30).
const runsEnvVar = "NODELESS_BENCH_RUNS"

// startSample is one run's times from the start call (Create of the Deployment; RunTask).
type startSample struct {
	// Deployment: the Pod first seen (created by the ReplicaSet), bound to the node, with a
	// podIP, Ready; the Deployment Available. Baseline: RUNNING (ready) and address (ip).
	created, scheduled, ip, ready, available time.Duration
	// http is the first 200 from GET http://<podIP or task IP>:8080/ from inside the VPC.
	http time.Duration
	// The data plane's own timestamps of the task (the Pod's, or the baseline's): createdAt
	// (RunTask stored it) and startedAt (its containers run), from the start call.
	taskCreated, taskStarted time.Duration
}

// BenchmarkStartOne: a Deployment of 1 replica, created with the typed client, until it is
// Available and until its Pod answers HTTP on its podIP; and, taking turns run by run, the same
// image as a bare RunTask on the same data plane until RUNNING and until it answers on its VPC
// address. Each run waits until the previous one's Pod or task is gone.
func BenchmarkStartOne(b *testing.B) {
	runs := 30
	if v, err := strconv.Atoi(os.Getenv(runsEnvVar)); err == nil && v > 0 {
		runs = v
	}
	bn := start(b)
	// One run of each first, not counted: the first Pod registers the task definition revision
	// and the first task of an image unpacks its snapshot.
	bn.startDeployment(b, "warm")
	bn.startTask(b)
	logLoad(b, "at the start of the runs")
	var pods, tasks []startSample
	for i := range runs {
		pod := func() { pods = append(pods, bn.startDeployment(b, fmt.Sprintf("d%02d", i))) }
		task := func() { tasks = append(tasks, bn.startTask(b)) }
		if i%2 == 0 {
			pod()
			task()
		} else {
			task()
			pod()
		}
	}
	logLoad(b, "at the end of the runs")
	field := func(ss []startSample, f func(startSample) time.Duration) []time.Duration {
		ds := make([]time.Duration, len(ss))
		for i, s := range ss {
			ds[i] = f(s)
		}
		return ds
	}
	reportPct(b, "pod-created", field(pods, func(s startSample) time.Duration { return s.created }))
	reportPct(b, "pod-scheduled", field(pods, func(s startSample) time.Duration { return s.scheduled }))
	reportPct(b, "pod-ip", field(pods, func(s startSample) time.Duration { return s.ip }))
	reportPct(b, "pod-ready", field(pods, func(s startSample) time.Duration { return s.ready }))
	reportPct(b, "deploy-available", field(pods, func(s startSample) time.Duration { return s.available }))
	reportPct(b, "deploy-http", field(pods, func(s startSample) time.Duration { return s.http }))
	reportPct(b, "pod-task-created", field(pods, func(s startSample) time.Duration { return s.taskCreated }))
	reportPct(b, "pod-task-started", field(pods, func(s startSample) time.Duration { return s.taskStarted }))
	reportPct(b, "task-created", field(tasks, func(s startSample) time.Duration { return s.taskCreated }))
	reportPct(b, "task-started", field(tasks, func(s startSample) time.Duration { return s.taskStarted }))
	reportPct(b, "task-running", field(tasks, func(s startSample) time.Duration { return s.ready }))
	reportPct(b, "task-http", field(tasks, func(s startSample) time.Duration { return s.http }))
	ratio := func(name string, p int, a, c func(startSample) time.Duration) {
		b.ReportMetric(float64(pct(field(pods, a), p))/float64(pct(field(tasks, c), p)), name)
	}
	ratio("ratio-available/running-p50", 50, func(s startSample) time.Duration { return s.available }, func(s startSample) time.Duration { return s.ready })
	ratio("ratio-http-p50", 50, func(s startSample) time.Duration { return s.http }, func(s startSample) time.Duration { return s.http })
	ratio("ratio-http-p99", 99, func(s startSample) time.Duration { return s.http }, func(s startSample) time.Duration { return s.http })
	b.ReportMetric(0, "ns/op")
}

// startDeployment creates Deployment name and returns its times; then deletes it and waits until
// its Pod is gone (which the Pod controller does once the task is STOPPED).
func (bn *bench) startDeployment(b *testing.B, name string) startSample {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	ns := bn.env.Namespace
	dw, err := bn.kube.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
	if err != nil {
		b.Fatal(err)
	}
	defer dw.Stop()
	pw, err := bn.kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		b.Fatal(err)
	}
	defer pw.Stop()

	begin := time.Now()
	if _, err := bn.kube.AppsV1().Deployments(ns).Create(ctx, deployment(name), metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	s, err := bn.follow(ctx, begin, dw, pw)
	if err != nil {
		bn.dumpPods(b, name)
		b.Fatalf("deployment %s: %v (times so far %+v)", name, err, s)
	}
	// The Pod's task is the only one running in the Pod controller's cluster: each run waits
	// until the previous Pod is gone, which is after its task STOPPED.
	list, err := bn.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(podCluster)})
	if err != nil || len(list.TaskArns) != 1 {
		b.Fatalf("ListTasks %s: %v %v, want the one task of deployment %s", podCluster, err, list, name)
	}
	s.taskCreated, s.taskStarted = bn.taskTimes(ctx, b, podCluster, list.TaskArns[0], begin)
	bn.deleteDeployment(b, name)
	return s
}

// follow reads the two watches until the Deployment is Available and its Pod answered HTTP.
func (bn *bench) follow(ctx context.Context, begin time.Time, dw, pw watch.Interface) (startSample, error) {
	var s startSample
	answered := make(chan time.Time, 1)
	failed := make(chan error, 1)
	probing := false
	since := func(d *time.Duration) {
		if *d == 0 {
			*d = time.Since(begin)
		}
	}
	for s.available == 0 || s.http == 0 {
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case err := <-failed:
			return s, err
		case at := <-answered:
			s.http = at.Sub(begin)
		case ev, ok := <-dw.ResultChan():
			if !ok {
				return s, fmt.Errorf("deployment watch closed")
			}
			if d, isD := ev.Object.(*appsv1.Deployment); isD && available(d) {
				since(&s.available)
			}
		case ev, ok := <-pw.ResultChan():
			if !ok {
				return s, fmt.Errorf("pod watch closed")
			}
			p, isP := ev.Object.(*corev1.Pod)
			if !isP {
				continue
			}
			since(&s.created)
			if p.Spec.NodeName != "" {
				since(&s.scheduled)
			}
			if podReady(p) {
				since(&s.ready)
			}
			if p.Status.PodIP != "" && !probing {
				since(&s.ip)
				probing = true
				go func(ip string) {
					at, err := bn.waitHTTP(ctx, ip)
					if err != nil {
						failed <- err
						return
					}
					answered <- at
				}(p.Status.PodIP)
			}
		}
	}
	return s, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// deleteDeployment deletes Deployment name (as `kubectl delete deployment` does: background
// propagation) and waits until no Pod of it is left.
func (bn *bench) deleteDeployment(b *testing.B, name string) {
	b.Helper()
	ctx := context.Background()
	ns := bn.env.Namespace
	if err := bn.kube.AppsV1().Deployments(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		b.Fatal(err)
	}
	bn.waitNoPods(b, "app="+name)
}

// waitNoPods waits until no Pod matches selector in the namespace.
func (bn *bench) waitNoPods(b *testing.B, selector string) {
	b.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(waitTimeout)
	for ; time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		list, err := bn.kube.CoreV1().Pods(bn.env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err == nil && len(list.Items) == 0 {
			return
		}
	}
	b.Fatalf("pods %s still there %s after deletion", selector, waitTimeout)
}

func (bn *bench) dumpPods(b *testing.B, name string) {
	b.Helper()
	list, err := bn.kube.CoreV1().Pods(bn.env.Namespace).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		b.Logf("listing pods: %v", err)
		return
	}
	for _, p := range list.Items {
		b.Logf("pod %s: node %q phase %s podIP %q conditions %+v containers %+v", p.Name, p.Spec.NodeName, p.Status.Phase,
			p.Status.PodIP, p.Status.Conditions, p.Status.ContainerStatuses)
	}
}

// startTask runs the baseline task, polls DescribeTasks until RUNNING and its address answers
// HTTP, then stops it and waits until it is STOPPED.
func (bn *bench) startTask(b *testing.B) startSample {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	begin := time.Now()
	out, err := bn.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(baselineCluster), TaskDefinition: aws.String(baselineFamily)})
	if err != nil || len(out.Tasks) != 1 {
		b.Fatalf("RunTask: %v (%+v)", err, out)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	var s startSample
	answered := make(chan time.Time, 1)
	for s.ready == 0 || s.ip == 0 {
		d, err := bn.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(baselineCluster), Tasks: []string{arn}})
		if err != nil || len(d.Tasks) != 1 {
			b.Fatalf("DescribeTasks %s: %v", arn, err)
		}
		t := d.Tasks[0]
		if aws.ToString(t.LastStatus) == model.TaskStatusStopped {
			b.Fatalf("task %s stopped: %s", arn, aws.ToString(t.StoppedReason))
		}
		if s.ready == 0 && aws.ToString(t.LastStatus) == model.TaskStatusRunning {
			s.ready = time.Since(begin)
		}
		if ip := taskIP(t); ip != "" && s.ip == 0 {
			s.ip = time.Since(begin)
			go func() {
				at, err := bn.waitHTTP(ctx, ip)
				if err != nil {
					at = time.Time{}
				}
				answered <- at
			}()
		}
		if s.ready == 0 || s.ip == 0 {
			time.Sleep(pollEvery)
		}
	}
	at := <-answered
	if at.IsZero() {
		b.Fatalf("task %s never answered HTTP", arn)
	}
	s.http = at.Sub(begin)
	s.taskCreated, s.taskStarted = bn.taskTimes(ctx, b, baselineCluster, arn, begin)
	bn.stopTask(b, arn)
	return s
}

// podCluster is the ECS cluster the Pod controller runs the Pods' tasks in (pod.DefaultCluster).
const podCluster = "nodeless"

// taskTimes returns the task's createdAt and startedAt from begin.
func (bn *bench) taskTimes(ctx context.Context, b *testing.B, cluster, arn string, begin time.Time) (created, started time.Duration) {
	b.Helper()
	d, err := bn.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{arn}})
	if err != nil || len(d.Tasks) != 1 || d.Tasks[0].CreatedAt == nil || d.Tasks[0].StartedAt == nil {
		b.Fatalf("DescribeTasks %s: %v, want a task with createdAt and startedAt", arn, err)
	}
	return d.Tasks[0].CreatedAt.Sub(begin), d.Tasks[0].StartedAt.Sub(begin)
}

// stopTask stops a baseline task and waits until it is STOPPED.
func (bn *bench) stopTask(b *testing.B, arn string) {
	b.Helper()
	ctx := context.Background()
	if _, err := bn.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(baselineCluster), Task: aws.String(arn)}); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(waitTimeout)
	for ; time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		d, err := bn.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(baselineCluster), Tasks: []string{arn}})
		if err == nil && (len(d.Tasks) == 0 || aws.ToString(d.Tasks[0].LastStatus) == model.TaskStatusStopped) {
			return
		}
	}
	b.Fatalf("task %s not STOPPED within %s", arn, waitTimeout)
}
