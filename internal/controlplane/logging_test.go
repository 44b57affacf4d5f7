package controlplane

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	containerdlog "github.com/containerd/log"
)

// TestLogRotation: the log of the embedded components is rotated by size, keeps MaxFiles old files,
// and etcd's logger (built on the same writer) follows the rotation into the new file.
func TestLogRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "logs", "nodeless.log")
	w, err := openLog(path, LogRotation{MaxSizeMiB: 1, MaxFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Close() }()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("log file before the first write: %v %v, want it there with mode 0600", fi, err)
	}
	line := strings.Repeat("x", 1023) + "\n"
	for i := range 4 * 1024 { // 4 MiB: three rotations
		if _, err := fmt.Fprint(w, line); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	etcdLogger(w).Warn("the last line")

	var files []os.DirEntry
	deadline := time.Now().Add(10 * time.Second) // lumberjack removes old files in the background
	for {
		files, err = os.ReadDir(filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) <= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(files) != 3 {
		t.Errorf("%d files in the log directory, want nodeless.log and 2 old ones: %v", len(files), files)
	}
	for _, f := range files {
		fi, err := f.Info()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1<<20 {
			t.Errorf("%s is %d bytes, above 1 MiB", f.Name(), fi.Size())
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f.Name(), fi.Mode().Perm())
		}
	}
	current, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(current), `"msg":"the last line"`) {
		t.Errorf("etcd's last line is not in the current log file (it did not follow the rotation); its tail: %q", tail(string(current)))
	}
}

func tail(s string) string {
	if len(s) > 200 {
		return s[len(s)-200:]
	}
	return s
}

// TestContainerdClientLogsGoToTheLog: the containerd client inside nodeless (image pulls of the
// local data plane) logs through containerd's logrus logger, which writes to the terminal unless
// up sends it to the log file ("trying next host" lines between up's progress lines).
func TestContainerdClientLogsGoToTheLog(t *testing.T) {
	before := containerdlog.L.Logger.Out
	t.Cleanup(func() { containerdlog.L.Logger.SetOutput(before) })
	var buf bytes.Buffer
	redirectContainerdLog(&buf)
	containerdlog.G(context.Background()).WithField("host", "registry-1.docker.io").Info("trying next host")
	if !strings.Contains(buf.String(), `msg="trying next host"`) {
		t.Errorf("the log got %q, want containerd's line", buf.String())
	}
}
