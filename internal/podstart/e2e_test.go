package podstart

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"

	"github.com/nodeless-dev/nodeless/internal/agentimage"
	"github.com/nodeless-dev/nodeless/internal/agentimage/agenttest"
	"github.com/nodeless-dev/nodeless/internal/dataplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/podfiles"
	"github.com/nodeless-dev/nodeless/internal/secretsapi"
	"github.com/nodeless-dev/nodeless/internal/testimage"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// TestRealContainers: on the real data plane with containerd, a container sees its Secret, its
// ConfigMap and its derived variables, and the files the real nodeless-files init container wrote
// (agent image made from the binary compiled here); the node's rewrite of a volume on the host
// reaches the running container.
func TestRealContainers(t *testing.T) {
	if err := dataplanetest.Requirements(); err != nil || testing.Short() {
		t.Skipf("skipping: needs root, containerd and runc, and not -short (%v)", err)
	}
	ctx := context.Background()
	ref := agentimage.LocalRef("e2e")
	env := dataplanetest.StartWith(t, dataplane.Options{AgentBinary: agenttest.Build(t), AgentImage: ref})
	f, err := os.Open(testimage.Tarball(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := env.DataPlane.Runtime().LoadImage(ctx, f); err != nil {
		t.Fatal(err)
	}
	sm, err := secretsapi.NewClient(ctx, ecsapi.Options{Endpoint: env.Endpoint, Region: env.Region,
		AccessKeyID: env.Credentials.AccessKeyID, SecretAccessKey: env.Credentials.SecretAccessKey})
	if err != nil {
		t.Fatal(err)
	}
	m, err := secretsapi.NewMirror(sm, secretsapi.MirrorOptions{ClusterName: "c1"}, testr.New(t))
	if err != nil {
		t.Fatal(err)
	}
	pod := withFiles(startPod("web-5d8f7c-aaaaa", "uid-a", testimage.DefaultRef))
	pod.Spec.Volumes = pod.Spec.Volumes[1:] // withFiles adds creds again
	pod.Spec.Containers[0].VolumeMounts = pod.Spec.Containers[0].VolumeMounts[1:]
	pod.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: testimage.Port}}
	deps := Deps{Reader: &reader{objs: testObjects()}, Mirror: m, AgentImage: ref, Tokens: &tokens{}, Options: translate.Options{Arch: goarch()}}
	tr, err := translate.Translate(pod, deps.Options)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Resolve(ctx, pod, tr, deps)
	if err != nil {
		t.Fatal(err)
	}
	arn := run(t, env.ECS, st)
	task := waitTask(t, env.ECS, arn, "RUNNING", 90*time.Second)
	base := appURL(t, task)
	for path, want := range map[string]string{
		"/env?name=PASSWORD":                "s3cret",
		"/env?name=DSN":                     "postgres://app:s3cret@db/shop",
		"/env?name=MODE":                    "fast",
		"/file?path=/etc/creds/password":    "s3cret",
		"/file?path=/etc/conf/etc/app.yaml": "a: 1\n",
		"/file?path=/etc/info/name":         "web-5d8f7c-aaaaa",
		"/file?path=/etc/info/mem":          "536870912",
		"/file?path=/var/run/secrets/kubernetes.io/serviceaccount/token":     "token-for-web-5d8f7c-aaaaa-",
		"/file?path=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt":    "CA",
		"/file?path=/var/run/secrets/kubernetes.io/serviceaccount/namespace": "shop",
	} {
		if got := httpGet(t, base+path); got != want {
			t.Errorf("GET %s = %q, want %q", path, got, want)
		}
	}
	files := containerOf(task, FilesContainer)
	if files == nil || aws.ToInt32(files.ExitCode) != 0 {
		t.Errorf("the files container: %+v", files)
	}

	// The host directory of a volume: the kubelet's layout, fsGroup ownership; a rewrite there
	// (what the node does to keep files current) reaches the container.
	dir, err := env.DataPlane.Runtime().VolumeDir(path.Base(arn), "creds")
	if err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "..data")); err != nil || target[:2] != ".." {
		t.Errorf("..data -> %q (%v)", target, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "password")); err != nil || fi.Sys().(*syscall.Stat_t).Gid != 2000 || fi.Mode().Perm() != 0o440 {
		t.Errorf("password: %v (%v)", fi, err)
	}
	if _, err := podfiles.Write(dir, map[string]podfiles.FileProjection{"password": {Data: []byte("rotated"), Mode: 0o400}}, ptr(int64(2000))); err != nil {
		t.Fatal(err)
	}
	if got := httpGet(t, base+"/file?path=/etc/creds/password"); got != "rotated" {
		t.Errorf("after the rewrite the container reads %q", got)
	}
}

func goarch() string {
	if out, err := exec.Command("go", "env", "GOARCH").Output(); err == nil && len(out) > 1 {
		return string(out[:len(out)-1])
	}
	return "amd64"
}

func containerOf(task ecstypes.Task, name string) *ecstypes.Container {
	for i := range task.Containers {
		if aws.ToString(task.Containers[i].Name) == name {
			return &task.Containers[i]
		}
	}
	return nil
}

func appURL(t *testing.T, task ecstypes.Task) string {
	t.Helper()
	app := containerOf(task, "app")
	if app == nil || len(app.NetworkBindings) == 0 {
		t.Fatalf("the app container has no network binding: %+v", app)
	}
	b := app.NetworkBindings[0]
	return fmt.Sprintf("http://%s:%d", aws.ToString(b.BindIP), aws.ToInt32(b.HostPort))
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	var last error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			last = err
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == http.StatusOK {
			return string(b)
		}
		last = fmt.Errorf("%s: %s", resp.Status, b)
	}
	t.Errorf("GET %s: %v", url, last)
	return ""
}
