package elbv2

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// Target states and reasons as ELBv2 spells them (TargetHealthStateEnum, TargetHealthReasonEnum).
const (
	StateInitial   = "initial"
	StateHealthy   = "healthy"
	StateUnhealthy = "unhealthy"
	StateUnused    = "unused"
	StateDraining  = "draining"

	reasonInitial       = "Elb.InitialHealthChecking"
	reasonFailed        = "Target.FailedHealthChecks"
	reasonTimeout       = "Target.Timeout"
	reasonCodeMismatch  = "Target.ResponseCodeMismatch"
	reasonNotInUse      = "Target.NotInUse"
	reasonNotRegistered = "Target.NotRegistered"
	reasonDeregistering = "Target.DeregistrationInProgress"
)

// target is one Targets.member.N of a request.
type target struct {
	ip   netip.Addr
	port int32
}

// readTargets decodes Targets (Id, Port); the port defaults to the group's (0 here, filled by
// the caller).
func readTargets(f *form, required bool) []target {
	var out []target
	members := f.members("Targets")
	if required && len(members) == 0 {
		f.fail(validation("Targets: give at least one target (Id and optionally Port)"))
	}
	for _, p := range members {
		id, _ := f.str(p + ".Id")
		ip, err := netip.ParseAddr(id)
		if err != nil || !ip.Is4() {
			f.fail(newError(CodeInvalidTarget, "%s.Id: %q is not an IPv4 address; the targets of a target group of type ip are task addresses such as 10.244.0.5", memberPath(p), id))
			continue
		}
		t := target{ip: ip}
		if port := f.int32(p+".Port", 1, 65535); port != nil {
			t.port = *port
		}
		out = append(out, t)
	}
	return out
}

func (t target) key(g *store.TargetGroupRecord) string {
	return t.ip.String() + ":" + strconv.Itoa(int(t.portOr(g)))
}

func (t target) portOr(g *store.TargetGroupRecord) int32 {
	if t.port == 0 {
		return g.Port
	}
	return t.port
}

// registerTargets: TargetGroupArn, Targets (Id: an IPv4 address of the local VPC, Port).
func (a *API) registerTargets(f *form) (any, error) {
	arn := f.required("TargetGroupArn")
	targets := readTargets(f, true)
	if err := finish(f, "RegisterTargets"); err != nil {
		return nil, err
	}
	for _, t := range targets {
		if !a.balancer.inVPC(t.ip) {
			return nil, newError(CodeInvalidTarget, "The IP address %s is outside the local VPC (%s); register task addresses", t.ip, a.balancer.subnet)
		}
	}
	return a.eachTarget(arn, targets, func(tx *store.Tx, g *store.TargetGroupRecord, t target, now time.Time) error {
		return registerTarget(tx, g, t.ip.String(), t.portOr(g), "", "", now)
	})
}

// eachTarget runs fn on every target of a request to target group arn in one store transaction
// (all or nothing), then makes the balancer match the store.
func (a *API) eachTarget(arn string, targets []target, fn func(tx *store.Tx, g *store.TargetGroupRecord, t target, now time.Time) error) (any, error) {
	now := a.clock.Now()
	err := a.store.Update(func(tx *store.Tx) error {
		g, err := getTargetGroup(tx, arn)
		if err != nil {
			return err
		}
		for _, t := range targets {
			if err := fn(tx, g, t, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.balancer.Sync()
	return emptyResult{}, nil
}

// registerTarget records a target (initial), or takes a draining one back; a registered one is
// left as it is.
func registerTarget(tx *store.Tx, g *store.TargetGroupRecord, ip string, port int32, cluster, taskID string, now time.Time) error {
	cur, err := tx.GetTarget(g.ARN, ip+":"+strconv.Itoa(int(port)))
	switch {
	case err == nil && cur.State != StateDraining:
		return nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	}
	return tx.PutTarget(&store.TargetRecord{
		TargetGroupARN: g.ARN, IP: ip, Port: port, State: StateInitial, Reason: reasonInitial,
		RegisteredAt: model.Time{Time: now.UTC()}, Cluster: cluster, TaskID: taskID,
	})
}

// deregisterTargets: TargetGroupArn, Targets. A registered target starts draining for the
// group's deregistration delay; one that is not registered is InvalidTarget.
func (a *API) deregisterTargets(f *form) (any, error) {
	arn := f.required("TargetGroupArn")
	targets := readTargets(f, true)
	if err := finish(f, "DeregisterTargets"); err != nil {
		return nil, err
	}
	return a.eachTarget(arn, targets, func(tx *store.Tx, g *store.TargetGroupRecord, t target, now time.Time) error {
		cur, err := tx.GetTarget(g.ARN, t.key(g))
		if errors.Is(err, store.ErrNotFound) {
			return newError(CodeInvalidTarget, "The following targets are not registered in target group '%s': '%s'", arn, t.key(g))
		}
		if err != nil {
			return err
		}
		return a.balancer.drain(tx, g, cur, now)
	})
}

// describeTargetHealth: TargetGroupArn, Targets (default: every registered target).
func (a *API) describeTargetHealth(f *form) (any, error) {
	arn := f.required("TargetGroupArn")
	targets := readTargets(f, false)
	if err := finish(f, "DescribeTargetHealth"); err != nil {
		return nil, err
	}
	var out []xmlTargetHealthDescription
	err := a.store.View(func(tx *store.Tx) error {
		g, err := getTargetGroup(tx, arn)
		if err != nil {
			return err
		}
		inUse := len(a.balancer.loadBalancersOf(arn)) > 0
		if len(targets) == 0 {
			all, err := tx.Targets(arn)
			if err != nil {
				return err
			}
			for _, t := range all {
				out = append(out, healthXML(g, t, inUse))
			}
			return nil
		}
		for _, t := range targets {
			cur, err := tx.GetTarget(arn, t.key(g))
			if errors.Is(err, store.ErrNotFound) {
				out = append(out, xmlTargetHealthDescription{
					Target: xmlTarget{ID: t.ip.String(), Port: t.portOr(g)}, HealthCheckPort: healthCheckPort(g, t.portOr(g)),
					TargetHealth: xmlTargetHealth{State: StateUnused, Reason: reasonNotRegistered, Description: "Target is not registered to the target group"},
				})
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, healthXML(g, cur, inUse))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return targetHealthResult{TargetHealthDescriptions: out}, nil
}

func healthCheckPort(g *store.TargetGroupRecord, port int32) string {
	if g.HealthCheckPort == trafficPort {
		return strconv.Itoa(int(port))
	}
	return g.HealthCheckPort
}

// healthXML is a target's health as ELBv2 reports it: a target of a group no listener uses is
// unused (Target.NotInUse) unless it drains.
func healthXML(g *store.TargetGroupRecord, t *store.TargetRecord, inUse bool) xmlTargetHealthDescription {
	h := xmlTargetHealth{State: t.State, Reason: t.Reason, Description: t.Description}
	switch {
	case t.State == StateDraining:
		h.Reason, h.Description = reasonDeregistering, "Target deregistration is in progress"
	case !inUse:
		h = xmlTargetHealth{State: StateUnused, Reason: reasonNotInUse, Description: "Target group is not configured to receive traffic from the load balancer"}
	case t.State == StateInitial:
		h.Reason, h.Description = reasonInitial, "Initial health checks in progress"
	case t.State == StateHealthy:
		h.Reason, h.Description = "", ""
	}
	return xmlTargetHealthDescription{
		Target: xmlTarget{ID: t.IP, Port: t.Port}, HealthCheckPort: healthCheckPort(g, t.Port), TargetHealth: h,
	}
}

// failure is the reason and description of a failed health check.
func failure(reason string, format string, args ...any) (string, string) {
	return reason, fmt.Sprintf(format, args...)
}
