package elbv2

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
	"github.com/nodeless-dev/nodeless/internal/serviceproxy"
)

const (
	protoTCP    = "TCP"
	protoHTTP   = "HTTP"
	targetIP    = "ip"
	trafficPort = "traffic-port"
	// attrDeregistrationDelay is the one target group attribute served.
	attrDeregistrationDelay = "deregistration_delay.timeout_seconds"
	// defaultDeregistrationDelay is ELBv2's default, in seconds.
	defaultDeregistrationDelay = 300
)

// matcherRE is an HTTP code matcher: codes or ranges of 200–599, comma-separated.
var matcherRE = regexp.MustCompile(`^[2-5]\d\d(-[2-5]\d\d)?(,[2-5]\d\d(-[2-5]\d\d)?)*$`)

// createTargetGroup: Name, Protocol TCP, Port, VpcId, TargetType ip, the health check members,
// IpAddressType ipv4, Tags. Defaults are a network load balancer's TCP target group's: checks every
// 30 s, timeout 10 s (6 s for HTTP), healthy after 5 passes, unhealthy after 2 failures, HTTP
// codes 200-399, path /. The same request again returns the group (its tags left as they are).
func (a *API) createTargetGroup(f *form) (any, error) {
	tg, tags, err := readTargetGroup(f)
	if err != nil {
		return nil, err
	}
	var out store.TargetGroupRecord
	err = a.store.Update(func(tx *store.Tx) error {
		all, err := tx.TargetGroups()
		if err != nil {
			return err
		}
		for _, g := range all {
			if g.Name == tg.Name {
				if g.RequestHash != tg.RequestHash {
					return newError(CodeDuplicateTargetGroupName, "A target group with the same name '%s' exists, but with different settings", tg.Name)
				}
				out = *g
				return nil
			}
		}
		tg.ARN = a.arn("targetgroup/" + tg.Name + "/" + newID())
		out = *tg
		if err := putNewTags(tx, tg.ARN, tags); err != nil {
			return err
		}
		return tx.PutTargetGroup(tg)
	})
	if err != nil {
		return nil, err
	}
	return targetGroupsResult{TargetGroups: []xmlTargetGroup{a.tgXML(&out)}}, nil
}

// healthCheck is the health check members of a CreateTargetGroup or ModifyTargetGroup request,
// nil where not given.
type healthCheck struct {
	protocol, port, path, matcher         *string
	interval, timeout, healthy, unhealthy *int32
	enabled                               *bool
}

// readHealthCheck decodes the health check members, with ELBv2's ranges for a network load
// balancer's target group: interval 5–300 s, timeout 2–120 s, thresholds 2–10.
func readHealthCheck(f *form) healthCheck {
	opt := func(name string) *string {
		if v, ok := f.str(name); ok {
			return &v
		}
		return nil
	}
	return healthCheck{
		protocol: opt("HealthCheckProtocol"), port: opt("HealthCheckPort"), path: opt("HealthCheckPath"), matcher: opt("Matcher.HttpCode"),
		interval: f.int32("HealthCheckIntervalSeconds", 5, 300), timeout: f.int32("HealthCheckTimeoutSeconds", 2, 120),
		healthy: f.int32("HealthyThresholdCount", 2, 10), unhealthy: f.int32("UnhealthyThresholdCount", 2, 10),
		enabled: f.bool("HealthCheckEnabled"),
	}
}

// apply sets the members given on tg. A change of protocol to TCP drops the path and matcher
// (HTTP-only; given with TCP they are refused by check), a change to HTTP gets the defaults / and
// 200-399 unless given.
func (h healthCheck) apply(tg *store.TargetGroupRecord) {
	if h.protocol != nil && *h.protocol != tg.HealthCheckProtocol {
		tg.HealthCheckProtocol, tg.HealthCheckPath, tg.Matcher = *h.protocol, "", ""
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&tg.HealthCheckPort, h.port)
	set(&tg.HealthCheckPath, h.path)
	set(&tg.Matcher, h.matcher)
	setN := func(dst *int32, v *int32) {
		if v != nil {
			*dst = *v
		}
	}
	setN(&tg.HealthCheckInterval, h.interval)
	setN(&tg.HealthCheckTimeout, h.timeout)
	setN(&tg.HealthyThreshold, h.healthy)
	setN(&tg.UnhealthyThreshold, h.unhealthy)
}

// readTargetGroup decodes and checks CreateTargetGroup's members.
func readTargetGroup(f *form) (*store.TargetGroupRecord, []store.ELBTag, error) {
	tg := &store.TargetGroupRecord{
		Name: f.required("Name"), Protocol: strDefault(f, "Protocol", ""), TargetType: strDefault(f, "TargetType", "instance"),
		VpcID: strDefault(f, "VpcId", ""), IPAddressType: strDefault(f, "IpAddressType", ipv4),
		HealthCheckProtocol: protoTCP, HealthCheckPort: trafficPort,
		HealthCheckInterval: 30, HealthyThreshold: 5, UnhealthyThreshold: 2,
		DeregistrationDelaySeconds: defaultDeregistrationDelay,
	}
	port := f.int32("Port", 1, 65535)
	hc := readHealthCheck(f)
	tags := readTags(f)
	if err := finish(f, "CreateTargetGroup"); err != nil {
		return nil, nil, err
	}
	if err := checkName("Name", tg.Name); err != nil {
		return nil, nil, err
	}
	if err := checkTargetGroup(tg, port, hc.enabled); err != nil {
		return nil, nil, err
	}
	tg.Port = *port
	hc.apply(tg)
	if hc.timeout == nil {
		tg.HealthCheckTimeout = map[bool]int32{true: 6, false: 10}[tg.HealthCheckProtocol == protoHTTP]
	}
	if err := checkHealthCheck(tg); err != nil {
		return nil, nil, err
	}
	if err := checkTimeout(tg, hc, defaultUnset); err != nil {
		return nil, nil, err
	}
	tg.RequestHash = targetGroupHash(tg)
	return tg, tags, nil
}

// targetGroupHash is the hash of a target group's settings: a CreateTargetGroup with the same
// ones returns it.
func targetGroupHash(tg *store.TargetGroupRecord) string {
	return hashOf("tg", tg.Name, tg.Protocol, fmt.Sprint(tg.Port), tg.VpcID, tg.TargetType, tg.HealthCheckProtocol, tg.HealthCheckPort,
		tg.HealthCheckPath, tg.Matcher, fmt.Sprint(tg.HealthCheckInterval, tg.HealthCheckTimeout, tg.HealthyThreshold, tg.UnhealthyThreshold))
}

func checkTargetGroup(tg *store.TargetGroupRecord, port *int32, enabled *bool) error {
	switch {
	case tg.TargetType != targetIP:
		return validation("TargetType: %s targets are not served locally; use TargetType ip (what ECS services with awsvpc tasks need)", tg.TargetType)
	case tg.Protocol == "":
		return validation("Protocol: required for a target group of ip targets; use TCP")
	case tg.Protocol != protoTCP:
		return newError(CodeUnsupportedProtocol, "Protocol: %s target groups belong to load balancers the nodeless local data plane does not serve; use TCP (with HealthCheckProtocol HTTP for HTTP checks)", tg.Protocol)
	case port == nil:
		return validation("Port: required for a target group of ip targets")
	case tg.VpcID == "":
		return validation("VpcId: required for a target group of ip targets")
	case tg.IPAddressType != ipv4:
		return validation("IpAddressType: %s is not served locally; use ipv4", tg.IPAddressType)
	}
	return checkEnabled(enabled)
}

// checkEnabled refuses HealthCheckEnabled false: ELBv2 always checks ip targets.
func checkEnabled(enabled *bool) error {
	if enabled != nil && !*enabled {
		return validation("HealthCheckEnabled: health checks of ip targets are always enabled and cannot be disabled")
	}
	return nil
}

// checkHealthCheck applies ELBv2's rules to a target group's health check (defaults of HTTP
// checks filled in): TCP or HTTP; path (beginning with /, at most 1024 characters) and matcher
// (codes or ranges of 200–599, a TCP target group's range) only for HTTP; a port of 1–65535 or
// traffic-port. The timeout's rule is checkTimeout's.
func checkHealthCheck(tg *store.TargetGroupRecord) error {
	switch tg.HealthCheckProtocol {
	case protoTCP:
		if tg.HealthCheckPath != "" || tg.Matcher != "" {
			return validation("HealthCheckPath and Matcher: only for HealthCheckProtocol HTTP")
		}
	case protoHTTP:
		if tg.HealthCheckPath == "" {
			tg.HealthCheckPath = "/"
		}
		if tg.Matcher == "" {
			tg.Matcher = "200-399"
		}
		if !strings.HasPrefix(tg.HealthCheckPath, "/") || len(tg.HealthCheckPath) > 1024 {
			return validation("HealthCheckPath: %q must begin with / and have at most 1024 characters", tg.HealthCheckPath)
		}
		if !matcherRE.MatchString(tg.Matcher) {
			return validation("Matcher.HttpCode: %q must be codes or ranges of 200-599, such as 200 or 200-399 or 200,202", tg.Matcher)
		}
	default:
		return validation("HealthCheckProtocol: %s is not served locally; use TCP or HTTP", tg.HealthCheckProtocol)
	}
	if p := tg.HealthCheckPort; p != trafficPort {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return validation("HealthCheckPort: %q must be traffic-port or a port number from 1 to 65535", p)
		}
	}
	return nil
}

// checkTimeout refuses a health check timeout not below its interval (ELBv2's rule). The error
// says which of the two the request gave (hc) and where the other came from (unset: "the
// default" on CreateTargetGroup, "the target group's current value" on ModifyTargetGroup), and
// what to do.
func checkTimeout(tg *store.TargetGroupRecord, hc healthCheck, unset string) error {
	if tg.HealthCheckTimeout < tg.HealthCheckInterval {
		return nil
	}
	origin := func(v int32, given *int32, def string) string {
		if given != nil {
			return fmt.Sprint(v)
		}
		return fmt.Sprintf("%d (%s, not given)", v, def)
	}
	timeoutDef := unset
	if unset == defaultUnset {
		timeoutDef = "the default for HealthCheckProtocol " + tg.HealthCheckProtocol
	}
	return validation("HealthCheckTimeoutSeconds: %s must be smaller than HealthCheckIntervalSeconds (%s); give HealthCheckTimeoutSeconds "+
		"(--health-check-timeout-seconds) below the interval, or a longer HealthCheckIntervalSeconds (--health-check-interval-seconds)",
		origin(tg.HealthCheckTimeout, hc.timeout, timeoutDef), origin(tg.HealthCheckInterval, hc.interval, unset))
}

// Where checkTimeout says a value not given came from.
const (
	defaultUnset = "the default"
	currentUnset = "the target group's current value"
)

// modifyTargetGroup: TargetGroupArn and the health check members (HealthCheckProtocol TCP or HTTP,
// HealthCheckPort, HealthCheckPath, HealthCheckIntervalSeconds, HealthCheckTimeoutSeconds,
// HealthyThresholdCount, UnhealthyThresholdCount, Matcher.HttpCode, HealthCheckEnabled true). The
// members not given keep their values; the result must pass CreateTargetGroup's rules. The
// targets' health checks start again with the new settings (their last state kept until the new
// counts say otherwise). The answer is the target group as changed.
func (a *API) modifyTargetGroup(f *form) (any, error) {
	arn := f.required("TargetGroupArn")
	hc := readHealthCheck(f)
	if err := finish(f, "ModifyTargetGroup"); err != nil {
		return nil, err
	}
	if err := checkEnabled(hc.enabled); err != nil {
		return nil, err
	}
	out, err := update(a, arn, getTargetGroup, (*store.Tx).PutTargetGroup, func(g *store.TargetGroupRecord) error {
		hc.apply(g)
		if err := checkHealthCheck(g); err != nil {
			return err
		}
		if err := checkTimeout(g, hc, currentUnset); err != nil {
			return err
		}
		g.RequestHash = targetGroupHash(g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return targetGroupsResult{TargetGroups: []xmlTargetGroup{a.tgXML(out)}}, nil
}

func strDefault(f *form, name, def string) string {
	if v, ok := f.str(name); ok {
		return v
	}
	return def
}

// tgXML is a target group as ELBv2 shows it, with the load balancers whose listeners use it.
func (a *API) tgXML(g *store.TargetGroupRecord) xmlTargetGroup {
	x := xmlTargetGroup{
		TargetGroupArn: g.ARN, TargetGroupName: g.Name, Protocol: g.Protocol, Port: g.Port, VpcID: g.VpcID,
		HealthCheckProtocol: g.HealthCheckProtocol, HealthCheckPort: g.HealthCheckPort, HealthCheckEnabled: true,
		HealthCheckIntervalSeconds: g.HealthCheckInterval, HealthCheckTimeoutSeconds: g.HealthCheckTimeout,
		HealthyThresholdCount: g.HealthyThreshold, UnhealthyThresholdCount: g.UnhealthyThreshold,
		HealthCheckPath: g.HealthCheckPath, TargetType: g.TargetType, IPAddressType: g.IPAddressType,
		LoadBalancerArns: a.balancer.loadBalancersOf(g.ARN),
	}
	if g.Matcher != "" {
		x.Matcher = &xmlMatcher{HTTPCode: g.Matcher}
	}
	return x
}

// describeTargetGroups: LoadBalancerArn, TargetGroupArns or Names, Marker, PageSize.
func (a *API) describeTargetGroups(f *form) (any, error) {
	lbARN, _ := f.str("LoadBalancerArn")
	arns, names := f.list("TargetGroupArns"), f.list("Names")
	var all []*store.TargetGroupRecord
	err := a.store.View(func(tx *store.Tx) error {
		if lbARN != "" {
			if _, err := getLoadBalancer(tx, lbARN); err != nil {
				return err
			}
		}
		var err error
		all, err = tx.TargetGroups()
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []xmlTargetGroup
	for _, g := range all {
		x := a.tgXML(g)
		if wanted(arns, g.ARN) && wanted(names, g.Name) && (lbARN == "" || wanted(x.LoadBalancerArns, lbARN) && len(x.LoadBalancerArns) > 0) {
			out = append(out, x)
		}
	}
	pg, next := page(f, out)
	if err := finish(f, "DescribeTargetGroups"); err != nil {
		return nil, err
	}
	if (len(arns) > 0 || len(names) > 0) && len(out) < len(arns)+len(names) {
		return nil, newError(CodeTargetGroupNotFound, "One or more target groups not found")
	}
	return targetGroupsResult{TargetGroups: pg, NextMarker: next}, nil
}

// deleteTargetGroup deletes the group, its targets and its tags; it refuses a group a listener
// forwards to (ResourceInUse). Deleting one that does not exist succeeds, as on ELBv2.
func deleteTargetGroup(tx *store.Tx, arn string) error {
	if _, err := tx.GetTargetGroup(arn); errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if l, err := tx.ListenerOf(arn); err != nil {
		return err
	} else if l != nil {
		return newError(CodeResourceInUse, "Target group '%s' is currently in use by a listener or a rule (%s)", arn, l.ARN)
	}
	return tx.DeleteTargetGroup(arn)
}

// modifyTargetGroupAttributes: TargetGroupArn, Attributes (deregistration_delay.timeout_seconds,
// 0–3600 s; proxy_protocol_v2.enabled, true or false), each key once; any other key is refused by
// name.
func (a *API) modifyTargetGroupAttributes(f *form) (any, error) {
	arn := f.required("TargetGroupArn")
	var delay *int32
	var proxyV2 *bool
	seen := map[string]string{}
	for _, p := range f.members("Attributes") {
		k, _ := f.str(p + ".Key")
		v, _ := f.str(p + ".Value")
		if repeatedAttribute(f, seen, p, k) {
			continue
		}
		if k == serviceproxy.ProxyProtocolV2Key {
			proxyV2 = readBoolAttribute(f, p, k, v)
			continue
		}
		if k != attrDeregistrationDelay {
			f.fail(validation("%s.Key: target group attribute %q is not served by the nodeless local load balancer; it serves %s and %s",
				memberPath(p), k, attrDeregistrationDelay, serviceproxy.ProxyProtocolV2Key))
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 3600 {
			f.fail(validation("%s.Value: %s must be a number of seconds from 0 to 3600, not %q", memberPath(p), k, v))
			continue
		}
		d := int32(n)
		delay = &d
	}
	if err := finish(f, "ModifyTargetGroupAttributes"); err != nil {
		return nil, err
	}
	out, err := update(a, arn, getTargetGroup, (*store.Tx).PutTargetGroup, func(g *store.TargetGroupRecord) error {
		if delay != nil {
			g.DeregistrationDelaySeconds = *delay
		}
		if proxyV2 != nil {
			g.ProxyProtocolV2 = *proxyV2
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return attributesResult{Attributes: attributes(out)}, nil
}

func (a *API) describeTargetGroupAttributes(f *form) (any, error) {
	arn := f.required("TargetGroupArn")
	if err := finish(f, "DescribeTargetGroupAttributes"); err != nil {
		return nil, err
	}
	out, err := view(a, arn, getTargetGroup)
	if err != nil {
		return nil, err
	}
	return attributesResult{Attributes: attributes(out)}, nil
}

func attributes(g *store.TargetGroupRecord) []xmlAttribute {
	return []xmlAttribute{
		{Key: attrDeregistrationDelay, Value: strconv.Itoa(int(g.DeregistrationDelaySeconds))},
		{Key: serviceproxy.ProxyProtocolV2Key, Value: strconv.FormatBool(g.ProxyProtocolV2)},
	}
}

// getTargetGroup reads a target group, or TargetGroupNotFound.
func getTargetGroup(tx *store.Tx, arn string) (*store.TargetGroupRecord, error) {
	g, err := tx.GetTargetGroup(arn)
	if errors.Is(err, store.ErrNotFound) {
		return nil, newError(CodeTargetGroupNotFound, "Target groups '%s' not found", arn)
	}
	return g, err
}
