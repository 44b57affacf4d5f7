package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/runtime"
)

func TestTaskIDOf(t *testing.T) {
	for in, want := range map[string]string{
		"0123abcd": "0123abcd",
		"arn:aws:ecs:us-east-1:000000000000:task/default/0123abcd": "0123abcd",
	} {
		if got := taskIDOf(in); got != want {
			t.Errorf("taskIDOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLogFileChoosesTheOnlyContainer(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		p := runtime.LogPath(dir, "task1", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("web", "hello\n")
	path, err := logFile(dir, "task1", "")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printLog(context.Background(), &out, path, false); err != nil || out.String() != "hello\n" {
		t.Fatalf("printLog = %q, %v", out.String(), err)
	}
	write("sidecar", "x\n")
	if _, err := logFile(dir, "task1", ""); err == nil || !strings.Contains(err.Error(), "sidecar, web") {
		t.Errorf("several containers: err = %v", err)
	}
	if _, err := logFile(dir, "nope", ""); err == nil {
		t.Error("unknown task: no error")
	}
}

// The agent writes task logs in the CRI format; nodeless logs prints what the container wrote,
// as kubectl logs does, not the file's times, streams and tags.
func TestPrintLogReadsTheCRIFormat(t *testing.T) {
	tests := []struct {
		name string
		file string
		want string
	}{
		{"cri lines", "2026-01-02T03:04:05.000000006Z stdout F hello\n2026-01-02T03:04:06.000000006Z stderr F oops\n", "hello\noops\n"},
		{"cri partial line joined", "2026-01-02T03:04:05.000000006Z stdout P hel\n2026-01-02T03:04:05.000000007Z stdout F lo\n", "hello\n"},
		{"plain output as it is", "hello\nworld\n", "hello\nworld\n"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.log")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := printLog(context.Background(), &out, path, false); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("printed (-want +got):\n%s", diff)
			}
		})
	}
}
