package controlplane

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	containerdlog "github.com/containerd/log"
	"go.etcd.io/etcd/client/pkg/v3/logutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/natefinch/lumberjack.v2"
	"k8s.io/klog/v2"
)

// Defaults of LogRotation.
const (
	DefaultLogMaxSizeMiB = 20
	DefaultLogMaxFiles   = 5
)

// LogRotation bounds the log file of the embedded components (LogPath): when a write would take
// it beyond MaxSizeMiB MiB, it is renamed with its time (nodeless-2026-12-01T10-00-00.000.log) and
// a new one started; beyond MaxFiles such old files, the oldest are removed. Zero values take the
// defaults (20 MiB, 5 files).
type LogRotation struct {
	MaxSizeMiB int
	MaxFiles   int
}

// openLog opens the log file at path for appending, rotated by r. lumberjack (already in the
// module graph through Kubernetes) does the rotation: one writer for klog and etcd, safe for
// concurrent writes, so both follow the rotation.
func openLog(path string, r LogRotation) (io.WriteCloser, error) {
	if r.MaxSizeMiB <= 0 {
		r.MaxSizeMiB = DefaultLogMaxSizeMiB
	}
	if r.MaxFiles <= 0 {
		r.MaxFiles = DefaultLogMaxFiles
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the log directory: %w", err)
	}
	// Created here with 0600 (lumberjack would create it 0600 too, but only at the first write).
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening log file: %w", err)
	}
	_ = f.Close()
	return &lumberjack.Logger{Filename: path, MaxSize: r.MaxSizeMiB, MaxBackups: r.MaxFiles}, nil
}

// redirectKlog sends klog (the API server's and controller-manager's logs) to w and away from the
// terminal, where `nodeless up` prints its own progress. klog is process-wide: this affects every
// package that logs through it. verbosity is klog's -v.
func redirectKlog(w io.Writer, verbosity int) error {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	settings := map[string]string{
		"logtostderr":     "false",
		"alsologtostderr": "false",
		"one_output":      "true",
		// Without this, errors would still be copied to stderr.
		"stderrthreshold": "FATAL",
		"v":               fmt.Sprint(verbosity),
	}
	for k, v := range settings {
		if err := fs.Set(k, v); err != nil {
			return fmt.Errorf("configuring klog %s: %w", k, err)
		}
	}
	klog.SetOutput(w)
	return nil
}

// redirectContainerdLog sends the log of the containerd client inside this process (the local
// data plane's image pulls, which log "trying next host" and the like through containerd's
// process-wide logrus logger) to w, away from the terminal. The private containerd daemon logs
// to its own file (<state-dir>/containerd/containerd.log).
func redirectContainerdLog(w io.Writer) {
	containerdlog.L.Logger.SetOutput(w)
}

// etcdLogger is etcd's zap logger writing JSON lines at level warn to w (etcd's own encoding, as
// its LogOutputs would write them).
func etcdLogger(w io.Writer) *zap.Logger {
	enc := zapcore.NewJSONEncoder(logutil.DefaultZapLoggerConfig.EncoderConfig)
	sink := zapcore.AddSync(w)
	return zap.New(zapcore.NewCore(enc, sink, zapcore.WarnLevel), zap.AddCaller(), zap.ErrorOutput(sink))
}
