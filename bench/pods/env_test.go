package pods

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/credentials"
	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/testenv"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// image is the image every Pod and task runs: the test image's HTTP server on testimage.Port,
// loaded with `nodeless image load` as a user loads a local image.
const image = "nodeless.local/hello:v1"

// nodeName is the virtual node `nodeless up` registers.
const nodeName = "nodeless"

// baselineCluster is the ECS cluster of the bare RunTask baseline (the Pods' tasks run in the Pod
// controller's own cluster, "nodeless"); baselineFamily its task definition.
const (
	baselineCluster = "bench"
	baselineFamily  = "bench-hello"
)

// pollEvery is how often the benchmark polls what it cannot watch: DescribeTasks for the baseline's
// tasks, and HTTP once a Pod or task has an address.
const pollEvery = 5 * time.Millisecond

// waitTimeout bounds every wait; reaching it fails the benchmark with what was last seen.
const waitTimeout = 3 * time.Minute

// bench is one running `nodeless up` with the clients the benchmarks use.
type bench struct {
	env  *testenv.Env
	kube *kubernetes.Clientset
	ecs  *ecs.Client
	// http reaches Pods and tasks on their VPC addresses (see dialVPC).
	http *http.Client
}

// start runs `nodeless up` (with extra up arguments), loads the image, registers the baseline's
// task definition and waits until the node is Ready and the namespace's default ServiceAccount
// exists. It skips b where the local data plane cannot run.
func start(b *testing.B, upArgs ...string) *bench {
	b.Helper()
	if err := dataplane.Preflight(); err != nil {
		b.Skipf("the local data plane cannot run here: %v", err)
	}
	logLoad(b, "before nodeless up")
	env := testenv.Start(b, testenv.WithNodelessParts(), testenv.WithUpArgs(upArgs...))
	env.Config.QPS, env.Config.Burst = 500, 1000
	kube, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		b.Fatal(err)
	}
	bn := &bench{env: env, kube: kube, ecs: ecsClient(b, env)}
	nsPath := vpc.NamespacePath(env.StateDir)
	bn.http = &http.Client{Timeout: time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return vpc.DialInNamespace(ctx, nsPath, network, addr, nil)
		},
	}}
	bn.loadImage(b)
	bn.registerBaseline(b)
	bn.waitNodeAndServiceAccount(b)
	return bn
}

func ecsClient(b *testing.B, env *testenv.Env) *ecs.Client {
	b.Helper()
	creds, err := credentials.LoadOrCreate(filepath.Join(env.StateDir, "credentials"))
	if err != nil {
		b.Fatal(err)
	}
	c, err := ecsapi.NewClient(context.Background(), ecsapi.Options{
		Endpoint: env.DataPlaneEndpoint, Region: dataplane.DefaultRegion,
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey,
	})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func (bn *bench) loadImage(b *testing.B) {
	b.Helper()
	bin, err := testenv.Binary()
	if err != nil {
		b.Fatal(err)
	}
	tarball := filepath.Join(b.TempDir(), "hello.tar")
	if err := testimage.WriteFile(tarball, image, testimage.Docker); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command(bin, "image", "load", "--state-dir", bn.env.StateDir, tarball).CombinedOutput(); err != nil {
		b.Fatalf("nodeless image load: %v\n%s", err, out)
	}
}

// registerBaseline creates the baseline's cluster and task definition: what a Pod of
// `kubectl create deployment --image=... --port=8080` becomes, without Kubernetes (Fargate,
// awsvpc, one essential container, the same image and port).
func (bn *bench) registerBaseline(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	if _, err := bn.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(baselineCluster)}); err != nil {
		b.Fatal(err)
	}
	_, err := bn.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(baselineFamily), NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("hello"), Image: aws.String(image), Essential: aws.Bool(true),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(testimage.Port)}},
		}},
	})
	if err != nil {
		b.Fatal(err)
	}
}

func (bn *bench) waitNodeAndServiceAccount(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(waitTimeout)
	for ; time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		node, err := bn.kube.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil || !nodeReady(node) {
			continue
		}
		if _, err := bn.kube.CoreV1().ServiceAccounts(bn.env.Namespace).Get(ctx, "default", metav1.GetOptions{}); err == nil {
			return
		}
	}
	b.Fatalf("node %s not Ready or no default ServiceAccount in %s within %s", nodeName, bn.env.Namespace, waitTimeout)
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// deployment is what `kubectl create deployment name --image=image --replicas=1 --port=8080`
// creates (kubectl's generator: label app=name, container named after the image's last path
// element without its tag), nothing more.
func deployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: aws.Int32(1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "hello", Image: image,
					Ports: []corev1.ContainerPort{{ContainerPort: testimage.Port}},
				}}},
			},
		},
	}
}

// available reports whether d's controller has seen its current spec and counts a replica
// available (what `kubectl rollout status` and kstatus wait for with one replica).
func available(d *appsv1.Deployment) bool {
	return d.Status.ObservedGeneration >= d.Generation && d.Status.AvailableReplicas >= 1 &&
		d.Status.UpdatedReplicas >= 1
}

// answers reports whether GET http://ip:8080/ answers 200, dialing from inside the VPC.
func (bn *bench) answers(ctx context.Context, ip string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(ip, strconv.Itoa(testimage.Port))+"/", nil)
	if err != nil {
		return false
	}
	resp, err := bn.http.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// waitHTTP polls ip until it answers, and returns when it did.
func (bn *bench) waitHTTP(ctx context.Context, ip string) (time.Time, error) {
	for {
		if bn.answers(ctx, ip) {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%s:%d did not answer: %w", ip, testimage.Port, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// taskIP is a task's VPC address (its container's network interface), or "".
func taskIP(t ecstypes.Task) string {
	for _, c := range t.Containers {
		for _, ni := range c.NetworkInterfaces {
			if ip := aws.ToString(ni.PrivateIpv4Address); ip != "" {
				return ip
			}
		}
	}
	return ""
}

// logLoad logs the machine's load averages (1, 5 and 15 minutes), which bench/README.md quotes.
func logLoad(b *testing.B, when string) {
	b.Helper()
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		b.Logf("load average %s: %v", when, err)
		return
	}
	if f := strings.Fields(string(data)); len(f) >= 3 {
		b.Logf("load average %s: %s %s %s", when, f[0], f[1], f[2])
	}
}

// pct is the p-th percentile of ds (nearest rank).
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// reportPct reports p50 and p99 of ds in ms as name-p50-ms and name-p99-ms, and logs every value.
func reportPct(b *testing.B, name string, ds []time.Duration) {
	b.Helper()
	b.ReportMetric(ms(pct(ds, 50)), name+"-p50-ms")
	b.ReportMetric(ms(pct(ds, 99)), name+"-p99-ms")
	vs := make([]string, len(ds))
	for i, d := range ds {
		vs[i] = strconv.Itoa(int(ms(d)))
	}
	b.Logf("%s, ms, in run order: %s", name, strings.Join(vs, " "))
}

// rss is the VmRSS and RssAnon of process pid in MiB.
func rss(pid int) (vm, anon float64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			vm = kb / 1024
		case "RssAnon:":
			anon = kb / 1024
		}
	}
	return vm, anon, nil
}
