package v1alpha1_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
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
// here why not.
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

// TestEveryECSMemberIsCarried walks the input of every call the CRDs stand for, in the ECS model,
// alongside the spec type that carries it: every member is carried under ECS's own name at the
// same place, or listed in notCarried with the reason. A member ECS adds later fails here until
// it is decided.
func TestEveryECSMemberIsCarried(t *testing.T) {
	m, err := ecsmodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	carried, seen := map[string]bool{}, map[string]bool{}
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
				if !ok {
					if _, listed := notCarried[key]; !listed {
						t.Errorf("%s (%s.%s) is neither carried by %v nor listed in notCarried: carry it or say why not", key, via, name, typ)
					}
					continue
				}
				carried[key] = true
				walk(sh.Members[name], ft, via+"."+name)
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
	t.Logf("%d members carried, %d not carried", len(carried), len(notCarried))
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

// jsonField is the type of t's field of JSON name name, looking into embedded inline structs.
func jsonField(t reflect.Type, name string) (reflect.Type, bool) {
	if t == nil || t.Kind() != reflect.Struct {
		return nil, false
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
			return f.Type, true
		}
	}
	return nil, false
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
