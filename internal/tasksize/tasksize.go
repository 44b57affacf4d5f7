package tasksize

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strings"
)

// Units: 1 vCPU is 1024 CPU units; 1 GB is 1024 MiB, as ECS counts them.
const (
	UnitsPerVCPU = 1024
	MiBPerGB     = 1024
)

var (
	integer = regexp.MustCompile(`^[0-9]+$`)
	// vcpu and gb: a decimal number ("1", "0.25", ".5"), optional blanks, and the unit, in any case.
	vcpu = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*(?i:vcpu)$`)
	gb   = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*(?i:gb)$`)
)

// ParseCPU reads a task-level cpu value as RegisterTaskDefinition accepts it and returns CPU units:
// an integer of CPU units ("1024"), or vCPUs ("1 vCPU", "1 vcpu", "0.25 vCPU", ".5vcpu"), which
// must come to a whole number of units. Blanks around the value are ignored. Anything else —
// empty, zero, negative, another unit ("1 core", "1000m") — is an error saying what to write.
func ParseCPU(s string) (int, error) {
	t := strings.TrimSpace(s)
	if integer.MatchString(t) {
		return whole(t, 1, "cpu", s, `CPU units ("256", "1024") or vCPUs ("0.25 vCPU", "1 vCPU")`)
	}
	if m := vcpu.FindStringSubmatch(t); m != nil {
		return whole(m[1], UnitsPerVCPU, "cpu", s, `CPU units ("256", "1024") or vCPUs ("0.25 vCPU", "1 vCPU")`)
	}
	return 0, fmt.Errorf(`cpu %q: give CPU units ("256", "1024") or vCPUs ("0.25 vCPU", "1 vCPU")`, s)
}

// ParseMemory reads a task-level memory value as RegisterTaskDefinition accepts it and returns MiB:
// an integer of MiB ("2048"), or GB ("2 GB", "2GB", "0.5 GB", in any case), which must come to a
// whole number of MiB. Other units ("512 MiB", "2Gi", "512 MB") are not part of ECS's grammar and
// are errors, as are empty, zero and negative values.
func ParseMemory(s string) (int, error) {
	t := strings.TrimSpace(s)
	if integer.MatchString(t) {
		return whole(t, 1, "memory", s, `MiB ("512", "2048") or GB ("0.5 GB", "2 GB")`)
	}
	if m := gb.FindStringSubmatch(t); m != nil {
		return whole(m[1], MiBPerGB, "memory", s, `MiB ("512", "2048") or GB ("0.5 GB", "2 GB")`)
	}
	return 0, fmt.Errorf(`memory %q: give MiB ("512", "2048") or GB ("0.5 GB", "2 GB")`, s)
}

// whole is number × per when that is a whole number from 1 to MaxInt32 (ECS's integer range).
func whole(number string, per int64, member, orig, forms string) (int, error) {
	r, ok := new(big.Rat).SetString(number)
	if !ok {
		return 0, fmt.Errorf("%s %q: give %s", member, orig, forms)
	}
	r.Mul(r, new(big.Rat).SetInt64(per))
	if !r.IsInt() {
		return 0, fmt.Errorf("%s %q is not a whole number of %s; give %s", member, orig, unit(member), forms)
	}
	n := r.Num()
	if n.Sign() <= 0 || !n.IsInt64() || n.Int64() > math.MaxInt32 {
		return 0, fmt.Errorf("%s %q is out of range: give a positive value up to %d %s", member, orig, math.MaxInt32, unit(member))
	}
	return int(n.Int64()), nil
}

func unit(member string) string {
	if member == "cpu" {
		return "CPU units"
	}
	return "MiB"
}

// fargateRow is one row of the Fargate task size table: with cpu, the memory values listed, or
// from min to max MiB in steps of step MiB.
type fargateRow struct {
	cpu            int
	listed         []int
	min, max, step int
}

// fargateTable is the Fargate task size table of the ECS Developer Guide, as RegisterTaskDefinition's
// memory member documents it (Linux; 8 and 16 vCPU need platform 1.4.0, the local data plane's).
// The CRD's CEL rule on TaskDefinitionSpec must accept exactly these pairs: api/ecs/v1alpha1's
// tests hold them equal.
var fargateTable = []fargateRow{
	{cpu: 256, listed: []int{512, 1024, 2048}},
	{cpu: 512, min: 1024, max: 4096, step: 1024},
	{cpu: 1024, min: 2048, max: 8192, step: 1024},
	{cpu: 2048, min: 4096, max: 16384, step: 1024},
	{cpu: 4096, min: 8192, max: 30720, step: 1024},
	{cpu: 8192, min: 16384, max: 61440, step: 4096},
	{cpu: 16384, min: 32768, max: 122880, step: 8192},
}

// FargateCPUs returns the task cpu values (CPU units) Fargate runs, ascending.
func FargateCPUs() []int {
	out := make([]int, 0, len(fargateTable))
	for _, r := range fargateTable {
		out = append(out, r.cpu)
	}
	return out
}

// FargateMemories returns the task memory values (MiB) Fargate runs with cpu (CPU units),
// ascending; nil when cpu is not a Fargate cpu value.
func FargateMemories(cpu int) []int {
	for _, r := range fargateTable {
		if r.cpu != cpu {
			continue
		}
		if r.listed != nil {
			return slices.Clone(r.listed)
		}
		var out []int
		for m := r.min; m <= r.max; m += r.step {
			out = append(out, m)
		}
		return out
	}
	return nil
}

// IsFargate reports whether Fargate runs a task of cpu CPU units and memory MiB.
func IsFargate(cpu, memory int) bool { return slices.Contains(FargateMemories(cpu), memory) }

// CheckFargate returns nil when Fargate runs a task of cpu CPU units and memory MiB, and otherwise
// an error naming what to use instead.
func CheckFargate(cpu, memory int) error {
	mems := FargateMemories(cpu)
	if mems == nil {
		return fmt.Errorf("cpu: %d is not a Fargate cpu value; use one of %v", cpu, FargateCPUs())
	}
	if !slices.Contains(mems, memory) {
		return fmt.Errorf("memory: %d MiB is not valid with cpu %d on Fargate; use one of %v", memory, cpu, mems)
	}
	return nil
}
