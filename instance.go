package driverhub

import (
	"encoding/json"
	"regexp"
	"sort"
	"time"
	"unicode/utf8"
)

// Instance is an edge instance: one gateway and what it should run.
type Instance struct {
	ID          string            `json:"id"`
	TenantID    string            `json:"-"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Tags        map[string]string `json:"tags"`
	SecretHash  string            `json:"-"`
	Gateway     Gateway           `json:"gateway"`
	// CurrentDeploymentID is the deployment the gateway should apply ("" before any).
	CurrentDeploymentID string      `json:"-"`
	CurrentDeployment   *Deployment `json:"current_deployment"`
	CreatedAt           time.Time   `json:"created_at"`
	UpdatedAt           time.Time   `json:"updated_at"`
	// GatewaySecret is shown only in the answers of creation and rotation.
	GatewaySecret string `json:"gateway_secret,omitempty"`
}

// Gateway is what the server has observed of an instance's gateway.
type Gateway struct {
	Online         bool       `json:"online"`
	LastSeenAt     *time.Time `json:"last_seen_at"`
	EdgeVersion    string     `json:"edge_version"`
	Arch           string     `json:"arch"`
	BuiltinDrivers []string   `json:"builtin_drivers"`
	// BuiltinsReported tells an empty list apart from no report at all.
	BuiltinsReported bool `json:"-"`
	// Capabilities is what the gateway said it can enforce; nil before it said.
	Capabilities *Capabilities `json:"capabilities"`
	// RuntimeVersions are the language runtimes the gateway found
	// (python3, nodejs, java), each with its version.
	RuntimeVersions map[Runtime]string `json:"runtime_versions,omitempty"`
}

// GatewaySync is a gateway's sync (a poll or report) whose time is written
// behind, with others (Tx.TouchGateways).
type GatewaySync struct {
	InstanceID string
	At         time.Time
}

// Capabilities is what a gateway's agent can enforce of the container
// settings (SPEC §12), reported with every report.
type Capabilities struct {
	// Runtimes are the driver runtimes that work on the gateway: "process", "runc".
	Runtimes []string `json:"runtimes"`
	// Isolation is true when drivers can get their own network, mounts and
	// devices (a working runc).
	Isolation bool `json:"isolation"`
	// Cgroup is the cgroup version that enforces memory limits: "v1", "v2", or "" for none.
	Cgroup string `json:"cgroup"`
}

// GatewaySecretPrefix starts every gateway secret.
const GatewaySecretPrefix = "dhg_"

var instanceNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,20}$`)

// InstanceInput creates or changes an instance; nil fields are absent.
type InstanceInput struct {
	Name        *string            `json:"name"`
	Description *string            `json:"description"`
	Tags        *map[string]string `json:"tags"`
	ReadOnly
}

// Validate checks an instance against SPEC §5 and returns the first problem.
func (i *Instance) Validate() error { return firstProblem(i.Check()) }

// Check returns a problem for each field of the instance that breaks SPEC §5:
// each bad tag on its own.
func (i *Instance) Check() FieldErrors {
	var l FieldErrors
	if !instanceNamePattern.MatchString(i.Name) {
		l.Add(Invalid("name", "must be 1-%d letters, digits, '_' or '-'", MaxInstanceNameLen))
	}
	l.Add(ValidateDescription("description", i.Description))
	if len(i.Tags) > MaxInstanceTags {
		l.Add(Invalid("tags", "at most %d tags, got %d", MaxInstanceTags, len(i.Tags)))
		return l
	}
	keys := make([]string, 0, len(i.Tags))
	for k := range i.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if n := utf8.RuneCountInString(k); n == 0 || n > MaxTagKeyLen {
			l.Add(Invalid("tags", "tag keys must be 1-%d characters, got %q", MaxTagKeyLen, k))
			continue
		}
		if !utf8.ValidString(k) {
			l.Add(Invalid("tags", "tag keys must be valid UTF-8, got %q", k))
			continue
		}
		if b, found := findRefused(k, textKindLabel); found {
			l.Add(Invalid("tags", "tag key %q must not hold %s: U+%04X at character %d", k, b.what, b.r, b.at))
			continue
		}
		if v := i.Tags[k]; len(v) > MaxTagValueLen {
			l.Add(Invalid("tags."+k, "must be at most %d bytes of UTF-8", MaxTagValueLen))
		} else {
			l.Add(checkText("tags."+k, v, textKindLine))
		}
	}
	return l
}

// Device is a sub-device: a field device that a driver talks to.
type Device struct {
	ID          string `json:"id"`
	TenantID    string `json:"-"`
	Product     string `json:"product"`
	Name        string `json:"name"`
	Description string `json:"description"`
	InstanceID  string `json:"-"`
	BindingID   string `json:"-"`
	Instance    string `json:"instance"` // instance name, "" when not associated
	Driver      string `json:"driver"`   // bound driver name, "" when not associated
	// Config is the device config: a JSON object of at most 1024 bytes, or nil.
	Config    json.RawMessage `json:"config"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

var deviceFieldPattern = regexp.MustCompile(`^[A-Za-z0-9_.:@-]{1,64}$`)

// ValidateDeviceField checks a device's product or name: 1–64 of letters, digits, _ - . : @.
func ValidateDeviceField(field, s string) error {
	if !deviceFieldPattern.MatchString(s) || s == "." || s == ".." { // URL paths cannot hold "." or ".." segments
		return Invalid(field, "must be 1-%d letters, digits, '_', '-', '.', ':' or '@', and not . or ..", MaxDeviceFieldLen)
	}
	return nil
}

// Binding puts a driver (own or acquired) on an instance at a version.
type Binding struct {
	ID          string        `json:"-"`
	InstanceID  string        `json:"-"`
	DriverID    string        `json:"-"`
	Driver      string        `json:"driver"`
	Publisher   string        `json:"publisher"`
	PublisherID string        `json:"-"`
	Version     string        `json:"version"`
	Config      *DriverConfig `json:"config"`
	Runtime     *DriverStatus `json:"runtime"`
	Devices     int           `json:"devices"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// BindingInput binds a driver; nil fields take their defaults (own
// tenant; the newest published version).
type BindingInput struct {
	Publisher *string `json:"publisher"`
	Version   *string `json:"version"`
}

// Check returns a problem for each field that could name no publisher or
// version at all.
func (in BindingInput) Check() FieldErrors {
	var l FieldErrors
	if in.Publisher != nil && *in.Publisher != "" {
		if err := ValidateTenantName(*in.Publisher); err != nil {
			l.Add(Invalid("publisher", "must be a tenant name: 1-%d lower-case letters, digits or '-', starting with a letter or digit", MaxTenantNameLen))
		}
	}
	if in.Version != nil && *in.Version != "" {
		l.Add(ValidateVersionName(*in.Version))
	}
	return l
}

// DriverStatus is a gateway's last report of one driver.
type DriverStatus struct {
	State       DriverState `json:"state"`
	Version     string      `json:"version"`
	Restarts    int         `json:"restarts"`
	LastExit    string      `json:"last_exit"`
	MemoryBytes int64       `json:"memory_bytes"`
	ReportedAt  time.Time   `json:"reported_at"`
	// Stale is true while the gateway is offline: the report may no longer
	// hold. Computed when read, never stored.
	Stale bool `json:"stale"`
}

// LogLine is one line of a driver's output, shipped by the agent.
type LogLine struct {
	Time   time.Time `json:"time"`
	Stream string    `json:"stream"`
	Text   string    `json:"text"`
}

// Driver log limits: the ring kept per binding, and one shipment.
const (
	DriverLogRing        = 2000
	MaxLogLinesPerPost   = 1000
	MaxLogLineBytes      = 8192
	DefaultLogTail       = 100
	MaxDeviceAssocConfig = MaxDeviceConfigBytes
)

// DeviceInput creates a device.
type DeviceInput struct {
	Product     string `json:"product"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Check returns a problem for each field of a new device that breaks SPEC §5.
func (in DeviceInput) Check() FieldErrors {
	var l FieldErrors
	l.Add(ValidateDeviceField("product", in.Product), ValidateDeviceField("name", in.Name),
		ValidateDescription("description", in.Description))
	return l
}

// DeviceAssociation puts a device on an instance with one of its drivers.
type DeviceAssociation struct {
	Driver string          `json:"driver"`
	Config json.RawMessage `json:"config"`
}

// Check returns a problem for each field of the association that is wrong,
// and puts a device config in canonical form (compact; nil for none).
func (in *DeviceAssociation) Check() FieldErrors {
	var l FieldErrors
	switch {
	case in.Driver == "":
		l.Add(Invalid("driver", "is required: the name of a driver bound to the instance"))
	case !driverNamePattern.MatchString(in.Driver):
		l.Add(Invalid("driver", "must be a driver name: a letter, then letters, digits and '_', at most %d characters", MaxDriverNameLen))
	}
	if len(in.Config) == 0 || isNull(in.Config) {
		in.Config = nil
		return l
	}
	config, err := ParseJSONObject("config", in.Config, MaxDeviceConfigBytes)
	l.Add(err)
	if err == nil {
		in.Config = config
	}
	return l
}
