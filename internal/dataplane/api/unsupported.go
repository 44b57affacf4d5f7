package api

import (
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/api/ecsmodel"
)

// unsupportedWhy says why the local data plane refuses a member its request types do not have,
// keyed by the member's name (the last part of its path), for the members users most often bring
// from Fargate; the refusal names the member either way (ecsmodel.CheckInput).
var unsupportedWhy = map[string]string{
	"tls":                    "the local Service Connect proxy carries plain TCP; it does not terminate TLS",
	"ingressPortOverride":    "the local Service Connect proxy runs in the VPC, not beside the server task, so it has no ingress listener to move",
	"accessLogConfiguration": "the local Service Connect proxy writes no access logs",
	"configuration":          "ECS Exec's KMS key and CloudWatch or S3 logging, and managed storage keys, have no local counterpart",
	"placementConstraints":   "Fargate does not support task placement constraints",
	"placementStrategy":      "Fargate does not support task placement strategies",
	"efsVolumeConfiguration": "there is no Amazon EFS locally, and a local directory standing in for it would not be shared with what runs on AWS",
	"firelensConfiguration":  "there is no FireLens log router locally; container output goes to the local log files (nodeless logs, kubectl logs)",
	"proxyConfiguration":     "there is no App Mesh locally",
	"systemControls":         "namespaced kernel parameters are not applied to local tasks",
	"environmentFiles":       "there is no Amazon S3 locally; use environment or secrets",
	"devices":                "Fargate does not support host devices",
	"sharedMemorySize":       "Fargate does not support sharedMemorySize",
	"tmpfs":                  "Fargate does not support tmpfs mounts",
	"maxSwap":                "Fargate does not support swap",
	"swappiness":             "Fargate does not support swap",
}

// unsupportedMessage is the refusal of a member the request types lack, with why when known.
func unsupportedMessage(fe *ecsmodel.FieldError) string {
	name := fe.Path[strings.LastIndexAny(fe.Path, ".]")+1:]
	if why, ok := unsupportedWhy[name]; ok && fe.Problem == ecsmodel.ProblemUnsupported {
		return fe.Path + ": not supported by the nodeless local data plane (" + why + "); remove it"
	}
	return fe.Error()
}
