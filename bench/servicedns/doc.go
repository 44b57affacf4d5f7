// Package servicedns benchmarks the VPC's DNS server (internal/servicedns): answers per second
// and p99 latency of Service names, headless Services and the NXDOMAIN answers of the search list,
// with 8 clients over UDP on 127.0.0.1, from a View of 1,000 Services (100 of them headless with 10
// ready endpoints each). Run it with
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/servicedns
//
// It needs nothing but loopback. The server runs on 127.0.0.1 rather than on the VPC's gateway:
// the code that answers is the same; the VPC adds one veth hop.
package servicedns
