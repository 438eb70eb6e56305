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

// Fleet rollouts (SPEC §10): a rollout's name, its waves, the instances
// it may target (named, or matched by tags), and its wave timeout.
const (
	MaxRolloutNameLen = 64
	MaxRolloutWaves   = 10
	MaxRolloutTargets = 50000
	MinWaveTimeout    = 10 * time.Second
	MaxWaveTimeout    = 7 * 24 * time.Hour
)
