package driverhub

import (
	"encoding/json"
	"time"
)

// Deployment is one request to make a gateway match a snapshot of its
// instance (deploy) or to empty it (reset).
type Deployment struct {
	ID         string       `json:"id"`
	InstanceID string       `json:"-"`
	Instance   string       `json:"instance"`
	Type       DeployType   `json:"type"`
	Status     DeployStatus `json:"status"`
	Reason     string       `json:"reason,omitempty"`
	CreatedAt  time.Time    `json:"created_at"`
	StartedAt  *time.Time   `json:"started_at"`
	FinishedAt *time.Time   `json:"finished_at"`
	Resources  []Resource   `json:"resources"`
	// Manifest is what the gateway fetches: frozen at creation.
	Manifest *Manifest `json:"-"`
}

// Finished reports whether d can no longer change.
func (d *Deployment) Finished() bool { return d.Status.Finished() }

// Resource is one part of a deployment and its progress on the gateway.
type Resource struct {
	Type   ResourceType `json:"type"`
	Name   string       `json:"name"`
	Stage  Stage        `json:"stage"`
	Status DeployStatus `json:"status"`
	Log    []LogEntry   `json:"log"`
}

// LogEntry is one line of a resource's deployment log.
type LogEntry struct {
	Time    time.Time `json:"time"`
	Level   string    `json:"level"`
	Stage   Stage     `json:"stage"`
	Message string    `json:"message"`
}

// Manifest is the desired state of a gateway (SPEC §6).
type Manifest struct {
	DeploymentID string           `json:"deployment_id"`
	Type         DeployType       `json:"type"`
	Drivers      []ManifestDriver `json:"drivers"`
}

// ManifestDriver is one driver a gateway should run.
type ManifestDriver struct {
	ID            string        `json:"id"`
	Name          string        `json:"name"`
	Publisher     string        `json:"publisher"`
	Version       string        `json:"version"`
	Runtime       Runtime       `json:"runtime"`
	CPUArch       string        `json:"cpu_arch"`
	Builtin       bool          `json:"builtin"`
	JVMArgs       string        `json:"jvm_args"`
	MinEdge       string        `json:"min_edge_version"`
	Package       *BlobLink     `json:"package"`
	ConfigFile    *BlobLink     `json:"config_file"`
	Container     Container     `json:"container"`
	RuntimeConfig RuntimeConfig `json:"runtime_config"`
}

// BlobLink is where a gateway downloads a blob.
type BlobLink struct {
	Name   string `json:"name,omitempty"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	URL    string `json:"url"`
}

// RuntimeConfig is exactly the JSON a driver receives (SPEC §7).
type RuntimeConfig struct {
	DeviceList []RuntimeDevice   `json:"deviceList"`
	Config     RuntimeDriverConf `json:"config"`
}

// RuntimeDevice is a device as the driver SDKs expect it.
type RuntimeDevice struct {
	ProductKey string `json:"productKey"`
	DeviceName string `json:"deviceName"`
	Custom     string `json:"custom"` // the device config JSON, as a string
}

// RuntimeDriverConf holds exactly one of its fields.
type RuntimeDriverConf struct {
	KV       []KVPair        `json:"kv,omitempty"`
	JSON     json.RawMessage `json:"json,omitempty"`
	FileList []RuntimeFile   `json:"fileList,omitempty"`
}

// RuntimeFile names a config file in the driver's working directory.
type RuntimeFile struct {
	Path string `json:"path"`
}

// GatewayReport is what an agent posts (SPEC §6).
type GatewayReport struct {
	EdgeVersion    string            `json:"edge_version"`
	Arch           string            `json:"arch"`
	BuiltinDrivers *[]string         `json:"builtin_drivers"`
	Deployment     *DeploymentReport `json:"deployment"`
	Drivers        []DriverReport    `json:"drivers"`
	// Capabilities and RuntimeVersions describe the gateway (SPEC §12); an
	// agent sends them in every report.
	Capabilities    *Capabilities      `json:"capabilities,omitempty"`
	RuntimeVersions map[Runtime]string `json:"runtime_versions,omitempty"`
}

// DeploymentReport is the agent's progress on one deployment.
type DeploymentReport struct {
	ID        string       `json:"id"`
	Status    DeployStatus `json:"status"`
	Reason    string       `json:"reason"`
	Resources []Resource   `json:"resources"`
}

// DriverReport is the state of one running driver.
type DriverReport struct {
	Name        string      `json:"name"`
	Version     string      `json:"version"`
	State       DriverState `json:"state"`
	Restarts    int         `json:"restarts"`
	LastExit    string      `json:"last_exit"`
	MemoryBytes int64       `json:"memory_bytes"`
}

// Listing puts a driver in the marketplace.
type Listing struct {
	PublisherID   string    `json:"-"`
	Publisher     string    `json:"publisher"`
	DriverID      string    `json:"-"`
	Driver        string    `json:"driver"`
	Title         string    `json:"title"`
	Summary       string    `json:"summary"`
	Protocol      string    `json:"protocol"`
	Runtime       Runtime   `json:"runtime"`
	CPUArch       string    `json:"cpu_arch"`
	Builtin       bool      `json:"builtin"`
	LatestVersion string    `json:"latest_version"`
	ListedAt      time.Time `json:"listed_at"`
	Acquired      bool      `json:"acquired"`
}

// Acquisition records that a tenant took a listed driver.
type Acquisition struct {
	TenantID   string    `json:"-"`
	DriverID   string    `json:"-"`
	Publisher  string    `json:"publisher"`
	Driver     string    `json:"driver"`
	AcquiredAt time.Time `json:"acquired_at"`
}

// MarshalJSON writes exactly one of kv (the default, possibly empty), json
// or fileList, as drivers expect.
func (c RuntimeDriverConf) MarshalJSON() ([]byte, error) {
	switch {
	case c.JSON != nil:
		return json.Marshal(struct {
			JSON json.RawMessage `json:"json"`
		}{c.JSON})
	case c.FileList != nil:
		return json.Marshal(struct {
			FileList []RuntimeFile `json:"fileList"`
		}{c.FileList})
	}
	kv := c.KV
	if kv == nil {
		kv = []KVPair{}
	}
	return json.Marshal(struct {
		KV []KVPair `json:"kv"`
	}{kv})
}

// ListingInput lists a driver in the marketplace.
type ListingInput struct {
	Title   string `json:"title"`
	Summary string `json:"summary"`
}

// MarketDriver is a listing with the published versions it offers.
type MarketDriver struct {
	Listing
	Versions []*DriverVersion `json:"versions"`
}
