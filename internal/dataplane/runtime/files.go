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

// fallbackNameservers are used when the host's resolv.conf names only loopback resolvers, which the
// task's own loopback cannot reach.
var fallbackNameservers = []string{"1.1.1.1", "8.8.8.8"}

// resolvConf derives the task's resolv.conf from the host's: loopback nameservers dropped.
func resolvConf(host []byte) []byte {
	var out bytes.Buffer
	servers := 0
	sc := bufio.NewScanner(bytes.NewReader(host))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "nameserver" {
			if ip := net.ParseIP(fields[1]); ip == nil || ip.IsLoopback() {
				continue
			}
			servers++
		}
		out.WriteString(line + "\n")
	}
	if servers == 0 {
		for _, ns := range fallbackNameservers {
			out.WriteString("nameserver " + ns + "\n")
		}
	}
	return out.Bytes()
}

func hostsFile(hostname string) []byte {
	return []byte(fmt.Sprintf("127.0.0.1\tlocalhost %[1]s\n::1\tlocalhost ip6-localhost ip6-loopback %[1]s\n", hostname))
}

// writeTaskFiles writes the task's resolv.conf, hosts and hostname under dir.
func writeTaskFiles(dir, hostname string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating task directory: %w", err)
	}
	host, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		host = nil
	}
	files := map[string][]byte{
		"resolv.conf": resolvConf(host),
		"hosts":       hostsFile(hostname),
		"hostname":    []byte(hostname + "\n"),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			return fmt.Errorf("writing task %s: %w", name, err)
		}
	}
	return nil
}
