package driverhub

// DriverSummary is a driver as a list of drivers shows it: with its newest
// version and its place in the marketplace.
type DriverSummary struct {
	Driver
	// Latest is the newest version, draft or published; nil before any.
	Latest *DriverVersion `json:"latest"`
	// LatestPublished is the newest published version, "" before any.
	LatestPublished string `json:"latest_published"`
	// Listed tells whether the driver is in the marketplace now.
	Listed bool `json:"listed"`
}
