package virtualnode_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/nodeless-dev/nodeless/internal/agentimage/agenttest"
	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/taskhost/localhost"
	"github.com/nodeless-dev/nodeless/internal/testenv"
	"github.com/nodeless-dev/nodeless/internal/testimage"
	"github.com/nodeless-dev/nodeless/internal/virtualnode"
)

const cluster = "nodeless"

// fixture is a virtual node with its kubelet API on the real API server, over a real data plane.
type fixture struct {
	env      *testenv.Env
	dp       *dataplanetest.Env
	client   kubernetes.Interface
	pki      *controlplane.PKI
	nodeName string
	port     int
	// serverCA is the kubelet API's self-signed serving certificate (until the control plane
	// issues one).
	serverCA string
}

func setup(t *testing.T) *fixture {
	t.Helper()
	dp := dataplanetest.StartWith(t, dataplane.Options{AgentBinary: agenttest.Build(t)})
	dp.LoadTestImage(t)
	env := testenv.Start(t)
	client, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	pki, err := controlplane.EnsurePKI(filepath.Join(env.StateDir, "pki"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{env: env, dp: dp, client: client, pki: pki, nodeName: "nodeless-" + randomHex(4), port: freePort(t)}
	cert, key := selfSigned(t)
	f.serverCA = cert
	log := testr.New(t)
	node, err := virtualnode.NewNode(client, virtualnode.Options{NodeName: f.nodeName, Port: int32(f.port)}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := virtualnode.NewServer(virtualnode.ServerOptions{
		Address: fmt.Sprintf("127.0.0.1:%d", f.port), CertFile: cert, KeyFile: key, ClientCAFile: pki.CACert,
		NodeName: f.nodeName, Client: client, Pods: statusPods{client: client},
		Host: localhost.New(dp.DataPlane, dp.StateDir),
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- node.Run(ctx) }()
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("stopping: %v", err)
			}
		}
	})
	for _, ready := range []<-chan struct{}{node.Ready(), srv.Ready()} {
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("the virtual node stopped: %v", err)
		case <-time.After(time.Minute):
			t.Fatal("the virtual node is not ready after a minute")
		}
	}
	if _, err := dp.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Fatal(err)
	}
	return f
}

// runPod runs a task of the test image with args as its command and creates its Pod, bound to
// the node, with the status the Pod controller would write (podIP, containerID), as the Pod
// controller will once it exists.
func (f *fixture) runPod(t *testing.T, name string, args ...string) *corev1.Pod {
	t.Helper()
	return f.runPodWith(t, name, stdio{}, args...)
}

// stdio is how a test container's standard input is set up.
// stdio is how a test Pod's container takes input: stdin (with stdinOnce, as `kubectl run -i`
// sets it, unless keepOpen), on a terminal with tty.
type stdio struct{ stdin, tty, keepOpen bool }

// runPodWith is runPod; with stdin the container is interactive (Pod stdin, ECS interactive),
// with tty on a terminal (Pod tty, ECS pseudoTerminal).
func (f *fixture) runPodWith(t *testing.T, name string, mode stdio, args ...string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	task := f.runTaskWith(t, name, mode, args...)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.env.Namespace},
		Spec: corev1.PodSpec{NodeName: f.nodeName, Containers: []corev1.Container{{
			Name: "app", Image: testimage.DefaultRef, Stdin: mode.stdin, StdinOnce: mode.stdin && !mode.keepOpen, TTY: mode.tty,
		}}},
	}
	pod, err := f.client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f.setTask(t, pod, task)
}

// replaceTask runs the Pod again in a new task, as the Pod controller re-runs a Pod whose task
// stopped, and records the task before it (previousTaskAnnotation) for statusPods.
func (f *fixture) replaceTask(t *testing.T, pod *corev1.Pod, args ...string) *corev1.Pod {
	t.Helper()
	old, err := statusPods{client: f.client}.Task(context.Background(), pod.Namespace, pod.Name, false)
	if err != nil {
		t.Fatal(err)
	}
	task := f.runTask(t, pod.Name, args...)
	pod.Annotations = map[string]string{previousTaskAnnotation: old.ID}
	pod, err = f.client.CoreV1().Pods(pod.Namespace).Update(context.Background(), pod, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f.setTask(t, pod, task)
}

// setTask writes the status the Pod controller would write for task (podIP, containerID).
func (f *fixture) setTask(t *testing.T, pod *corev1.Pod, task ecstypes.Task) *corev1.Pod {
	t.Helper()
	pod.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, PodIP: taskIP(task),
		ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", Image: testimage.DefaultRef, ContainerID: "containerd://" + aws.ToString(task.Containers[0].RuntimeId),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		}},
	}
	pod, err := f.client.CoreV1().Pods(pod.Namespace).UpdateStatus(context.Background(), pod, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

// runTask runs a task of the test image with args as its command and waits until it runs.
func (f *fixture) runTask(t *testing.T, name string, args ...string) ecstypes.Task {
	t.Helper()
	return f.runTaskWith(t, name, stdio{}, args...)
}

func (f *fixture) runTaskWith(t *testing.T, name string, mode stdio, args ...string) ecstypes.Task {
	t.Helper()
	ctx := context.Background()
	td, err := f.dp.ECS.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(name), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(testimage.DefaultRef), Essential: aws.Bool(true),
			Command: args, PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(testimage.Port)}},
			Interactive: aws.Bool(mode.stdin), PseudoTerminal: aws.Bool(mode.tty),
		}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	run, err := f.dp.ECS.RunTask(ctx, &ecs.RunTaskInput{
		Cluster: aws.String(cluster), TaskDefinition: td.TaskDefinition.TaskDefinitionArn, LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{"subnet-0test"},
		}},
	})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v", err)
	}
	return f.waitTask(t, aws.ToString(run.Tasks[0].TaskArn), "RUNNING")
}

func (f *fixture) waitTask(t *testing.T, arn, status string) ecstypes.Task {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := f.dp.ECS.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{arn}})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("DescribeTasks: %v", err)
		}
		task := out.Tasks[0]
		last := aws.ToString(task.LastStatus)
		if last == status {
			return task
		}
		if last == "STOPPED" || time.Now().After(deadline) {
			t.Fatalf("task %s is %s (%s), want %s", arn, last, aws.ToString(task.StoppedReason), status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (f *fixture) stopTask(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	task, err := statusPods{client: f.client}.Task(context.Background(), pod.Namespace, pod.Name, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.dp.ECS.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(task.ID)}); err != nil {
		t.Fatal(err)
	}
}

func taskIP(task ecstypes.Task) string {
	for _, a := range task.Attachments {
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" {
				return aws.ToString(d.Value)
			}
		}
	}
	return ""
}

// previousTaskAnnotation records, for statusPods, the ID of the task a Pod ran in before its
// current one (the Pod controller keeps this in its own records).
const previousTaskAnnotation = "test.nodeless.dev/previous-task"

// statusPods is PodTasks from the Pod's status, as runPod writes it: the task ID is the part of
// the containerID before the container's name (the local runtime's "<task ID>-<container>").
type statusPods struct {
	client kubernetes.Interface
}

func (s statusPods) Task(ctx context.Context, namespace, name string, previous bool) (taskhost.Task, error) {
	pod, err := s.client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return taskhost.Task{}, &virtualnode.PodNotFoundError{Namespace: namespace, Pod: name}
	}
	if err != nil {
		return taskhost.Task{}, err
	}
	if previous {
		id := pod.Annotations[previousTaskAnnotation]
		if id == "" {
			return taskhost.Task{}, &virtualnode.NoTaskError{Namespace: namespace, Pod: name, Previous: true, Reason: "the Pod was never re-run"}
		}
		return taskhost.Task{Cluster: cluster, ID: id}, nil
	}
	for _, cs := range pod.Status.ContainerStatuses {
		id, ok := strings.CutPrefix(cs.ContainerID, "containerd://")
		if !ok {
			continue
		}
		taskID, _, ok := strings.Cut(id, "-")
		if !ok {
			return taskhost.Task{}, errors.New("containerID " + cs.ContainerID + " does not name a task")
		}
		return taskhost.Task{Cluster: cluster, ID: taskID, IP: pod.Status.PodIP}, nil
	}
	return taskhost.Task{}, &virtualnode.NoTaskError{Namespace: namespace, Pod: name, Reason: "the Pod has not started yet"}
}

// kubeletConfig reaches the kubelet API directly as the user of certFile/keyFile.
func (f *fixture) kubeletConfig(certFile, keyFile string) *rest.Config {
	return &rest.Config{
		Host:            fmt.Sprintf("https://127.0.0.1:%d", f.port),
		TLSClientConfig: rest.TLSClientConfig{CAFile: f.serverCA, CertFile: certFile, KeyFile: keyFile},
	}
}

// selfSigned writes a serving certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nodeless-kubelet"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "kubelet.crt"), filepath.Join(dir, "kubelet.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
