package model

// ServiceRegistry is one entry of a service's serviceRegistries: the Cloud Map service its tasks
// are registered in (registryArn), and the port of their SRV records (port, or containerName and
// containerPort of the task definition).
type ServiceRegistry struct {
	RegistryArn   *string `json:"registryArn,omitempty"`
	Port          *int32  `json:"port,omitempty"`
	ContainerName *string `json:"containerName,omitempty"`
	ContainerPort *int32  `json:"containerPort,omitempty"`
}

// ServiceConnectConfiguration is a service's Service Connect configuration, as CreateService and
// UpdateService take it and as its deployments report it. The members the local data plane
// cannot honour (tls, timeout, ingressPortOverride, logConfiguration, accessLogConfiguration) are
// not here, so requests carrying them are refused by name.
type ServiceConnectConfiguration struct {
	Enabled   bool                    `json:"enabled"`
	Namespace *string                 `json:"namespace,omitempty"`
	Services  []ServiceConnectService `json:"services,omitempty"`
}

// ServiceConnectService is one port of a service published through Service Connect.
type ServiceConnectService struct {
	PortName      *string                     `json:"portName,omitempty"`
	DiscoveryName *string                     `json:"discoveryName,omitempty"`
	ClientAliases []ServiceConnectClientAlias `json:"clientAliases,omitempty"`
}

// ServiceConnectClientAlias is a name and port clients reach a Service Connect service at.
type ServiceConnectClientAlias struct {
	Port    *int32  `json:"port,omitempty"`
	DNSName *string `json:"dnsName,omitempty"`
}

// ServiceConnectServiceResource is the Cloud Map service a deployment's Service Connect service
// registers in.
type ServiceConnectServiceResource struct {
	DiscoveryName *string `json:"discoveryName,omitempty"`
	DiscoveryArn  *string `json:"discoveryArn,omitempty"`
}
