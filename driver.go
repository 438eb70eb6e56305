package driverhub

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Protocols a driver may speak (the seed's 通信协议类型).
var Protocols = []string{"modbus", "opcua", "lorawan", "custom"}

// CPUArchs a C driver may be built for.
var CPUArchs = []string{"armv7", "armv7-hf", "aarch64", "x86-64", "x86"}

// Version statuses.
const (
	StatusDraft     = "draft"
	StatusPublished = "published"
)

// Driver is a program that talks to field devices, published by a tenant.
type Driver struct {
	ID          string    `json:"id"`
	TenantID    string    `json:"-"`
	Name        string    `json:"name"`
	Protocol    string    `json:"protocol"`
	Runtime     Runtime   `json:"runtime"`
	CPUArch     string    `json:"cpu_arch"`
	Builtin     bool      `json:"builtin"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

var driverNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,19}$`)

// Validate checks every field of a driver against SPEC §3 and returns the
// first problem.
func (d *Driver) Validate() error { return firstProblem(d.Check()) }

// Check returns a problem for each field of the driver that breaks SPEC §3,
// in the order Validate reports them, so that a form can show them all.
func (d *Driver) Check() FieldErrors {
	var errs FieldErrors
	if !driverNamePattern.MatchString(d.Name) {
		errs.Add(Invalid("name", "must start with a letter and hold only letters, digits and '_', at most %d characters", MaxDriverNameLen))
	}
	if !slices.Contains(Protocols, d.Protocol) {
		errs.Add(Invalid("protocol", "must be one of %s", Words(Protocols)))
	}
	switch needs := d.Runtime.NeedsCPUArch(); {
	case !d.Runtime.Valid():
		errs.Add(Invalid("runtime", "must be one of %s", Words(AllRuntimes)))
	case needs && d.CPUArch == "":
		errs.Add(Invalid("cpu_arch", "is required when runtime is %s: one of %s", d.Runtime, Words(CPUArchs)))
	case needs && !slices.Contains(CPUArchs, d.CPUArch):
		errs.Add(Invalid("cpu_arch", "must be one of %s", Words(CPUArchs)))
	case !needs && d.CPUArch != "":
		errs.Add(Invalid("cpu_arch", "is only allowed when runtime is %s", RuntimeC))
	}
	errs.Add(ValidateDescription("description", d.Description))
	return errs
}

// DriverVersion is one version of a driver: its package, default config and
// container settings. Drafts may change; published versions never do, but
// for their description.
type DriverVersion struct {
	ID             string        `json:"id"`
	DriverID       string        `json:"-"`
	Driver         string        `json:"driver"`
	Version        string        `json:"version"`
	MinEdgeVersion string        `json:"min_edge_version"`
	Description    string        `json:"description"`
	Package        *PackageRef   `json:"package"`
	DriverConfig   *DriverConfig `json:"driver_config"`
	Container      Container     `json:"container"`
	ConfigChecks   ConfigChecks  `json:"config_checks"`
	JVMArgs        string        `json:"jvm_args"`
	Status         string        `json:"status"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
	PublishedAt    *time.Time    `json:"published_at"`
}

// PackageRef names a driver package in the blob store.
type PackageRef struct {
	Filename string `json:"filename"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
}

// ConfigChecks are the seed's 配置校验: what a binding must carry before it deploys.
type ConfigChecks struct {
	DriverConfigRequired bool `json:"driver_config_required"`
	DeviceConfigRequired bool `json:"device_config_required"`
}

// NewDriverVersion returns a draft with the defaults of SPEC §3 filled in.
func NewDriverVersion() *DriverVersion {
	return &DriverVersion{Status: StatusDraft, Container: DefaultContainer()}
}

// Published reports whether v can no longer change.
func (v *DriverVersion) Published() bool { return v.Status == StatusPublished }

// Validate checks every field of a version of driver d and returns the
// first problem. A JSON driver config is put in canonical form.
func (v *DriverVersion) Validate(d *Driver) error { return firstProblem(v.Check(d)) }

// Check returns a problem for each field of a version of driver d that
// breaks SPEC §3, in the order Validate reports them, the rows of the
// driver config and of the container's mappings included. A JSON driver
// config is put in canonical form.
func (v *DriverVersion) Check(d *Driver) FieldErrors {
	var errs FieldErrors
	errs.Add(ValidateVersionName(v.Version))
	errs.Add(ValidateEdgeVersion("min_edge_version", v.MinEdgeVersion))
	errs.Add(ValidateDescription("description", v.Description))
	if v.Package != nil && d.Builtin {
		errs.Add(Invalid("package", "a built-in driver has no package: the gateway already holds it"))
	}
	if v.DriverConfig != nil {
		errs.Append(v.DriverConfig.Check("driver_config"))
	}
	errs.Append(v.Container.Check("container"))
	switch {
	case v.JVMArgs != "" && d.Runtime != RuntimeJava:
		errs.Add(Invalid("jvm_args", "is only allowed when runtime is %s", RuntimeJava))
	case len(v.JVMArgs) > MaxJVMArgsBytes:
		errs.Add(Invalid("jvm_args", "must be at most %d bytes", MaxJVMArgsBytes))
	default:
		errs.Add(checkText("jvm_args", v.JVMArgs, textKindLine))
	}
	if v.Status != StatusDraft && v.Status != StatusPublished {
		errs.Add(Invalid("status", "must be draft or published"))
	}
	return errs
}

// ValidateVersionName checks a version: 1–64 letters (any script), digits, '_', '-', '.'; not "." or "..".
func ValidateVersionName(s string) error {
	n := utf8.RuneCountInString(s)
	if n == 0 || n > MaxVersionLen || !utf8.ValidString(s) {
		return Invalid("version", "must be 1-%d characters", MaxVersionLen)
	}
	if s == "." || s == ".." {
		return Invalid("version", "must not be %q", s)
	}
	for i, r := range s {
		if i > 0 && (unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)) {
			continue // combining marks complete letters in many scripts
		}
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' && r != '.' {
			return Invalid("version", "may hold only letters, digits, '_', '-' and '.', not %q", r)
		}
	}
	return nil
}

// ValidateDescription checks a description: at most 256 bytes of text that
// may span lines (see text.go for the characters it may not hold).
func ValidateDescription(field, s string) error {
	if len(s) > MaxDescriptionBytes {
		return Invalid(field, "must be at most %d bytes, got %d", MaxDescriptionBytes, len(s))
	}
	return checkText(field, s, textKindBlock)
}

var edgeVersionPattern = regexp.MustCompile(`^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})$`)

// ValidateEdgeVersion checks a MAJOR.MINOR.PATCH edge version.
func ValidateEdgeVersion(field, s string) error {
	if s == "" {
		return Invalid(field, "is required (MAJOR.MINOR.PATCH, for example 1.0.0)")
	}
	if !edgeVersionPattern.MatchString(s) {
		return Invalid(field, "must be MAJOR.MINOR.PATCH with decimal numbers, for example 1.0.0, got %q", s)
	}
	return nil
}

// CompareEdgeVersions compares two valid MAJOR.MINOR.PATCH versions like strings.Compare.
// An invalid version sorts below every valid one.
func CompareEdgeVersions(a, b string) int {
	pa, oka := parseEdgeVersion(a)
	pb, okb := parseEdgeVersion(b)
	switch {
	case !oka && !okb:
		return 0
	case !oka:
		return -1
	case !okb:
		return 1
	}
	for i := range pa {
		if pa[i] != pb[i] {
			if pa[i] < pb[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func parseEdgeVersion(s string) ([3]int, bool) {
	var out [3]int
	if !edgeVersionPattern.MatchString(s) {
		return out, false
	}
	for i, p := range strings.Split(s, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return out, false
		}
		out[i] = n
	}
	return out, true
}

func indexed(field string, i int, sub string) string {
	return fmt.Sprintf("%s[%d].%s", field, i, sub)
}

// DriverInput creates or changes a driver; nil fields are absent.
type DriverInput struct {
	Name        *string  `json:"name"`
	Protocol    *string  `json:"protocol"`
	Runtime     *Runtime `json:"runtime"`
	CPUArch     *string  `json:"cpu_arch"`
	Builtin     *bool    `json:"builtin"`
	Description *string  `json:"description"`
	ReadOnly
}

// VersionInput creates or changes a driver version; nil fields are absent.
// Package is never set here (it is uploaded); it is accepted only so that a
// client may send back a version it read.
type VersionInput struct {
	Version        *string       `json:"version"`
	MinEdgeVersion *string       `json:"min_edge_version"`
	Description    *string       `json:"description"`
	DriverConfig   *DriverConfig `json:"driver_config"`
	Container      *Container    `json:"container"`
	ConfigChecks   *ConfigChecks `json:"config_checks"`
	JVMArgs        *string       `json:"jvm_args"`
	Package        *PackageRef   `json:"package"`
	ReadOnly
}

// ReadOnly lists the fields of a resource's view that a client may send
// back unchanged; they are ignored.
type ReadOnly struct {
	ID          any `json:"id,omitempty"`
	Driver      any `json:"driver,omitempty"`
	Status      any `json:"status,omitempty"`
	CreatedAt   any `json:"created_at,omitempty"`
	UpdatedAt   any `json:"updated_at,omitempty"`
	PublishedAt any `json:"published_at,omitempty"`
}

// Download is a blob ready to be served.
type Download struct {
	Body     io.ReadSeekCloser
	Size     int64
	SHA256   string
	Filename string
	Modified time.Time
}

// plainText reports valid UTF-8 without NUL: text every store can keep.
func plainText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
