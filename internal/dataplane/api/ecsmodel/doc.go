// Package ecsmodel is the ECS API model (botocore's service-2.json, API version 2014-11-13, stripped
// to types, members, required members, enums and bounds) and two walkers over it:
//
//   - CheckInput validates a request body against an operation's input shape and, at the same time,
//     against the Go type the server decodes it into. It names the offending member in every error
//     (`containerDefinitions[1].dependsOn[0].containerName`), so the API server's 400s say what to fix.
//   - CheckOutput checks a response body against an operation's output shape: required members
//     present, enum values known, types right, no member the model does not know. The conformance
//     tests run it on every response.
//
// model.json is generated from the shared model by gen/main.go (see go:generate below); botocore's
// model is Apache License 2.0.
package ecsmodel

//go:generate sh -c "go run gen/main.go ../../../../../shared/ecs-model/service-2.json > model.json"
