package vpc

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
)

// TestRetryDump: an interrupted dump is called again up to 5 times, and the last call's results and
// error are returned; any other error is returned at once.
func TestRetryDump(t *testing.T) {
	other := errors.New("permission denied")
	for _, tc := range []struct {
		name      string
		errs      []error // of each call; nil once exhausted
		wantCalls int
		wantErr   error
	}{
		{name: "first call", wantCalls: 1},
		{name: "interrupted twice", errs: []error{netlink.ErrDumpInterrupted, netlink.ErrDumpInterrupted}, wantCalls: 3},
		{name: "interrupted every time", errs: []error{netlink.ErrDumpInterrupted, netlink.ErrDumpInterrupted,
			netlink.ErrDumpInterrupted, netlink.ErrDumpInterrupted, netlink.ErrDumpInterrupted, netlink.ErrDumpInterrupted,
			netlink.ErrDumpInterrupted}, wantCalls: 1 + dumpRetries, wantErr: netlink.ErrDumpInterrupted},
		{name: "another error", errs: []error{other, netlink.ErrDumpInterrupted}, wantCalls: 1, wantErr: other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			got, err := RetryDump(func() ([]int, error) {
				calls++
				if calls <= len(tc.errs) {
					return []int{calls}, tc.errs[calls-1]
				}
				return []int{calls}, nil
			})
			if !errors.Is(err, tc.wantErr) { // errors.Is(err, nil): err is nil
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff([]int{tc.wantCalls}, got); diff != "" || calls != tc.wantCalls {
				t.Errorf("%d calls; results (-want +got):\n%s", calls, diff)
			}
		})
	}
}
