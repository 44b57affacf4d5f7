package awsservice

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/elbv2api"
	"github.com/nodeless-dev/nodeless/internal/serviceproxy"
)

// syncLoadBalancer converges svc's network load balancer: the load balancer (found by its
// deterministic name and owner tag, else created), one target group of IP targets per listener
// with the health check of the Pods' readiness probe and the deregistration delay, the
// listeners, the ready endpoints as targets, target groups no listener uses any more deleted,
// and the DNS name in status.loadBalancer.ingress.
func (r *Reconciler) syncLoadBalancer(ctx context.Context, svc *corev1.Service, st *svcState) *reconciler.Problem {
	spec, err := DesiredLoadBalancer(svc, r.opts.Cluster, r.opts.DeregistrationDelay)
	if err != nil {
		return &reconciler.Problem{Reason: ReasonInvalidSpec, Message: err.Error()}
	}
	st.wrote = false
	if st.lbName != "" && st.lbName != spec.Name {
		// The scheme changed: the old load balancer goes, the new one is made below.
		if p := r.removeLoadBalancer(ctx, svc, st); p != nil {
			return p
		}
	}
	eps, p := r.endpointSlices(ctx, svc)
	if p != nil {
		return p
	}
	hc := r.healthCheck(ctx, st, eps, spec)
	if p := r.ensureLoadBalancer(ctx, svc, st, spec); p != nil {
		return p
	}
	applied := fmt.Sprintf("%v|%v|%v", spec, hc, r.opts.SecurityGroups)
	if st.applied != applied {
		if p := r.converge(ctx, svc, st, spec, hc); p != nil {
			return p
		}
		st.applied = applied
		if st.wrote {
			r.recorder.Eventf(svc, corev1.EventTypeNormal, ReasonEnsuredLoadBalancer, "Ensured load balancer %s (%s)", spec.Name, st.lbDNS)
		}
	}
	for _, l := range spec.Listeners {
		if p := r.syncTargets(ctx, st, st.tgArns[l.TargetGroupName], ReadyTargets(eps, l.ServicePort)); p != nil {
			return p
		}
	}
	setIngress(svc, st.lbDNS)
	return nil
}

// converge makes the target groups and listeners of spec and deletes the target groups the
// load balancer no longer uses.
func (r *Reconciler) converge(ctx context.Context, svc *corev1.Service, st *svcState, spec LoadBalancerSpec, hc HealthCheck) *reconciler.Problem {
	attached, p := r.attachedTargetGroups(ctx, st.lbArn)
	if p != nil {
		return p
	}
	for _, l := range spec.Listeners {
		if p := r.ensureTargetGroup(ctx, svc, st, l, hc, spec); p != nil {
			return p
		}
	}
	if p := r.ensureListeners(ctx, svc, st, spec); p != nil {
		return p
	}
	for name, arn := range attached {
		if slices.ContainsFunc(spec.Listeners, func(l ListenerSpec) bool { return l.TargetGroupName == name }) {
			continue
		}
		if _, err := r.aws.ELBv2.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)}); err != nil && !elbv2api.IsNotFound(err) {
			return fromAWS("deleting target group "+name, elbv2api.KindOf(err), err)
		}
		delete(st.targets, arn)
		st.wrote = true
	}
	return nil
}

// tags are the tags of what svc owns.
func (r *Reconciler) tags(svc *corev1.Service) []elbv2types.Tag {
	return []elbv2types.Tag{
		{Key: aws.String(ecscall.TagOwner), Value: aws.String(string(svc.UID))},
		{Key: aws.String(TagService), Value: aws.String(svc.Namespace + "/" + svc.Name)},
		{Key: aws.String(TagCluster), Value: aws.String(r.opts.Cluster)},
	}
}

// findLoadBalancer describes the load balancer called name; nil when there is none.
func (r *Reconciler) findLoadBalancer(ctx context.Context, name string) (*elbv2types.LoadBalancer, *reconciler.Problem) {
	out, err := r.aws.ELBv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{name}})
	if elbv2api.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fromAWS("describing load balancer "+name, elbv2api.KindOf(err), err)
	}
	if len(out.LoadBalancers) == 0 {
		return nil, nil
	}
	return &out.LoadBalancers[0], nil
}

// owned reports whether the resource arn carries svc's owner tag.
func (r *Reconciler) owned(ctx context.Context, svc *corev1.Service, arn string) (bool, *reconciler.Problem) {
	out, err := r.aws.ELBv2.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{arn}})
	if err != nil {
		return false, fromAWS("reading the tags of "+arn, elbv2api.KindOf(err), err)
	}
	for _, d := range out.TagDescriptions {
		for _, t := range d.Tags {
			if aws.ToString(t.Key) == ecscall.TagOwner {
				return aws.ToString(t.Value) == string(svc.UID), nil
			}
		}
	}
	return false, nil
}

// ensureLoadBalancer finds svc's load balancer (checking that it is svc's) or creates it.
func (r *Reconciler) ensureLoadBalancer(ctx context.Context, svc *corev1.Service, st *svcState, spec LoadBalancerSpec) *reconciler.Problem {
	if st.lbName == spec.Name && st.lbArn != "" {
		return nil
	}
	lb, p := r.findLoadBalancer(ctx, spec.Name)
	if p != nil {
		return p
	}
	if lb != nil {
		ours, p := r.owned(ctx, svc, aws.ToString(lb.LoadBalancerArn))
		if p != nil {
			return p
		}
		if !ours {
			return &reconciler.Problem{Reason: ReasonNotOwned, RequeueAfter: ecscall.RetryNotAllowed,
				Message: fmt.Sprintf("a load balancer named %s exists without this Service's owner tag (%s=%s): delete it, or run the controller with another --pod-cluster", spec.Name, ecscall.TagOwner, svc.UID)}
		}
	} else {
		in := &elbv2.CreateLoadBalancerInput{
			Name: aws.String(spec.Name), Type: elbv2types.LoadBalancerTypeEnumNetwork, Scheme: spec.Scheme,
			Subnets: r.opts.Subnets, SecurityGroups: r.opts.SecurityGroups, Tags: r.tags(svc),
		}
		out, err := r.aws.ELBv2.CreateLoadBalancer(ctx, in)
		if err != nil {
			return fromAWS("creating load balancer "+spec.Name, elbv2api.KindOf(err), err)
		}
		if len(out.LoadBalancers) == 0 {
			return &reconciler.Problem{Reason: ecscall.ReasonECSError, Message: "CreateLoadBalancer returned no load balancer", RequeueAfter: retryConflict}
		}
		lb = &out.LoadBalancers[0]
		st.wrote = true
	}
	st.lbName, st.lbArn, st.lbDNS, st.applied = spec.Name, aws.ToString(lb.LoadBalancerArn), aws.ToString(lb.DNSName), ""
	return nil
}

// attachedTargetGroups are the target groups the load balancer's listeners use, by name.
func (r *Reconciler) attachedTargetGroups(ctx context.Context, lbArn string) (map[string]string, *reconciler.Problem) {
	out, err := r.aws.ELBv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(lbArn)})
	if err != nil && !elbv2api.IsNotFound(err) {
		return nil, fromAWS("listing the target groups of "+lbArn, elbv2api.KindOf(err), err)
	}
	m := map[string]string{}
	if out != nil {
		for _, tg := range out.TargetGroups {
			m[aws.ToString(tg.TargetGroupName)] = aws.ToString(tg.TargetGroupArn)
		}
	}
	return m, nil
}

// ensureTargetGroup finds or creates the target group of l, and sets its health check and
// deregistration delay.
func (r *Reconciler) ensureTargetGroup(ctx context.Context, svc *corev1.Service, st *svcState, l ListenerSpec, hc HealthCheck, spec LoadBalancerSpec) *reconciler.Problem {
	vpc, p := r.vpcID(ctx)
	if p != nil {
		return p
	}
	arn, created := "", false
	out, err := r.aws.ELBv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{l.TargetGroupName}})
	switch {
	case err == nil && len(out.TargetGroups) > 0:
		tg := out.TargetGroups[0]
		arn = aws.ToString(tg.TargetGroupArn)
		ours, p := r.owned(ctx, svc, arn)
		if p != nil {
			return p
		}
		if !ours {
			return &reconciler.Problem{Reason: ReasonNotOwned, RequeueAfter: ecscall.RetryNotAllowed,
				Message: fmt.Sprintf("a target group named %s exists without this Service's owner tag: delete it", l.TargetGroupName)}
		}
		if healthCheckOf(tg) != hc {
			if _, err := r.aws.ELBv2.ModifyTargetGroup(ctx, modifyHealthCheck(arn, hc)); err != nil {
				return fromAWS("setting the health check of target group "+l.TargetGroupName, elbv2api.KindOf(err), err)
			}
			st.wrote = true
		}
	case err == nil || elbv2api.IsNotFound(err):
		in := createTargetGroup(l, hc, vpc)
		in.Tags = r.tags(svc)
		out, err := r.aws.ELBv2.CreateTargetGroup(ctx, in)
		if err != nil {
			return fromAWS("creating target group "+l.TargetGroupName, elbv2api.KindOf(err), err)
		}
		arn, created, st.wrote = aws.ToString(out.TargetGroups[0].TargetGroupArn), true, true
	default:
		return fromAWS("describing target group "+l.TargetGroupName, elbv2api.KindOf(err), err)
	}
	st.tgArns[l.TargetGroupName] = arn
	return r.ensureAttributes(ctx, st, arn, l, spec, created)
}

// deregistrationDelay is the target group attribute of the deregistration delay.
const deregistrationDelay = "deregistration_delay.timeout_seconds"

// targetGroupAttributes are the attributes the target group of l has: the deregistration delay,
// and for a TCP listener whether it sends PROXY protocol v2 headers (UDP and TCP_UDP target groups
// are not given the attribute: DesiredLoadBalancer refuses TCP_UDP with PROXY protocol).
func targetGroupAttributes(l ListenerSpec, spec LoadBalancerSpec) map[string]string {
	attrs := map[string]string{deregistrationDelay: strconv.Itoa(int(spec.DeregisterWait.Seconds()))}
	if l.Protocol == elbv2types.ProtocolEnumTcp {
		attrs[serviceproxy.ProxyProtocolV2Key] = strconv.FormatBool(spec.ProxyProtocol)
	}
	return attrs
}

// ensureAttributes sets the attributes of the target group arn that differ from
// targetGroupAttributes (a target group just created is not read first; its defaults are taken as
// differing, except PROXY protocol off, ELBv2's default).
func (r *Reconciler) ensureAttributes(ctx context.Context, st *svcState, arn string, l ListenerSpec, spec LoadBalancerSpec, created bool) *reconciler.Problem {
	want := targetGroupAttributes(l, spec)
	if created && want[serviceproxy.ProxyProtocolV2Key] == "false" {
		delete(want, serviceproxy.ProxyProtocolV2Key)
	}
	if !created {
		out, err := r.aws.ELBv2.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(arn)})
		if err != nil {
			return fromAWS("reading the attributes of target group "+l.TargetGroupName, elbv2api.KindOf(err), err)
		}
		have := map[string]string{}
		for _, a := range out.Attributes {
			have[aws.ToString(a.Key)] = aws.ToString(a.Value)
		}
		for k, v := range want {
			// An attribute ELBv2 does not report has its default; PROXY protocol's is off.
			if h, ok := have[k]; h == v || (!ok && k == serviceproxy.ProxyProtocolV2Key && v == "false") {
				delete(want, k)
			}
		}
	}
	if len(want) == 0 {
		return nil
	}
	attrs := make([]elbv2types.TargetGroupAttribute, 0, len(want))
	for _, k := range slices.Sorted(maps.Keys(want)) {
		attrs = append(attrs, elbv2types.TargetGroupAttribute{Key: aws.String(k), Value: aws.String(want[k])})
	}
	_, err := r.aws.ELBv2.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(arn), Attributes: attrs})
	if err != nil {
		return fromAWS("setting the attributes of target group "+l.TargetGroupName, elbv2api.KindOf(err), err)
	}
	st.wrote = true
	return nil
}

// healthCheckOf is the health check a target group has.
func healthCheckOf(tg elbv2types.TargetGroup) HealthCheck {
	hc := HealthCheck{
		Protocol: tg.HealthCheckProtocol, Port: aws.ToString(tg.HealthCheckPort), Path: aws.ToString(tg.HealthCheckPath),
		IntervalSeconds: aws.ToInt32(tg.HealthCheckIntervalSeconds), TimeoutSeconds: aws.ToInt32(tg.HealthCheckTimeoutSeconds),
		HealthyThreshold: aws.ToInt32(tg.HealthyThresholdCount), UnhealthyThreshold: aws.ToInt32(tg.UnhealthyThresholdCount),
	}
	if tg.Matcher != nil {
		hc.Matcher = aws.ToString(tg.Matcher.HttpCode)
	}
	if hc.Protocol != elbv2types.ProtocolEnumHttp && hc.Protocol != elbv2types.ProtocolEnumHttps {
		// ELBv2 may report a path or matcher on a TCP check; they mean nothing there.
		hc.Path, hc.Matcher = "", ""
	}
	return hc
}

// createTargetGroup is the CreateTargetGroup request of l: IP targets in vpc, with hc.
func createTargetGroup(l ListenerSpec, hc HealthCheck, vpc string) *elbv2.CreateTargetGroupInput {
	m := modifyHealthCheck("", hc)
	return &elbv2.CreateTargetGroupInput{
		Name: aws.String(l.TargetGroupName), Protocol: l.Protocol, Port: aws.Int32(l.TargetPort),
		VpcId: aws.String(vpc), TargetType: elbv2types.TargetTypeEnumIp,
		HealthCheckEnabled: aws.Bool(true), HealthCheckProtocol: m.HealthCheckProtocol, HealthCheckPort: m.HealthCheckPort,
		HealthCheckPath: m.HealthCheckPath, Matcher: m.Matcher,
		HealthCheckIntervalSeconds: m.HealthCheckIntervalSeconds, HealthCheckTimeoutSeconds: m.HealthCheckTimeoutSeconds,
		HealthyThresholdCount: m.HealthyThresholdCount, UnhealthyThresholdCount: m.UnhealthyThresholdCount,
	}
}

// modifyHealthCheck is the ModifyTargetGroup request setting hc on the target group arn.
func modifyHealthCheck(arn string, hc HealthCheck) *elbv2.ModifyTargetGroupInput {
	in := &elbv2.ModifyTargetGroupInput{
		HealthCheckEnabled: aws.Bool(true), HealthCheckProtocol: hc.Protocol, HealthCheckPort: aws.String(hc.Port),
		HealthCheckIntervalSeconds: aws.Int32(hc.IntervalSeconds), HealthCheckTimeoutSeconds: aws.Int32(hc.TimeoutSeconds),
		HealthyThresholdCount: aws.Int32(hc.HealthyThreshold), UnhealthyThresholdCount: aws.Int32(hc.UnhealthyThreshold),
	}
	if arn != "" {
		in.TargetGroupArn = aws.String(arn)
	}
	if hc.Path != "" {
		in.HealthCheckPath = aws.String(hc.Path)
	}
	if hc.Matcher != "" {
		in.Matcher = &elbv2types.Matcher{HttpCode: aws.String(hc.Matcher)}
	}
	return in
}

// ensureListeners makes one listener per spec listener forwarding to its target group, changes
// those that differ and deletes the others.
func (r *Reconciler) ensureListeners(ctx context.Context, svc *corev1.Service, st *svcState, spec LoadBalancerSpec) *reconciler.Problem {
	out, err := r.aws.ELBv2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(st.lbArn)})
	if err != nil {
		return fromAWS("listing the listeners of "+spec.Name, elbv2api.KindOf(err), err)
	}
	have := map[int32]elbv2types.Listener{}
	for _, l := range out.Listeners {
		have[aws.ToInt32(l.Port)] = l
	}
	for _, l := range spec.Listeners {
		tg := st.tgArns[l.TargetGroupName]
		action := []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}}
		cur, ok := have[l.Port]
		delete(have, l.Port)
		switch {
		case !ok:
			_, err = r.aws.ELBv2.CreateListener(ctx, &elbv2.CreateListenerInput{
				LoadBalancerArn: aws.String(st.lbArn), Port: aws.Int32(l.Port), Protocol: l.Protocol, DefaultActions: action, Tags: r.tags(svc),
			})
		case cur.Protocol != l.Protocol || forwardsTo(cur) != tg:
			_, err = r.aws.ELBv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{
				ListenerArn: cur.ListenerArn, Port: aws.Int32(l.Port), Protocol: l.Protocol, DefaultActions: action,
			})
		}
		if err != nil {
			return fromAWS(fmt.Sprintf("making the listener of port %d", l.Port), elbv2api.KindOf(err), err)
		}
		st.wrote = st.wrote || !ok || cur.Protocol != l.Protocol || forwardsTo(cur) != tg
	}
	for port, l := range have {
		if _, err := r.aws.ELBv2.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: l.ListenerArn}); err != nil && !elbv2api.IsNotFound(err) {
			return fromAWS(fmt.Sprintf("deleting the listener of port %d", port), elbv2api.KindOf(err), err)
		}
		st.wrote = true
	}
	return nil
}

// forwardsTo is the target group a listener's default action forwards to.
func forwardsTo(l elbv2types.Listener) string {
	for _, a := range l.DefaultActions {
		if a.Type == elbv2types.ActionTypeEnumForward {
			if a.TargetGroupArn != nil {
				return *a.TargetGroupArn
			}
			if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) == 1 {
				return aws.ToString(a.ForwardConfig.TargetGroups[0].TargetGroupArn)
			}
		}
	}
	return ""
}

// syncTargets registers want in the target group arn and deregisters the targets not in it.
// Nothing is called when want is what was last registered; otherwise the target group's
// targets are read (draining ones count as gone) and the difference applied.
func (r *Reconciler) syncTargets(ctx context.Context, st *svcState, arn string, want []Target) *reconciler.Problem {
	if last, ok := st.targets[arn]; ok && slices.Equal(last, want) {
		return nil
	}
	out, err := r.aws.ELBv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		return fromAWS("reading the targets of "+arn, elbv2api.KindOf(err), err)
	}
	var have []Target
	for _, d := range out.TargetHealthDescriptions {
		if d.Target == nil || (d.TargetHealth != nil && d.TargetHealth.State == elbv2types.TargetHealthStateEnumDraining) {
			continue
		}
		have = append(have, Target{IP: aws.ToString(d.Target.Id), Port: aws.ToInt32(d.Target.Port)})
	}
	register, deregister := DiffTargets(want, have)
	if len(register) > 0 {
		if _, err := r.aws.ELBv2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: descriptions(register)}); err != nil {
			return fromAWS("registering targets in "+arn, elbv2api.KindOf(err), err)
		}
	}
	if len(deregister) > 0 {
		_, err := r.aws.ELBv2.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: descriptions(deregister)})
		if err != nil && !isCode(err, "InvalidTarget") {
			return fromAWS("deregistering targets of "+arn, elbv2api.KindOf(err), err)
		}
	}
	st.targets[arn] = want
	return nil
}

func descriptions(ts []Target) []elbv2types.TargetDescription {
	out := make([]elbv2types.TargetDescription, len(ts))
	for i, t := range ts {
		out[i] = elbv2types.TargetDescription{Id: aws.String(t.IP), Port: aws.Int32(t.Port)}
	}
	return out
}

// firstTargetPort is the port the first ready endpoint of the first listener receives traffic
// on, for finding the container whose readiness probe becomes the health check.
func firstTargetPort(eps []discoveryv1.EndpointSlice, spec LoadBalancerSpec) int32 {
	if len(spec.Listeners) == 0 {
		return 0
	}
	if ts := ReadyTargets(eps, spec.Listeners[0].ServicePort); len(ts) > 0 {
		return ts[0].Port
	}
	return spec.Listeners[0].TargetPort
}

// setIngress sets svc's status.loadBalancer.ingress to the load balancer's DNS name (entries of
// others are kept).
func setIngress(svc *corev1.Service, dns string) {
	var out []corev1.LoadBalancerIngress
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if in.Hostname != dns {
			out = append(out, in)
		}
	}
	in := corev1.LoadBalancerIngress{Hostname: dns}
	for _, sp := range svc.Spec.Ports {
		in.Ports = append(in.Ports, corev1.PortStatus{Port: sp.Port, Protocol: sp.Protocol})
	}
	svc.Status.LoadBalancer.Ingress = append(out, in)
}

// findOwnTargetGroups adds to st the target groups svc's ports name that carry svc's owner tag:
// after a restart between the deletion of a load balancer and of its target groups, they are
// attached to nothing and only their names find them.
func (r *Reconciler) findOwnTargetGroups(ctx context.Context, svc *corev1.Service, st *svcState) *reconciler.Problem {
	spec, err := DesiredLoadBalancer(svc, r.opts.Cluster, r.opts.DeregistrationDelay)
	if err != nil {
		return nil // no names to look for
	}
	for _, l := range spec.Listeners {
		if _, known := st.tgArns[l.TargetGroupName]; known {
			continue
		}
		out, err := r.aws.ELBv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{l.TargetGroupName}})
		if elbv2api.IsNotFound(err) || (err == nil && len(out.TargetGroups) == 0) {
			continue
		}
		if err != nil {
			return fromAWS("describing target group "+l.TargetGroupName, elbv2api.KindOf(err), err)
		}
		arn := aws.ToString(out.TargetGroups[0].TargetGroupArn)
		ours, p := r.owned(ctx, svc, arn)
		if p != nil {
			return p
		}
		if ours {
			st.tgArns[l.TargetGroupName] = arn
		}
	}
	return nil
}

// isCode reports whether err is the AWS error code.
func isCode(err error, code string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
}

// removeIngress drops dns from svc's status.loadBalancer.ingress.
func removeIngress(svc *corev1.Service, dns string) {
	var out []corev1.LoadBalancerIngress
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if in.Hostname != dns {
			out = append(out, in)
		}
	}
	svc.Status.LoadBalancer.Ingress = out
}

// removeLoadBalancer deletes svc's load balancers (under either scheme's name, or the one st
// knows) with their target groups, when they carry svc's owner tag.
func (r *Reconciler) removeLoadBalancer(ctx context.Context, svc *corev1.Service, st *svcState) *reconciler.Problem {
	for _, name := range loadBalancerNames(svc, r.opts.Cluster) {
		lb, p := r.findLoadBalancer(ctx, name)
		if p != nil {
			return p
		}
		if lb == nil {
			continue
		}
		arn := aws.ToString(lb.LoadBalancerArn)
		ours, p := r.owned(ctx, svc, arn)
		if p != nil {
			return p
		}
		if !ours {
			continue
		}
		tgs, p := r.attachedTargetGroups(ctx, arn)
		if p != nil {
			return p
		}
		for _, tg := range tgs {
			st.tgArns["pending:"+tg] = tg
		}
		if _, err := r.aws.ELBv2.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(arn)}); err != nil && !elbv2api.IsNotFound(err) {
			return fromAWS("deleting load balancer "+name, elbv2api.KindOf(err), err)
		}
		removeIngress(svc, aws.ToString(lb.DNSName))
		r.recorder.Eventf(svc, corev1.EventTypeNormal, ReasonDeletedLoadBalancer, "Deleted load balancer %s", name)
	}
	if p := r.findOwnTargetGroups(ctx, svc, st); p != nil {
		return p
	}
	for key, tg := range st.tgArns {
		_, err := r.aws.ELBv2.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(tg)})
		if err != nil && !elbv2api.IsNotFound(err) {
			return &reconciler.Problem{Reason: ReasonDependencyNotDeleted, RequeueAfter: retryDeleting,
				Message: fmt.Sprintf("deleting target group %s (its load balancer is still going): %v", tg, err)}
		}
		delete(st.tgArns, key)
		delete(st.targets, tg)
	}
	removeIngress(svc, st.lbDNS)
	st.lbArn, st.lbDNS, st.lbName, st.applied = "", "", "", ""
	return nil
}
