package crilog

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cri-client/pkg/logs"
)

func TestCopy(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	long := strings.Repeat("x", MaxLineBytes+10)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"lines", "a\nb\n", "2026-01-02T03:04:05.000000006Z stdout F a\n2026-01-02T03:04:05.000000006Z stdout F b\n"},
		{"no newline at the end", "a\nb", "2026-01-02T03:04:05.000000006Z stdout F a\n2026-01-02T03:04:05.000000006Z stdout F b\n"},
		{"empty line", "\n", "2026-01-02T03:04:05.000000006Z stdout F \n"},
		{"nothing", "", ""},
		{"long line split", long + "\n",
			"2026-01-02T03:04:05.000000006Z stdout P " + long[:MaxLineBytes] + "\n" +
				"2026-01-02T03:04:05.000000006Z stdout F " + long[MaxLineBytes:] + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			w := &Writer{w: &out, now: func() time.Time { return at }}
			if err := w.Copy(Stdout, strings.NewReader(tt.in)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("log (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKubeletReadsIt reads what Writer wrote with the kubelet's own reader: the content comes back
// whole, split lines joined, and the times are the ones written.
func TestKubeletReadsIt(t *testing.T) {
	path := t.TempDir() + "/c.log"
	var out bytes.Buffer
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	w := &Writer{w: &out, now: func() time.Time { return at }}
	long := strings.Repeat("y", MaxLineBytes*2+1)
	if err := w.Copy(Stdout, strings.NewReader("one\n"+long+"\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Copy(Stderr, strings.NewReader("two\n")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := logs.ReadLogs(context.Background(), path, "", &logs.LogOptions{Timestamp: true}, nil, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	ts := "2026-01-02T03:04:05.000000000Z "
	if diff := cmp.Diff(ts+"one\n"+ts+long+"\n", stdout.String()); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ts+"two\n", stderr.String()); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
}

func TestIsLog(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"agent's line", "2026-01-02T03:04:05.000000006Z stdout F a\n", true},
		{"partial stderr line", "2026-01-02T03:04:05.000000006Z stderr P a", true},
		{"containerd's shorter time", "2026-01-02T03:04:05Z stdout F \n", true},
		{"empty", "", true},
		{"plain output", "hello\n", false},
		{"plain output with a time", "2026-01-02T03:04:05Z started\n", false},
		{"other stream", "2026-01-02T03:04:05Z stdin F a\n", false},
		{"other tag", "2026-01-02T03:04:05Z stdout X a\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.log")
			if err := os.WriteFile(path, []byte(tt.in), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := IsLog(path)
			if err != nil || got != tt.want {
				t.Errorf("IsLog(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
	if _, err := IsLog(filepath.Join(t.TempDir(), "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("IsLog(missing file): err = %v, want fs.ErrNotExist", err)
	}
}
