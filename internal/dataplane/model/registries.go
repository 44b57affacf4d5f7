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
