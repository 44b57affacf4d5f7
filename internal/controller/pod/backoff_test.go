package pod

import (
	"testing"
	"time"
)

// TestBackoff follows the kubelet's restart back-off through runs that stop: the first re-run is
// immediate, then 10 s, 20 s, ... up to 5 min, counted from when the task stopped; a run longer
// than 10 min resets it.
func TestBackoff(t *testing.T) {
	cfg := DefaultBackoff()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	type look struct {
		after time.Duration // since the stop
		wait  time.Duration // what the node must still wait
	}
	type stop struct {
		ranFor    time.Duration // since the last re-run
		looks     []look        // the last one has wait 0: the node runs the Pod again then
		wantDelay time.Duration // the back-off of the run that follows
	}
	for name, stops := range map[string][]stop{
		"crash loop": {
			{ranFor: time.Second, looks: []look{{0, 0}}, wantDelay: 10 * time.Second},
			{ranFor: time.Second, looks: []look{{0, 10 * time.Second}, {4 * time.Second, 6 * time.Second}, {10 * time.Second, 0}}, wantDelay: 20 * time.Second},
			{ranFor: time.Second, looks: []look{{time.Second, 19 * time.Second}, {20 * time.Second, 0}}, wantDelay: 40 * time.Second},
			{ranFor: time.Second, looks: []look{{40 * time.Second, 0}}, wantDelay: 80 * time.Second},
			{ranFor: time.Second, looks: []look{{80 * time.Second, 0}}, wantDelay: 160 * time.Second},
			{ranFor: time.Second, looks: []look{{160 * time.Second, 0}}, wantDelay: 5 * time.Minute},
			{ranFor: time.Second, looks: []look{{time.Minute, 4 * time.Minute}, {5 * time.Minute, 0}}, wantDelay: 5 * time.Minute},
		},
		"reset after a long run": {
			{ranFor: time.Second, looks: []look{{0, 0}}, wantDelay: 10 * time.Second},
			{ranFor: time.Second, looks: []look{{10 * time.Second, 0}}, wantDelay: 20 * time.Second},
			{ranFor: 11 * time.Minute, looks: []look{{0, 0}}, wantDelay: 10 * time.Second},
		},
	} {
		var b backoffState
		now := t0
		for i, s := range stops {
			stopped := now.Add(s.ranFor)
			for _, l := range s.looks {
				now = stopped.Add(l.after)
				if got := b.wait(cfg, stopped, now); got != l.wait {
					t.Fatalf("%s, stop %d, %v after it: wait %v, want %v", name, i, l.after, got, l.wait)
				}
			}
			if got := b.next(cfg, now); got != s.wantDelay {
				t.Fatalf("%s, stop %d: back-off after the re-run %v, want %v", name, i, got, s.wantDelay)
			}
		}
	}
}
