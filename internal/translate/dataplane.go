package translate

import (
	"fmt"
	"strings"
	"unicode"
)

// podOrigin is the Pod field an ECS member is made from, and what the Pod's user should do when a
// data plane refuses the member.
type podOrigin struct {
	// path is the field as Kubernetes prints it.
	path   string
	reason string
	// remedy says what to do, for the local data plane and for Fargate.
	remedy string
}

// memberOrigins are the ECS members a translation makes from a Pod field that nodeless accepts
// but a data plane may still refuse, keyed by the member's name as ECS spells it. A Pod has no
// such member, so a refusal that names it must reach the Pod's user naming the field
// (DataPlaneRefusal); direct ECS callers keep ECS's words.
//
// Of the members the local data plane refuses outright (the unsupportedWhy table of
// internal/dataplane/api/unsupported.go: tls, ingressPortOverride, accessLogConfiguration,
// configuration, placementConstraints, placementStrategy, efsVolumeConfiguration,
// firelensConfiguration, proxyConfiguration, systemControls, environmentFiles, devices,
// sharedMemorySize, tmpfs, maxSwap, swappiness), only systemControls is ever in a translation:
// the others come only from the ecs.nodeless.dev resources, written in ECS's terms. A member
// added to that table and made from a Pod field belongs here too.
var memberOrigins = map[string]podOrigin{
	"systemControls": {path: "spec.securityContext.sysctls", reason: ReasonFieldNotSupported,
		remedy: "remove spec.securityContext.sysctls: the local data plane does not apply namespaced kernel parameters " +
			"(on Fargate, keep only those ECS accepts as systemControls)"},
}

// DataPlaneRefusal is the Problem of the Pod field behind the ECS member that message names,
// where message is ECS's (ecsapi.Message) refusal of a request made from the Pod's translation
// (RegisterTaskDefinition, RunTask): Path the field, Reason FieldNotSupported, Message what to do,
// then ECS's words. False when message names no member made from a Pod field (memberOrigins):
// the refusal then stays ECS's.
func DataPlaneRefusal(message string) (Problem, bool) {
	words := strings.FieldsFunc(message, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, w := range words {
		o, ok := memberOrigins[w]
		if !ok {
			continue
		}
		return Problem{Path: o.path, Reason: o.reason, Message: fmt.Sprintf(
			"the data plane refused the task definition's %s, which nodeless makes from this field; %s. ECS said: %s",
			w, o.remedy, message)}, true
	}
	return Problem{}, false
}
