package virtualnode

import (
	"bytes"
	"net/http"
	"strings"
)

// vkLogsErrorPrefix is what virtual-kubelet's node/api puts before every error of a
// GetContainerLogs handler (HandleContainerLogs, v1.14: errors.Wrap(err, "error getting container
// logs?)")), typo included; the API server passes the answer's body to kubectl as the message.
const vkLogsErrorPrefix = "error getting container logs?): "

// withoutLogsErrorPrefix serves next, answering the errors of /containerLogs without
// vkLogsErrorPrefix, so that kubectl logs shows the handler's message as a kubelet's would
// (`previous terminated container "app" in pod "web" not found`). Answers that succeed, and every
// other route, pass as they are.
func withoutLogsErrorPrefix(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/containerLogs/") {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&logsErrorWriter{ResponseWriter: w}, r)
	})
}

// logsErrorWriter drops vkLogsErrorPrefix from the first write of an answer whose status is an
// error; it flushes as the ResponseWriter it wraps (virtual-kubelet flushes a followed log after
// each write).
type logsErrorWriter struct {
	http.ResponseWriter
	// failed: the status was an error and nothing was written yet.
	failed, wrote bool
}

func (w *logsErrorWriter) WriteHeader(code int) {
	w.failed = code >= http.StatusBadRequest && !w.wrote
	w.ResponseWriter.WriteHeader(code)
}

func (w *logsErrorWriter) Write(p []byte) (int, error) {
	first := !w.wrote
	w.wrote = true
	if rest, ok := bytes.CutPrefix(p, []byte(vkLogsErrorPrefix)); first && w.failed && ok {
		if _, err := w.ResponseWriter.Write(rest); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher when the wrapped ResponseWriter does.
func (w *logsErrorWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the wrapped ResponseWriter.
func (w *logsErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
