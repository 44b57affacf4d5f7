package translate

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/dataplane/api"
	"github.com/nodeless-dev/nodeless/internal/dataplane/api/ecsmodel"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// localGaps are the container definition members Translate emits that the local data plane does
// not accept yet ("not supported by the nodeless local data plane"): each is real ECS (the model
// check passes) and must be taught to the data plane. When it learns one, TestRoundTrip fails
// here: remove the member from the list.
var localGaps = map[string]struct {
	has   func(*ecstypes.ContainerDefinition) bool
	clear func(*ecstypes.ContainerDefinition)
}{
	"systemControls": {func(d *ecstypes.ContainerDefinition) bool { return d.SystemControls != nil },
		func(d *ecstypes.ContainerDefinition) { d.SystemControls = nil }},
}

// roundTripPods are Pods that use most of what Translate translates.
func roundTripPods() map[string]*corev1.Pod {
	web := withTokenVolume(rsPod("web-5d8f7c-x7k2p", "0f3c6d1e-8a7b-4c1d-9e2f-3a4b5c6d7e8f"), "q8z4n")
	web.Spec.Containers[0].Env = []corev1.EnvVar{
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "GREETING", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "web"}, Key: "greeting"}}},
		{Name: "LEVEL", Value: "info"},
	}
	web.Spec.Containers[0].Args = []string{"--name=$(POD_NAME)"}
	web.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http")}}}

	job := rsPod("pi-x2v9c", "5a0b1c2d-3e4f-4a5b-8c7d-9e0f1a2b3c4d")
	job.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "pi", Controller: ptr(true)}}
	job.Spec.RestartPolicy = corev1.RestartPolicyNever
	job.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr(int64(1000)), RunAsGroup: ptr(int64(1000)), FSGroup: ptr(int64(1000)),
		Sysctls: []corev1.Sysctl{{Name: "net.ipv4.tcp_keepalive_time", Value: "600"}}}
	job.Spec.InitContainers = []corev1.Container{
		{Name: "fetch", Image: "busybox:1.36", Command: []string{"sh", "-c", "echo hi > /work/in"},
			VolumeMounts: []corev1.VolumeMount{{Name: "work", MountPath: "/work"}}},
		{Name: "logs", Image: "fluent/fluent-bit:3", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways),
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")}}},
	}
	job.Spec.Volumes = []corev1.Volume{
		{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "pi"}}}},
	}
	c := &job.Spec.Containers[0]
	c.Image, c.Ports = "perl:5.34", nil
	c.Command = []string{"perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"}
	c.Stdin, c.TTY = true, true
	c.VolumeMounts = []corev1.VolumeMount{{Name: "work", MountPath: "/work"}, {Name: "conf", MountPath: "/etc/pi.conf", SubPath: "pi.conf"}}
	c.SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: ptr(true), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	c.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("6Gi"),
		corev1.ResourceEphemeralStorage: resource.MustParse("40Gi")}}

	bare := rsPod("debug", "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f")
	bare.OwnerReferences = nil
	bare.Spec.Containers[0].Resources = corev1.ResourceRequirements{}
	bare.Spec.Containers[0].Ports = append(bare.Spec.Containers[0].Ports, corev1.ContainerPort{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP})
	return map[string]*corev1.Pod{"deployment": web, "job": job, "bare pod": bare}
}

// TestRoundTrip sends what Translate produces, as the SDK puts it on the wire, through the ECS
// model (every member known, required members present, enums and bounds kept) and through the
// local data plane's API (registered, run, described), then derives the Pod's status from the
// described task.
func TestRoundTrip(t *testing.T) {
	dp := newDataPlane(t)
	if _, err := dp.ecs.CreateCluster(context.Background(), &ecs.CreateClusterInput{ClusterName: aws.String("nodeless")}); err != nil {
		t.Fatal(err)
	}
	for name, pod := range roundTripPods() {
		t.Run(name, func(t *testing.T) {
			tr := mustTranslate(t, pod, Options{Arch: goruntime.GOARCH})
			checkModel(t, "RegisterTaskDefinition", func(c *ecs.Client) error {
				_, err := c.RegisterTaskDefinition(context.Background(), tr.TaskDefinition)
				return err
			})
			arn := dp.register(t, tr.TaskDefinition)
			run := *tr.RunTask
			run.TaskDefinition, run.Cluster = aws.String(arn), aws.String("nodeless")
			checkModel(t, "RunTask", func(c *ecs.Client) error {
				_, err := c.RunTask(context.Background(), &run)
				return err
			})
			out, err := dp.ecs.RunTask(context.Background(), &run)
			if err != nil {
				t.Fatalf("RunTask: %v", err)
			}
			again, err := dp.ecs.RunTask(context.Background(), &run)
			if err != nil || aws.ToString(again.Tasks[0].TaskArn) != aws.ToString(out.Tasks[0].TaskArn) {
				t.Errorf("a retried RunTask (same clientToken): %v, %v; want the same task", err, again)
			}
			desc, err := dp.ecs.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String("nodeless"), Tasks: []string{aws.ToString(out.Tasks[0].TaskArn)}})
			if err != nil || len(desc.Tasks) != 1 {
				t.Fatalf("DescribeTasks: %v, %+v", err, desc)
			}
			task := desc.Tasks[0]
			if d := diffJSON(t, run.Overrides, task.Overrides); d != "" && run.Overrides != nil {
				t.Errorf("overrides as described (-sent +described):\n%s", d)
			}
			st := PodStatus(StatusInput{Pod: pod, Task: &task, Now: metav1.Now()})
			if st.Phase != corev1.PodPending || st.ContainerStatuses[0].State.Waiting == nil {
				t.Errorf("status of a provisioning task: phase %s, state %+v", st.Phase, st.ContainerStatuses[0].State)
			}
		})
	}
}

// checkModel runs call on a client that captures the request body instead of sending it, and
// checks the body against the ECS model's input shape of op.
func checkModel(t *testing.T, op string, call func(*ecs.Client) error) {
	t.Helper()
	var body []byte
	c := ecs.New(ecs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1"), RetryMaxAttempts: 1,
		Credentials: aws.AnonymousCredentials{},
		HTTPClient: roundTripFunc(func(req *http.Request) (*http.Response, error) {
			b, err := io.ReadAll(req.Body)
			body = b
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
				Body: io.NopCloser(strings.NewReader("{}")), Request: req}, err
		}),
	})
	if err := call(c); err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	m, err := ecsmodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckInput(op, body, nil); err != nil {
		t.Errorf("%s does not fit the ECS model: %v\n%s", op, err, body)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) Do(req *http.Request) (*http.Response, error) { return f(req) }

// dataPlane is the local data plane's ECS API (real HTTP, real store, no containers).
type dataPlane struct{ ecs *ecs.Client }

type noEngine struct{}

func (noEngine) TaskCreated(string, string)       {}
func (noEngine) TaskStopRequested(string, string) {}
func (noEngine) ServiceChanged(string, string)    {}

func newDataPlane(t *testing.T) *dataPlane {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	creds := aws.Credentials{AccessKeyID: "AKIDNODELESSTRANSLATE", SecretAccessKey: "dHJhbnNsYXRlLXRlc3RzLW9ubHk=", Source: "test"}
	srv := httptest.NewServer(api.NewServer(api.Options{
		Store: st, Engine: noEngine{}, ARNs: model.ARNs{Region: "us-east-1", Account: "000000000000"}, Credentials: creds, Logger: logr.Discard(),
	}))
	t.Cleanup(srv.Close)
	var mu sync.Mutex
	return &dataPlane{ecs: ecs.New(ecs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: &ecsmodel.Transport{Report: func(op string, problems []error) {
			mu.Lock()
			defer mu.Unlock()
			t.Errorf("%s response does not conform to the ECS model: %v", op, problems)
		}}},
	})}
}

// register registers in with the data plane and returns the revision's ARN. Members the data
// plane does not support yet (localGaps) are removed first; each one in must be refused by name
// on its own, so that the list shrinks when the data plane learns one.
func (dp *dataPlane) register(t *testing.T, in *ecs.RegisterTaskDefinitionInput) string {
	t.Helper()
	stripped := withContainers(in, func(d *ecstypes.ContainerDefinition) {
		for _, g := range localGaps {
			g.clear(d)
		}
	})
	for member, g := range localGaps {
		present := false
		for i := range in.ContainerDefinitions {
			present = present || g.has(&in.ContainerDefinitions[i])
		}
		if !present {
			continue
		}
		only := withContainers(in, func(d *ecstypes.ContainerDefinition) {
			for other, og := range localGaps {
				if other != member {
					og.clear(d)
				}
			}
		})
		_, err := dp.ecs.RegisterTaskDefinition(context.Background(), only)
		var ae smithy.APIError
		if !errors.As(err, &ae) || !strings.Contains(ae.ErrorMessage(), member) || !strings.Contains(ae.ErrorMessage(), "not supported by the nodeless local data plane") {
			t.Errorf("the local data plane was expected to refuse %s (a known gap), got %v; if it supports it now, remove it from localGaps", member, err)
		}
	}
	out, err := dp.ecs.RegisterTaskDefinition(context.Background(), stripped)
	if err != nil {
		t.Fatalf("the local data plane refuses the task definition: %v", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// withContainers returns a copy of in whose container definitions change has edited.
func withContainers(in *ecs.RegisterTaskDefinitionInput, change func(*ecstypes.ContainerDefinition)) *ecs.RegisterTaskDefinitionInput {
	cp := *in
	cp.ContainerDefinitions = append([]ecstypes.ContainerDefinition(nil), in.ContainerDefinitions...)
	for i := range cp.ContainerDefinitions {
		change(&cp.ContainerDefinitions[i])
	}
	return &cp
}

// TestFargateSizesMatchTheDataPlane registers every size of the table with the data plane (which
// has its own copy) and a few sizes next to it that must be refused.
func TestFargateSizesMatchTheDataPlane(t *testing.T) {
	dp := newDataPlane(t)
	register := func(cpu, mem int) error {
		_, err := dp.ecs.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("sizes"), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
			Cpu: aws.String(strconv.Itoa(cpu)), Memory: aws.String(strconv.Itoa(mem)),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("c"), Image: aws.String("busybox")}},
		})
		return err
	}
	for _, cpu := range fargateCPUs {
		mems := fargateMemories(cpu)
		for _, mem := range mems {
			if err := register(cpu, mem); err != nil {
				t.Errorf("cpu %d memory %d: %v", cpu, mem, err)
			}
		}
		for _, mem := range []int{mems[0] - 512, mems[len(mems)-1] + 1024} {
			if register(cpu, mem) == nil {
				t.Errorf("cpu %d memory %d: the data plane accepts a size the table lacks", cpu, mem)
			}
		}
	}
	if register(128, 512) == nil || register(32768, 131072) == nil {
		t.Error("the data plane accepts a cpu the table lacks")
	}
}

// TestTagKeysMatchTheECSControllers: Translate's tags are spelled as the ECS controllers' are.
func TestTagKeysMatchTheECSControllers(t *testing.T) {
	if TagSpecHash != ecscall.TagSpecHash || TagOwner != ecscall.TagOwner {
		t.Errorf("tag keys %s, %s; the ECS controllers use %s, %s", TagSpecHash, TagOwner, ecscall.TagSpecHash, ecscall.TagOwner)
	}
}
