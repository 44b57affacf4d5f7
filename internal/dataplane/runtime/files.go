package runtime

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// fallbackNameservers are used when the host's resolv.conf names only loopback resolvers and the
// task is not on the VPC (whose uplink forwards to the host's resolver).
var fallbackNameservers = []string{"1.1.1.1", "8.8.8.8"}

// resolvConf derives the task's resolv.conf from the host's. A loopback nameserver cannot be reached
// from the task's namespace: it becomes vpcDNS (the VPC uplink's forwarder to the host's resolver)
// when the task is on the VPC, and is dropped otherwise. A file left without a nameserver gets
// vpcDNS, or else the public fallbacks.
func resolvConf(host []byte, vpcDNS string) []byte {
	var out bytes.Buffer
	servers := 0
	sc := bufio.NewScanner(bytes.NewReader(host))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "nameserver" {
			if ip := net.ParseIP(fields[1]); ip == nil || ip.IsLoopback() {
				if vpcDNS == "" || servers > 0 {
					continue
				}
				line = "nameserver " + vpcDNS
			}
			servers++
		}
		out.WriteString(line + "\n")
	}
	if servers > 0 {
		return out.Bytes()
	}
	nameservers := fallbackNameservers
	if vpcDNS != "" {
		nameservers = []string{vpcDNS}
	}
	for _, ns := range nameservers {
		out.WriteString("nameserver " + ns + "\n")
	}
	return out.Bytes()
}

// hostsFile maps localhost, and the task's hostname to its VPC address (ip, "" when the task is not
// on the VPC) as a kubelet maps a Pod's name to its IP, else to loopback.
func hostsFile(hostname, ip string) []byte {
	if ip == "" {
		return []byte(fmt.Sprintf("127.0.0.1\tlocalhost %[1]s\n::1\tlocalhost ip6-localhost ip6-loopback %[1]s\n", hostname))
	}
	return []byte(fmt.Sprintf("127.0.0.1\tlocalhost\n%s\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n", ip, hostname))
}

// taskFiles is what writeTaskFiles writes.
type taskFiles struct {
	hostname string
	// ip is the task's VPC address and vpcDNS the VPC's nameserver ("" when not on the VPC).
	ip, vpcDNS string
	// resolver is nodeless's DNS server in the VPC ("" when none runs, or not on the VPC).
	resolver string
	// dns are the task's own resolv.conf settings (nil: none).
	dns *TaskDNS
}

// writeTaskFiles writes the task's resolv.conf, hosts and hostname under dir.
func writeTaskFiles(dir string, f taskFiles) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating task directory: %w", err)
	}
	host, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		host = nil
	}
	files := map[string][]byte{
		"resolv.conf": taskResolvConf(host, f.vpcDNS, f.resolver, f.dns),
		"hosts":       hostsFile(f.hostname, f.ip),
		"hostname":    []byte(f.hostname + "\n"),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			return fmt.Errorf("writing task %s: %w", name, err)
		}
	}
	return nil
}
