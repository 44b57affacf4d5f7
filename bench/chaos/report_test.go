package chaos

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// report logs the soak's results as Markdown (also written to $NODELESS_SOAK_SUMMARY when set)
// and fails the test on every broken invariant; convergence times are reported only.
func (s *soak) report() {
	t := s.t
	var b strings.Builder
	s.writeSummary(&b)
	t.Log("\n" + b.String())
	if path := os.Getenv("NODELESS_SOAK_SUMMARY"); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Errorf("writing the summary to %s: %v", path, err)
		}
	}
	for _, r := range s.rounds {
		if !r.converged {
			t.Errorf("round %d: the service did not converge within %s", r.n, convergeBound)
		}
		if r.exited {
			t.Errorf("round %d: the restarted nodeless dataplane exited on its own", r.n)
		}
		for _, l := range r.lost {
			t.Errorf("round %d: lost %s", r.n, l)
		}
		if r.token != "" && r.tokenTasks > 1 {
			t.Errorf("round %d: clientToken %s started %d tasks", r.n, r.token, r.tokenTasks)
		}
		if r.containers != "" {
			t.Errorf("round %d: %s", r.n, r.containers)
		}
	}
	for _, v := range s.sampler.violations {
		t.Errorf("beyond maximumPercent: %s", v)
	}
	l := s.leaks
	if l.downErr != "" {
		t.Errorf("nodeless down: %s\n%s", l.downErr, l.down)
	}
	for _, what := range []struct {
		name string
		list []string
	}{{"process", l.live}, {"mount", l.mounts}, {"network namespace", l.netns}} {
		for _, x := range what.list {
			t.Errorf("left after nodeless down: %s %s", what.name, x)
		}
	}
}

func (s *soak) writeSummary(b *strings.Builder) {
	byTarget := map[string]int{}
	again := 0
	var conv, serve, disturbed []time.Duration
	flaps := 0
	convBy := map[string][]time.Duration{}
	over, unconverged, tokens, dups, tokenMissing, lost, mismatches := 0, 0, 0, 0, 0, 0, 0
	for _, r := range s.rounds {
		for _, k := range r.kills {
			byTarget[k]++
		}
		if len(r.kills) > 1 {
			again++
		}
		if !r.converged {
			unconverged++
		} else {
			conv = append(conv, r.converge)
			last := r.kills[len(r.kills)-1]
			convBy[last] = append(convBy[last], r.converge)
			if r.converge > convergeTarget {
				over++
			}
			if !r.steadyAtKill {
				disturbed = append(disturbed, r.converge)
			}
		}
		if last := r.kills[len(r.kills)-1]; last != killContainerd {
			serve = append(serve, r.serve)
		}
		if r.token != "" {
			tokens++
			if r.tokenTasks > 1 {
				dups++
			}
			if r.tokenTasks == 0 {
				tokenMissing++
			}
		}
		lost += len(r.lost)
		flaps += r.flapped
		if r.containers != "" {
			mismatches++
		}
	}
	fmt.Fprintf(b, "seed %d: %d kills in %d rounds (nodeless %d, containerd %d, both %d; %d rounds killed again during the recovery)\n\n",
		s.cfg.seed, s.kills, len(s.rounds), byTarget[killNodeless], byTarget[killContainerd], byTarget[killBoth], again)
	fmt.Fprintf(b, "| after the last kill of a round | n | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|\n")
	row := func(name string, ds []time.Duration) {
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s |\n", name, len(ds), pct(ds, 50), pct(ds, 90), pct(ds, 99), pct(ds, 100))
	}
	row("restart → service steady", conv)
	for _, k := range []string{killNodeless, killContainerd, killBoth} {
		row("… last kill "+k, convBy[k])
	}
	row("… service not steady at the kill", disturbed)
	row("restart → API answers (nodeless restarted)", serve)
	clusters, definitions, services, tasks := s.objects.counts()
	sm := s.sampler
	fmt.Fprintf(b, "\n- converged later than %s: %d of %d rounds; not within %s: %d\n", convergeTarget, over, len(s.rounds), convergeBound, unconverged)
	fmt.Fprintf(b, "- steady checks tried again after a failed call while the API served: %d\n", s.clientErrors.Load())
	fmt.Fprintf(b, "- times the service left the steady state within %s of reaching it: %d\n", stableFor, flaps)
	fmt.Fprintf(b, "- lost objects: %d (checked after every round: %d clusters, %d task definitions, %d services, %d tasks)\n",
		lost, clusters, definitions, services, tasks)
	fmt.Fprintf(b, "- samples beyond maximumPercent: %d of %d (%d samples failed while the API was down; peak %d tasks not STOPPED)\n",
		len(sm.violations), sm.samples, sm.failed, sm.peak)
	fmt.Fprintf(b, "- RunTask clientTokens across a kill: %d; duplicate tasks: %d; tokens without a task: %d\n", tokens, dups, tokenMissing)
	fmt.Fprintf(b, "- rounds where containerd's containers or shims did not match the live tasks within %s: %d\n", containersSettle, mismatches)
	l := s.leaks
	fmt.Fprintf(b, "- after `nodeless down`: %d live processes, %d mounts, %d network namespaces left; down killed %d leftover processes %v\n",
		len(l.live), len(l.mounts), len(l.netns), len(l.downKilled), l.downKilled)
	fmt.Fprintf(b, "- zombies of the soak's processes (not reaped by this sandbox's pid 1; not leaks of nodeless): %v\n", l.zombies)
}

// pct is the p-th percentile of ds by nearest rank, "-" for none.
func pct(ds []time.Duration, p float64) string {
	if len(ds) == 0 {
		return "-"
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(i, 0)].Round(10 * time.Millisecond).String()
}
