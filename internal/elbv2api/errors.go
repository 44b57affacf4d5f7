package elbv2api

import (
	"errors"

	"github.com/aws/smithy-go"

	"github.com/nodeless-dev/nodeless/internal/ecsapi"
)

// codeKinds is the one place where ELBv2's error codes (the exceptions of its API model) are
// mapped to the kinds of package ecsapi; the codes every AWS API shares (authentication,
// throttling, 5xx) are ecsapi's.
var codeKinds = map[string]ecsapi.Kind{
	"LoadBalancerNotFound": ecsapi.KindNotFound,
	"TargetGroupNotFound":  ecsapi.KindNotFound,
	"ListenerNotFound":     ecsapi.KindNotFound,
	"RuleNotFound":         ecsapi.KindNotFound,
	"SubnetNotFound":       ecsapi.KindNotFound,

	"DuplicateLoadBalancerName": ecsapi.KindConflict,
	"DuplicateTargetGroupName":  ecsapi.KindConflict,
	"DuplicateListener":         ecsapi.KindConflict,
	"DuplicateTagKeys":          ecsapi.KindConflict,
	"ResourceInUse":             ecsapi.KindConflict,
	"OperationNotPermitted":     ecsapi.KindConflict,

	"ValidationError":              ecsapi.KindInvalidParameter,
	"InvalidConfigurationRequest":  ecsapi.KindInvalidParameter,
	"InvalidSubnet":                ecsapi.KindInvalidParameter,
	"InvalidSecurityGroup":         ecsapi.KindInvalidParameter,
	"InvalidScheme":                ecsapi.KindInvalidParameter,
	"InvalidTarget":                ecsapi.KindInvalidParameter,
	"IncompatibleProtocols":        ecsapi.KindInvalidParameter,
	"UnsupportedProtocol":          ecsapi.KindInvalidParameter,
	"AvailabilityZoneNotSupported": ecsapi.KindUnsupported,

	"TooManyLoadBalancers":            ecsapi.KindQuota,
	"TooManyTargetGroups":             ecsapi.KindQuota,
	"TooManyTargets":                  ecsapi.KindQuota,
	"TooManyListeners":                ecsapi.KindQuota,
	"TooManyTags":                     ecsapi.KindQuota,
	"TooManyRegistrationsForTargetId": ecsapi.KindQuota,
	"TargetGroupAssociationLimit":     ecsapi.KindQuota,

	"HealthUnavailable": ecsapi.KindServer,
}

// KindOf classifies err (ecsapi.KindOther for nil and for errors that are not AWS API errors).
func KindOf(err error) ecsapi.Kind {
	var apiErr smithy.APIError
	if err != nil && errors.As(err, &apiErr) {
		if k, ok := codeKinds[apiErr.ErrorCode()]; ok {
			return k
		}
	}
	return ecsapi.KindOf(err)
}

// IsNotFound reports whether err means the load balancer, target group or listener does not
// exist.
func IsNotFound(err error) bool { return err != nil && KindOf(err) == ecsapi.KindNotFound }
