package driverhub

import "time"

// UploadKind is what a staged upload holds, named as the form field that sends it.
type UploadKind string

// Upload kinds.
const (
	UploadPackage    UploadKind = "package"
	UploadConfigFile UploadKind = "config_file"
)

// Valid reports whether k is a known kind.
func (k UploadKind) Valid() bool { return k == UploadPackage || k == UploadConfigFile }

// MaxBytes is the size limit of an upload of the kind.
func (k UploadKind) MaxBytes() int64 {
	if k == UploadPackage {
		return MaxPackageBytes
	}
	return MaxConfigFileBytes
}

// UploadInput describes a file to stage.
type UploadInput struct {
	Kind     UploadKind `json:"kind"`
	Filename string     `json:"filename"`
	// Runtime is the runtime a package is checked for; packages only.
	Runtime Runtime `json:"runtime"`
}

// StagedUpload is a file received and checked before the version that uses
// it is saved: its bytes are in the blob store, content-addressed, and this
// record lets a later SaveDraft of the same tenant attach them, once, until
// ExpiresAt. A refused form therefore keeps its files.
type StagedUpload struct {
	ID        string     `json:"id"`
	TenantID  string     `json:"-"`
	UserID    string     `json:"-"`
	Kind      UploadKind `json:"kind"`
	Filename  string     `json:"filename"`
	Size      int64      `json:"size"`
	SHA256    string     `json:"sha256"`
	Runtime   Runtime    `json:"runtime,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
}

// DraftInput saves a draft version in one operation: optionally its driver
// too, and the staged uploads that become its package and config file.
type DraftInput struct {
	// Driver names an existing driver. Leave it "" and set NewDriver to
	// create the driver in the same operation.
	Driver    string       `json:"driver"`
	NewDriver *DriverInput `json:"new_driver"`
	// Version names the draft to update; "" adds the version Fields.Version.
	Version string       `json:"version"`
	Fields  VersionInput `json:"fields"`
	// PackageUpload and ConfigFileUpload are ids of staged uploads; "" keeps
	// what the version holds. A config file upload makes the driver config
	// a file config.
	PackageUpload    string `json:"package_upload"`
	ConfigFileUpload string `json:"config_file_upload"`
	// ValidateOnly checks everything and saves nothing.
	ValidateOnly bool `json:"validate_only"`
}
