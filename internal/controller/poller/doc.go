// Package poller is the batched poller the controllers observe an external API with: it keeps
// the last description of every tracked object, refreshes them in batches per cluster (as few
// calls as the API's batch limits allow; resources that are changing often, resources at rest
// rarely) and wakes up, through a controller-runtime source, only the objects whose description
// changed. Reconcilers read their description from it, so a resync costs no external call.
//
// It knows nothing of ECS or of any kind: a Describer does the calls, a Fingerprint says what
// counts as a change.
package poller
