package v1alpha1_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/config/crd"
	"github.com/nodeless-dev/nodeless/internal/dataplane/api/ecsmodel"
)

// specOf maps each ECS call whose members the CRDs carry to the spec type that carries them.
var specOf = map[string]reflect.Type{
	"RegisterTaskDefinition":      reflect.TypeFor[ecsv1alpha1.TaskDefinitionSpec](),
	"CreateService":               reflect.TypeFor[ecsv1alpha1.ServiceSpec](),
	"UpdateService":               reflect.TypeFor[ecsv1alpha1.ServiceSpec](),
	"RunTask":                     reflect.TypeFor[ecsv1alpha1.TaskSpec](),
	"CreateCluster":               reflect.TypeFor[ecsv1alpha1.ClusterSpec](),
	"UpdateCluster":               reflect.TypeFor[ecsv1alpha1.ClusterSpec](),
	"UpdateClusterSettings":       reflect.TypeFor[ecsv1alpha1.ClusterSpec](),
	"PutClusterCapacityProviders": reflect.TypeFor[ecsv1alpha1.ClusterSpec](),
}

// notCarried lists, as SHAPE.member the ECS model names them, every member of those calls that the
// CRDs do not carry, with the reason. A member of the model that is neither carried (a spec field
// of that JSON name at the same place) nor listed here fails TestEveryECSMemberIsCarried: carry
// it (members_*_types.go, its translation and its row in the controller's member table) or say
// here why not, and refuse it by name (refused_types.go: a field tagged alias:"refused" and a
// rule whose message gives this reason), so that a manifest carrying it is refused rather than
// pruned. Only the members a spec names otherwise (derivedMembers) have no field.
var notCarried = map[string]string{
	// Named otherwise, or derived from the object.
	"UpdateServiceRequest.service":                        "the service is spec.serviceName (default metadata.name)",
	"UpdateClusterRequest.cluster":                        "the cluster is spec.clusterName (default metadata.name)",
	"UpdateClusterSettingsRequest.cluster":                "the cluster is spec.clusterName (default metadata.name)",
	"PutClusterCapacityProvidersRequest.cluster":          "the cluster is spec.clusterName (default metadata.name)",
	"CreateServiceRequest.clientToken":                    "derived from the object's UID and generation (ADR 0003)",
	"RunTaskRequest.clientToken":                          "the object's UID (ADR 0003)",
	"RunTaskRequest.count":                                "a Task object is one task",
	"UpdateServiceRequest.forceNewDeployment":             "a spec change rolls out by itself; a forced redeploy of an unchanged spec is not declarative",
	"CreateServiceRequest.role":                           "only for load balancers of services outside awsvpc; Fargate uses the service-linked role",
	"RegisterTaskDefinitionRequest.ipcMode":               "Fargate does not support ipcMode (RegisterTaskDefinition)",
	"RegisterTaskDefinitionRequest.inferenceAccelerators": "Elastic Inference is retired and was never on Fargate",
	"TaskOverride.inferenceAcceleratorOverrides":          "Elastic Inference is retired and was never on Fargate",
	"RegisterTaskDefinitionRequest.enableFaultInjection":  "not yet: fault injection endpoints are not emulated locally",
	"RunTaskRequest.referenceId":                          "not yet: a reference for tasks started by a service deployment's lifecycle hooks",

	// EBS volumes configured at launch (volumeConfigurations, Volume.configuredAtLaunch).
	"CreateServiceRequest.volumeConfigurations": "not yet: EBS volumes attached at launch",
	"UpdateServiceRequest.volumeConfigurations": "not yet: EBS volumes attached at launch",
	"RunTaskRequest.volumeConfigurations":       "not yet: EBS volumes attached at launch",
	"Volume.configuredAtLaunch":                 "not yet: EBS volumes attached at launch",
	// Volumes Fargate does not mount.
	"Volume.dockerVolumeConfiguration":               "Docker volumes are EC2 only (Volume)",
	"Volume.fsxWindowsFileServerVolumeConfiguration": "Windows containers are out of scope (DESIGN §6)",
	"Volume.s3filesVolumeConfiguration":              "not yet: S3 Files volumes",

	// Service members not carried yet.
	"CreateServiceRequest.availabilityZoneRebalancing": "not yet: no Availability Zones locally",
	"UpdateServiceRequest.availabilityZoneRebalancing": "not yet: no Availability Zones locally",
	"CreateServiceRequest.vpcLatticeConfigurations":    "not yet: VPC Lattice target groups",
	"UpdateServiceRequest.vpcLatticeConfigurations":    "not yet: VPC Lattice target groups",
	"DeploymentConfiguration.strategy":                 "not yet: blue/green, linear and canary deployments shift an ELB listener's traffic",
	"DeploymentConfiguration.bakeTimeInMinutes":        "not yet: blue/green, linear and canary deployments",
	"DeploymentConfiguration.lifecycleHooks":           "not yet: blue/green, linear and canary deployments",
	"DeploymentConfiguration.canaryConfiguration":      "not yet: blue/green, linear and canary deployments",
	"DeploymentConfiguration.linearConfiguration":      "not yet: blue/green, linear and canary deployments",
	"LoadBalancer.advancedConfiguration":               "not yet: blue/green deployments' alternate target group",
	"ServiceConnectClientAlias.testTrafficRules":       "not yet: test traffic of blue/green deployments",

	// Container members Fargate does not support, or that nodeless does not carry yet.
	"ContainerDefinition.links":                 "awsvpc (Fargate) has no links",
	"ContainerDefinition.hostname":              "awsvpc (Fargate) has no per-container hostname",
	"ContainerDefinition.disableNetworking":     "awsvpc (Fargate) does not support it",
	"ContainerDefinition.dnsServers":            "awsvpc (Fargate) does not support it",
	"ContainerDefinition.dnsSearchDomains":      "awsvpc (Fargate) does not support it",
	"ContainerDefinition.extraHosts":            "awsvpc (Fargate) does not support it",
	"ContainerDefinition.dockerSecurityOptions": "Fargate does not support it",
	"ContainerDefinition.privileged":            "Fargate does not support privileged containers",
	"ContainerDefinition.credentialSpecs":       "Windows containers (gMSA) are out of scope (DESIGN §6)",
	"ContainerDefinition.resourceRequirements":  "GPUs are out of scope (DESIGN §6) and Fargate has none",
	"ContainerOverride.resourceRequirements":    "GPUs are out of scope (DESIGN §6) and Fargate has none",
	"ContainerDefinition.volumesFrom":           "not yet: the local data plane refuses it (share a task volume through mountPoints)",
	"PortMapping.containerPortRange":            "not yet: port ranges (the local data plane publishes single ports)",
	"ContainerDefinition.versionConsistency":    "not yet: image digest resolution is always on",
	"LinuxParameters.devices":                   "Fargate does not support host devices (LinuxParameters)",
	"LinuxParameters.sharedMemorySize":          "Fargate does not support sharedMemorySize (LinuxParameters)",
	"LinuxParameters.tmpfs":                     "Fargate does not support tmpfs (LinuxParameters)",
	"LinuxParameters.maxSwap":                   "Fargate does not support swap (LinuxParameters)",
	"LinuxParameters.swappiness":                "Fargate does not support swap (LinuxParameters)",
}

// derivedMembers are the members of notCarried that a spec names otherwise or nodeless derives:
// a manifest has no reason to carry them, so they are not refused by name (a stray one is
// pruned with the API server's usual warning).
var derivedMembers = map[string]bool{
	"UpdateServiceRequest.service":               true,
	"UpdateClusterRequest.cluster":               true,
	"UpdateClusterSettingsRequest.cluster":       true,
	"PutClusterCapacityProvidersRequest.cluster": true,
	"CreateServiceRequest.clientToken":           true,
	"RunTaskRequest.clientToken":                 true,
}

// TestEveryECSMemberIsCarried walks the input of every call the CRDs stand for, in the ECS model,
// alongside the spec type that carries it: every member is carried under ECS's own name at the
// same place, or listed in notCarried with the reason and, unless derivedMembers names it,
// refused by name (a field of that name tagged alias:"refused"): three categories, no fourth. A
// member ECS adds later fails here until it is decided.
func TestEveryECSMemberIsCarried(t *testing.T) {
	m, err := ecsmodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	carried, seen := map[string]bool{}, map[string]bool{}
	refused := map[string][]string{} // member: where the specs refuse it, as op.path
	var walk func(shape string, typ reflect.Type, via string)
	walk = func(shape string, typ reflect.Type, via string) {
		sh := m.Shape(shape)
		typ = deref(typ)
		switch sh.Type {
		case "list":
			walk(sh.Member, elemOf(typ), via+"[]")
		case "map":
			walk(sh.Value, elemOf(typ), via+"{}")
		case "structure":
			for _, name := range slices.Sorted(mapsKeys(sh.Members)) {
				key := shape + "." + name
				seen[key] = true
				ft, ok := jsonField(typ, name)
				if !ok || ft.Tag.Get("alias") == "refused" {
					_, listed := notCarried[key]
					switch {
					case !listed:
						t.Errorf("%s (%s.%s) is neither carried by %v nor listed in notCarried: carry it or say why not", key, via, name, typ)
					case ok:
						refused[key] = append(refused[key], via+"."+name)
					case !derivedMembers[key]:
						t.Errorf("%s (%s.%s) is not carried, and %v has no field refusing it by name: add one to refused_types.go, with the reason %q", key, via, name, typ, notCarried[key])
					}
					continue
				}
				carried[key] = true
				walk(sh.Members[name], ft.Type, via+"."+name)
			}
		}
	}
	for _, op := range slices.Sorted(mapsKeys(specOf)) {
		o, ok := m.Operations[op]
		if !ok {
			t.Fatalf("the ECS model has no %s", op)
		}
		walk(o.Input, specOf[op], op)
	}
	for key, why := range notCarried {
		switch {
		case carried[key]:
			t.Errorf("notCarried lists %s (%s), which a spec carries: remove it from the list", key, why)
		case !seen[key]:
			t.Errorf("notCarried lists %s, which none of the calls has: remove it from the list", key)
		case why == "":
			t.Errorf("notCarried lists %s without a reason", key)
		}
	}
	for key := range derivedMembers {
		if _, listed := notCarried[key]; !listed {
			t.Errorf("derivedMembers lists %s, which notCarried does not", key)
		}
	}
	t.Logf("%d members carried, %d refused by name, %d derived", len(carried), len(refused), len(derivedMembers))
	t.Run("each refusal gives the reason", func(t *testing.T) {
		for key, where := range refused {
			for _, at := range where {
				if msg := refusal(t, at); !strings.Contains(msg, notCarried[key]) {
					t.Errorf("%s: the rule refusing it says %q; want the reason of notCarried[%s], %q", at, msg, key, notCarried[key])
				}
			}
		}
	})
}

// crdOf maps the ECS calls of specOf to the CRD of the kind whose spec carries their members.
var crdOf = map[string]string{
	"RegisterTaskDefinition": "taskdefinitions.ecs.nodeless.dev",
	"CreateService":          "services.ecs.nodeless.dev",
	"UpdateService":          "services.ecs.nodeless.dev",
	"RunTask":                "tasks.ecs.nodeless.dev",
	"CreateCluster":          "clusters.ecs.nodeless.dev",
	"UpdateCluster":          "clusters.ecs.nodeless.dev",
}

// refusal is the message of the validation rule of the generated CRD that refuses the member at
// (op.path.to.member, lists as []), found on the schema of the member's parent by its fieldPath.
func refusal(t *testing.T, at string) string {
	t.Helper()
	op, path, _ := strings.Cut(at, ".")
	crds, err := crd.Objects()
	if err != nil {
		t.Fatal(err)
	}
	var schema *apiextensionsv1.JSONSchemaProps
	for _, c := range crds {
		if c.Name == crdOf[op] {
			s := c.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
			schema = &s
		}
	}
	if schema == nil {
		t.Fatalf("%s: no CRD for %s", at, op)
	}
	steps := strings.Split(path, ".")
	for _, step := range steps[:len(steps)-1] {
		name, list := strings.CutSuffix(step, "[]")
		s, ok := schema.Properties[name]
		if !ok {
			t.Fatalf("%s: the CRD has no %s", at, name)
		}
		if list {
			s = *s.Items.Schema
		}
		schema = &s
	}
	member := steps[len(steps)-1]
	for _, r := range schema.XValidations {
		if r.FieldPath == "."+member && r.Reason != nil && *r.Reason == apiextensionsv1.FieldValueForbidden {
			return r.Message
		}
	}
	t.Errorf("%s: no rule refuses it (reason FieldValueForbidden, fieldPath .%s)", at, member)
	return ""
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func elemOf(t reflect.Type) reflect.Type {
	if t == nil || (t.Kind() != reflect.Slice && t.Kind() != reflect.Map) {
		return nil
	}
	return t.Elem()
}

// jsonField is t's field of JSON name name, looking into embedded inline structs.
func jsonField(t reflect.Type, name string) (reflect.StructField, bool) {
	if t == nil || t.Kind() != reflect.Struct {
		return reflect.StructField{}, false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && tag == "" {
			if ft, ok := jsonField(f.Type, name); ok {
				return ft, true
			}
			continue
		}
		if tag == name && f.IsExported() {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
