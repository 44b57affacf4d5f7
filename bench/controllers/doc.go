// Package controllers benchmarks the ECS controllers on the real kube-apiserver and the real local
// data plane: N Services with their TaskDefinitions, time until all are Ready, ECS calls per
// Service to converge, reads and writes at steady state, and the controller process's memory.
// Results are written down in bench/README.md.
package controllers
