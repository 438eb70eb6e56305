package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/driverhub/driverhub"
)

func (s *Server) routesV1() {
	s.handle("POST /api/v1/tenants", user, s.createTenant)
	s.handle("GET /api/v1/tenant", user, s.getTenant)

	s.handle("GET /api/v1/users", user, s.listUsers)
	s.handle("POST /api/v1/users", user, s.createUser)
	s.handle("GET /api/v1/users/{username}", user, s.getUser)
	s.handle("PATCH /api/v1/users/{username}", user, s.updateUser)
	s.handle("DELETE /api/v1/users/{username}", user, s.deleteUser)

	s.handle("GET /api/v1/tokens", user, s.listTokens)
	s.handle("POST /api/v1/tokens", user, s.createToken)
	s.handle("GET /api/v1/tokens/{id}", user, s.getToken)
	s.handle("DELETE /api/v1/tokens/{id}", user, s.revokeToken)

	s.handle("GET /api/v1/drivers", user, s.listDrivers)
	s.handle("POST /api/v1/drivers", user, s.createDriver)
	s.handle("GET /api/v1/drivers/{driver}", user, s.getDriver)
	s.handle("PATCH /api/v1/drivers/{driver}", user, s.updateDriver)
	s.handle("DELETE /api/v1/drivers/{driver}", user, s.deleteDriver)

	s.handle("GET /api/v1/drivers/{driver}/versions", user, s.listVersions)
	s.handle("POST /api/v1/drivers/{driver}/versions", user, s.createVersion)
	s.handle("GET /api/v1/drivers/{driver}/versions/{version}", user, s.getVersion)
	s.handle("PATCH /api/v1/drivers/{driver}/versions/{version}", user, s.updateVersion)
	s.handle("DELETE /api/v1/drivers/{driver}/versions/{version}", user, s.deleteVersion)
	s.handle("POST /api/v1/drivers/{driver}/versions/{version}/publish", user, s.publishVersion)
	s.handle("PUT /api/v1/drivers/{driver}/versions/{version}/package", user, s.putPackage)
	s.handle("GET /api/v1/drivers/{driver}/versions/{version}/package", user, s.getPackage)
	s.handle("PUT /api/v1/drivers/{driver}/versions/{version}/config-file", user, s.putConfigFile)
	s.handle("GET /api/v1/drivers/{driver}/versions/{version}/config-file", user, s.getConfigFile)

	s.handle("PUT /api/v1/drivers/{driver}/listing", user, s.putListing)
	s.handle("DELETE /api/v1/drivers/{driver}/listing", user, s.deleteListing)
	s.handle("GET /api/v1/marketplace", user, s.listMarket)
	s.handle("GET /api/v1/marketplace/{publisher}/{driver}", user, s.getMarketDriver)
	s.handle("POST /api/v1/marketplace/{publisher}/{driver}/acquire", user, s.acquire)
	s.handle("GET /api/v1/marketplace/{publisher}/{driver}/versions/{version}/package", user, s.getMarketPackage)
	s.handle("GET /api/v1/acquisitions", user, s.listAcquisitions)

	s.handle("GET /api/v1/instances", user, s.listInstances)
	s.handle("POST /api/v1/instances", user, s.createInstance)
	s.handle("GET /api/v1/instances/{instance}", user, s.getInstance)
	s.handle("PATCH /api/v1/instances/{instance}", user, s.updateInstance)
	s.handle("DELETE /api/v1/instances/{instance}", user, s.deleteInstance)
	s.handle("POST /api/v1/instances/{instance}/gateway/rotate-secret", user, s.rotateSecret)

	s.handle("GET /api/v1/instances/{instance}/drivers", user, s.listBindings)
	s.handle("GET /api/v1/instances/{instance}/drivers/{driver}", user, s.getBinding)
	s.handle("PUT /api/v1/instances/{instance}/drivers/{driver}", user, s.bind)
	s.handle("DELETE /api/v1/instances/{instance}/drivers/{driver}", user, s.unbind)
	s.handle("GET /api/v1/instances/{instance}/drivers/{driver}/config", user, s.getBindingConfig)
	s.handle("PUT /api/v1/instances/{instance}/drivers/{driver}/config", user, s.putBindingConfig)
	s.handle("DELETE /api/v1/instances/{instance}/drivers/{driver}/config", user, s.deleteBindingConfig)
	s.handle("PUT /api/v1/instances/{instance}/drivers/{driver}/config-file", user, s.putBindingConfigFile)
	s.handle("GET /api/v1/instances/{instance}/drivers/{driver}/config-file", user, s.getBindingConfigFile)
	s.handle("GET /api/v1/instances/{instance}/drivers/{driver}/logs", user, s.driverLogs)

	s.handle("GET /api/v1/devices", user, s.listDevices)
	s.handle("POST /api/v1/devices", user, s.createDevice)
	s.handle("GET /api/v1/devices/{product}/{name}", user, s.getDevice)
	s.handle("DELETE /api/v1/devices/{product}/{name}", user, s.deleteDevice)
	s.handle("GET /api/v1/instances/{instance}/devices", user, s.listInstanceDevices)
	s.handle("PUT /api/v1/instances/{instance}/devices/{product}/{name}", user, s.associateDevice)
	s.handle("DELETE /api/v1/instances/{instance}/devices/{product}/{name}", user, s.dissociateDevice)

	s.handle("GET /api/v1/instances/{instance}/deployments", user, s.listDeployments)
	s.handle("POST /api/v1/instances/{instance}/deployments", user, s.createDeployment)
	s.handle("GET /api/v1/instances/{instance}/deployments/{id}", user, s.getDeployment)
	s.handle("POST /api/v1/instances/{instance}/deployments/{id}/close", user, s.closeDeployment)

	s.routesRollouts()

	s.handle("GET /api/v1/gateway/desired", gateway, s.desired)
	s.handle("GET /api/v1/gateway/blobs/{sha256}", gateway, s.gatewayBlob)
	s.handle("POST /api/v1/gateway/report", gateway, s.report)
	s.handle("POST /api/v1/gateway/logs", gateway, s.postLogs)
	s.routesTUF()
}

// pageOf reads limit and cursor from the query.
func pageOf(r *http.Request) (driverhub.Page, error) {
	p := driverhub.Page{Cursor: r.URL.Query().Get("cursor")}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > driverhub.MaxPageLimit {
			return p, driverhub.Invalid("limit", "must be a whole number from 1 to %d", driverhub.MaxPageLimit)
		}
		p.Limit = n
	}
	return p, nil
}

// list answers one page of a list.
func list[T any](w http.ResponseWriter, r *http.Request, fetch func(driverhub.Page) (driverhub.List[T], error)) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	out, err := fetch(p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// answer writes v with status, or the error.
func answer(w http.ResponseWriter, status int, v any, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}

func noContent(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// upload hands a raw request body to store, refusing early when the
// declared length is over max.
func upload(r *http.Request, max int64, field string) (io.Reader, error) {
	if r.ContentLength > max {
		return nil, &driverhub.Error{Code: driverhub.ETooLarge, Field: field,
			Message: fmt.Sprintf("is larger than %d bytes (%d MiB)", max, max>>20)}
	}
	return r.Body, nil
}
