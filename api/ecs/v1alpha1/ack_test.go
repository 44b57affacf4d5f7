package v1alpha1_test

import (
	"reflect"
	"strings"
	"testing"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
)

// ackSpecFields are the members of the specs of AWS's ECS controller for Kubernetes (ACK,
// aws-controllers-k8s/ecs-controller v1.2.1, group ecs.services.k8s.aws): every leaf of its
// Cluster, Service and TaskDefinition CRDs' spec schemas, lists as [] (a list of objects is named
// by its objects' members). The list was made by reading those CRDs' schemas; it is data for
// TestACKSpellingsInTheSchema, not a copy of them. A newer ACK release that adds a member is
// compared the same way and its new leaves added here.
var ackSpecFields = map[string]string{
	"Cluster": `
capacityProviders
configuration.executeCommandConfiguration.kmsKeyID
configuration.executeCommandConfiguration.logConfiguration.cloudWatchEncryptionEnabled
configuration.executeCommandConfiguration.logConfiguration.cloudWatchLogGroupName
configuration.executeCommandConfiguration.logConfiguration.s3BucketName
configuration.executeCommandConfiguration.logConfiguration.s3EncryptionEnabled
configuration.executeCommandConfiguration.logConfiguration.s3KeyPrefix
configuration.executeCommandConfiguration.logging
defaultCapacityProviderStrategy[].base
defaultCapacityProviderStrategy[].capacityProvider
defaultCapacityProviderStrategy[].weight
name
serviceConnectDefaults.namespace
settings[].name
settings[].value
tags[].key
tags[].value
`,
	"Service": `
capacityProviderStrategy[].base
capacityProviderStrategy[].capacityProvider
capacityProviderStrategy[].weight
cluster
clusterRef.from.name
clusterRef.from.namespace
deploymentConfiguration.alarms.alarmNames
deploymentConfiguration.alarms.enable
deploymentConfiguration.alarms.rollback
deploymentConfiguration.deploymentCircuitBreaker.enable
deploymentConfiguration.deploymentCircuitBreaker.rollback
deploymentConfiguration.maximumPercent
deploymentConfiguration.minimumHealthyPercent
deploymentController.type
desiredCount
enableECSManagedTags
enableExecuteCommand
healthCheckGracePeriodSeconds
launchType
loadBalancers[].containerName
loadBalancers[].containerPort
loadBalancers[].loadBalancerName
loadBalancers[].loadBalancerRef.from.name
loadBalancers[].loadBalancerRef.from.namespace
loadBalancers[].targetGroupARN
loadBalancers[].targetGroupRef.from.name
loadBalancers[].targetGroupRef.from.namespace
name
networkConfiguration.awsVPCConfiguration.assignPublicIP
networkConfiguration.awsVPCConfiguration.securityGroupRefs[].from.name
networkConfiguration.awsVPCConfiguration.securityGroupRefs[].from.namespace
networkConfiguration.awsVPCConfiguration.securityGroups
networkConfiguration.awsVPCConfiguration.subnetRefs[].from.name
networkConfiguration.awsVPCConfiguration.subnetRefs[].from.namespace
networkConfiguration.awsVPCConfiguration.subnets
placementConstraints[].expression
placementConstraints[].type
placementStrategy[].field
placementStrategy[].type
platformVersion
propagateTags
role
roleRef.from.name
roleRef.from.namespace
schedulingStrategy
serviceConnectConfiguration.enabled
serviceConnectConfiguration.logConfiguration.logDriver
serviceConnectConfiguration.logConfiguration.options
serviceConnectConfiguration.logConfiguration.secretOptions[].name
serviceConnectConfiguration.logConfiguration.secretOptions[].valueFrom
serviceConnectConfiguration.namespace
serviceConnectConfiguration.services[].clientAliases[].dnsName
serviceConnectConfiguration.services[].clientAliases[].port
serviceConnectConfiguration.services[].discoveryName
serviceConnectConfiguration.services[].ingressPortOverride
serviceConnectConfiguration.services[].portName
serviceConnectConfiguration.services[].timeout.idleTimeoutSeconds
serviceConnectConfiguration.services[].timeout.perRequestTimeoutSeconds
serviceConnectConfiguration.services[].tls.issuerCertificateAuthority.awsPCAAuthorityARN
serviceConnectConfiguration.services[].tls.kmsKey
serviceConnectConfiguration.services[].tls.roleARN
serviceRegistries[].containerName
serviceRegistries[].containerPort
serviceRegistries[].port
serviceRegistries[].registryARN
tags[].key
tags[].value
taskDefinition
taskDefinitionRef.from.name
taskDefinitionRef.from.namespace
volumeConfigurations[].managedEBSVolume.encrypted
volumeConfigurations[].managedEBSVolume.filesystemType
volumeConfigurations[].managedEBSVolume.iops
volumeConfigurations[].managedEBSVolume.kmsKeyID
volumeConfigurations[].managedEBSVolume.roleARN
volumeConfigurations[].managedEBSVolume.sizeInGiB
volumeConfigurations[].managedEBSVolume.snapshotID
volumeConfigurations[].managedEBSVolume.tagSpecifications[].propagateTags
volumeConfigurations[].managedEBSVolume.tagSpecifications[].resourceType
volumeConfigurations[].managedEBSVolume.tagSpecifications[].tags[].key
volumeConfigurations[].managedEBSVolume.tagSpecifications[].tags[].value
volumeConfigurations[].managedEBSVolume.throughput
volumeConfigurations[].managedEBSVolume.volumeType
volumeConfigurations[].name
`,
	"TaskDefinition": `
containerDefinitions[].command
containerDefinitions[].cpu
containerDefinitions[].credentialSpecs
containerDefinitions[].dependsOn[].condition
containerDefinitions[].dependsOn[].containerName
containerDefinitions[].disableNetworking
containerDefinitions[].dnsSearchDomains
containerDefinitions[].dnsServers
containerDefinitions[].dockerLabels
containerDefinitions[].dockerSecurityOptions
containerDefinitions[].entryPoint
containerDefinitions[].environmentFiles[].type
containerDefinitions[].environmentFiles[].value
containerDefinitions[].environment[].name
containerDefinitions[].environment[].value
containerDefinitions[].essential
containerDefinitions[].extraHosts[].hostname
containerDefinitions[].extraHosts[].ipAddress
containerDefinitions[].firelensConfiguration.options
containerDefinitions[].firelensConfiguration.type
containerDefinitions[].healthCheck.command
containerDefinitions[].healthCheck.interval
containerDefinitions[].healthCheck.retries
containerDefinitions[].healthCheck.startPeriod
containerDefinitions[].healthCheck.timeout
containerDefinitions[].hostname
containerDefinitions[].image
containerDefinitions[].interactive
containerDefinitions[].links
containerDefinitions[].linuxParameters.capabilities.add
containerDefinitions[].linuxParameters.capabilities.drop
containerDefinitions[].linuxParameters.devices[].containerPath
containerDefinitions[].linuxParameters.devices[].hostPath
containerDefinitions[].linuxParameters.devices[].permissions
containerDefinitions[].linuxParameters.initProcessEnabled
containerDefinitions[].linuxParameters.maxSwap
containerDefinitions[].linuxParameters.sharedMemorySize
containerDefinitions[].linuxParameters.swappiness
containerDefinitions[].linuxParameters.tmpfs[].containerPath
containerDefinitions[].linuxParameters.tmpfs[].mountOptions
containerDefinitions[].linuxParameters.tmpfs[].size
containerDefinitions[].logConfiguration.logDriver
containerDefinitions[].logConfiguration.options
containerDefinitions[].logConfiguration.secretOptions[].name
containerDefinitions[].logConfiguration.secretOptions[].valueFrom
containerDefinitions[].memory
containerDefinitions[].memoryReservation
containerDefinitions[].mountPoints[].containerPath
containerDefinitions[].mountPoints[].readOnly
containerDefinitions[].mountPoints[].sourceVolume
containerDefinitions[].name
containerDefinitions[].portMappings[].appProtocol
containerDefinitions[].portMappings[].containerPort
containerDefinitions[].portMappings[].containerPortRange
containerDefinitions[].portMappings[].hostPort
containerDefinitions[].portMappings[].name
containerDefinitions[].portMappings[].protocol
containerDefinitions[].privileged
containerDefinitions[].pseudoTerminal
containerDefinitions[].readonlyRootFilesystem
containerDefinitions[].repositoryCredentials.credentialsParameter
containerDefinitions[].resourceRequirements[].type
containerDefinitions[].resourceRequirements[].value
containerDefinitions[].secrets[].name
containerDefinitions[].secrets[].valueFrom
containerDefinitions[].startTimeout
containerDefinitions[].stopTimeout
containerDefinitions[].systemControls[].namespace
containerDefinitions[].systemControls[].value
containerDefinitions[].ulimits[].hardLimit
containerDefinitions[].ulimits[].name
containerDefinitions[].ulimits[].softLimit
containerDefinitions[].user
containerDefinitions[].volumesFrom[].readOnly
containerDefinitions[].volumesFrom[].sourceContainer
containerDefinitions[].workingDirectory
cpu
ephemeralStorage.sizeInGiB
executionRoleARN
family
inferenceAccelerators[].deviceName
inferenceAccelerators[].deviceType
ipcMode
memory
networkMode
pidMode
placementConstraints[].expression
placementConstraints[].type
proxyConfiguration.containerName
proxyConfiguration.properties[].name
proxyConfiguration.properties[].value
proxyConfiguration.type
requiresCompatibilities
runtimePlatform.cpuArchitecture
runtimePlatform.operatingSystemFamily
tags[].key
tags[].value
taskRoleARN
taskRoleRef.from.name
taskRoleRef.from.namespace
volumes[].configuredAtLaunch
volumes[].dockerVolumeConfiguration.autoprovision
volumes[].dockerVolumeConfiguration.driver
volumes[].dockerVolumeConfiguration.driverOpts
volumes[].dockerVolumeConfiguration.labels
volumes[].dockerVolumeConfiguration.scope
volumes[].efsVolumeConfiguration.authorizationConfig.accessPointID
volumes[].efsVolumeConfiguration.authorizationConfig.iam
volumes[].efsVolumeConfiguration.fileSystemID
volumes[].efsVolumeConfiguration.rootDirectory
volumes[].efsVolumeConfiguration.transitEncryption
volumes[].efsVolumeConfiguration.transitEncryptionPort
volumes[].fsxWindowsFileServerVolumeConfiguration.authorizationConfig.credentialsParameter
volumes[].fsxWindowsFileServerVolumeConfiguration.authorizationConfig.domain
volumes[].fsxWindowsFileServerVolumeConfiguration.fileSystemID
volumes[].fsxWindowsFileServerVolumeConfiguration.rootDirectory
volumes[].host.sourcePath
volumes[].name
`,
}

// TestACKSpellingsInTheSchema: every member of ACK's specs (ackSpecFields) is in nodeless's
// schema, so no manifest written for ACK loses a member to pruning, whatever field validation
// its client asks for. Each is carried (the same spelling at the same place), an alias (a field
// on the way is tagged with the member it stands for, aliases.go), or refused by name (a field
// on the way is tagged alias:"refused": refused_types.go for the ECS members nodeless does not
// carry, aliases.go for ACK's references to other controllers' objects).
func TestACKSpellingsInTheSchema(t *testing.T) {
	specs := map[string]reflect.Type{
		"Cluster":        reflect.TypeFor[ecsv1alpha1.ClusterSpec](),
		"Service":        reflect.TypeFor[ecsv1alpha1.ServiceSpec](),
		"TaskDefinition": reflect.TypeFor[ecsv1alpha1.TaskDefinitionSpec](),
	}
	for kind, fields := range ackSpecFields {
		count := map[string]int{}
		for _, path := range strings.Fields(fields) {
			how, err := classify(specs[kind], path)
			if err != "" {
				t.Errorf("ACK's %s spec.%s: %s: carry it, add an alias (aliases.go), or refuse it by name (refused_types.go), so that it is never pruned", kind, path, err)
				continue
			}
			count[how]++
		}
		t.Logf("%s: ACK's %d members: %d carried, %d aliases, %d refused", kind, len(strings.Fields(fields)), count["carried"], count["alias"], count["refused"])
	}
}

// classify follows path (a.b[].c) through the spec type t by JSON names, inline structs' fields
// as their parent's own: "refused" when a field on the way is refused, else "alias" when one is
// an alias, else "carried"; or why it cannot be followed.
func classify(t reflect.Type, path string) (how, err string) {
	how = "carried"
	for _, step := range strings.Split(path, ".") {
		name := strings.TrimRight(step, "[]{}")
		f, ok := jsonField(deref(t), name)
		if !ok {
			return "", "no field " + name + " in " + deref(t).String()
		}
		switch f.Tag.Get("alias") {
		case "":
		case "refused":
			return "refused", ""
		default:
			how = "alias"
		}
		t = deref(f.Type)
		for range strings.Count(step, "[]") + strings.Count(step, "{}") {
			t = elemOf(t)
			if t == nil {
				return "", step + " is not a list or map in nodeless's type"
			}
			t = deref(t)
		}
	}
	return how, ""
}
