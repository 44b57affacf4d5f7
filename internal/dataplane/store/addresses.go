package store

import (
	"errors"
)

// AddressRecord is one IPv4 address of the local VPC's subnet, held by a task from the moment the
// scheduler assigns it until the task's runtime is removed (package ipam owns these records).
type AddressRecord struct {
	// Address is the dotted IPv4 address, e.g. "10.244.0.5".
	Address string `json:"address"`
	// Owner is the ID of the task that holds it.
	Owner string `json:"owner"`
}

// GetAddress returns the record of addr ("10.244.0.5"), or ErrNotFound when no task holds it.
func (tx *Tx) GetAddress(addr string) (*AddressRecord, error) {
	return get[AddressRecord](tx, bucketAddrs, addr)
}

// PutAddress records that r.Owner holds r.Address.
func (tx *Tx) PutAddress(r *AddressRecord) error { return put(tx, bucketAddrs, r.Address, r) }

// DeleteAddress frees addr; freeing an address nobody holds is not an error.
func (tx *Tx) DeleteAddress(addr string) error { return del(tx, bucketAddrs, addr) }

// Addresses returns every held address, in key order (the dotted strings' order, not numeric).
func (tx *Tx) Addresses() ([]*AddressRecord, error) {
	var out []*AddressRecord
	err := each(tx, bucketAddrs, "", func(_ string, r *AddressRecord) bool { out = append(out, r); return true })
	return out, err
}

// Setting returns a value the data plane keeps about itself (the VPC's subnet, the IPAM's cursor),
// or "" when it was never set.
func (tx *Tx) Setting(name string) string {
	return string(tx.btx.Bucket(bucketMeta).Get([]byte("setting/" + name)))
}

// PutSetting records a value the data plane keeps about itself; "" deletes it.
func (tx *Tx) PutSetting(name, value string) error {
	if name == "" {
		return errors.New("setting without a name")
	}
	tx.wrote = true
	b := tx.btx.Bucket(bucketMeta)
	if value == "" {
		return b.Delete([]byte("setting/" + name))
	}
	return b.Put([]byte("setting/"+name), []byte(value))
}
