package fargate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/tasksize"
)

// Launch types and network modes, as ECS spells them.
const (
	LaunchTypeFargate  = "FARGATE"
	NetworkModeAwsvpc  = "awsvpc"
	logDriverAWSLogs   = "awslogs"
	capSysPtrace       = "SYS_PTRACE"
	pidModeTask        = "task"
	resourceTypeGPU    = "GPU"
	maxSubnets         = 16
	maxSecurityGroups  = 5
	assignPublicIPOn   = "ENABLED"
	assignPublicIPOff  = "DISABLED"
	unsupportedMessage = "Tasks using the Fargate launch type do not support %s."
)

// TaskDefinition holds the members of a RegisterTaskDefinition request (or of a registered task
// definition, or of a TaskDefinition's spec) that Fargate's rules read, in ECS's JSON spelling.
// Members the rules do not read are ignored when decoding.
type TaskDefinition struct {
	RequiresCompatibilities []string          `json:"requiresCompatibilities"`
	NetworkMode             *string           `json:"networkMode"`
	Cpu                     *string           `json:"cpu"`
	Memory                  *string           `json:"memory"`
	ExecutionRoleArn        *string           `json:"executionRoleArn"`
	IpcMode                 *string           `json:"ipcMode"`
	PidMode                 *string           `json:"pidMode"`
	PlacementConstraints    []json.RawMessage `json:"placementConstraints"`
	InferenceAccelerators   []json.RawMessage `json:"inferenceAccelerators"`
	Volumes                 []Volume          `json:"volumes"`
	ContainerDefinitions    []Container       `json:"containerDefinitions"`
}

// Volume is a task definition volume.
type Volume struct {
	Name                                    string          `json:"name"`
	Host                                    *HostVolume     `json:"host"`
	DockerVolumeConfiguration               json.RawMessage `json:"dockerVolumeConfiguration"`
	FsxWindowsFileServerVolumeConfiguration json.RawMessage `json:"fsxWindowsFileServerVolumeConfiguration"`
}

// HostVolume is a bind mount volume; Fargate supports it only without sourcePath.
type HostVolume struct {
	SourcePath *string `json:"sourcePath"`
}

// Container is a container definition.
type Container struct {
	Name                  string                `json:"name"`
	Image                 string                `json:"image"`
	Cpu                   int32                 `json:"cpu"`
	Memory                *int32                `json:"memory"`
	MemoryReservation     *int32                `json:"memoryReservation"`
	Links                 []string              `json:"links"`
	Hostname              *string               `json:"hostname"`
	Privileged            *bool                 `json:"privileged"`
	DisableNetworking     *bool                 `json:"disableNetworking"`
	DNSServers            []string              `json:"dnsServers"`
	DNSSearchDomains      []string              `json:"dnsSearchDomains"`
	ExtraHosts            []json.RawMessage     `json:"extraHosts"`
	DockerSecurityOptions []string              `json:"dockerSecurityOptions"`
	PortMappings          []PortMapping         `json:"portMappings"`
	LogConfiguration      *LogConfiguration     `json:"logConfiguration"`
	Secrets               []json.RawMessage     `json:"secrets"`
	ResourceRequirements  []ResourceRequirement `json:"resourceRequirements"`
	LinuxParameters       *LinuxParameters      `json:"linuxParameters"`
}

// PortMapping is a container's port mapping.
type PortMapping struct {
	ContainerPort *int32 `json:"containerPort"`
	HostPort      *int32 `json:"hostPort"`
}

// LogConfiguration is a container's log driver.
type LogConfiguration struct {
	LogDriver string `json:"logDriver"`
}

// ResourceRequirement is a GPU or inference accelerator of a container.
type ResourceRequirement struct {
	Type string `json:"type"`
}

// LinuxParameters are a container's Linux options; Fargate refuses most.
type LinuxParameters struct {
	Capabilities *struct {
		Add []string `json:"add"`
	} `json:"capabilities"`
	Devices          []json.RawMessage `json:"devices"`
	SharedMemorySize *int32            `json:"sharedMemorySize"`
	Tmpfs            []json.RawMessage `json:"tmpfs"`
	MaxSwap          *int32            `json:"maxSwap"`
	Swappiness       *int32            `json:"swappiness"`
}

// IsFargate reports whether the task definition asks to be validated for Fargate
// (requiresCompatibilities contains FARGATE).
func (td *TaskDefinition) IsFargate() bool {
	return slices.Contains(td.RequiresCompatibilities, LaunchTypeFargate)
}

// IsAwsvpc reports whether the task definition's networkMode is awsvpc.
func (td *TaskDefinition) IsAwsvpc() bool {
	return td.NetworkMode != nil && *td.NetworkMode == NetworkModeAwsvpc
}

// TaskDefinitionRules say how strictly a task definition is checked.
type TaskDefinitionRules struct {
	// RequireExecutionRole refuses, without executionRoleArn, awslogs and private ECR images on
	// Fargate and secrets anywhere, as ECS does. Off (a local data plane, which pulls images,
	// keeps logs and resolves secrets itself), they are taken without a role.
	RequireExecutionRole bool
	// Local checks a definition as the nodeless local data plane runs every task: as a Fargate
	// task in awsvpc mode. Fargate's member rules (no ipcMode, privileged, links, ...) and
	// awsvpc's (no hostname, hostPort equal to containerPort) then apply whatever
	// requiresCompatibilities and networkMode say, since such a member could never take effect
	// there; the network mode and size requirements still apply only to definitions that require
	// FARGATE (others register, and run only where their compatibilities allow, as on ECS).
	Local bool
}

// CheckTaskDefinition applies the rules RegisterTaskDefinition applies: with FARGATE in
// requiresCompatibilities, those of "Amazon ECS task definition differences for Fargate" (network
// mode awsvpc; task-level cpu and memory forming a Fargate size; no ipcMode, pidMode other than
// task, placementConstraints, inferenceAccelerators, Docker volumes, host volumes with a
// sourcePath; per container no privileged, links, disableNetworking, dnsServers,
// dnsSearchDomains, extraHosts, dockerSecurityOptions, GPUs, linuxParameters devices,
// sharedMemorySize, tmpfs, maxSwap, swappiness or added capabilities but SYS_PTRACE); with
// networkMode awsvpc, that hostPort equals containerPort and no container sets hostname or
// links; with task-level sizes, that no container asks for more than the task has; with
// rules.RequireExecutionRole, an execution role for awslogs and private ECR images on Fargate
// and for secrets; with rules.Local, Fargate's member rules and awsvpc's on every definition. It returns the first refusal (an *Error, ClientException), nil when ECS would
// register it.
func CheckTaskDefinition(td *TaskDefinition, rules TaskDefinitionRules) error {
	var checks []func(*TaskDefinition) *Error
	if td.IsFargate() {
		checks = append(checks, fargateNetworkMode, fargateSize)
	}
	if td.IsFargate() || rules.Local {
		checks = append(checks, fargateTaskMembers, fargateVolumes)
	}
	for _, check := range checks {
		if err := check(td); err != nil {
			return err
		}
	}
	for i := range td.ContainerDefinitions {
		if err := checkContainer(td, i, rules.Local); err != nil {
			return err
		}
	}
	if rules.RequireExecutionRole {
		if err := checkExecutionRole(td); err != nil {
			return err
		}
	}
	if err := checkContainerSizes(td); err != nil {
		return err
	}
	return nil
}

func fargateNetworkMode(td *TaskDefinition) *Error {
	if !td.IsAwsvpc() {
		// ECS's own message, its quotes included.
		return clientError("networkMode", "set networkMode to awsvpc", "Fargate only supports network mode ‘awsvpc’.")
	}
	return nil
}

func fargateSize(td *TaskDefinition) *Error {
	if td.Cpu == nil || strings.TrimSpace(*td.Cpu) == "" {
		return clientError("cpu", "set the task's cpu, e.g. 256", "Fargate requires that 'cpu' be defined at the task level.")
	}
	if td.Memory == nil || strings.TrimSpace(*td.Memory) == "" {
		return clientError("memory", "set the task's memory, e.g. 512", "Fargate requires that 'memory' be defined at the task level.")
	}
	cpu, err := tasksize.ParseCPU(*td.Cpu)
	if err != nil {
		return clientError("cpu", `give CPU units ("256") or vCPUs ("0.25 vCPU")`, "Invalid 'cpu' setting for task.")
	}
	mem, err := tasksize.ParseMemory(*td.Memory)
	if err != nil {
		return clientError("memory", `give MiB ("512") or GB ("0.5 GB")`, "Invalid 'memory' setting for task.")
	}
	if err := tasksize.CheckFargate(cpu, mem); err != nil {
		return clientError("cpu, memory", err.Error(),
			"No Fargate configuration exists for given values: %s CPU, %s memory. See the Amazon ECS documentation for the valid values.",
			strings.TrimSpace(*td.Cpu), strings.TrimSpace(*td.Memory))
	}
	return nil
}

func fargateTaskMembers(td *TaskDefinition) *Error {
	switch {
	case td.IpcMode != nil:
		return clientError("ipcMode", "remove ipcMode", unsupportedMessage, "ipcMode")
	case td.PidMode != nil && *td.PidMode != pidModeTask:
		return clientError("pidMode", "use task or remove pidMode",
			"Tasks using the Fargate launch type do not support pidMode '%s'. The supported value for pidMode is 'task'.", *td.PidMode)
	case len(td.PlacementConstraints) > 0:
		return clientError("placementConstraints", "remove placementConstraints: Fargate places tasks itself", unsupportedMessage, "placementConstraints")
	case len(td.InferenceAccelerators) > 0:
		return clientError("inferenceAccelerators", "remove inferenceAccelerators", unsupportedMessage, "inferenceAccelerators")
	}
	return nil
}

func fargateVolumes(td *TaskDefinition) *Error {
	for i, v := range td.Volumes {
		p := fmt.Sprintf("volumes[%d]", i)
		switch {
		case present(v.DockerVolumeConfiguration):
			return clientError(p+".dockerVolumeConfiguration", "use a task volume without configuration (ephemeral) or an EFS volume", unsupportedMessage, "dockerVolumeConfiguration")
		case present(v.FsxWindowsFileServerVolumeConfiguration):
			return clientError(p+".fsxWindowsFileServerVolumeConfiguration", "FSx for Windows volumes need Windows containers; use an EFS volume", unsupportedMessage, "fsxWindowsFileServerVolumeConfiguration")
		case v.Host != nil && v.Host.SourcePath != nil:
			return clientError(p+".host.sourcePath", "remove sourcePath: Fargate has no host paths; the volume is then ephemeral task storage", unsupportedMessage, "host.sourcePath")
		}
	}
	return nil
}

// present reports a JSON member that is set (not absent, not null).
func present(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null"
}

// checkContainer applies the per-container rules: Fargate's unsupported members, then awsvpc's;
// local (TaskDefinitionRules.Local) applies both to every definition.
func checkContainer(td *TaskDefinition, i int, local bool) *Error {
	c := &td.ContainerDefinitions[i]
	p := fmt.Sprintf("containerDefinitions[%d]", i)
	if td.IsFargate() || local {
		if err := fargateContainer(p, c); err != nil {
			return err
		}
		if err := fargateLinuxParameters(p+".linuxParameters", c.LinuxParameters); err != nil {
			return err
		}
	}
	if !td.IsAwsvpc() && !local {
		return nil
	}
	if c.Hostname != nil {
		return clientError(p+".hostname", "remove hostname: an awsvpc task's hostname is its ENI's DNS name", "hostname is not supported on container when networkMode=awsvpc.")
	}
	if len(c.Links) > 0 {
		return clientError(p+".links", "remove links: the containers of an awsvpc task reach each other on localhost", "Links are not supported when networkMode=awsvpc.")
	}
	for j, pm := range c.PortMappings {
		if pm.HostPort != nil && *pm.HostPort != 0 && (pm.ContainerPort == nil || *pm.HostPort != *pm.ContainerPort) {
			return clientError(fmt.Sprintf("%s.portMappings[%d].hostPort", p, j), "omit hostPort or make it equal containerPort",
				"When networkMode=awsvpc, the host ports and container ports in port mappings must match.")
		}
	}
	return nil
}

func fargateContainer(p string, c *Container) *Error {
	type member struct {
		name string
		set  bool
		fix  string
	}
	for _, m := range []member{
		{"privileged", c.Privileged != nil && *c.Privileged, "remove privileged: Fargate runs no privileged containers"},
		{"links", len(c.Links) > 0, "remove links: the containers of a task reach each other on localhost"},
		{"disableNetworking", c.DisableNetworking != nil, "remove disableNetworking"},
		{"dnsServers", len(c.DNSServers) > 0, "remove dnsServers: Fargate tasks use the VPC's resolver"},
		{"dnsSearchDomains", len(c.DNSSearchDomains) > 0, "remove dnsSearchDomains"},
		{"extraHosts", len(c.ExtraHosts) > 0, "remove extraHosts"},
		{"dockerSecurityOptions", len(c.DockerSecurityOptions) > 0, "remove dockerSecurityOptions"},
		{"resourceRequirements", slices.ContainsFunc(c.ResourceRequirements, func(r ResourceRequirement) bool { return r.Type == resourceTypeGPU }),
			"remove the GPU requirement: Fargate has no GPUs"},
	} {
		if m.set {
			return clientError(p+"."+m.name, m.fix, unsupportedMessage, m.name)
		}
	}
	return nil
}

func fargateLinuxParameters(p string, lp *LinuxParameters) *Error {
	if lp == nil {
		return nil
	}
	type member struct {
		name string
		set  bool
	}
	for _, m := range []member{
		{"devices", len(lp.Devices) > 0}, {"sharedMemorySize", lp.SharedMemorySize != nil}, {"tmpfs", len(lp.Tmpfs) > 0},
		{"maxSwap", lp.MaxSwap != nil}, {"swappiness", lp.Swappiness != nil},
	} {
		if m.set {
			return clientError(p+"."+m.name, "remove it", unsupportedMessage, "linuxParameters."+m.name)
		}
	}
	if lp.Capabilities == nil {
		return nil
	}
	for j, c := range lp.Capabilities.Add {
		if strings.TrimPrefix(strings.ToUpper(c), "CAP_") != capSysPtrace {
			return clientError(fmt.Sprintf("%s.capabilities.add[%d]", p, j), "Fargate adds only SYS_PTRACE; remove the others",
				"Tasks using the Fargate launch type only support adding the 'SYS_PTRACE' kernel capability.")
		}
	}
	return nil
}

// privateECR matches an image in a private Amazon ECR registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com/...).
var privateECR = regexp.MustCompile(`^[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/`)

// checkExecutionRole: Fargate pulls private ECR images and sends awslogs output with the task
// execution role, and ECS resolves secrets with it on every launch type.
func checkExecutionRole(td *TaskDefinition) *Error {
	if td.ExecutionRoleArn != nil && *td.ExecutionRoleArn != "" {
		return nil
	}
	const fix = "set executionRoleArn (a role with AmazonECSTaskExecutionRolePolicy), or on the Cluster's defaults"
	for i, c := range td.ContainerDefinitions {
		p := fmt.Sprintf("containerDefinitions[%d]", i)
		switch {
		case td.IsFargate() && c.LogConfiguration != nil && c.LogConfiguration.LogDriver == logDriverAWSLogs:
			return clientError(p+".logConfiguration.logDriver", fix, "Fargate requires task definition to have execution role ARN to support log driver awslogs.")
		case td.IsFargate() && privateECR.MatchString(c.Image):
			return clientError(p+".image", fix, "Fargate requires task definition to have execution role ARN to support ECR images.")
		case len(c.Secrets) > 0:
			return clientError(p+".secrets", fix, "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.")
		}
	}
	return nil
}

// checkContainerSizes: no container asks for more cpu or memory than the task has.
func checkContainerSizes(td *TaskDefinition) *Error {
	taskCPU, taskMem := parsedOrZero(td.Cpu, tasksize.ParseCPU), parsedOrZero(td.Memory, tasksize.ParseMemory)
	var cpu, mem int
	for i, c := range td.ContainerDefinitions {
		p := fmt.Sprintf("containerDefinitions[%d]", i)
		cpu += int(c.Cpu)
		m := 0
		switch {
		case c.Memory != nil:
			m = int(*c.Memory)
		case c.MemoryReservation != nil:
			m = int(*c.MemoryReservation)
		}
		mem += m
		if taskMem > 0 && c.Memory != nil && int(*c.Memory) > taskMem {
			return clientError(p+".memory", "lower it or raise the task's memory", "The 'memory' setting for container '%s' is greater than for the task.", c.Name)
		}
		if taskMem > 0 && c.MemoryReservation != nil && int(*c.MemoryReservation) > taskMem {
			return clientError(p+".memoryReservation", "lower it or raise the task's memory", "The 'memoryReservation' setting for container '%s' is greater than for the task.", c.Name)
		}
		if taskCPU > 0 && int(c.Cpu) > taskCPU {
			return clientError(p+".cpu", "lower it or raise the task's cpu", "The 'cpu' setting for container '%s' is greater than for the task.", c.Name)
		}
	}
	if taskCPU > 0 && cpu > taskCPU {
		return clientError("containerDefinitions", "lower the containers' cpu or raise the task's",
			"The sum of the containers' 'cpu' settings (%d) is greater than the task's cpu (%d).", cpu, taskCPU)
	}
	if taskMem > 0 && mem > taskMem {
		return clientError("containerDefinitions", "lower the containers' memory or raise the task's",
			"The sum of the containers' 'memory' settings (%d MiB) is greater than the task's memory (%d MiB).", mem, taskMem)
	}
	return nil
}

func parsedOrZero(s *string, parse func(string) (int, error)) int {
	if s == nil {
		return 0
	}
	n, err := parse(*s)
	if err != nil {
		return 0
	}
	return n
}
