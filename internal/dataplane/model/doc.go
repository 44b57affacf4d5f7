// Package model holds the ECS resource shapes as the local data plane speaks and stores them. Member
// names and JSON tags are the ECS API's own (awsJson1_1), so one struct serves the wire and the store.
// Timestamps are epoch seconds on the wire, as the ECS protocol encodes them (see Time).
package model
