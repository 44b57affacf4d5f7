package elbv2

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// readForward decodes DefaultActions: exactly one forward action to a TargetGroupArn (required
// by CreateListener, optional in ModifyListener); it returns the target group's ARN and whether
// the member was given.
func readForward(f *form, required bool) (string, bool) {
	actions := f.members("DefaultActions")
	if len(actions) == 0 && !required {
		return "", false
	}
	if len(actions) != 1 {
		f.fail(validation("DefaultActions: give exactly one forward action (got %d)", len(actions)))
		return "", true
	}
	p := actions[0]
	typ, _ := f.str(p + ".Type")
	tg, _ := f.str(p + ".TargetGroupArn")
	if typ != "forward" {
		f.fail(validation("%s.Type: %q actions are not served by the nodeless local load balancer; use forward", memberPath(p), typ))
	}
	if tg == "" {
		f.fail(validation("%s.TargetGroupArn: required for a forward action (ForwardConfig is not served locally)", memberPath(p)))
	}
	return tg, true
}

// checkProtocol refuses a listener protocol other than TCP (UnsupportedProtocol).
func checkProtocol(protocol string) error {
	switch protocol {
	case "":
		return validation("Protocol: required for a network load balancer's listener; use TCP")
	case protoTCP:
		return nil
	}
	return newError(CodeUnsupportedProtocol, "Protocol: %s listeners are not served by the nodeless local load balancer; use TCP", protocol)
}

// readListener decodes CreateListener's members: LoadBalancerArn, Protocol TCP, Port,
// DefaultActions with one forward action to a TargetGroupArn, Tags.
func readListener(f *form) (*store.ListenerRecord, []store.ELBTag, error) {
	l := &store.ListenerRecord{LoadBalancerARN: f.required("LoadBalancerArn"), Protocol: strDefault(f, "Protocol", "")}
	port := f.int32("Port", 1, 65535)
	l.TargetGroupARN, _ = readForward(f, true)
	tags := readTags(f)
	if err := finish(f, "CreateListener"); err != nil {
		return nil, nil, err
	}
	if err := checkProtocol(l.Protocol); err != nil {
		return nil, nil, err
	}
	if port == nil {
		return nil, nil, validation("Port: required for a network load balancer's listener")
	}
	l.Port = *port
	l.RequestHash = listenerHash(l)
	return l, tags, nil
}

func listenerHash(l *store.ListenerRecord) string {
	return hashOf("ls", l.LoadBalancerARN, l.Protocol, fmt.Sprint(l.Port), l.TargetGroupARN)
}

// createListener checks the listener against the store, listens on 127.0.0.1:Port (so that a port
// another process or load balancer holds is refused now, not found out later), then records it.
// The same request again returns the listener it made (its tags left as they are).
func (a *API) createListener(f *form) (any, error) {
	l, tags, err := readListener(f)
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
	err = a.listenAndStore(l, true, func(tx *store.Tx) error {
		if _, err := checkListener(tx, l); err != nil {
			return err
		}
		if err := putNewTags(tx, l.ARN, tags); err != nil {
			return err
		}
		return tx.PutListener(l)
	})
	if err != nil {
		return nil, err
	}
	return listenersResult{Listeners: []xmlListener{listenerXML(l)}}, nil
}

// listenAndStore binds l's port first when bind is set (a new listener, or a changed port), so
// that a port in use is refused before anything is written; then it runs write (one store
// transaction) and only once that committed does l serve on the new socket, closing the one it
// had (its open connections go on). A failed write closes the new socket: the listener keeps its
// old port, so neither a refusal nor a crash between the two steps loses or duplicates a listener.
func (a *API) listenAndStore(l *store.ListenerRecord, bind bool, write func(tx *store.Tx) error) error {
	var ln net.Listener
	if bind {
		var err error
		if ln, err = a.balancer.bind(l.Port); err != nil {
			return newError(CodeInvalidConfigurationRequest, "Port: cannot listen on %s:%d: %v; every local load balancer listens on %s, so choose a port nothing else uses", a.balancer.address, l.Port, err, a.balancer.address)
		}
	}
	return a.balancer.storeListener(l, ln, func() error { return a.store.Update(write) })
}

// checkListener returns the existing listener the request repeats, or why it cannot be made.
func checkListener(tx *store.Tx, l *store.ListenerRecord) (*store.ListenerRecord, error) {
	if _, err := getLoadBalancer(tx, l.LoadBalancerARN); err != nil {
		return nil, err
	}
	if err := checkForward(tx, l.TargetGroupARN); err != nil {
		return nil, err
	}
	all, err := tx.Listeners()
	if err != nil {
		return nil, err
	}
	for _, o := range all {
		if o.LoadBalancerARN == l.LoadBalancerARN && o.Port == l.Port && o.RequestHash == l.RequestHash {
			return o, nil
		}
	}
	return nil, checkClashes(all, l)
}

// checkForward checks the target group a listener forwards to: it exists and is TCP.
func checkForward(tx *store.Tx, tgARN string) error {
	tg, err := getTargetGroup(tx, tgARN)
	if err != nil {
		return err
	}
	if tg.Protocol != protoTCP {
		return newError(CodeIncompatibleProtocols, "The listener's protocol TCP is incompatible with target group %s's %s", tg.Name, tg.Protocol)
	}
	return nil
}

// checkClashes refuses l (a new listener, or one changed, which all holds with its old settings)
// when another listener has its port — of the same load balancer, DuplicateListener; of another,
// InvalidConfigurationRequest, as every local listener is on 127.0.0.1 — or when its target group
// belongs to another load balancer (TargetGroupAssociationLimit).
func checkClashes(all []*store.ListenerRecord, l *store.ListenerRecord) error {
	for _, o := range all {
		switch {
		case o.ARN == l.ARN:
		case o.LoadBalancerARN == l.LoadBalancerARN && o.Port == l.Port:
			return newError(CodeDuplicateListener, "A listener already exists on this port for this load balancer '%s'", l.LoadBalancerARN)
		case o.Port == l.Port:
			return newError(CodeInvalidConfigurationRequest, "Port: %d is used by listener %s of another load balancer; every local load balancer listens on 127.0.0.1, so choose another port", l.Port, o.ARN)
		case o.TargetGroupARN == l.TargetGroupARN && o.LoadBalancerARN != l.LoadBalancerARN:
			return newError(CodeTargetGroupAssociationLimit, "The following target groups cannot be associated with more than one load balancer: %s", l.TargetGroupARN)
		}
	}
	return nil
}

// modifyListener: ListenerArn, Port, Protocol TCP, DefaultActions (one forward action to a
// TargetGroupArn); members not given keep their values. A new port is bound on 127.0.0.1 before
// anything is written (a port in use is refused, InvalidConfigurationRequest) and the old one
// closes once the change is stored; connections already open through the listener go on, and the
// load balancer's other listeners are not touched. A new target group takes the new connections;
// the old group's open connections drain with its deregistration delay. The answer is the
// listener as changed.
func (a *API) modifyListener(f *form) (any, error) {
	arn := f.required("ListenerArn")
	port := f.int32("Port", 1, 65535)
	protocol, protocolGiven := f.str("Protocol")
	tgARN, forwardGiven := readForward(f, false)
	if err := finish(f, "ModifyListener"); err != nil {
		return nil, err
	}
	if protocolGiven {
		if err := checkProtocol(protocol); err != nil {
			return nil, err
		}
	}
	var l *store.ListenerRecord
	rebind := false
	err := a.store.View(func(tx *store.Tx) error {
		var err error
		if l, err = getListener(tx, arn); err != nil {
			return err
		}
		if rebind = port != nil && *port != l.Port; rebind {
			l.Port = *port
		}
		if forwardGiven {
			l.TargetGroupARN = tgARN
		}
		l.RequestHash = listenerHash(l)
		return checkChanged(tx, l)
	})
	if err != nil {
		return nil, err
	}
	err = a.listenAndStore(l, rebind, func(tx *store.Tx) error {
		if err := checkChanged(tx, l); err != nil {
			return err
		}
		return tx.PutListener(l)
	})
	if err != nil {
		return nil, err
	}
	return listenersResult{Listeners: []xmlListener{listenerXML(l)}}, nil
}

// checkChanged checks listener l as ModifyListener changed it: it still exists, its target group
// is one it may forward to, and it clashes with no other listener.
func checkChanged(tx *store.Tx, l *store.ListenerRecord) error {
	if _, err := getListener(tx, l.ARN); err != nil {
		return err
	}
	if err := checkForward(tx, l.TargetGroupARN); err != nil {
		return err
	}
	all, err := tx.Listeners()
	if err != nil {
		return err
	}
	return checkClashes(all, l)
}

// getListener reads a listener, or ListenerNotFound.
func getListener(tx *store.Tx, arn string) (*store.ListenerRecord, error) {
	l, err := tx.GetListener(arn)
	if errors.Is(err, store.ErrNotFound) {
		return nil, newError(CodeListenerNotFound, "Listener '%s' not found", arn)
	}
	return l, err
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
			if _, err := getLoadBalancer(tx, lbARN); err != nil {
				return err
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

// deleteListener deletes the listener and its tags; its port closes.
func deleteListener(tx *store.Tx, arn string) error {
	if _, err := getListener(tx, arn); err != nil {
		return err
	}
	return tx.DeleteListener(arn)
}
