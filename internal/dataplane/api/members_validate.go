package api

import (
	"fmt"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// Checks of the container and service members of model/members.go, as Fargate makes them, or
// refusals by name of what the local data plane cannot do.

// checkContainerMembers checks linuxParameters, repositoryCredentials and
// logConfiguration.secretOptions of the container at p.
func checkContainerMembers(p string, d *model.ContainerDefinition) error {
	if err := checkLinuxParameters(p+".linuxParameters", d.LinuxParameters); err != nil {
		return err
	}
	if rc := d.RepositoryCredentials; rc != nil && rc.CredentialsParameter == "" {
		return invalidParameter("%s.repositoryCredentials.credentialsParameter: required; the ARN or name of the Secrets Manager secret holding the registry's username and password", p)
	}
	if lc := d.LogConfiguration; lc != nil {
		for i, s := range lc.SecretOptions {
			if s.Name == "" || s.ValueFrom == "" {
				return invalidParameter("%s.logConfiguration.secretOptions[%d]: name and valueFrom are required", p, i)
			}
		}
	}
	return nil
}

// checkLinuxParameters: capability names ECS knows (with or without CAP_, in any case, as ECS
// takes them), no init process (the local data plane has no init binary to run as PID 1). What
// Fargate refuses (adding anything but SYS_PTRACE, devices, tmpfs, ...) is package fargate's rule,
// applied before the request is decoded (precheck).
func checkLinuxParameters(p string, lp *model.LinuxParameters) error {
	if lp == nil {
		return nil
	}
	if lp.InitProcessEnabled != nil && *lp.InitProcessEnabled {
		return invalidParameter("%s.initProcessEnabled: not supported by the nodeless local data plane (it has no init process to run as PID 1); remove it or set it to false", p)
	}
	caps := lp.Capabilities
	if caps == nil {
		return nil
	}
	for set, names := range map[string][]string{"add": caps.Add, "drop": caps.Drop} {
		for i, c := range names {
			if err := checkCapability(fmt.Sprintf("%s.capabilities.%s[%d]", p, set, i), c); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkCapability(member, c string) error {
	if !model.IsCapability(model.CapabilityName(c)) {
		return invalidParameter("%s: %q is not a Linux capability ECS knows; use a name such as SYS_PTRACE or NET_RAW", member, c)
	}
	return nil
}

// checkAlarms refuses deployment alarms that are turned on: there is no CloudWatch locally to
// watch them. Alarms turned off are stored and shown.
func checkAlarms(a *model.DeploymentAlarms) error {
	if a != nil && (a.Enable || a.Rollback) {
		return invalidParameter("deploymentConfiguration.alarms: CloudWatch alarms are not available on the nodeless local data plane; set enable and rollback to false or remove alarms (the deployment circuit breaker works locally)")
	}
	return nil
}
