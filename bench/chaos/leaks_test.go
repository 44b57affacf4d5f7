package chaos

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// proc is one process as /proc shows it.
type proc struct {
	pid   int
	comm  string
	state string // R, S, D, Z, ...
	ppid  int
	start uint64 // starttime, in clock ticks after boot: with pid, names one process
	args  []string
	root  string // the target of /proc/<pid>/root
}

// processes lists every process /proc shows (those that vanish while read are left out).
func processes() []proc {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	procs := make([]proc, 0, len(dirs))
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		p, ok := readProc(pid)
		if ok {
			procs = append(procs, p)
		}
	}
	return procs
}

// readProc reads /proc/<pid>/stat (fields after the comm's closing parenthesis: state is field 3,
// starttime field 22, proc(5)), cmdline and root.
func readProc(pid int) (proc, bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, false
	}
	stat := string(raw)
	open, closing := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
	if open < 0 || closing < open {
		return proc{}, false
	}
	fields := strings.Fields(stat[closing+1:])
	if len(fields) < 20 {
		return proc{}, false
	}
	start, _ := strconv.ParseUint(fields[19], 10, 64)
	ppid, _ := strconv.Atoi(fields[1])
	p := proc{pid: pid, comm: stat[open+1 : closing], state: fields[0], ppid: ppid, start: start}
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && len(cmdline) > 0 {
		p.args = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	}
	p.root, _ = os.Readlink(fmt.Sprintf("/proc/%d/root", pid))
	return p, true
}

// of says whether the process belongs to stateDir: its command line or its root names a path
// under it (nodeless, containerd, shims, the uplink; a container's processes by their root).
func (p proc) of(stateDir string) bool {
	prefix := stateDir + "/"
	return strings.Contains(strings.Join(p.args, " "), prefix) || strings.HasPrefix(p.root, prefix) || p.root == stateDir
}

type procKey struct {
	pid   int
	start uint64
}

// pidTracker remembers every process of the state dir seen during the soak, so that at the end a
// zombie (whose command line is gone) can still be told to be one of the soak's.
type pidTracker struct {
	stateDir string
	mu       sync.Mutex
	seen     map[procKey]string // → comm
}

func newPidTracker(stateDir string) *pidTracker {
	return &pidTracker{stateDir: stateDir, seen: map[procKey]string{}}
}

// scan records the live processes of the state dir.
func (pt *pidTracker) scan() {
	procs := processes()
	pt.mu.Lock()
	defer pt.mu.Unlock()
	for _, p := range procs {
		if p.of(pt.stateDir) {
			pt.seen[procKey{p.pid, p.start}] = p.comm
		}
	}
}

// add records the process pid.
func (pt *pidTracker) add(pid int) {
	p, ok := readProc(pid)
	if !ok {
		return
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	pt.seen[procKey{p.pid, p.start}] = p.comm
}

// zombies counts, by comm, the processes seen during the soak that are zombies now.
func (pt *pidTracker) zombies() map[string]int {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	z := map[string]int{}
	for k, comm := range pt.seen {
		if p, ok := readProc(k.pid); ok && p.start == k.start && p.state == "Z" {
			z[comm]++
		}
	}
	return z
}

// leakReport is what is left after `nodeless down`.
type leakReport struct {
	down       string   // down's output
	downErr    string   // down's error, if any
	downKilled []string // leftover processes down had to kill ("process stopped:" lines)
	live       []string // processes of the state dir still running: leaks
	zombies    map[string]int
	mounts     []string // mount points under the state dir
	netns      []string // entries of <state dir>/netns
}

// finish stops the data plane as a user would (SIGTERM), runs `nodeless down`, and takes stock of
// what is left.
func (s *soak) finish(ctx context.Context) {
	s.pids.scan()
	s.proc.Terminate(s.t)
	s.proc = nil
	downCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(downCtx, s.bin, "down", "--state-dir", s.stateDir).CombinedOutput()
	l := &s.leaks
	l.down = string(out)
	if err != nil {
		l.downErr = err.Error()
	}
	for _, line := range strings.Split(l.down, "\n") {
		if strings.HasPrefix(line, "process stopped: ") {
			l.downKilled = append(l.downKilled, strings.TrimPrefix(line, "process stopped: "))
		}
	}
	// Processes may take a moment to exit after down's kill: look for a few seconds.
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.live = l.live[:0]
		for _, p := range processes() {
			if p.state != "Z" && p.of(s.stateDir) {
				l.live = append(l.live, fmt.Sprintf("%d %s %s", p.pid, p.comm, strings.Join(p.args, " ")))
			}
		}
		if len(l.live) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	l.zombies = s.pids.zombies()
	l.mounts = mountsUnder(s.stateDir)
	if entries, err := os.ReadDir(filepath.Join(s.stateDir, "netns")); err == nil {
		for _, e := range entries {
			l.netns = append(l.netns, e.Name())
		}
	}
}

// mountsUnder lists the mount points under dir (field 5 of /proc/self/mountinfo).
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return []string{"reading /proc/self/mountinfo: " + err.Error()}
	}
	defer func() { _ = f.Close() }()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			mounts = append(mounts, fields[4])
		}
	}
	sort.Strings(mounts)
	return mounts
}
