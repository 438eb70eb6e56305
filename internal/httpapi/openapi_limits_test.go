package httpapi_test

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub"
)

// docLimit is a number the document states at a schema: it must be the
// product's limit named by source (a constant of the root package, or the
// reason for a number no constant holds).
type docLimit struct {
	at      string // JSON pointer of the schema
	keyword string // maxLength, x-max-bytes, maxItems, maximum, default, ...
	want    int
	source  string
}

// limitKeywords are the schema keywords that state a limit. maxLength and
// minLength count characters; x-max-bytes and x-min-bytes count bytes of
// UTF-8 (of an object: of its compact JSON).
var limitKeywords = []string{"maxLength", "minLength", "x-max-bytes", "x-min-bytes", "maxItems", "minItems",
	"maxProperties", "minProperties", "maximum", "minimum", "x-max-log-bytes",
	"x-idle-timeout-seconds", "x-min-body-bytes-per-second", "x-body-rate-window-seconds",
	"x-gateway-failures-per-address", "x-gateway-refill-seconds", "x-login-failures-per-user",
	"x-login-user-refill-seconds", "x-login-failures-per-address", "x-login-address-refill-seconds",
	"x-header-timeout-seconds", "x-min-secret-chars", "x-max-secret-chars"}

const schemas = "#/components/schemas/"

// prop is the pointer of a property of a component schema.
func prop(schema, name string) string { return schemas + schema + "/properties/" + name }

// bodySchema is the pointer of an operation's request body schema.
func bodySchema(method, path, contentType string) string {
	esc := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1") }
	return "#/paths/" + esc(path) + "/" + method + "/requestBody/content/" + esc(contentType) + "/schema"
}

const (
	packagePath        = "/api/v1/drivers/{driver}/versions/{version}/package"
	versionConfigFile  = "/api/v1/drivers/{driver}/versions/{version}/config-file"
	instanceConfigFile = "/api/v1/instances/{instance}/drivers/{driver}/config-file"
	logsTail           = "#/paths/~1api~1v1~1instances~1{instance}~1drivers~1{driver}~1logs/get/parameters/0/schema"
	pageLimit          = "#/components/parameters/Limit/schema"
)

// docLimits is every limit the document states, with the constant it
// copies: changing a constant fails TestOpenAPILimits until the document
// follows.
var docLimits = []docLimit{
	{pageLimit, "maximum", driverhub.MaxPageLimit, "MaxPageLimit"},
	{pageLimit, "default", driverhub.DefaultPageLimit, "DefaultPageLimit"},
	{logsTail, "maximum", driverhub.DriverLogRing, "DriverLogRing"},
	{logsTail, "default", driverhub.DefaultLogTail, "DefaultLogTail"},

	{schemas + "Username", "maxLength", driverhub.MaxUsernameLen, "MaxUsernameLen"},
	{schemas + "TenantName", "maxLength", driverhub.MaxTenantNameLen, "MaxTenantNameLen"},
	{prop("UserInput", "password"), "x-min-bytes", driverhub.MinPasswordLen, "MinPasswordLen"},
	{prop("UserInput", "password"), "x-max-bytes", driverhub.MaxPasswordLen, "MaxPasswordLen"},
	{prop("TokenInput", "name"), "x-max-bytes", driverhub.MaxTokenNameLen, "MaxTokenNameLen"},

	{schemas + "DriverName", "maxLength", driverhub.MaxDriverNameLen, "MaxDriverNameLen"},
	{schemas + "Description", "x-max-bytes", driverhub.MaxDescriptionBytes, "MaxDescriptionBytes"},
	{schemas + "VersionName", "maxLength", driverhub.MaxVersionLen, "MaxVersionLen"},
	{schemas + "JVMArgs", "x-max-bytes", driverhub.MaxJVMArgsBytes, "MaxJVMArgsBytes"},
	{schemas + "FileName", "x-max-bytes", driverhub.MaxConfigFileNameLen, "MaxConfigFileNameLen"},
	{prop("PackageRef", "size"), "maximum", driverhub.MaxPackageBytes, "MaxPackageBytes"},
	{bodySchema("put", packagePath, "application/zip"), "x-max-bytes", driverhub.MaxPackageBytes, "MaxPackageBytes"},
	{bodySchema("put", packagePath, "application/octet-stream"), "x-max-bytes", driverhub.MaxPackageBytes, "MaxPackageBytes"},
	{prop("ConfigFileRef", "size"), "maximum", driverhub.MaxConfigFileBytes, "MaxConfigFileBytes"},
	{bodySchema("put", versionConfigFile, "application/octet-stream"), "x-max-bytes", driverhub.MaxConfigFileBytes, "MaxConfigFileBytes"},
	{bodySchema("put", instanceConfigFile, "application/octet-stream"), "x-max-bytes", driverhub.MaxConfigFileBytes, "MaxConfigFileBytes"},
	{prop("DriverConfig", "kv"), "maxItems", driverhub.MaxKVPairs, "MaxKVPairs"},
	{prop("DriverConfig", "json"), "x-max-bytes", driverhub.MaxJSONConfigBytes, "MaxJSONConfigBytes"},
	{prop("KVPair", "key"), "maxLength", driverhub.MaxKVKeyLen, "MaxKVKeyLen"},
	{prop("KVPair", "value"), "x-max-bytes", driverhub.MaxKVValueBytes, "MaxKVValueBytes"},
	{prop("KVPair", "note"), "x-max-bytes", driverhub.MaxKVNoteBytes, "MaxKVNoteBytes"},

	{prop("Container", "port_mappings"), "maxItems", driverhub.MaxPortMappings, "MaxPortMappings"},
	{prop("Container", "device_mappings"), "maxItems", driverhub.MaxDeviceMappings, "MaxDeviceMappings"},
	{prop("Container", "volume_mappings"), "maxItems", driverhub.MaxVolumeMappings, "MaxVolumeMappings"},
	{prop("Container", "memory_limit_mb"), "minimum", driverhub.MinMemoryLimitMB, "MinMemoryLimitMB"},
	{prop("Container", "memory_limit_mb"), "maximum", driverhub.MaxMemoryLimitMB, "MaxMemoryLimitMB"},
	{prop("Container", "memory_limit_mb"), "default", driverhub.DefaultMemoryLimitMB, "DefaultMemoryLimitMB"},
	{prop("PortMapping", "host_port"), "maximum", 65535, "the highest TCP/UDP port"},
	{prop("PortMapping", "container_port"), "maximum", 65535, "the highest TCP/UDP port"},
	{prop("DeviceMapping", "host_path"), "minLength", len("/dev/x"), `the shortest path under /dev/`},
	{prop("DeviceMapping", "host_path"), "maxLength", driverhub.MaxMappingPathLen, "MaxMappingPathLen"},
	{prop("DeviceMapping", "comment"), "x-max-bytes", driverhub.MaxDeviceCommentBytes, "MaxDeviceCommentBytes"},
	{prop("VolumeMapping", "host_path"), "maxLength", driverhub.MaxMappingPathLen, "MaxMappingPathLen"},
	{prop("VolumeMapping", "container_path"), "minLength", len("/x"), "the shortest path other than /"},
	{prop("VolumeMapping", "container_path"), "maxLength", driverhub.MaxMappingPathLen, "MaxMappingPathLen"},

	{prop("Listing", "title"), "x-max-bytes", driverhub.MaxListingTitleBytes, "MaxListingTitleBytes"},
	{prop("Listing", "summary"), "x-max-bytes", driverhub.MaxListingSummaryBytes, "MaxListingSummaryBytes"},
	{prop("Listing", "latest_version"), "maxLength", driverhub.MaxVersionLen, "MaxVersionLen"},
	{prop("ListingInput", "title"), "x-max-bytes", driverhub.MaxListingTitleBytes, "MaxListingTitleBytes"},
	{prop("ListingInput", "summary"), "x-max-bytes", driverhub.MaxListingSummaryBytes, "MaxListingSummaryBytes"},

	{schemas + "InstanceName", "maxLength", driverhub.MaxInstanceNameLen, "MaxInstanceNameLen"},
	{schemas + "Tags", "maxProperties", driverhub.MaxInstanceTags, "MaxInstanceTags"},
	{schemas + "Tags/additionalProperties", "x-max-bytes", driverhub.MaxTagValueLen, "MaxTagValueLen"},
	{prop("Gateway", "arch"), "x-max-bytes", driverhub.MaxGatewayArchBytes, "MaxGatewayArchBytes"},
	{schemas + "DeviceProduct", "maxLength", driverhub.MaxDeviceFieldLen, "MaxDeviceFieldLen"},
	{schemas + "DeviceName", "maxLength", driverhub.MaxDeviceFieldLen, "MaxDeviceFieldLen"},
	{schemas + "DeviceConfig", "x-max-bytes", driverhub.MaxDeviceConfigBytes, "MaxDeviceConfigBytes"},
	{prop("DeviceAssociation", "config"), "x-max-bytes", driverhub.MaxDeviceAssocConfig, "MaxDeviceAssocConfig"},
	{prop("Binding", "devices"), "maximum", driverhub.MaxDevicesPerInstance, "MaxDevicesPerInstance"},
	{prop("BindingList", "items"), "maxItems", driverhub.MaxDriversPerInstance, "MaxDriversPerInstance"},
	{prop("DriverLogs", "lines"), "maxItems", driverhub.DriverLogRing, "DriverLogRing"},
	{prop("LogShipment", "lines"), "maxItems", driverhub.MaxLogLinesPerPost, "MaxLogLinesPerPost"},

	{schemas + "RuntimeDriverConf/oneOf/0/properties/kv", "maxItems", driverhub.MaxKVPairs, "MaxKVPairs"},
	{schemas + "RuntimeDriverConf/oneOf/1/properties/json", "x-max-bytes", driverhub.MaxJSONConfigBytes, "MaxJSONConfigBytes"},
	{schemas + "RuntimeDriverConf/oneOf/2/properties/fileList", "maxItems", 1, "one configuration file"},
	{prop("RuntimeConfig", "deviceList"), "maxItems", driverhub.MaxDevicesPerInstance, "MaxDevicesPerInstance"},
	{prop("Manifest", "drivers"), "maxItems", driverhub.MaxDriversPerInstance, "MaxDriversPerInstance"},
	{prop("GatewayReport", "arch"), "x-max-bytes", driverhub.MaxGatewayArchBytes, "MaxGatewayArchBytes"},
	{prop("GatewayReport", "builtin_drivers"), "maxItems", driverhub.MaxBuiltinDrivers, "MaxBuiltinDrivers"},
	{prop("GatewayReport", "runtime_versions") + "/additionalProperties", "x-max-bytes", driverhub.MaxRuntimeVersionBytes, "MaxRuntimeVersionBytes"},
	{prop("Gateway", "runtime_versions") + "/additionalProperties", "x-max-bytes", driverhub.MaxRuntimeVersionBytes, "MaxRuntimeVersionBytes"},

	{bodySchema("put", "/api/v1/tuf/root", "application/json"), "x-max-bytes", driverhub.MaxTUFMetadataBytes, "MaxTUFMetadataBytes"},
	{bodySchema("put", "/api/v1/tuf/targets", "application/json"), "x-max-bytes", driverhub.MaxTUFMetadataBytes, "MaxTUFMetadataBytes"},
	{bodySchema("post", "/api/v1/gateway/report", "application/json"), "x-max-bytes", driverhub.MaxGatewayBodyBytes, "MaxGatewayBodyBytes"},
	{bodySchema("post", "/api/v1/gateway/logs", "application/json"), "x-max-bytes", driverhub.MaxGatewayBodyBytes, "MaxGatewayBodyBytes"},
	{prop("LogEntry", "level"), "x-max-bytes", driverhub.MaxReportLogLevelBytes, "MaxReportLogLevelBytes"},
	{prop("LogEntry", "message"), "x-max-bytes", driverhub.MaxReportLogMessageBytes, "MaxReportLogMessageBytes"},
	{prop("Resource", "log"), "maxItems", driverhub.MaxReportLogEntries, "MaxReportLogEntries"},
	{prop("Resource", "log"), "x-max-bytes", driverhub.MaxResourceLogBytes, "MaxResourceLogBytes"},
	{prop("Deployment", "resources"), "x-max-log-bytes", driverhub.MaxDeploymentLogBytes, "MaxDeploymentLogBytes"},
	{prop("Deployment", "reason"), "x-max-bytes", driverhub.MaxReportLogMessageBytes, "MaxReportLogMessageBytes"},
	{prop("DeploymentReport", "reason"), "x-max-bytes", driverhub.MaxReportLogMessageBytes, "MaxReportLogMessageBytes"},

	{connectionLimits, "x-idle-timeout-seconds", seconds(driverhub.DefaultIdleTimeout), "DefaultIdleTimeout"},
	{connectionLimits, "x-min-body-bytes-per-second", driverhub.MinRequestBodyRate, "MinRequestBodyRate"},
	{connectionLimits, "x-body-rate-window-seconds", seconds(driverhub.RequestBodyRateWindow), "RequestBodyRateWindow"},
	{connectionLimits, "x-header-timeout-seconds", seconds(driverhub.RequestHeaderTimeout), "RequestHeaderTimeout"},
	{"#/components/securitySchemes/bearerAuth", "x-min-secret-chars", driverhub.MinTokenSecretChars, "MinTokenSecretChars"},
	{"#/components/securitySchemes/bearerAuth", "x-max-secret-chars", driverhub.MaxTokenSecretChars, "MaxTokenSecretChars"},
	{tooMany, "x-gateway-failures-per-address", driverhub.GatewayAuthFailuresPerAddress, "GatewayAuthFailuresPerAddress"},
	{tooMany, "x-gateway-refill-seconds", seconds(driverhub.GatewayAuthAddressRefill), "GatewayAuthAddressRefill"},
	{tooMany, "x-login-failures-per-user", driverhub.LoginFailuresPerUser, "LoginFailuresPerUser"},
	{tooMany, "x-login-user-refill-seconds", seconds(driverhub.LoginUserRefill), "LoginUserRefill"},
	{tooMany, "x-login-failures-per-address", driverhub.LoginFailuresPerAddress, "LoginFailuresPerAddress"},
	{tooMany, "x-login-address-refill-seconds", seconds(driverhub.LoginAddressRefill), "LoginAddressRefill"},
	{prop("RolloutInput", "name"), "maxLength", driverhub.MaxRolloutNameLen, "MaxRolloutNameLen"},
	{prop("RolloutInput", "waves"), "maxItems", driverhub.MaxRolloutWaves, "MaxRolloutWaves"},
	{prop("RolloutInput", "waves") + "/items", "maximum", 100, "a percentage"},
	{prop("RolloutInput", "success_threshold"), "maximum", 100, "a percentage"},
	{prop("RolloutInput", "success_threshold"), "default", driverhub.DefaultSuccessThreshold, "DefaultSuccessThreshold"},
	{prop("RolloutInput", "failure_threshold"), "maximum", 100, "a percentage"},
	{prop("RolloutInput", "failure_threshold"), "default", driverhub.DefaultFailureThreshold, "DefaultFailureThreshold"},
	{prop("RolloutSelector", "instances"), "maxItems", driverhub.MaxRolloutTargets, "MaxRolloutTargets"},
	{prop("Rollout", "waves"), "maxItems", driverhub.MaxRolloutWaves, "MaxRolloutWaves"},
	{prop("Rollout", "current_wave"), "maximum", driverhub.MaxRolloutWaves, "MaxRolloutWaves"},
	{prop("Rollout", "success_threshold"), "maximum", 100, "a percentage"},
	{prop("Rollout", "failure_threshold"), "maximum", 100, "a percentage"},
	{prop("RolloutWave", "number"), "maximum", driverhub.MaxRolloutWaves, "MaxRolloutWaves"},
	{prop("RolloutWave", "percent"), "maximum", 100, "a percentage"},
	{prop("RolloutEvent", "wave"), "maximum", driverhub.MaxRolloutWaves, "MaxRolloutWaves"},
	{prop("RolloutTarget", "wave"), "maximum", driverhub.MaxRolloutWaves, "MaxRolloutWaves"},
}

// Where the document states the limits of connections and sign-ins.
const (
	connectionLimits = "#/info/x-limits"
	tooMany          = "#/components/responses/TooManyRequests"
)

func seconds(d time.Duration) int { return int(d / time.Second) }

// TestOpenAPILimits checks every limit the document states against the
// product's constant.
func TestOpenAPILimits(t *testing.T) {
	doc := openAPIDoc(t)
	var wrong []string
	for _, l := range docLimits {
		v, ok := resolvePointer(doc, l.at)
		s, _ := v.(map[string]any)
		if !ok || s == nil {
			wrong = append(wrong, fmt.Sprintf("%s: no such schema", l.at))
			continue
		}
		got, ok := s[l.keyword].(float64)
		if !ok || got != float64(l.want) {
			wrong = append(wrong, fmt.Sprintf("%s: %s is %v, want %d (%s)", l.at, l.keyword, s[l.keyword], l.want, l.source))
		}
	}
	if diff := cmp.Diff([]string(nil), wrong); diff != "" {
		t.Errorf("limits in openapi.json that differ from the product's (-want +got):\n%s", diff)
	}
}

// TestOpenAPILimitsListed checks that every limit the document states is
// in docLimits, so none is left unchecked; lower bounds of 0 and 1 say
// only "not negative" or "not empty".
func TestOpenAPILimitsListed(t *testing.T) {
	listed := map[string]bool{}
	for _, l := range docLimits {
		listed[l.at+" "+l.keyword] = true
	}
	var unlisted []string
	walk(openAPIDoc(t), "#", func(at string, m map[string]any) {
		for _, k := range limitKeywords {
			n, ok := m[k].(float64)
			if !ok || (strings.HasPrefix(k, "min") || k == "x-min-bytes") && n <= 1 || listed[at+" "+k] {
				continue
			}
			unlisted = append(unlisted, fmt.Sprintf("%s: %s %v", at, k, n))
		}
		if _, ok := m["default"].(float64); ok && m["type"] == "integer" && !listed[at+" default"] {
			unlisted = append(unlisted, fmt.Sprintf("%s: default %v", at, m["default"]))
		}
	})
	slices.Sort(unlisted)
	if diff := cmp.Diff([]string(nil), unlisted); diff != "" {
		t.Errorf("limits in openapi.json missing from docLimits (-want +got):\n%s", diff)
	}
}

// TestOpenAPIByteLimitsDescribed checks that a schema limited in bytes says
// so in its description, in the same sentence as the number, since JSON
// Schema tools read only maxLength, which counts characters.
func TestOpenAPIByteLimitsDescribed(t *testing.T) {
	var bad []string
	walk(openAPIDoc(t), "#", func(at string, m map[string]any) {
		desc, _ := m["description"].(string)
		for _, k := range []string{"x-min-bytes", "x-max-bytes"} {
			n, ok := m[k].(float64)
			if !ok {
				continue
			}
			says := regexp.MustCompile(`(^|[^0-9,])` + strconv.Itoa(int(n)) + `\b[^.;]*\bbytes\b`)
			if !says.MatchString(desc) {
				bad = append(bad, fmt.Sprintf("%s: %s %v, but the description %q does not say %v bytes", at, k, n, desc, n))
			}
		}
	})
	if diff := cmp.Diff([]string(nil), bad); diff != "" {
		t.Errorf("byte limits not described (-want +got):\n%s", diff)
	}
}

// TestOpenAPIPatternsAgreeWithMaxLength checks that a pattern bounding the
// length of a string admits exactly maxLength characters, so the two
// cannot tell a client different limits.
func TestOpenAPIPatternsAgreeWithMaxLength(t *testing.T) {
	var bad []string
	walk(openAPIDoc(t), "#", func(at string, m map[string]any) {
		pattern, ok := m["pattern"].(string)
		if !ok {
			return
		}
		re, err := syntax.Parse(pattern, syntax.Perl)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: pattern %q: %v", at, pattern, err))
			return
		}
		longest := maxMatchLen(re)
		if max, ok := m["maxLength"].(float64); ok && longest >= 0 && longest != int(max) {
			bad = append(bad, fmt.Sprintf("%s: pattern %q admits at most %d characters, maxLength is %v", at, pattern, longest, max))
		}
	})
	if diff := cmp.Diff([]string(nil), bad); diff != "" {
		t.Errorf("patterns that disagree with maxLength (-want +got):\n%s", diff)
	}
}

// maxMatchLen is the most characters re matches, or -1 when unbounded.
func maxMatchLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpQuest:
		return maxMatchLen(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus:
		return -1
	case syntax.OpRepeat:
		n := maxMatchLen(re.Sub[0])
		if re.Max < 0 || n < 0 {
			return -1
		}
		return re.Max * n
	case syntax.OpConcat, syntax.OpAlternate:
		total := 0
		for _, sub := range re.Sub {
			n := maxMatchLen(sub)
			switch {
			case n < 0:
				return -1
			case re.Op == syntax.OpConcat:
				total += n
			default:
				total = max(total, n)
			}
		}
		return total
	}
	return 0 // anchors and empty matches
}

func TestMaxMatchLen(t *testing.T) {
	for pattern, want := range map[string]int{
		`^[A-Za-z][A-Za-z0-9_]{0,19}$`: 20,
		`^[a-z0-9-]{1,20}$`:            20,
		`^dhg_[0-9a-f]{64}$`:           68,
		`^(ab|c)?x$`:                   3,
		`^/dev/.+$`:                    -1,
		`^a{2,}$`:                      -1,
	} {
		re, err := syntax.Parse(pattern, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		if got := maxMatchLen(re); got != want {
			t.Errorf("maxMatchLen(%q) = %d, want %d", pattern, got, want)
		}
	}
}
