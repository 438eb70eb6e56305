package console

import (
	"net/http"
	"strconv"

	"github.com/driverhub/driverhub"
)

type deploymentData struct {
	Instance   *driverhub.Instance
	Deployment *driverhub.Deployment
	Drivers    []driverState
}

// driverState is a bound driver's last reported state and its recent output.
type driverState struct {
	Binding *driverhub.Binding
	Logs    logPane
}

// recentLines is how many log lines of each driver the deployment page shows.
const recentLines = 20

// deploymentPage shows a deployment's per-resource stages and logs, and each
// driver's state and recent log lines. While the deployment runs, the page's
// script fetches the page again every 2 s and swaps its live part.
func (c *Console) deploymentPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	name := r.PathValue("instance")
	i, err := c.instances.GetInstance(ctx, name)
	if err != nil {
		return err
	}
	d, err := c.deployments.GetDeployment(ctx, name, r.PathValue("id"))
	if err != nil {
		return err
	}
	data := deploymentData{Instance: i, Deployment: d}
	bindings, err := c.instances.ListBindings(ctx, name)
	if err != nil {
		return err
	}
	for n, b := range bindings.Items {
		logs, err := c.recentLogs(r, name, b.Driver, recentLines, "driver-log-"+strconv.Itoa(n))
		if err != nil {
			return err
		}
		data.Drivers = append(data.Drivers, driverState{Binding: b, Logs: logs})
	}
	c.render(w, r, s, http.StatusOK, "deployment", view{Title: "deployment.title", Nav: "instances", Data: data})
	return nil
}

func (c *Console) closeDeployment(w http.ResponseWriter, r *http.Request, s *session) error {
	name, id := r.PathValue("instance"), r.PathValue("id")
	if _, err := c.deployments.CloseDeployment(r.Context(), name, id); err != nil {
		return err
	}
	redirect(w, r, "/instances/"+esc(name)+"/deployments/"+esc(id), "deployment_closed")
	return nil
}
