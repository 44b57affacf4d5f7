// Package throttle makes the local data plane throttle as ECS does, when asked to (`nodeless
// dataplane --emulate-throttling`, ecsmem.Options.Throttle): an http.Handler in front of the ECS
// API that takes, for each request, a token from the bucket of its operation and answers a request
// that finds its bucket empty with ECS's own answer, HTTP 400 ThrottlingException "Rate exceeded.",
// before the request reaches the API server (nothing of it happens).
//
// The buckets are ecsapi.DefaultLimits, ECS's documented request throttling ("Request throttling
// for the Amazon ECS API", Amazon ECS API Reference): one encoding of the numbers for the
// client-side limiter and this emulation. Operations without a bucket, and Secrets Manager requests
// on the same endpoint, pass untouched.
//
// The point is to test the controllers as AWS treats them: their backoff on ThrottlingException
// (the SDK's retryer, then the controllers' requeue) must lose no update and duplicate nothing.
package throttle
