package api

import (
	"net/http"
	"strings"

	"github.com/valyala/fasthttp"

	"keel/agent/ident"
	"keel/agent/netif"
	"keel/agent/sysinfo"
	"keel/agent/topology"
)

func (s *server) info(ctx *fasthttp.RequestCtx) (int, any, error) {
	v, err := s.Listeners.Version()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"hostname": s.host(), "uuid": s.AmphoraID, "haproxy_version": v, "api_version": Version}, nil
}

type detailsBody struct {
	Hostname       string                     `json:"hostname"`
	UUID           string                     `json:"uuid"`
	HAProxyVersion string                     `json:"haproxy_version"`
	APIVersion     string                     `json:"api_version"`
	NetworkTX      uint64                     `json:"network_tx"`
	NetworkRX      uint64                     `json:"network_rx"`
	Networks       map[string]sysinfo.NetRate `json:"networks"`
	Active         bool                       `json:"active"`
	HAProxyCount   int                        `json:"haproxy_count"`
	KeepalivedUp   bool                       `json:"keepalived_running"`
	CPU            sysinfo.CPU                `json:"cpu"`
	Memory         sysinfo.Memory             `json:"memory"`
	Disk           sysinfo.Disk               `json:"disk"`
	Load           []float64                  `json:"load"`
	Topology       string                     `json:"topology"`
	TopologyStatus string                     `json:"topology_status"`
	Listeners      []string                   `json:"listeners"`
	Packages       []map[string]string        `json:"packages"`
}

func (s *server) details(ctx *fasthttp.RequestCtx) (int, any, error) {
	v, err := s.Listeners.Version()
	if err != nil {
		return 0, nil, err
	}
	mem, err := sysinfo.ReadMemory()
	if err != nil {
		return 0, nil, err
	}
	disk, err := sysinfo.ReadDisk("/")
	if err != nil {
		return 0, nil, err
	}
	load, err := sysinfo.ReadLoad()
	if err != nil {
		return 0, nil, err
	}
	cpu, nets := s.Sampler.Rates()
	topo, status := s.Topology.Get()
	d := detailsBody{
		Hostname: s.host(), UUID: s.AmphoraID, HAProxyVersion: v, APIVersion: Version,
		Networks: nets, Active: topo.Topology != topology.ActiveStandby || topo.Role == topology.RoleActive,
		HAProxyCount: s.Listeners.RunningCount(), KeepalivedUp: s.VRRP.Running(),
		CPU: cpu, Memory: mem, Disk: disk, Load: load, Topology: topo.Topology, TopologyStatus: status,
		Listeners: s.Listeners.IDs(), Packages: s.Packages.Versions(),
	}
	for name, r := range nets {
		if name != "lo" {
			d.NetworkTX += r.TX
			d.NetworkRX += r.RX
		}
	}
	return http.StatusOK, d, nil
}

func (s *server) getTopology(ctx *fasthttp.RequestCtx) (int, any, error) {
	t, status := s.Topology.Get()
	return http.StatusOK, map[string]string{"hostname": s.host(), "uuid": s.AmphoraID, "topology": t.Topology,
		"role": t.Role, "ha_ip": t.HAIP, "topology_status": status}, nil
}

func (s *server) setTopology(ctx *fasthttp.RequestCtx) (int, any, error) {
	var req topology.Request
	if err := decodeJSON(ctx, &req); err != nil {
		return 0, nil, err
	}
	completed, err := s.Topology.Set(req, TopologyWait)
	if err != nil {
		return 0, nil, err
	}
	if !completed {
		return http.StatusAccepted, message{Message: "OK", Details: "topology change to " + req.Topology + " in progress"}, nil
	}
	return http.StatusOK, ok, nil
}

func (s *server) getInterface(ctx *fasthttp.RequestCtx) (int, any, error) {
	name, err := s.Net.InterfaceFor(param(ctx, "ip"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"message": "OK", "interface": name}, nil
}

type listenerSummary struct {
	Status string `json:"status"`
	UUID   string `json:"uuid"`
	Type   string `json:"type"`
}

func (s *server) listListeners(ctx *fasthttp.RequestCtx) (int, any, error) {
	out := []listenerSummary{}
	for _, l := range s.Listeners.List() {
		out = append(out, listenerSummary{Status: l.Status, UUID: l.ID, Type: l.Type})
	}
	return http.StatusOK, out, nil
}

type poolBody struct {
	UUID    string              `json:"uuid"`
	Status  string              `json:"status"`
	Members []map[string]string `json:"members"`
}

type listenerBody struct {
	listenerSummary
	Pools []poolBody `json:"pools"`
}

func (s *server) getListener(ctx *fasthttp.RequestCtx) (int, any, error) {
	st, err := s.Listeners.Status(param(ctx, "listener"), true)
	if err != nil {
		return 0, nil, err
	}
	body := listenerBody{listenerSummary: listenerSummary{Status: st.Status, UUID: st.ID, Type: st.Type}, Pools: []poolBody{}}
	for _, p := range st.Pools {
		pb := poolBody{UUID: p.ID, Status: p.Status, Members: []map[string]string{}}
		for _, m := range p.Members {
			pb.Members = append(pb.Members, map[string]string{m.ID: m.Status})
		}
		body.Pools = append(body.Pools, pb)
	}
	return http.StatusOK, body, nil
}

func (s *server) listenerAction(ctx *fasthttp.RequestCtx) (int, any, error) {
	id := param(ctx, "listener")
	action, known := normalizeAction(param(ctx, "action"))
	if !known {
		return 0, nil, &Error{Status: http.StatusBadRequest, Message: "Invalid Request", Details: "Unknown action: " + action}
	}
	var (
		details string
		err     error
	)
	switch action {
	case "start":
		details, err = s.Listeners.Start(id)
	case "stop":
		details, err = s.Listeners.Stop(id)
	case "reload":
		details, err = s.Listeners.Reload(id)
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, message{Message: "OK", Details: details}, nil
}

func (s *server) deleteListener(ctx *fasthttp.RequestCtx) (int, any, error) {
	if err := s.Listeners.Delete(param(ctx, "listener")); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, ok, nil
}

func (s *server) getConfig(ctx *fasthttp.RequestCtx) (int, any, error) {
	cfg, err := s.Listeners.Config(param(ctx, "listener"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, cfg, nil
}

func (s *server) uploadConfig(ctx *fasthttp.RequestCtx) (int, any, error) {
	amp, id := param(ctx, "amphora_id"), param(ctx, "listener2")
	switch {
	case !ident.ValidUUID(amp):
		return 0, nil, invalidRequest("Invalid amphora UUID: " + amp)
	case !strings.EqualFold(amp, s.AmphoraID):
		return 0, nil, invalidRequest("Amphora UUID " + amp + " is not this amphora's (" + s.AmphoraID + ")")
	case !ident.ValidUUID(id):
		return 0, nil, invalidRequest("Invalid listener UUID: " + id)
	case len(strings.TrimSpace(string(ctx.PostBody()))) == 0:
		return 0, nil, invalidRequest("empty haproxy configuration")
	}
	sum, err := s.Listeners.Upload(id, ctx.PostBody())
	if err != nil {
		return 0, nil, err
	}
	ctx.Response.Header.Set("ETag", sum)
	return http.StatusCreated, ok, nil
}

func (s *server) certArgs(ctx *fasthttp.RequestCtx) (string, string, error) {
	id := param(ctx, "listener")
	if !ident.ValidUUID(id) {
		return "", "", listenerNotFound(id)
	}
	return id, param(ctx, "filename"), nil
}

func (s *server) putCert(ctx *fasthttp.RequestCtx) (int, any, error) {
	id, name, err := s.certArgs(ctx)
	if err != nil {
		return 0, nil, err
	}
	sum, err := s.Certs.Put(id, name, ctx.PostBody())
	if err != nil {
		return 0, nil, err
	}
	ctx.Response.Header.Set("ETag", sum)
	return http.StatusCreated, ok, nil
}

func (s *server) getCert(ctx *fasthttp.RequestCtx) (int, any, error) {
	id, name, err := s.certArgs(ctx)
	if err != nil {
		return 0, nil, err
	}
	sum, err := s.Certs.MD5(id, name)
	if err != nil {
		return 0, nil, err
	}
	ctx.Response.Header.Set("ETag", sum)
	return http.StatusOK, map[string]string{"md5sum": sum}, nil
}

func (s *server) deleteCert(ctx *fasthttp.RequestCtx) (int, any, error) {
	id, name, err := s.certArgs(ctx)
	if err != nil {
		return 0, nil, err
	}
	if err := s.Certs.Delete(id, name); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, ok, nil
}

func (s *server) plugVIP(ctx *fasthttp.RequestCtx) (int, any, error) {
	var req netif.VIP
	if err := decodeJSON(ctx, &req); err != nil {
		return 0, nil, err
	}
	req.IP = param(ctx, "ip")
	name, err := s.Net.PlugVIP(req)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, message{Message: "OK", Details: "VIP " + req.IP + " plugged on interface " + name}, nil
}

type plugNetworkRequest struct {
	MACAddress string          `json:"mac_address"`
	FixedIPs   []netif.FixedIP `json:"fixed_ips"`
}

func (s *server) plugNetwork(ctx *fasthttp.RequestCtx) (int, any, error) {
	var req plugNetworkRequest
	if err := decodeJSON(ctx, &req); err != nil {
		return 0, nil, err
	}
	name, err := s.Net.PlugNetwork(req.MACAddress, req.FixedIPs)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, message{Message: "OK", Details: "Plugged interface " + name}, nil
}

func (s *server) putServerCert(ctx *fasthttp.RequestCtx) (int, any, error) {
	if err := s.ServerCert.Replace(ctx.PostBody()); err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, ok, nil
}

func (s *server) vrrp(ctx *fasthttp.RequestCtx) (int, any, error) {
	raw := param(ctx, "action")
	if raw == "upload" {
		if err := s.VRRP.Upload(ctx.PostBody()); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, ok, nil
	}
	action, known := normalizeAction(raw)
	if !known {
		return 0, nil, &Error{Status: http.StatusBadRequest, Message: "Invalid Request", Details: "Unknown action: " + raw}
	}
	var (
		details string
		err     error
	)
	switch action {
	case "start":
		details, err = s.VRRP.Start()
	case "stop":
		details, err = s.VRRP.Stop()
	case "reload":
		details, err = s.VRRP.Reload()
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, message{Message: "OK", Details: details}, nil
}
