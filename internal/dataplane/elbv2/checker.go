package elbv2

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// checker health-checks one target of a group a listener uses, every HealthCheckIntervalSeconds
// from inside the local VPC, and records a new state after HealthyThresholdCount passes or
// UnhealthyThresholdCount failures in a row (ELBv2's rules; the counts start again after a
// restart, the last state is kept until they say otherwise).
type checker struct {
	group  store.TargetGroupRecord
	target store.TargetRecord
	cancel context.CancelFunc
}

func (c *checker) stop() { c.cancel() }

// syncCheckers starts a checker per target of a group in use that is not draining and stops the
// others. Called with mu held.
func (b *Balancer) syncCheckers(snap *snapshot) {
	want := map[string]bool{}
	if b.ctx != nil {
		for _, t := range snap.targets {
			g := snap.groups[t.TargetGroupARN]
			if g == nil || t.State == StateDraining || len(b.inUse[g.ARN]) == 0 {
				continue
			}
			key := g.ARN + "|" + t.Key()
			want[key] = true
			old, ok := b.checkers[key]
			if ok && sameHealthCheck(&old.group, g) {
				continue
			}
			if ok {
				old.stop() // ModifyTargetGroup changed the check: start again with the new settings
			}
			ctx, cancel := context.WithCancel(b.ctx)
			c := &checker{group: *g, target: *t, cancel: cancel}
			b.checkers[key] = c
			go b.runChecker(ctx, c)
		}
	}
	for key, c := range b.checkers {
		if !want[key] {
			c.stop()
			delete(b.checkers, key)
		}
	}
}

// sameHealthCheck reports whether a and b check their targets the same way.
func sameHealthCheck(a, b *store.TargetGroupRecord) bool {
	return a.HealthCheckProtocol == b.HealthCheckProtocol && a.HealthCheckPort == b.HealthCheckPort &&
		a.HealthCheckPath == b.HealthCheckPath && a.Matcher == b.Matcher &&
		a.HealthCheckInterval == b.HealthCheckInterval && a.HealthCheckTimeout == b.HealthCheckTimeout &&
		a.HealthyThreshold == b.HealthyThreshold && a.UnhealthyThreshold == b.UnhealthyThreshold
}

// runChecker checks at once, then every interval, until ctx ends.
func (b *Balancer) runChecker(ctx context.Context, c *checker) {
	passes, fails := int32(0), int32(0)
	state := c.target.State
	interval := time.Duration(c.group.HealthCheckInterval) * time.Second
	for {
		ok, reason, desc := b.probe(ctx, &c.group, &c.target)
		if ctx.Err() != nil {
			return
		}
		if ok {
			passes, fails = passes+1, 0
		} else {
			passes, fails = 0, fails+1
		}
		next := ""
		switch {
		case ok && state != StateHealthy && passes >= c.group.HealthyThreshold:
			next, reason, desc = StateHealthy, "", ""
		case !ok && state != StateUnhealthy && fails >= c.group.UnhealthyThreshold:
			next = StateUnhealthy
		}
		if next != "" && b.record(c, next, reason, desc) {
			state = next
		}
		t := b.clock.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// record stores the target's new state (unless it was deregistered meanwhile), updates the pool
// and tells the scheduler.
func (b *Balancer) record(c *checker, state, reason, desc string) bool {
	var rec *store.TargetRecord
	err := b.store.Update(func(tx *store.Tx) error {
		rec = nil
		t, err := tx.GetTarget(c.group.ARN, c.target.Key())
		if err != nil || t.State == StateDraining || t.State == state {
			return err
		}
		t.State, t.Reason, t.Description = state, reason, desc
		rec = t
		return tx.PutTarget(t)
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && rec == nil) {
		return false
	}
	if err != nil {
		b.log.Error(err, "recording a target's health failed", "targetGroup", c.group.Name, "target", c.target.Key())
		return false
	}
	b.log.V(1).Info("target health changed", "targetGroup", c.group.Name, "target", c.target.Key(), "state", state, "reason", reason)
	go func() {
		b.Sync()
		if rec.TaskID != "" {
			b.changed(rec.Cluster, rec.TaskID)
		}
	}()
	return true
}

// probe runs one health check: a TCP connection, or an HTTP GET of HealthCheckPath whose status
// must match Matcher, within HealthCheckTimeoutSeconds.
func (b *Balancer) probe(ctx context.Context, g *store.TargetGroupRecord, t *store.TargetRecord) (bool, string, string) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(g.HealthCheckTimeout)*time.Second)
	defer cancel()
	addr := net.JoinHostPort(t.IP, healthCheckPort(g, t.Port))
	if g.HealthCheckProtocol != protoHTTP {
		conn, err := b.dial(ctx, "tcp", addr)
		if err != nil {
			return reasonOf(ctx, err)
		}
		_ = conn.Close()
		return true, "", ""
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext:       b.dial,
		DisableKeepAlives: true,
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+g.HealthCheckPath, nil)
	if err != nil {
		return false, reasonFailed, err.Error()
	}
	req.Header.Set("User-Agent", "ELB-HealthChecker/2.0")
	resp, err := client.Do(req)
	if err != nil {
		return reasonOf(ctx, err)
	}
	_ = resp.Body.Close()
	if !codeMatches(g.Matcher, resp.StatusCode) {
		r, d := failure(reasonCodeMismatch, "Health checks failed with these codes: [%d]", resp.StatusCode)
		return false, r, d
	}
	return true, "", ""
}

func reasonOf(ctx context.Context, err error) (bool, string, string) {
	if ctx.Err() != nil {
		return false, reasonTimeout, "Request timed out"
	}
	_ = err
	return false, reasonFailed, "Health checks failed"
}

// codeMatches reports whether code is one of matcher's codes or ranges ("200-399,404").
func codeMatches(matcher string, code int) bool {
	for part := range strings.SplitSeq(matcher, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		l, _ := strconv.Atoi(lo)
		h := l
		if isRange {
			h, _ = strconv.Atoi(hi)
		}
		if code >= l && code <= h {
			return true
		}
	}
	return false
}
