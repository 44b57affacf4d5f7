package vpc

import (
	"fmt"
	"net"
)

// Listen opens a TCP listener (network "tcp" or "tcp4") on address inside the VPC's namespace, for
// servers that tasks reach at an address of the VPC (nodeless's DNS server on the gateway).
// The VPC must be set up (Ready).
func (v *VPC) Listen(network, address string) (net.Listener, error) {
	var l net.Listener
	err := inNamespace(v.nsPath, func() error {
		var err error
		l, err = net.Listen(network, address)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listening on %s/%s in the VPC: %w", network, address, err)
	}
	return l, nil
}

// ListenPacket opens a UDP socket (network "udp" or "udp4") on address inside the VPC's namespace.
// The VPC must be set up (Ready).
func (v *VPC) ListenPacket(network, address string) (net.PacketConn, error) {
	var pc net.PacketConn
	err := inNamespace(v.nsPath, func() error {
		var err error
		pc, err = net.ListenPacket(network, address)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listening on %s/%s in the VPC: %w", network, address, err)
	}
	return pc, nil
}
