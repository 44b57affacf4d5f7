package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// sick, when set through /sethealth?ok=false, makes /healthz answer 500 (readiness tests).
var sick atomic.Bool

// lookupHandlers serve name lookups through the container's resolv.conf (Go's resolver, search
// domains and ndots included), for the Service-name tests:
//
//	/lookup?host=N    the addresses of N, sorted, one per line; 404 "not found" when N does not
//	                  exist or has no address, 502 with the error otherwise
//	/lookup?srv=N     the SRV records of N as "target port", sorted, one per line (same errors)
//	/sethealth?ok=B   B false makes /healthz answer 500 from now on, true makes it answer 200 again
func lookupHandlers(mux *http.ServeMux) {
	mux.HandleFunc("/lookup", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		var lines []string
		var err error
		if srv := r.URL.Query().Get("srv"); srv != "" {
			var recs []*net.SRV
			_, recs, err = net.DefaultResolver.LookupSRV(ctx, "", "", srv)
			for _, s := range recs {
				lines = append(lines, fmt.Sprintf("%s %d", s.Target, s.Port))
			}
		} else {
			lines, err = net.DefaultResolver.LookupHost(ctx, r.URL.Query().Get("host"))
		}
		var dnsErr *net.DNSError
		switch {
		case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
			http.Error(w, "not found", http.StatusNotFound)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		slices.Sort(lines)
		fmt.Fprint(w, strings.Join(lines, "\n"))
	})
	mux.HandleFunc("/sethealth", func(w http.ResponseWriter, r *http.Request) {
		sick.Store(r.URL.Query().Get("ok") == "false")
		fmt.Fprintln(w, "ok")
	})
}
