// Package serviceproxy benchmarks the load balancer's own cost (internal/serviceproxy.Pool) in one
// process on 127.0.0.1: GET / of a Go HTTP server straight, through a Pool in front of it and
// through a Pool sending PROXY protocol v2 headers, with
// a new connection per request and with kept-alive connections, the paths interleaved in rounds so
// that the machine's load hits them alike; it reports the throughput ratio lb/direct and the p50
// and p99 the Pool adds. Run it with
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/serviceproxy
//	# NODELESS_BENCH_LB_SECONDS (2 per path and round), NODELESS_BENCH_LB_WORKERS (8),
//	# NODELESS_BENCH_LB_ROUNDS (3); add -cpuprofile cpu.out to see where the Pool's time goes
//
// It needs nothing but loopback. The dial into the VPC's namespace and the veth hop of `nodeless
// up` are not in it (bench/pods BenchmarkLoadBalancer has them, with real containers).
package serviceproxy
