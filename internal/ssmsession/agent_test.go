package ssmsession_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/nodeless-dev/nodeless/internal/ssmsession"
)

// agentServer serves the agent side on 127.0.0.1; run plays the command with the Agent.
func agentServer(t *testing.T, run func(a *ssmsession.Agent) string) ssmsession.Channel {
	t.Helper()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		a, err := ssmsession.Accept(r.Context(), conn, "s-2", func(token string) error {
			if token != "token-2" {
				return errors.New("the token is not this session's")
			}
			return nil
		})
		if err != nil {
			return
		}
		_ = a.Close(run(a))
	}))
	t.Cleanup(func() { srv.Close(); <-done })
	return ssmsession.Channel{SessionID: "s-2", StreamURL: "ws" + strings.TrimPrefix(srv.URL, "http"), TokenValue: "token-2"}
}

// TestClientAgainstAgent: the client and the agent side of this package speak to each other:
// input comes through in order, a terminal size arrives, output larger than one message
// arrives whole, the session ends normally.
func TestClientAgainstAgent(t *testing.T) {
	big := strings.Repeat("0123456789", 500)
	ch := agentServer(t, func(a *ssmsession.Agent) string {
		size := <-a.Sizes()
		var in []byte
		buf := make([]byte, 3)
		for !bytes.HasSuffix(in, []byte("world\n")) {
			n, err := a.Read(buf)
			if err != nil {
				return err.Error()
			}
			in = append(in, buf[:n]...)
		}
		_, _ = fmt.Fprintf(a, "size %dx%d\n%s|%s", size.Cols, size.Rows, bytes.ToUpper(in), big)
		return ""
	})
	resize := make(chan ssmsession.TermSize, 1)
	resize <- ssmsession.TermSize{Cols: 100, Rows: 30}
	var out bytes.Buffer
	res, err := ssmsession.Run(context.Background(), ch, ssmsession.Streams{Stdin: strings.NewReader("hello\nworld\n"), Stdout: &out, Resize: resize}, ssmsession.Options{})
	if err != nil || res != (ssmsession.Result{}) {
		t.Fatalf("Run: %+v, %v", res, err)
	}
	if want := "size 100x30\nHELLO\nWORLD\n|" + big; out.String() != want {
		t.Errorf("output %q..., want %q...", out.String()[:40], want[:40])
	}
}

// TestAgentRefusesToken: a wrong token ends the session with the reason.
func TestAgentRefusesToken(t *testing.T) {
	ch := agentServer(t, func(*ssmsession.Agent) string { t.Error("session accepted"); return "" })
	ch.TokenValue = "stolen"
	res, err := ssmsession.Run(context.Background(), ch, ssmsession.Streams{}, ssmsession.Options{})
	if err != nil || res.Closed != "the token is not this session's" {
		t.Errorf("Run: %+v, %v; want the channel closed with the refusal", res, err)
	}
}
