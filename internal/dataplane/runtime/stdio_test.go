package runtime

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd"
)

// TestInteractiveContainer: an interactive container (ECS interactive, Kubernetes stdin) waits
// for its standard input; what the first writer of StdinPath writes reaches it, the writer's
// close ends its input, and its output lands in its CRI log file as any container's. With
// pseudoTerminal it runs on a terminal.
func TestInteractiveContainer(t *testing.T) {
	e := newEnv(t, "")
	e.loadImage()
	for name, tc := range map[string]struct {
		tty        bool
		input      string
		want       []string
		wantStream string
	}{
		"stdin":       {input: "hello through stdin\n", want: []string{"tty=false", "hello through stdin"}, wantStream: " stdout F "},
		"stdin + tty": {tty: true, input: "hello on a terminal\n\x04", want: []string{"tty=true", "hello on a terminal"}, wantStream: " stdout "},
	} {
		t.Run(name, func(t *testing.T) {
			def := container("talk", withCommand("-cat"))
			def.Interactive = ptr(true)
			if tc.tty {
				def.PseudoTerminal = ptr(true)
			}
			spec := taskSpec(def)
			e.start(spec)
			e.waitState(spec.TaskID, 20*time.Second, "talk RUNNING", running("talk"))
			// The container waits for its input: it runs on until it is written.
			time.Sleep(300 * time.Millisecond)
			if st := e.waitState(spec.TaskID, time.Second, "talk RUNNING", func(TaskState) bool { return true }); findContainer(st, "talk").Status != "RUNNING" {
				t.Fatalf("talk stopped before its input came: %+v", findContainer(st, "talk"))
			}
			f, err := os.OpenFile(StdinPath(e.stateDir, spec.TaskID, "talk"), os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString(tc.input); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if !tc.tty {
				e.closeStdin(spec.TaskID, "talk") // what an attach does at the end of its input
			}
			got := e.waitState(spec.TaskID, 20*time.Second, "talk STOPPED", stopped("talk"))
			if c := findContainer(got, "talk"); c.ExitCode == nil || *c.ExitCode != 0 {
				t.Errorf("talk exit %v reason %q, want 0", c.ExitCode, c.Reason)
			}
			var b []byte
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				b, _ = os.ReadFile(LogPath(e.stateDir, spec.TaskID, "talk"))
				if containsAll(string(b), tc.want) {
					break
				}
			}
			if !containsAll(string(b), tc.want) || !strings.Contains(string(b), tc.wantStream) {
				t.Fatalf("log = %q, want lines with %q holding %q", b, tc.wantStream, tc.want)
			}
		})
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// closeStdin ends the container's standard input (containerd's CloseIO: the shim keeps a writer
// of the stdin FIFO open until then).
func (e *env) closeStdin(taskID, name string) {
	e.t.Helper()
	ctx := context.Background()
	cont, err := e.rt.Client().LoadContainer(ctx, ContainerID(taskID, name))
	if err != nil {
		e.t.Fatal(err)
	}
	proc, err := cont.Task(ctx, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := proc.CloseIO(ctx, containerd.WithStdinCloser); err != nil {
		e.t.Fatal(err)
	}
}

// TestInteractiveContainerAfterRestart: an interactive container waiting for its input keeps
// running while nodeless (the runtime and its containerd) restarts; after the restart its input
// still reaches it and its output the log.
func TestInteractiveContainerAfterRestart(t *testing.T) {
	first := newEnv(t, "")
	first.loadImage()
	def := container("talk", withCommand("-cat"))
	def.Interactive = ptr(true)
	spec := taskSpec(def)
	state, err := first.rt.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	first.waitState(spec.TaskID, 20*time.Second, "RUNNING", running("talk"))
	first.stop() // containerd stops too; the shim and the container keep running

	second := newEnv(t, first.stateDir)
	t.Cleanup(func() {
		if err := second.rt.Remove(context.Background(), spec.TaskID, state); err != nil {
			t.Errorf("Remove: %v", err)
		}
	})
	if err := second.rt.Attach(context.Background(), spec, state); err != nil {
		t.Fatal(err)
	}
	second.waitState(spec.TaskID, 20*time.Second, "RUNNING after attach", running("talk"))
	f, err := os.OpenFile(StdinPath(first.stateDir, spec.TaskID, "talk"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("after the restart\n"); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	second.closeStdin(spec.TaskID, "talk")
	got := second.waitState(spec.TaskID, 20*time.Second, "talk STOPPED", stopped("talk"))
	if c := findContainer(got, "talk"); c.ExitCode == nil || *c.ExitCode != 0 {
		t.Errorf("talk exit %v reason %q, want 0", c.ExitCode, c.Reason)
	}
	var b []byte
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, _ = os.ReadFile(LogPath(first.stateDir, spec.TaskID, "talk"))
		if containsAll(string(b), []string{"tty=false", "after the restart"}) {
			return
		}
	}
	t.Fatalf("log = %q, want the output of before and after the restart", b)
}
