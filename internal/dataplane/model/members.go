package model

import (
	"slices"
	"strings"
)

// Container and service members beyond the core ones of types.go (api/ecs/v1alpha1's
// members_*_types.go are their CRD side). Members of the ECS shapes that these types lack are
// refused by name when a request sets them (ecsmodel.CheckInput): LinuxParameters' devices,
// sharedMemorySize, tmpfs, maxSwap and swappiness, which Fargate does not support either.

// LinuxParameters of a container: the members Fargate supports.
type LinuxParameters struct {
	Capabilities       *KernelCapabilities `json:"capabilities,omitempty"`
	InitProcessEnabled *bool               `json:"initProcessEnabled,omitempty"`
}

// KernelCapabilities added to or dropped from a container's default set, without the CAP_ prefix.
type KernelCapabilities struct {
	Add  []string `json:"add,omitempty"`
	Drop []string `json:"drop,omitempty"`
}

// RepositoryCredentials name the Secrets Manager secret holding a private registry's username and
// password (a JSON object {"username": ..., "password": ...}).
type RepositoryCredentials struct {
	CredentialsParameter string `json:"credentialsParameter"`
}

// DeploymentAlarms fail a deployment when a CloudWatch alarm fires.
type DeploymentAlarms struct {
	AlarmNames []string `json:"alarmNames"`
	Enable     bool     `json:"enable"`
	Rollback   bool     `json:"rollback"`
}

// IsCapability reports whether name is a Linux capability name ECS accepts in KernelCapabilities
// (ECS API reference, KernelCapabilities), spelled without CAP_.
func IsCapability(name string) bool { return slices.Contains(capabilities, name) }

// CapabilityName is a capability as ECS takes it (any case, CAP_ or not) in its ECS spelling:
// upper case, without CAP_.
func CapabilityName(c string) string { return strings.TrimPrefix(strings.ToUpper(c), "CAP_") }

var capabilities = []string{
	"ALL", "AUDIT_CONTROL", "AUDIT_WRITE", "BLOCK_SUSPEND", "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH",
	"FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN",
	"MAC_OVERRIDE", "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "SETFCAP",
	"SETGID", "SETPCAP", "SETUID", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE",
	"SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "SYSLOG", "WAKE_ALARM",
}

// RegistryAuth is a private registry's username and password, read from the secret a container's
// repositoryCredentials name when its task starts; never stored nor logged.
type RegistryAuth struct {
	Username, Password string
}
