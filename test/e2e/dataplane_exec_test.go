package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
	"github.com/nodeless-dev/nodeless/internal/taskhost"
	"github.com/nodeless-dev/nodeless/internal/taskhost/awshost"
	"github.com/nodeless-dev/nodeless/internal/taskhost/localhost"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// shellImageRef is the test image with a shell: the testserver, and this machine's dash (as
// /bin/sh), stty and cat with the C library they link, so that the image needs no registry.
const shellImageRef = "nodeless.test/testserver-sh:latest"

// TestExecThroughECSExec runs `kubectl exec`'s AWS path end to end against real containers: the
// AWS Host (awshost) calls ExecuteCommand on the local data plane with SigV4, opens the session
// it returns with the Session Manager client (ssmsession) over a WebSocket, and the data plane
// runs the command on a terminal in the task's container through containerd exec.
func TestExecThroughECSExec(t *testing.T) {
	requireFull(t)
	e := dataplanetest.Start(t)
	e.DataPlane.SetExecutor(localhost.New(e.DataPlane, e.StateDir))
	loadShellImage(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), converge)
	defer cancel()
	c := e.ECS
	createCluster(ctx, t, c)
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("exec"), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(shellImageRef), Essential: aws.Bool(true),
			Command: webCommand("exec"),
		}},
	})
	if err != nil {
		t.Fatalf("registering: %v", err)
	}
	net := &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-0e2e"}}}
	run := func(enable bool) taskhost.Task {
		out, err := c.RunTask(ctx, &ecs.RunTaskInput{
			Cluster: aws.String(e2eCluster), TaskDefinition: td.TaskDefinition.TaskDefinitionArn, LaunchType: ecstypes.LaunchTypeFargate,
			NetworkConfiguration: net, EnableExecuteCommand: enable,
		})
		if err != nil {
			t.Fatalf("RunTask: %v", err)
		}
		arn := aws.ToString(out.Tasks[0].TaskArn)
		waitRunning(ctx, t, c, []string{arn})
		return taskhost.Task{Cluster: e2eCluster, TaskArn: arn, ID: arn[strings.LastIndex(arn, "/")+1:]}
	}
	task, plain := run(true), run(false)
	h := awshost.New(awshost.Options{ECS: c})

	t.Run("exit status and output without a terminal", func(t *testing.T) {
		var out bytes.Buffer
		err := h.Exec(ctx, task, "app", []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, taskhost.Streams{Stdout: &out})
		var exit *taskhost.ExitError
		if !errors.As(err, &exit) || exit.Code != 3 {
			t.Fatalf("Exec: %v, want exit code 3", err)
		}
		if out.String() != "out\nerr\n" { // stty -onlcr: newlines as written
			t.Errorf("output %q, want %q", out.String(), "out\nerr\n")
		}
	})
	t.Run("stdin", func(t *testing.T) {
		var out bytes.Buffer
		err := h.Exec(ctx, task, "app", []string{"cat"}, taskhost.Streams{Stdin: strings.NewReader("one\ntwo"), Stdout: &out})
		if err != nil {
			t.Fatalf("Exec: %v", err)
		}
		if out.String() != "one\ntwo" { // no echo: the terminal's echo is off without -t
			t.Errorf("output %q, want %q", out.String(), "one\ntwo")
		}
	})
	t.Run("terminal size", func(t *testing.T) {
		var out bytes.Buffer
		sizes := make(chan taskhost.TermSize, 1)
		sizes <- taskhost.TermSize{Width: 91, Height: 27}
		// The size reaches the terminal before the command reads it: give it a moment.
		err := h.Exec(ctx, task, "app", []string{"sh", "-c", "sleep 1; stty size"}, taskhost.Streams{Stdout: &out, TTY: true, Resize: sizes})
		if err != nil {
			t.Fatalf("Exec: %v", err)
		}
		if out.String() != "27 91\r\n" {
			t.Errorf("output %q, want %q (a terminal's newlines)", out.String(), "27 91\r\n")
		}
	})
	t.Run("task without ECS Exec", func(t *testing.T) {
		err := h.Exec(ctx, plain, "app", []string{"ls"}, taskhost.Streams{})
		if !taskhost.IsUnsupported(err) || !strings.Contains(err.Error(), "--pod-enable-execute-command") {
			t.Errorf("Exec: %v, want an UnsupportedError naming --pod-enable-execute-command", err)
		}
	})
}

// loadShellImage builds shellImageRef and loads it into the data plane's containerd.
func loadShellImage(t *testing.T, e *dataplanetest.Env) {
	t.Helper()
	bin, err := testimage.Binary()
	if err != nil {
		t.Fatal(err)
	}
	img, err := testimage.Image(bin)
	if err != nil {
		t.Fatal(err)
	}
	layerTar := shellLayer(t) // built once: every open must give the same bytes
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil })
	if err != nil {
		t.Fatal(err)
	}
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sh.tar")
	if err := tarball.WriteToFile(path, name.MustParseReference(shellImageRef), img); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	lctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := e.DataPlane.Runtime().LoadImage(lctx, f); err != nil {
		t.Fatalf("loading %s: %v", shellImageRef, err)
	}
}

// shellLayer is /bin/sh (dash), /bin/stty, /bin/cat and the C library they link, from this
// machine.
func shellLayer(t *testing.T) []byte {
	files := map[string]string{
		"bin/sh":                         "/usr/bin/dash",
		"bin/stty":                       "/usr/bin/stty",
		"bin/cat":                        "/usr/bin/cat",
		"bin/sleep":                      "/usr/bin/sleep",
		"lib/x86_64-linux-gnu/libc.so.6": "/lib/x86_64-linux-gnu/libc.so.6",
		"lib64/ld-linux-x86-64.so.2":     "/lib64/ld-linux-x86-64.so.2",
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, dir := range []string{"bin/", "lib/", "lib/x86_64-linux-gnu/", "lib64/"} {
		_ = tw.WriteHeader(&tar.Header{Name: dir, Mode: 0o755, Typeflag: tar.TypeDir})
	}
	for _, dst := range slices.Sorted(maps.Keys(files)) {
		src := files[dst]
		body, err := os.ReadFile(src)
		if err != nil {
			t.Skipf("skipping: this machine has no %s to build a shell image from: %v", src, err)
		}
		if err := tw.WriteHeader(&tar.Header{Name: dst, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write(body)
	}
	_ = tw.Close()
	return buf.Bytes()
}
