// Package integration tests the reconcile skeleton (internal/controller/reconciler) on the real
// kube-apiserver (internal/testenv) with a small recording Steps implementation: conditions and
// requeues per outcome, the finalizer, deletion, the status patch and its conflicts, NotFound,
// and a Pod as the reconciled kind. It holds tests only; they link the embedded control plane,
// so they live apart from the package's fast unit tests.
package integration
