package dataplane

import (
	"k8s.io/utils/clock"

	"github.com/nodeless-dev/nodeless/internal/dataplane/cloudmap"
	"github.com/nodeless-dev/nodeless/internal/dataplane/connectproxy"
	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// CloudMap is the data plane's Cloud Map over its store: the namespaces, services and instances
// its API serves and its scheduler registers ECS tasks in. The VPC's DNS server answers the
// private DNS namespaces' names from it (Registry.LookupName).
func (d *DataPlane) CloudMap() *cloudmap.Registry {
	return cloudmap.New(d.store, model.ARNs{Region: d.opts.Region, Account: d.opts.Account}, clock.RealClock{})
}

// ServiceConnect is the data plane's Service Connect proxy: the listeners of the client aliases'
// virtual addresses inside the VPC.
func (d *DataPlane) ServiceConnect() *connectproxy.Proxy { return d.connect }
