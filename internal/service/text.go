package service

import (
	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/text"
)

// Every human text a service stores goes through one of these first, so
// that the REST API, the console and the CLI (through the API) store the
// same text (NFC, LF line ends) and the domain's checks see it that way
// (SPEC §13). Passwords, config values and JSON configs are data, kept as
// sent.

func normalDriverInput(in *driverhub.DriverInput) {
	if in != nil {
		text.Normalize(in.Name, in.Description)
	}
}

func normalVersionInput(in *driverhub.VersionInput) {
	text.Normalize(in.Version, in.MinEdgeVersion, in.Description, in.JVMArgs)
	normalConfig(in.DriverConfig)
	if c := in.Container; c != nil {
		for i := range c.DeviceMappings {
			text.Normalize(&c.DeviceMappings[i].HostPath, &c.DeviceMappings[i].Comment)
		}
		for i := range c.VolumeMappings {
			text.Normalize(&c.VolumeMappings[i].HostPath, &c.VolumeMappings[i].ContainerPath)
		}
	}
}

// normalConfig normalises a driver config's keys and notes, and the name of
// its file; values are the driver's data.
func normalConfig(c *driverhub.DriverConfig) {
	if c == nil {
		return
	}
	for i := range c.KV {
		text.Normalize(&c.KV[i].Key, &c.KV[i].Note)
	}
	if c.File != nil {
		text.Normalize(&c.File.Name)
	}
}

func normalDraftInput(in *driverhub.DraftInput) {
	text.Normalize(&in.Driver, &in.Version)
	normalDriverInput(in.NewDriver)
	normalVersionInput(&in.Fields)
}

// normalInstanceInput normalises an instance's texts; two tag keys that
// become one are a problem of the tags.
func normalInstanceInput(in *driverhub.InstanceInput) error {
	text.Normalize(in.Name, in.Description)
	if in.Tags == nil {
		return nil
	}
	tags, clash := text.NormalMap(*in.Tags)
	if clash != "" {
		return driverhub.Invalid("tags", "two tag keys are both %q once written the same way (Unicode NFC)", clash)
	}
	*in.Tags = tags
	return nil
}

// normalRolloutInput normalises a rollout's name, the names it looks up
// and its tag selector; two tag keys that become one are a problem of the
// selector.
func normalRolloutInput(in *driverhub.RolloutInput) error {
	text.Normalize(&in.Name, &in.Driver, &in.Publisher, &in.Version)
	if in.Selector.Tags == nil {
		return nil
	}
	tags, clash := text.NormalMap(in.Selector.Tags)
	if clash != "" {
		return driverhub.Invalid("selector.tags", "two tag keys are both %q once written the same way (Unicode NFC)", clash)
	}
	in.Selector.Tags = tags
	return nil
}
