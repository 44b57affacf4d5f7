// Package procwatch watches processes nodeless adopted after a restart (its private containerd,
// the VPC's uplink): they are not its children, so it cannot wait for them and polls instead.
package procwatch

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// interval is how often Watch looks at the process.
const interval = 250 * time.Millisecond

// Watch closes exited once pid no longer runs (gone, or a zombie nobody reaps). It blocks: run it
// in its own goroutine.
func Watch(pid int, exited chan<- struct{}) {
	for {
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) || Zombie(pid) {
			close(exited)
			return
		}
		time.Sleep(interval)
	}
}

// Zombie reports whether pid has exited but is not reaped yet (state Z in /proc/PID/stat), or
// cannot be read at all.
func Zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The command name in parentheses may hold spaces and ')': the state follows the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}
