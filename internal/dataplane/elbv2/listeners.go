package elbv2

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// readListener decodes CreateListener's members: LoadBalancerArn, Protocol TCP, Port,
// DefaultActions with one forward action to a TargetGroupArn.
func readListener(f *form) (*store.ListenerRecord, error) {
	l := &store.ListenerRecord{LoadBalancerARN: f.required("LoadBalancerArn"), Protocol: strDefault(f, "Protocol", "")}
	port := f.int32("Port", 1, 65535)
	actions := f.members("DefaultActions")
	for _, p := range actions {
		typ, _ := f.str(p + ".Type")
		tg, _ := f.str(p + ".TargetGroupArn")
		if typ != "forward" {
			f.fail(validation("%s.Type: %q actions are not served by the nodeless local load balancer; use forward", memberPath(p), typ))
		}
		if tg == "" {
			f.fail(validation("%s.TargetGroupArn: required for a forward action (ForwardConfig is not served locally)", memberPath(p)))
		}
		l.TargetGroupARN = tg
	}
	if err := finish(f, "CreateListener"); err != nil {
		return nil, err
	}
	switch {
	case l.Protocol == "":
		return nil, validation("Protocol: required for a network load balancer's listener; use TCP")
	case l.Protocol != protoTCP:
		return nil, newError(CodeUnsupportedProtocol, "Protocol: %s listeners are not served by the nodeless local load balancer; use TCP", l.Protocol)
	case port == nil:
		return nil, validation("Port: required for a network load balancer's listener")
	case len(actions) != 1:
		return nil, validation("DefaultActions: give exactly one forward action (got %d)", len(actions))
	}
	l.Port = *port
	l.RequestHash = hashOf("ls", l.LoadBalancerARN, l.Protocol, fmt.Sprint(l.Port), l.TargetGroupARN)
	return l, nil
}

// createListener checks the listener against the store, listens on 127.0.0.1:Port (so that a port
// another process or load balancer holds is refused now, not found out later), then records it.
// The same request again returns the listener it made.
func (a *API) createListener(f *form) (any, error) {
	l, err := readListener(f)
	if err != nil {
		return nil, err
	}
	var existing *store.ListenerRecord
	err = a.store.View(func(tx *store.Tx) error {
		var err error
		existing, err = checkListener(tx, l)
		return err
	})
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return listenersResult{Listeners: []xmlListener{listenerXML(existing)}}, nil
	}
	lbName, lbID := lbNameID(l.LoadBalancerARN)
	l.ARN = a.arn("listener/net/" + lbName + "/" + lbID + "/" + newID())
	if err := a.balancer.Listen(l); err != nil {
		return nil, newError(CodeInvalidConfigurationRequest, "Port: cannot listen on %s:%d: %v; every local load balancer listens on %s, so choose a port nothing else uses", a.balancer.address, l.Port, err, a.balancer.address)
	}
	err = a.store.Update(func(tx *store.Tx) error {
		if _, err := checkListener(tx, l); err != nil {
			return err
		}
		return tx.PutListener(l)
	})
	if err != nil {
		a.balancer.Unlisten(l.ARN)
		return nil, err
	}
	a.balancer.Sync()
	return listenersResult{Listeners: []xmlListener{listenerXML(l)}}, nil
}

// checkListener returns the existing listener the request repeats, or why it cannot be made.
func checkListener(tx *store.Tx, l *store.ListenerRecord) (*store.ListenerRecord, error) {
	if _, err := tx.GetLoadBalancer(l.LoadBalancerARN); errors.Is(err, store.ErrNotFound) {
		return nil, newError(CodeLoadBalancerNotFound, "Load balancer '%s' not found", l.LoadBalancerARN)
	} else if err != nil {
		return nil, err
	}
	tg, err := getTargetGroup(tx, l.TargetGroupARN)
	if err != nil {
		return nil, err
	}
	if tg.Protocol != protoTCP {
		return nil, newError(CodeIncompatibleProtocols, "The listener's protocol TCP is incompatible with target group %s's %s", tg.Name, tg.Protocol)
	}
	all, err := tx.Listeners()
	if err != nil {
		return nil, err
	}
	for _, o := range all {
		switch {
		case o.LoadBalancerARN == l.LoadBalancerARN && o.Port == l.Port:
			if o.RequestHash == l.RequestHash {
				return o, nil
			}
			return nil, newError(CodeDuplicateListener, "A listener already exists on this port for this load balancer '%s'", l.LoadBalancerARN)
		case o.Port == l.Port:
			return nil, newError(CodeInvalidConfigurationRequest, "Port: %d is used by listener %s of another load balancer; every local load balancer listens on 127.0.0.1, so choose another port", l.Port, o.ARN)
		case o.TargetGroupARN == l.TargetGroupARN && o.LoadBalancerARN != l.LoadBalancerARN:
			return nil, newError(CodeTargetGroupAssociationLimit, "The following target groups cannot be associated with more than one load balancer: %s", l.TargetGroupARN)
		}
	}
	return nil, nil
}

// lbNameID splits arn:...:loadbalancer/net/NAME/ID.
func lbNameID(arn string) (string, string) {
	parts := strings.Split(arn, "/")
	if len(parts) < 4 {
		return "", ""
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}

func listenerXML(l *store.ListenerRecord) xmlListener {
	return xmlListener{
		ListenerArn: l.ARN, LoadBalancerArn: l.LoadBalancerARN, Port: l.Port, Protocol: l.Protocol,
		DefaultActions: []xmlAction{{Type: "forward", TargetGroupArn: l.TargetGroupARN}},
	}
}

// describeListeners: LoadBalancerArn or ListenerArns (one of them), Marker, PageSize.
func (a *API) describeListeners(f *form) (any, error) {
	lbARN, _ := f.str("LoadBalancerArn")
	arns := f.list("ListenerArns")
	var all []*store.ListenerRecord
	err := a.store.View(func(tx *store.Tx) error {
		if lbARN != "" {
			if _, err := tx.GetLoadBalancer(lbARN); errors.Is(err, store.ErrNotFound) {
				return newError(CodeLoadBalancerNotFound, "Load balancer '%s' not found", lbARN)
			}
		}
		var err error
		all, err = tx.Listeners()
		return err
	})
	if err != nil {
		return nil, err
	}
	if lbARN == "" && len(arns) == 0 {
		f.fail(validation("LoadBalancerArn or ListenerArns: give one of them"))
	}
	var out []xmlListener
	for _, l := range all {
		if wanted(arns, l.ARN) && (lbARN == "" || l.LoadBalancerARN == lbARN) {
			out = append(out, listenerXML(l))
		}
	}
	pg, next := page(f, out)
	if err := finish(f, "DescribeListeners"); err != nil {
		return nil, err
	}
	if len(arns) > 0 && len(out) < len(arns) {
		return nil, newError(CodeListenerNotFound, "One or more listeners not found")
	}
	return listenersResult{Listeners: pg, NextMarker: next}, nil
}

// deleteListener stops listening on the listener's port.
func (a *API) deleteListener(f *form) (any, error) {
	arn := f.required("ListenerArn")
	if err := finish(f, "DeleteListener"); err != nil {
		return nil, err
	}
	err := a.store.Update(func(tx *store.Tx) error {
		if _, err := tx.GetListener(arn); errors.Is(err, store.ErrNotFound) {
			return newError(CodeListenerNotFound, "Listener '%s' not found", arn)
		} else if err != nil {
			return err
		}
		return tx.DeleteListener(arn)
	})
	if err != nil {
		return nil, err
	}
	a.balancer.Sync()
	return emptyResult{}, nil
}
