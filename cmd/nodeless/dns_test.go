package main

import (
	"strings"
	"testing"
)

func TestDNSResolver(t *testing.T) {
	for cidr, want := range map[string]string{"10.244.0.0/16": "10.244.0.1", "192.168.8.0/24": "192.168.8.1"} {
		got, err := dnsResolver(cidr)
		if err != nil || got.String() != want {
			t.Errorf("dnsResolver(%s) = %v, %v; want %s", cidr, got, err, want)
		}
	}
	if _, err := dnsResolver("10.0.2.0/24"); err == nil || !strings.Contains(err.Error(), "--vpc-cidr") {
		t.Errorf("a subnet the VPC refuses: %v, want an error naming --vpc-cidr", err)
	}
}
