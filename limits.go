package driverhub

import "time"

// Every limit of the product contract (SPEC.md), in one place. Validation in
// this package, the server's upload checks and the agent's unpacking all read
// these constants.
const (
	MaxDriverNameLen      = 20
	MaxDescriptionBytes   = 256
	MaxVersionLen         = 64
	MaxJVMArgsBytes       = 256
	MaxPackageBytes       = 50 << 20 // 52,428,800 bytes compressed
	MaxPackageEntries     = 10000
	MaxPackageUnpacked    = 512 << 20
	MaxKVPairs            = 100
	MaxKVKeyLen           = 64
	MaxKVValueBytes       = 1024
	MaxKVNoteBytes        = 256
	MaxJSONConfigBytes    = 1024
	MaxConfigFileBytes    = 1 << 20
	MaxConfigFileNameLen  = 255
	MaxPortMappings       = 10
	MaxDeviceMappings     = 10
	MaxVolumeMappings     = 10
	MaxMappingPathLen     = 128
	MaxDeviceCommentBytes = 128
	MinMemoryLimitMB      = 16
	MaxMemoryLimitMB      = 65536
	DefaultMemoryLimitMB  = 1024

	MaxInstanceNameLen     = 20
	MaxInstanceTags        = 20
	MaxTagKeyLen           = 64
	MaxTagValueLen         = 256
	MaxDeviceFieldLen      = 64
	MaxDriversPerInstance  = 30
	MaxDevicesPerInstance  = 1000
	MaxDeviceConfigBytes   = 1024
	MaxUsernameLen         = 64
	MinPasswordLen         = 8
	MaxPasswordLen         = 72 // bcrypt reads no further
	MaxTenantNameLen       = 40
	MaxTokenNameLen        = 64
	MaxListingTitleBytes   = 128
	MaxListingSummaryBytes = 1024

	// What one gateway request may carry (SPEC §13): a report or a log batch
	// of at most MaxGatewayBodyBytes; a report's log messages are cut at
	// MaxReportLogMessageBytes (with a marker), at most MaxReportLogEntries
	// per resource. The agent batches driver logs by bytes to stay below.
	MaxGatewayBodyBytes      = 1 << 20
	MaxReportLogMessageBytes = 4 << 10
	MaxReportLogEntries      = 200
	// What a deployment keeps of each resource's log, over all reports:
	// the newest entries whose compact JSON fits MaxResourceLogBytes (and
	// at most MaxReportLogEntries); of all its resources' logs together,
	// MaxDeploymentLogBytes, the largest logs losing their oldest entries
	// first. So deployment views stay small. A log entry's level is cut
	// at MaxReportLogLevelBytes.
	MaxResourceLogBytes    = 64 << 10
	MaxDeploymentLogBytes  = 1 << 20
	MaxReportLogLevelBytes = 16

	// Failed sign-ins (SPEC §13), as token buckets on each replica: a
	// user name may fail LoginFailuresPerUser times, then once more per
	// LoginUserRefill; a client address LoginFailuresPerAddress times,
	// then once per LoginAddressRefill; gateway secrets from one address
	// GatewayAuthFailuresPerAddress times, then once per
	// GatewayAuthAddressRefill. Past that, attempts answer 429.
	LoginFailuresPerUser          = 10
	LoginFailuresPerAddress       = 30
	GatewayAuthFailuresPerAddress = 60

	// A request body must arrive at MinRequestBodyRate bytes a second at
	// least, on average over each RequestBodyRateWindow (SPEC §13).
	MinRequestBodyRate = 1 << 10

	// An API token is TokenPrefix and MinTokenSecretChars to
	// MaxTokenSecretChars of [A-Za-z0-9_-]: no other is ever accepted, so
	// a configured admin token of another form stops the server at start.
	MinTokenSecretChars = 32
	MaxTokenSecretChars = 128

	// A gateway's report: its architecture and the built-in drivers it holds.
	MaxGatewayArchBytes = 32
	MaxBuiltinDrivers   = 1000
	// Each language runtime's version a gateway reports (SPEC §12), in
	// bytes of printable text.
	MaxRuntimeVersionBytes = 64

	DefaultPageLimit = 50
	MaxPageLimit     = 500
)

// StagedUploadTTL is how long a staged upload waits for the form that uses it.
const StagedUploadTTL = time.Hour

// Signed drivers (SPEC §11): how large uploaded TUF metadata may be, and
// how long each role's metadata lives. The CLI signs root and targets for
// TUFRootExpiry and TUFTargetsExpiry unless told otherwise; the server
// signs snapshot for TUFSnapshotExpiry and timestamp for the server's
// --tuf-timestamp-expiry (at least MinTUFTimestampExpiry), and re-signs
// each when half its life has passed.
const (
	MaxTUFMetadataBytes       = 8 << 20
	TUFRootExpiry             = 365 * 24 * time.Hour
	TUFTargetsExpiry          = 90 * 24 * time.Hour
	TUFSnapshotExpiry         = 7 * 24 * time.Hour
	DefaultTUFTimestampExpiry = 24 * time.Hour
	MinTUFTimestampExpiry     = 10 * time.Second
)

// Storage (SPEC §13). A filesystem blob store (and the S3 store's upload
// spool) leaves MinFreeDiskBytes free, for the database that usually
// shares its disk: below that, uploads answer 507 insufficient_storage
// and /readyz says not ready, while deleting drafts still works.
// Unreferenced blobs go once they have been so for DefaultBlobGrace
// (--blob-grace), at the earliest.
// The server also keeps DiskReserveBytes in a file beside its SQLite
// database, which it deletes when the disk fills to its last byte anyway.
const (
	MinFreeDiskBytes = 64 << 20
	DiskReserveBytes = 16 << 20
	DefaultBlobGrace = time.Hour
	// MinBlobGrace keeps the grace well above any transaction's length,
	// which the collector's safety rests on (docs/production.md).
	MinBlobGrace = 10 * time.Minute
)

// Connections and sign-ins (SPEC §13); see the counts above.
const (
	// DefaultIdleTimeout closes a keep-alive connection idle this long
	// (`driverhub server --idle-timeout`).
	DefaultIdleTimeout = 2 * time.Minute
	// RequestBodyRateWindow is the span over which MinRequestBodyRate is
	// averaged: a body is cut when a window passes with fewer than
	// MinRequestBodyRate × 30 bytes.
	RequestBodyRateWindow = 30 * time.Second
	// RequestHeaderTimeout bounds how long a client may take to send a
	// request's headers.
	RequestHeaderTimeout = 10 * time.Second

	LoginUserRefill          = time.Minute
	LoginAddressRefill       = 10 * time.Second
	GatewayAuthAddressRefill = time.Second
)

// Fleet rollouts (SPEC §10): a rollout's name, its waves, the instances
// it may target (named, or matched by tags), and its wave timeout.
const (
	MaxRolloutNameLen = 64
	MaxRolloutWaves   = 10
	MaxRolloutTargets = 50000
	MinWaveTimeout    = 10 * time.Second
	MaxWaveTimeout    = 7 * 24 * time.Hour
)
