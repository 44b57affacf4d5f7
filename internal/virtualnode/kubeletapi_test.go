package virtualnode_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// TestKubeletAPI drives the virtual node's kubelet API as the API server does (client certificate
// of the cluster CA, SPDY streams) against a real container on the real data plane.
func TestKubeletAPI(t *testing.T) {
	f := setup(t)
	pod := f.runPod(t, "talker", "-listen", fmt.Sprintf(":%d", testimage.Port), "-stdout", "first", "-stderr", "second", "-tick", "200ms")
	admin := f.kubeletConfig(f.pki.AdminCert, f.pki.AdminKey)
	logsPath := fmt.Sprintf("/containerLogs/%s/%s/app", pod.Namespace, pod.Name)
	waitLog(t, admin, logsPath, "tick 2")

	t.Run("anonymous is refused", func(t *testing.T) {
		code, body := get(t, f.kubeletConfig("", ""), "/pods")
		if code != http.StatusUnauthorized {
			t.Errorf("GET /pods without credentials: %d %q, want 401", code, body)
		}
	})
	t.Run("a token without the right is forbidden", func(t *testing.T) { testForbiddenToken(t, f) })
	t.Run("pods", func(t *testing.T) {
		code, body := get(t, admin, "/pods")
		if code != http.StatusOK || !strings.Contains(body, `"name":"talker"`) {
			t.Errorf("GET /pods: %d %q, want 200 listing talker", code, body)
		}
	})
	t.Run("logs", func(t *testing.T) { testLogs(t, admin, logsPath) })
	t.Run("exec", func(t *testing.T) { testExec(t, admin, pod) })
	t.Run("port-forward", func(t *testing.T) { testPortForward(t, admin, pod) })
	t.Run("attach", func(t *testing.T) { testAttach(t, admin, pod) })
	t.Run("attach without stdin refuses -i", func(t *testing.T) { testAttachStdinRefused(t, admin, pod) })
	t.Run("attach with stdin", func(t *testing.T) { testAttachStdin(t, f, admin, "cat", stdio{stdin: true}) })
	t.Run("attach with stdin to a terminal", func(t *testing.T) { testAttachStdin(t, f, admin, "cat-tty", stdio{stdin: true, tty: true}) })
	t.Run("attach with stdin kept open", func(t *testing.T) { testAttachStdinKeptOpen(t, f, admin) })
	t.Run("unknown pod", func(t *testing.T) {
		code, _ := get(t, admin, fmt.Sprintf("/containerLogs/%s/nosuchpod/app", pod.Namespace))
		if code != http.StatusNotFound {
			t.Errorf("logs of a pod that does not exist: %d, want 404", code)
		}
	})
	t.Run("follow ends when the task stops", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		body := stream(ctx, t, admin, logsPath+"?follow=true")
		f.stopTask(t, pod)
		rest, err := io.ReadAll(body)
		if err != nil || ctx.Err() != nil {
			t.Fatalf("the followed log did not end with the task: %v %v", err, ctx.Err())
		}
		if !strings.Contains(string(rest), "received terminated") {
			t.Errorf("the followed log ends %q, want the container's last line", tail(string(rest)))
		}
	})
	t.Run("previous after the task was replaced", func(t *testing.T) {
		f.replaceTask(t, pod, "-stdout", "second run", "-tick", "1h")
		waitLog(t, admin, logsPath, "second run")
		_, current := get(t, admin, logsPath)
		code, previous := get(t, admin, logsPath+"?previous=true&tailLines=1")
		if code != http.StatusOK || !strings.Contains(previous, "received terminated") {
			t.Errorf("previous=true: %d %q, want the last line of the replaced task", code, previous)
		}
		if strings.Contains(current, "tick") || strings.Contains(current, "first") {
			t.Errorf("the current log %q holds lines of the replaced task", head(current))
		}
	})
}

func testLogs(t *testing.T, admin *rest.Config, path string) {
	stamped := regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z `)
	t.Run("whole", func(t *testing.T) {
		_, body := get(t, admin, path)
		// stdout and stderr reach the log through two pipes: "first" and "second" in either order.
		if !strings.Contains(body, "first\n") || !strings.Contains(body, "second\n") || !strings.Contains(body, "tick 1\n") {
			t.Errorf("log %q, want first, second, tick 1", head(body))
		}
	})
	t.Run("tail", func(t *testing.T) {
		_, body := get(t, admin, path+"?tailLines=1")
		if lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "tick ") {
			t.Errorf("tailLines=1 gave %q, want one tick line", body)
		}
	})
	t.Run("timestamps", func(t *testing.T) {
		_, body := get(t, admin, path+"?timestamps=true&tailLines=3")
		for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
			if !stamped.MatchString(line) {
				t.Errorf("line %q has no RFC 3339 time", line)
			}
		}
	})
	t.Run("since", func(t *testing.T) {
		// sinceTime has whole seconds: take the second after the first line, once ticks came after it.
		_, body := get(t, admin, path+"?timestamps=true&limitBytes=64")
		first, err := time.Parse(time.RFC3339Nano, strings.Fields(body)[0])
		if err != nil {
			t.Fatalf("first line %q: %v", body, err)
		}
		since := first.Truncate(time.Second).Add(time.Second)
		time.Sleep(time.Until(since.Add(time.Second)))
		_, body = get(t, admin, path+"?sinceTime="+url.QueryEscape(since.Format(time.RFC3339)))
		if strings.Contains(body, "first") || !strings.Contains(body, "tick") {
			t.Errorf("sinceTime=%s gave %q, want the ticks after it only", since.Format(time.RFC3339), head(body))
		}
	})
	t.Run("limit bytes", func(t *testing.T) {
		_, whole := get(t, admin, path)
		_, body := get(t, admin, path+"?limitBytes=3")
		if len(body) != 3 || !strings.HasPrefix(whole, body) {
			t.Errorf("limitBytes=3 gave %q, want the first 3 bytes of %q", body, head(whole))
		}
	})
	t.Run("follow", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		body := stream(ctx, t, admin, path+"?follow=true&tailLines=1")
		defer func() { _ = body.Close() }()
		sc := bufio.NewScanner(body)
		var first int
		for sc.Scan() {
			var n int
			if _, err := fmt.Sscanf(sc.Text(), "tick %d", &n); err != nil {
				continue
			}
			if first == 0 {
				first = n
			} else if n >= first+2 {
				return // new lines arrived while following
			}
		}
		t.Errorf("following stopped after tick %d: %v", first, sc.Err())
	})
	t.Run("previous", func(t *testing.T) {
		code, body := get(t, admin, path+"?previous=true")
		if code != http.StatusBadRequest || !strings.Contains(body, `previous terminated container "app" in pod`) || !strings.Contains(body, "never re-run") {
			t.Errorf("previous=true: %d %q, want 400 saying, as the kubelet, that there is no previous container", code, body)
		}
	})
}

func testExec(t *testing.T, admin *rest.Config, pod *corev1.Pod) {
	tests := []struct {
		name       string
		cmd        []string
		stdin      string
		tty        bool
		wantCode   int
		wantStdout string
	}{
		{name: "exit code", cmd: []string{"/testserver", "-exit", "3"}, wantCode: 3},
		{name: "stdout", cmd: []string{"/testserver", "-stdout", "hi", "-exit", "0"}, wantStdout: "hi\n"},
		{name: "stdin", cmd: []string{"/testserver", "-cat"}, stdin: "hello\n", wantStdout: "tty=false\nhello\n"},
		// The terminal echoes the input too, in an order that depends on when it arrives.
		{name: "tty", cmd: []string{"/testserver", "-cat"}, stdin: "hello\n\x04", tty: true, wantStdout: "tty=true\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{"command": tt.cmd, "output": {"1"}}
			if !tt.tty {
				q.Set("error", "1")
			} else {
				q.Set("tty", "1")
			}
			var in io.Reader
			if tt.stdin != "" {
				q.Set("input", "1")
				in = strings.NewReader(tt.stdin)
			}
			if tt.tty {
				// The end of stdin closes the terminal (containerd's shim, as under the kubelet),
				// which may cut the output short: keep it open; ^D ends the command.
				pr, pw := io.Pipe()
				go func() { _, _ = io.WriteString(pw, tt.stdin) }()
				defer func() { _ = pw.Close() }()
				in = pr
			}
			var stdout, stderr bytes.Buffer
			err := execStream(t, admin, fmt.Sprintf("/exec/%s/%s/app?%s", pod.Namespace, pod.Name, q.Encode()),
				remotecommand.StreamOptions{Stdin: in, Stdout: &stdout, Stderr: &stderr, Tty: tt.tty})
			code := 0
			var ce utilexec.CodeExitError
			switch {
			case errors.As(err, &ce):
				code = ce.Code
			case err != nil:
				t.Fatalf("exec: %v (stderr %q)", err, stderr.String())
			}
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			if tt.tty && strings.Count(stdout.String(), "hello\r\n") == 2 {
				stdout = *bytes.NewBufferString(strings.Replace(stdout.String(), "hello\r\n", "", 2))
			}
			if tt.wantStdout != "" && stdout.String() != tt.wantStdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tt.wantStdout)
			}
		})
	}
}

func testAttach(t *testing.T, admin *rest.Config, pod *corev1.Pod) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- execStreamCtx(ctx, t, admin, fmt.Sprintf("/attach/%s/%s/app?output=1&error=1", pod.Namespace, pod.Name),
			remotecommand.StreamOptions{Stdout: pw, Stderr: io.Discard})
		_ = pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "first") {
			t.Errorf("attach showed %q, a line written before it attached", sc.Text())
		}
		if strings.HasPrefix(sc.Text(), "tick ") {
			cancel()
			go func() { _, _ = io.Copy(io.Discard, pr) }()
			<-errc
			return
		}
	}
	t.Errorf("attach ended without output: %v", <-errc)
}

// testAttachStdin: attach -i to an interactive container (`kubectl run -i`, with -t on a
// terminal) writes its input, ends it at the end of the client's (the container exits), and shows
// what the container echoes.
func testAttachStdin(t *testing.T, f *fixture, admin *rest.Config, name string, mode stdio) {
	pod := f.runPodWith(t, name, mode, "-cat")
	const line = "hello through stdin"
	var out strings.Builder
	err := execStreamCtx(context.Background(), t, admin, fmt.Sprintf("/attach/%s/%s/app?input=1&output=1&error=1", pod.Namespace, pod.Name),
		remotecommand.StreamOptions{Stdin: strings.NewReader(line + "\n"), Stdout: &out, Stderr: io.Discard})
	if err != nil || !strings.Contains(out.String(), line) {
		t.Errorf("attach -i: %v; output %q, want it to hold %q", err, out.String(), line)
	}
}

// testAttachStdinKeptOpen: without stdinOnce the end of an attach's input leaves the
// container's open (the kubelet's behaviour): a second attach still reaches the running cat.
func testAttachStdinKeptOpen(t *testing.T, f *fixture, admin *rest.Config) {
	pod := f.runPodWith(t, "cat-open", stdio{stdin: true, keepOpen: true}, "-cat")
	for _, line := range []string{"first attach", "second attach"} {
		ctx, cancel := context.WithCancel(context.Background())
		out := &seenWriter{want: line, seen: cancel}
		_ = execStreamCtx(ctx, t, admin, fmt.Sprintf("/attach/%s/%s/app?input=1&output=1&error=1", pod.Namespace, pod.Name),
			remotecommand.StreamOptions{Stdin: strings.NewReader(line + "\n"), Stdout: out, Stderr: io.Discard})
		cancel()
		if !out.found() {
			t.Fatalf("attach -i %q: the container did not echo it (its input was closed by the attach before?)", line)
		}
	}
}

// seenWriter calls seen once what it is written holds want.
type seenWriter struct {
	mu   sync.Mutex
	buf  strings.Builder
	want string
	seen context.CancelFunc
	ok   bool
}

func (w *seenWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.ok && strings.Contains(w.buf.String(), w.want) {
		w.ok = true
		w.seen()
	}
	return len(p), nil
}

func (w *seenWriter) found() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ok
}

// testAttachStdinRefused: attach -i to a container created without stdin says what to do.
func testAttachStdinRefused(t *testing.T, admin *rest.Config, pod *corev1.Pod) {
	err := execStreamCtx(context.Background(), t, admin, fmt.Sprintf("/attach/%s/%s/app?input=1&output=1&error=1", pod.Namespace, pod.Name),
		remotecommand.StreamOptions{Stdin: strings.NewReader("x\n"), Stdout: io.Discard, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "stdin: true") {
		t.Errorf("attach -i to a container without stdin: %v, want an error saying to set stdin: true", err)
	}
}

func testPortForward(t *testing.T, admin *rest.Config, pod *corev1.Pod) {
	rt, upgrader, err := spdy.RoundTripperFor(admin)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(admin.Host + fmt.Sprintf("/portForward/%s/%s", pod.Namespace, pod.Name))
	if err != nil {
		t.Fatal(err)
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
	stop, ready := make(chan struct{}), make(chan struct{})
	pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", testimage.Port)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- pf.ForwardPorts() }()
	defer func() { close(stop); <-errc }()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatalf("port-forward: %v", err)
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) != 1 {
		t.Fatalf("forwarded ports %v: %v", ports, err)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", ports[0].Local))
	if err != nil {
		t.Fatalf("GET through the forward: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz through the forward: %s", resp.Status)
	}
}

// testForbiddenToken: a service account's token authenticates (TokenReview) but the account may
// not use the node's API (SubjectAccessReview): 403.
func testForbiddenToken(t *testing.T, f *fixture) {
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "nobody", Namespace: f.env.Namespace}}
	if _, err := f.client.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, err := f.client.CoreV1().ServiceAccounts(sa.Namespace).CreateToken(ctx, sa.Name, &authv1TokenRequest, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.kubeletConfig("", "")
	cfg.BearerToken = tok.Status.Token
	if code, body := get(t, cfg, "/pods"); code != http.StatusForbidden {
		t.Errorf("GET /pods with an unprivileged token: %d %q, want 403", code, body)
	}
}

func get(t *testing.T, cfg *rest.Config, path string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Host+path, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// stream GETs path and returns the body as it comes.
func stream(ctx context.Context, t *testing.T, cfg *rest.Config, path string) io.ReadCloser {
	t.Helper()
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Host+path, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %q", path, resp.Status, b)
	}
	return resp.Body
}

// waitLog waits until the log holds want.
func waitLog(t *testing.T, cfg *rest.Config, path, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		code, body := get(t, cfg, path)
		if code == http.StatusOK && strings.Contains(body, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log never held %q: %d %q", want, code, tail(body))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func execStream(t *testing.T, cfg *rest.Config, path string, o remotecommand.StreamOptions) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return execStreamCtx(ctx, t, cfg, path, o)
}

func execStreamCtx(ctx context.Context, t *testing.T, cfg *rest.Config, path string, o remotecommand.StreamOptions) error {
	u, err := url.Parse(cfg.Host + path)
	if err != nil {
		t.Error(err)
		return err
	}
	ex, err := remotecommand.NewSPDYExecutor(cfg, http.MethodPost, u)
	if err != nil {
		t.Error(err)
		return err
	}
	return ex.StreamWithContext(ctx, o)
}

func head(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

func tail(s string) string {
	if len(s) > 200 {
		return "..." + s[len(s)-200:]
	}
	return s
}

var authv1TokenRequest = authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{}}
