package driverhub

// Version is the release of the server, agent and CLI: one MAJOR.MINOR.PATCH
// for all three. The agent reports it as its edge_version.
const Version = "1.0.0"
