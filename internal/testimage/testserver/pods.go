package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// podHandlers adds the endpoints the Pod tests drive (test/e2e/pods):
//
//	/log?line=L   print L to stdout and answer "logged", so a test sees a line it chose appear in
//	              `kubectl logs -f` while it streams
//	/exit?code=N  answer "exiting N", then exit with code N (0–255) as a crashing program would
func podHandlers(mux *http.ServeMux) {
	mux.HandleFunc("/log", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(os.Stdout, r.URL.Query().Get("line"))
		fmt.Fprintln(w, "logged")
	})
	mux.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.URL.Query().Get("code"))
		if err != nil || code < 0 || code > 255 {
			http.Error(w, "code: want an exit code 0-255", http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, "exiting", code)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		go func() {
			time.Sleep(100 * time.Millisecond) // let the answer reach the client
			fmt.Fprintln(os.Stdout, "exiting with code", code)
			os.Exit(code)
		}()
	})
}

// printEnv prints NAME=VALUE to stdout for each of the comma-separated names, in order (an unset
// variable prints NAME=), so that a program that exits at once still shows its environment in its
// logs.
func printEnv(names string) {
	for _, n := range strings.Split(names, ",") {
		if n != "" {
			fmt.Fprintf(os.Stdout, "%s=%s\n", n, os.Getenv(n))
		}
	}
}
