// Command testserver is the program inside the test image built by package testimage: a tiny HTTP
// server whose behaviour is chosen by flags, so one image covers every runtime test.
//
//	testserver [flags]              serve and/or behave as the flags say
//	testserver probe URL            exit 0 when GET URL answers 200, 1 otherwise (health checks)
//
// For the Pod tests: -print-env prints variables at start; /log and /exit (see podHandlers).
//
// HTTP endpoints: / (hostname), /healthz (200, or 500 once -unhealthy-after has passed),
// /env?name=N (the variable's value), /file?path=P (the file's content), /args (the arguments),
// /fetch?url=U (GET U from inside the container and return its body; with &close=true on a
// connection of its own, closed after the answer, so that a load balancer sees every fetch), /remote (the client's address
// as the server sees it, host:port; with -proxy-protocol the source of the connection's PROXY
// protocol header when it began with one, as a server behind an AWS network load balancer with
// proxy protocol v2 reads it). With -udp-echo it also answers every UDP datagram with "echo:"
// and the datagram, and the datagram "remote" with "remote:" and the sender's address.
// /lookup and /sethealth: see lookupHandlers. With -tick it prints a numbered line every interval; with -cat it echoes stdin (exec tests).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	proxyproto "github.com/pires/go-proxyproto"
)

type config struct {
	printEnv       string
	listen         string
	exitCode       int
	exitSet        bool
	sleep          time.Duration
	stdout         string
	stderr         string
	ignoreTerm     bool
	termDelay      time.Duration
	termExit       int
	unhealthyAfter time.Duration
	allocMiB       int
	udpEcho        string
	tick           time.Duration
	cat            bool
	proxyProtocol  bool
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "probe" {
		os.Exit(probe(os.Args[2]))
	}
	cfg := parseFlags()
	os.Exit(run(cfg))
}

func parseFlags() config {
	var c config
	fs := flag.NewFlagSet("testserver", flag.ExitOnError)
	fs.StringVar(&c.printEnv, "print-env", "", "print NAME=VALUE to stdout at start for each of these comma-separated variables")
	fs.StringVar(&c.listen, "listen", "", "address to serve HTTP on (e.g. :8080); comma-separated for several")
	exit := fs.Int("exit", 0, "exit with this code (after -sleep, without serving unless -listen)")
	fs.DurationVar(&c.sleep, "sleep", 0, "sleep this long, then exit (with -exit's code)")
	fs.StringVar(&c.stdout, "stdout", "", "print this line to stdout at start")
	fs.StringVar(&c.stderr, "stderr", "", "print this line to stderr at start")
	fs.BoolVar(&c.ignoreTerm, "ignore-sigterm", false, "ignore SIGTERM")
	fs.DurationVar(&c.termDelay, "term-delay", 0, "on SIGTERM, wait this long before exiting")
	fs.IntVar(&c.termExit, "term-exit", 0, "exit code after SIGTERM")
	fs.DurationVar(&c.unhealthyAfter, "unhealthy-after", 0, "make /healthz answer 500 after this long")
	fs.IntVar(&c.allocMiB, "alloc-mib", 0, "allocate and touch this many MiB at start")
	fs.StringVar(&c.udpEcho, "udp-echo", "", "address to echo UDP datagrams on (e.g. :5353)")
	fs.DurationVar(&c.tick, "tick", 0, `print "tick N" to stdout every this long (N counts from 1)`)
	fs.BoolVar(&c.cat, "cat", false, `print "tty=true" or "tty=false" (is stdin a terminal), copy stdin to stdout, exit at its end`)
	fs.BoolVar(&c.proxyProtocol, "proxy-protocol", false, "accept a PROXY protocol (v1 or v2) header at the start of each HTTP connection (optional: connections without one are served as they come)")
	_ = fs.Parse(os.Args[1:])
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "exit" {
			c.exitSet = true
		}
	})
	c.exitCode = *exit
	return c
}

func run(c config) int {
	if c.printEnv != "" {
		printEnv(c.printEnv)
	}
	if c.stdout != "" {
		fmt.Fprintln(os.Stdout, c.stdout)
	}
	if c.stderr != "" {
		fmt.Fprintln(os.Stderr, c.stderr)
	}
	if c.allocMiB > 0 {
		allocate(c.allocMiB)
	}
	if c.cat {
		return cat()
	}
	if c.tick > 0 {
		go tick(c.tick)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	if c.ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	if c.exitSet && c.sleep == 0 && c.listen == "" {
		return c.exitCode
	}
	if c.udpEcho != "" {
		go udpEcho(c.udpEcho)
	}
	for _, addr := range strings.Split(c.listen, ",") {
		if addr != "" {
			go serve(addr, c)
		}
	}
	var done <-chan time.Time
	if c.sleep > 0 {
		done = time.After(c.sleep)
	}
	select {
	case <-done:
		return c.exitCode
	case s := <-sigs:
		fmt.Fprintln(os.Stdout, "received", s)
		time.Sleep(c.termDelay)
		return c.termExit
	}
}

// cat says whether stdin is a terminal, then copies stdin to stdout.
func cat() int {
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, os.Stdin.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&syscall.Termios{})))
	fmt.Fprintf(os.Stdout, "tty=%v\n", errno == 0)
	if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
		return 1
	}
	return 0
}

func tick(every time.Duration) {
	for n := 1; ; n++ {
		time.Sleep(every)
		fmt.Fprintf(os.Stdout, "tick %d\n", n)
	}
}

var sink [][]byte

func allocate(mib int) {
	for i := 0; i < mib; i++ {
		b := make([]byte, 1<<20)
		for j := range b {
			b[j] = byte(j)
		}
		sink = append(sink, b)
	}
	fmt.Fprintln(os.Stdout, "allocated", mib, "MiB")
}

func serve(addr string, c config) {
	start := time.Now()
	var hits atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		host, _ := os.Hostname()
		fmt.Fprintln(w, "hello from", host)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if sick.Load() || (c.unhealthyAfter > 0 && time.Since(start) > c.unhealthyAfter) {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, os.Getenv(r.URL.Query().Get("name")))
	})
	mux.HandleFunc("/args", func(w http.ResponseWriter, _ *http.Request) {
		wd, _ := os.Getwd()
		fmt.Fprintf(w, "args=%s\nwd=%s\nuid=%d\n", strings.Join(os.Args, " "), wd, os.Getuid())
	})
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(r.URL.Query().Get("path"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		_, _ = w.Write(b)
	})
	mux.HandleFunc("/fetch", fetch)
	mux.HandleFunc("/remote", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.RemoteAddr) })
	podHandlers(mux)
	lookupHandlers(mux)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(3)
	}
	if c.proxyProtocol {
		l = &proxyproto.Listener{Listener: l, ConnPolicy: func(proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) { return proxyproto.USE, nil }}
	}
	if err := http.Serve(l, mux); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(3)
	}
}

func fetch(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL.Query().Get("url"), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req.Close = r.URL.Query().Get("close") == "true"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(w, resp.Body)
}

func probe(url string) int {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		return 1
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}

func udpEcho(addr string) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "udp:", err)
		os.Exit(3)
	}
	buf := make([]byte, 64*1024)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if string(buf[:n]) == "remote" {
			_, _ = pc.WriteTo([]byte("remote:"+from.String()), from)
			continue
		}
		_, _ = pc.WriteTo(append([]byte("echo:"), buf[:n]...), from)
	}
}
