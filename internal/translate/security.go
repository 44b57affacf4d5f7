package translate

import (
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
)

// defaultCapabilities is the capability set a container gets from Docker, containerd and Fargate
// alike (Fargate documents the same list under "Linux capabilities"). Kubernetes adds and drops
// relative to it.
var defaultCapabilities = []string{
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
	"NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

// fargateAddable are the capabilities Fargate lets a task add ("Tasks launched on Fargate only
// support adding the SYS_PTRACE kernel capability", KernelCapabilities in the ECS API).
var fargateAddable = []string{"SYS_PTRACE"}

// checkPodSecurity refuses Pod-level security settings ECS cannot give.
func (t *translator) checkPodSecurity() {
	sc := t.pod.Spec.SecurityContext
	if sc == nil {
		return
	}
	if p := sc.SupplementalGroupsPolicy; p != nil && *p == corev1.SupplementalGroupsPolicyStrict {
		t.ps.refuse("spec.securityContext.supplementalGroupsPolicy", ReasonValueNotSupported,
			"Strict leaves out the groups the image gives the user, which ECS cannot; use Merge or remove it")
	}
	checkProfiles("spec.securityContext", sc.SeccompProfile, sc.AppArmorProfile, t.ps)
}

func checkProfiles(path string, seccomp *corev1.SeccompProfile, apparmor *corev1.AppArmorProfile, ps *problems) {
	if seccomp != nil && seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		ps.refuse(path+".seccompProfile.type", ReasonValueNotSupported,
			"%s: ECS applies its own default seccomp profile and cannot change it; use RuntimeDefault or remove it", seccomp.Type)
	}
	if apparmor != nil && apparmor.Type != corev1.AppArmorProfileTypeRuntimeDefault {
		ps.refuse(path+".appArmorProfile.type", ReasonValueNotSupported,
			"%s: ECS applies its own AppArmor profile and cannot change it; use RuntimeDefault or remove it", apparmor.Type)
	}
}

// securityContext sets user, readonlyRootFilesystem and capabilities, and refuses privileged,
// Unmasked procMount and profiles other than RuntimeDefault.
func (t *translator) securityContext(path string, c *corev1.Container, def *ecstypes.ContainerDefinition) {
	sc := c.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	p := path + ".securityContext"
	psc := t.pod.Spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	uid, gid, nonRoot := sc.RunAsUser, sc.RunAsGroup, sc.RunAsNonRoot
	uidPath, gidPath := p+".runAsUser", p+".runAsGroup"
	if uid == nil {
		uid, uidPath = psc.RunAsUser, "spec.securityContext.runAsUser"
	}
	if gid == nil {
		gid, gidPath = psc.RunAsGroup, "spec.securityContext.runAsGroup"
	}
	if nonRoot == nil {
		nonRoot = psc.RunAsNonRoot
	}
	switch {
	case gid != nil && uid == nil:
		t.refuseOnce(gidPath, ReasonValueNotSupported,
			"a group without a user: ECS sets the user as uid:gid and cannot keep the image's user; set runAsUser too")
	case uid != nil && gid != nil:
		def.User = aws.String(strconv.FormatInt(*uid, 10) + ":" + strconv.FormatInt(*gid, 10))
	case uid != nil:
		def.User = aws.String(strconv.FormatInt(*uid, 10))
	}
	if isTrue(nonRoot) && uid != nil && *uid == 0 {
		t.refuseOnce(uidPath, ReasonInvalid, "0 with runAsNonRoot: the kubelet would not start the container either; use a non-zero user")
	}
	if isTrue(sc.Privileged) {
		t.ps.refuse(p+".privileged", ReasonPrivileged, "ECS tasks on Fargate cannot be privileged; remove it, and add only the capabilities the container needs")
	}
	if isTrue(sc.ReadOnlyRootFilesystem) {
		def.ReadonlyRootFilesystem = aws.Bool(true)
	}
	if sc.ProcMount != nil && *sc.ProcMount != corev1.DefaultProcMount {
		t.ps.refuse(p+".procMount", ReasonValueNotSupported, "%s: ECS masks /proc as usual; use Default or remove it", *sc.ProcMount)
	}
	checkProfiles(p, sc.SeccompProfile, sc.AppArmorProfile, t.ps)
	if sc.Capabilities != nil {
		def.LinuxParameters = t.capabilities(p+".capabilities", sc.Capabilities)
	}
}

// refuseOnce refuses a path once, however many containers inherit the Pod-level field.
func (t *translator) refuseOnce(path, reason, format string, args ...any) {
	if t.podChecked == nil {
		t.podChecked = map[string]bool{}
	}
	if t.podChecked[path] {
		return
	}
	t.podChecked[path] = true
	t.ps.refuse(path, reason, format, args...)
}

// capabilities expresses Kubernetes' add and drop as ECS's: drops as given (ALL as the default
// set), adds of default capabilities as drops left out (drop ALL + add NET_BIND_SERVICE is every
// default capability but NET_BIND_SERVICE dropped), adds Fargate allows as adds; other adds are
// refused. Names lose Kubernetes' optional CAP_ prefix.
func (t *translator) capabilities(path string, caps *corev1.Capabilities) *ecstypes.LinuxParameters {
	norm := func(c corev1.Capability) string { return strings.TrimPrefix(strings.ToUpper(string(c)), "CAP_") }
	drop := map[string]bool{}
	for _, d := range caps.Drop {
		if n := norm(d); n == "ALL" {
			for _, dc := range defaultCapabilities {
				drop[dc] = true
			}
		} else {
			drop[n] = true
		}
	}
	var add []string
	for i, a := range caps.Add {
		n := norm(a)
		switch {
		case slices.Contains(defaultCapabilities, n):
			delete(drop, n)
		case slices.Contains(fargateAddable, n):
			add = append(add, n)
		default:
			t.ps.refuse(path+".add["+strconv.Itoa(i)+"]", ReasonCapability,
				"%s: a task on Fargate keeps Docker's default capabilities and may add only %s; remove it", a, strings.Join(fargateAddable, ", "))
		}
	}
	kc := &ecstypes.KernelCapabilities{Add: add}
	for d := range drop {
		kc.Drop = append(kc.Drop, d)
	}
	slices.Sort(kc.Drop)
	if len(kc.Add) == 0 && len(kc.Drop) == 0 {
		return nil
	}
	return &ecstypes.LinuxParameters{Capabilities: kc}
}
