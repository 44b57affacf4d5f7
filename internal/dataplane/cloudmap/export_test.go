package cloudmap

// SetMaxOperations lowers how many operations r keeps, for tests of the bound.
func SetMaxOperations(r *Registry, n int) { r.maxOperations = n }
