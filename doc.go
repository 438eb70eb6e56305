// Package driverhub is the domain of driverhub: the control plane that
// publishes IoT edge drivers, binds them with sub-devices to edge instances
// and deploys them to gateways, and the edge agent that runs them.
//
// This package holds what every other part agrees on, on the standard
// library alone:
//
//   - the types of the product (drivers, versions, configs, container
//     settings, instances, devices, bindings, deployments, manifests,
//     gateway reports, accounts) and their validation (driver.go,
//     driverconfig.go, container.go, instance.go, account.go);
//   - every limit of the product contract (limits.go);
//   - the vocabularies that cross the wire, with their methods (vocab.go:
//     runtimes and their start commands, stages, driver states, resource
//     types, problem codes, deployment types and statuses);
//   - the service interfaces the handlers call (service.go), the store and
//     blob store interfaces the adapters implement (store.go, blob.go);
//   - one error type, Error, whose codes the API maps to HTTP statuses
//     (error.go).
//
// Business rules live in internal/service; internal/httpapi and
// internal/console translate HTTP to service calls; internal/sqlstore,
// internal/sqlite, internal/postgres, internal/fsblob and internal/s3blob
// store; internal/server assembles a running control plane; internal/agent
// applies deployments on a gateway through the runtimes of
// internal/driverrt. docs/architecture.md draws the picture.
package driverhub
