// Package testwait waits in tests for a condition that other goroutines or processes bring
// about: a controller's status, a container's exit, an API object's deletion.
//
// The deadline only ends a test that would otherwise hang; it is never a timing assertion
// (performance is measured in bench/, not in tests).
package testwait

import (
	"testing"
	"time"
)

// For calls cond every interval until it reports done, or fails t (t.Fatalf) once timeout has
// passed, naming what it waited for and the state cond last reported. cond's state is free text
// for the failure message ("phase=Pending", "2 of 3 running", ...).
func For(t testing.TB, timeout, interval time.Duration, what string, cond func() (done bool, state string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		done, state := cond()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last state: %s", timeout, what, state)
		}
		time.Sleep(interval)
	}
}
