package runtime

import (
	"context"
	"fmt"
	"slices"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/oci"
	"github.com/containerd/containerd/remotes/docker"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// withCapabilities adds and drops ECS linuxParameters.capabilities (names without CAP_; "ALL"
// drops every capability) in each of the process's capability sets, drops first, as Docker's
// --cap-drop and --cap-add do.
func withCapabilities(caps *model.KernelCapabilities) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if caps == nil || (len(caps.Add) == 0 && len(caps.Drop) == 0) {
			return nil
		}
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		if s.Process.Capabilities == nil {
			s.Process.Capabilities = &specs.LinuxCapabilities{}
		}
		c := s.Process.Capabilities
		for _, set := range []*[]string{&c.Bounding, &c.Effective, &c.Permitted} {
			*set = changeCapabilities(*set, caps)
		}
		return nil
	}
}

func changeCapabilities(set []string, caps *model.KernelCapabilities) []string {
	out := slices.Clone(set)
	for _, d := range caps.Drop {
		d = model.CapabilityName(d)
		if d == "ALL" {
			out = nil
			continue
		}
		out = slices.DeleteFunc(out, func(c string) bool { return c == "CAP_"+d })
	}
	for _, a := range caps.Add {
		if a = model.CapabilityName(a); !slices.Contains(out, "CAP_"+a) {
			out = append(out, "CAP_"+a)
		}
	}
	return out
}

// capabilitiesOf is the container's linuxParameters.capabilities, nil when none.
func capabilitiesOf(def *model.ContainerDefinition) *model.KernelCapabilities {
	if def.LinuxParameters == nil {
		return nil
	}
	return def.LinuxParameters.Capabilities
}

// pullOpts are the options of a pull: unpacked for the snapshotter, with auth's username and
// password for every registry host when the container has repositoryCredentials. Registries on
// localhost are spoken to over plain HTTP, as containerd's default resolver does.
func pullOpts(auth *model.RegistryAuth) []containerd.RemoteOpt {
	opts := []containerd.RemoteOpt{containerd.WithPullUnpack, containerd.WithPullSnapshotter(snapshotter)}
	if auth == nil {
		return opts
	}
	creds := func(string) (string, string, error) { return auth.Username, auth.Password, nil }
	resolver := docker.NewResolver(docker.ResolverOptions{Hosts: docker.ConfigureDefaultRegistries(
		docker.WithAuthorizer(docker.NewDockerAuthorizer(docker.WithAuthCreds(creds))),
		docker.WithPlainHTTP(docker.MatchLocalhost),
	)})
	return append(opts, containerd.WithResolver(resolver))
}

// applyRegistryAuth gives the container the credentials of its repositoryCredentials; when
// required (Start), credentials nobody resolved are an error, as a pull without them would hide
// the problem.
func applyRegistryAuth(cs *containerSpec, rc *model.RepositoryCredentials, resolved map[string]model.RegistryAuth, required bool) error {
	if rc == nil {
		return nil
	}
	auth, ok := resolved[cs.Name]
	if !ok {
		if required {
			return fmt.Errorf("ResourceInitializationError: unable to pull secrets or registry auth: container %s: repositoryCredentials %s were not resolved before the task started",
				cs.Name, rc.CredentialsParameter)
		}
		return nil
	}
	cs.Auth = &auth
	return nil
}
