package podstart

import (
	"context"
	"encoding/json"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/podfiles"
	"github.com/nodeless-dev/nodeless/internal/secretsapi"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// startPod is a Pod (restartPolicy Never, one container) with a Secret variable, a ConfigMap
// variable, a Secret expanded into a larger value, and a secret volume.
func startPod(name string, uid types.UID, image string) *corev1.Pod {
	pod := rsPod(name, uid)
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	c := &pod.Spec.Containers[0]
	c.Image = image
	c.Env = []corev1.EnvVar{
		{Name: "PASSWORD", ValueFrom: secretKey("db", "password", false)},
		{Name: "MODE", ValueFrom: configKey("cfg", "mode")},
		{Name: "DSN", Value: "postgres://app:$(PASSWORD)@db/shop"},
	}
	pod.Spec.Volumes = []corev1.Volume{{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "db"}}}}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "creds", MountPath: "/etc/creds"}}
	return pod
}

// clearLocalGaps drops the members the local data plane does not accept yet (translate's
// TestRoundTrip lists them).
func clearLocalGaps(td *ecs.RegisterTaskDefinitionInput) {
	for i := range td.ContainerDefinitions {
		d := &td.ContainerDefinitions[i]
		d.RestartPolicy, d.LinuxParameters, d.Interactive, d.PseudoTerminal, d.SystemControls = nil, nil, nil, nil, nil
	}
}

// run registers and runs what Resolve returned on cluster c.
func run(t *testing.T, client *ecs.Client, st *Start) string {
	t.Helper()
	ctx := context.Background()
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("nodeless")}); err != nil {
		t.Fatal(err)
	}
	td := *st.TaskDefinition
	clearLocalGaps(&td)
	reg, err := client.RegisterTaskDefinition(ctx, &td)
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	in := *st.RunTask
	in.Cluster, in.TaskDefinition = aws.String("nodeless"), reg.TaskDefinition.TaskDefinitionArn
	out, err := client.RunTask(ctx, &in)
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, out)
	}
	return aws.ToString(out.Tasks[0].TaskArn)
}

func waitTask(t *testing.T, client *ecs.Client, arn, status string, timeout time.Duration) ecstypes.Task {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, err := client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String("nodeless"), Tasks: []string{arn}})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("DescribeTasks: %v %+v", err, out)
		}
		task := out.Tasks[0]
		if aws.ToString(task.LastStatus) == status {
			return task
		}
		if aws.ToString(task.LastStatus) == "STOPPED" || time.Now().After(deadline) {
			raw, _ := json.Marshal(task)
			t.Fatalf("task %s is %s, want %s: %s", arn, aws.ToString(task.LastStatus), status, raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOnTheLocalDataPlane: what Resolve returns registers and runs on the data plane's real API
// (the in-memory ECS: real API server, scheduler and secret store, fake containers), and each
// container gets its Secret-derived variables through the store, the files container its
// objects' data, while DescribeTasks shows no value of a Secret.
func TestOnTheLocalDataPlane(t *testing.T) {
	ctx := context.Background()
	e := ecsmem.Start(t, ecsmem.Options{})
	sm, err := secretsapi.NewClient(ctx, ecsapi.Options{Endpoint: e.Endpoint, Region: e.Region,
		AccessKeyID: e.Credentials.AccessKeyID, SecretAccessKey: e.Credentials.SecretAccessKey})
	if err != nil {
		t.Fatal(err)
	}
	m, err := secretsapi.NewMirror(sm, secretsapi.MirrorOptions{ClusterName: "c1"}, testr.New(t))
	if err != nil {
		t.Fatal(err)
	}
	pod := startPod("web-5d8f7c-aaaaa", "uid-a", "example.com/app:1")
	deps := Deps{Reader: &reader{objs: testObjects()}, Mirror: m, AgentImage: "nodeless.local/nodeless-agent:test", Tokens: &tokens{}}
	tr, err := translate.Translate(pod, deps.Options)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Resolve(ctx, pod, tr, deps)
	if err != nil {
		t.Fatal(err)
	}
	arn := run(t, e.Client, st)
	task := waitTask(t, e.Client, arn, "RUNNING", 20*time.Second)
	ft, ok := e.Runtime.Task(path.Base(arn))
	if !ok {
		t.Fatal("the fake runtime has no such task")
	}
	want := map[string]string{"PASSWORD": "s3cret", "DSN": "postgres://app:s3cret@db/shop"}
	if d := cmp.Diff(want, kv(ft.Spec.Secrets["app"])); d != "" {
		t.Errorf("the app container's secrets (-want +got):\n%s", d)
	}
	files := kv(ft.Spec.Secrets[FilesContainer])
	data, err := podfiles.Unpack([]string{files["NODELESS_OBJ_0_0"]})
	if err != nil || string(data["password"]) != "s3cret" || data["bin"][0] != 0xff {
		t.Errorf("the files container's view of Secret db: %v, %v", data, err)
	}
	raw, _ := json.Marshal(task)
	for _, v := range []string{"s3cret", "postgres://"} {
		if strings.Contains(string(raw), v) {
			t.Errorf("DescribeTasks shows %q", v)
		}
	}
	if !strings.Contains(string(raw), `"MODE"`) {
		t.Errorf("DescribeTasks lacks the ConfigMap variable in the overrides: %s", raw)
	}

	// Steady state: a second Pod of the template writes nothing and shares the revision.
	before := e.Wire().Calls()
	tr2, err := translate.Translate(startPod("web-5d8f7c-bbbbb", "uid-b", "example.com/app:1"), deps.Options)
	if err != nil {
		t.Fatal(err)
	}
	st2, err := Resolve(ctx, startPod("web-5d8f7c-bbbbb", "uid-b", "example.com/app:1"), tr2, deps)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(before, e.Wire().Calls()); d != "" {
		t.Errorf("the second Pod made Secrets Manager calls (-before +after):\n%s", d)
	}
	if st2.Revision != st.Revision {
		t.Errorf("the second Pod's revision %v differs from %v", st2.Revision, st.Revision)
	}
}

func kv(pairs []model.KeyValuePair) map[string]string {
	out := map[string]string{}
	for _, p := range pairs {
		out[aws.ToString(p.Name)] = aws.ToString(p.Value)
	}
	return out
}
