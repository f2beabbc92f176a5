// Package agentclient is the controller side of the agent API v0.1: a Go client over
// mutual TLS that keel's amphora grains use to drive keel-agent. Error answers come
// back as *APIError with the agent's status, message and details.
package agentclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// APIError is a non-2xx answer.
type APIError struct {
	Status  int
	Message string `json:"message"`
	Details string `json:"details"`
}

func (e *APIError) Error() string {
	if e.Details == "" {
		return fmt.Sprintf("agent: %d %s", e.Status, e.Message)
	}
	return fmt.Sprintf("agent: %d %s: %s", e.Status, e.Message, e.Details)
}

// Client talks to one agent.
type Client struct {
	base string
	http *http.Client
}

// TLSConfig is the controller's side of mutual TLS: its client certificate, the CAs
// that sign agents' server certificates and the name to verify (upstream asserts the
// amphora id; an IP address works when the certificate carries it).
func TLSConfig(clientCert tls.Certificate, serverCAs *x509.CertPool, serverName string) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{clientCert}, RootCAs: serverCAs, ServerName: serverName}
}

// New returns a client for the agent at addr (host:port). Each request is bounded by
// timeout (upstream: 60 s read).
func New(addr string, tlsConfig *tls.Config, timeout time.Duration) *Client {
	return &Client{
		base: "https://" + addr,
		http: &http.Client{Timeout: timeout, Transport: &http.Transport{TLSClientConfig: tlsConfig, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}},
	}
}

// CloseIdleConnections closes idle connections (e.g. after the agent's certificate
// changed).
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Message is the {"message", "details"} success body.
type Message struct {
	Message string `json:"message"`
	Details string `json:"details"`
}

// do sends a request and decodes a JSON answer into out (if not nil); raw bodies are
// returned too. It returns the status.
func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) (int, []byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, nil, nil, err
	}
	if resp.StatusCode >= 300 {
		e := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
			e.Details = string(data)
		}
		return resp.StatusCode, data, resp.Header, e
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, data, resp.Header, fmt.Errorf("agent: decode %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, data, resp.Header, nil
}

func jsonBody(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

const v = "/v0.1"

// Info is GET /info.
type Info struct {
	Hostname       string `json:"hostname"`
	UUID           string `json:"uuid"`
	HAProxyVersion string `json:"haproxy_version"`
	APIVersion     string `json:"api_version"`
}

// Info gets the agent's identity and versions.
func (c *Client) Info(ctx context.Context) (*Info, error) {
	var out Info
	_, _, _, err := c.do(ctx, "GET", "/info", nil, &out)
	return &out, err
}

// Details is GET /details.
type Details struct {
	Info
	NetworkTX      uint64                       `json:"network_tx"`
	NetworkRX      uint64                       `json:"network_rx"`
	Networks       map[string]map[string]uint64 `json:"networks"`
	Active         bool                         `json:"active"`
	HAProxyCount   int                          `json:"haproxy_count"`
	KeepalivedUp   bool                         `json:"keepalived_running"`
	CPU            map[string]float64           `json:"cpu"`
	Memory         map[string]uint64            `json:"memory"`
	Disk           map[string]uint64            `json:"disk"`
	Load           []float64                    `json:"load"`
	Topology       string                       `json:"topology"`
	TopologyStatus string                       `json:"topology_status"`
	Listeners      []string                     `json:"listeners"`
	Packages       []map[string]string          `json:"packages"`
}

// Details gets the amphora's figures.
func (c *Client) Details(ctx context.Context) (*Details, error) {
	var out Details
	_, _, _, err := c.do(ctx, "GET", v+"/details", nil, &out)
	return &out, err
}

// Topology is GET/POST /topology.
type Topology struct {
	Hostname       string `json:"hostname,omitempty"`
	UUID           string `json:"uuid,omitempty"`
	Topology       string `json:"topology"`
	Role           string `json:"role,omitempty"`
	HAIP           string `json:"ha_ip,omitempty"`
	Secret         string `json:"secret,omitempty"`
	TopologyStatus string `json:"topology_status,omitempty"`
}

// Topology gets the configured topology.
func (c *Client) Topology(ctx context.Context) (*Topology, error) {
	var out Topology
	_, _, _, err := c.do(ctx, "GET", v+"/topology", nil, &out)
	return &out, err
}

// SetTopology requests a topology; accepted is true for 202 (still in progress).
func (c *Client) SetTopology(ctx context.Context, t Topology) (accepted bool, err error) {
	body := map[string]string{"topology": t.Topology, "role": t.Role, "ha_ip": t.HAIP, "secret": t.Secret}
	status, _, _, err := c.do(ctx, "POST", v+"/topology", jsonBody(body), nil)
	return status == http.StatusAccepted, err
}

// Interface returns the name of the interface holding ip.
func (c *Client) Interface(ctx context.Context, ip string) (string, error) {
	var out struct {
		Interface string `json:"interface"`
	}
	_, _, _, err := c.do(ctx, "GET", v+"/interface/"+url.PathEscape(ip), nil, &out)
	return out.Interface, err
}

// ListenerSummary is an element of GET /listeners.
type ListenerSummary struct {
	Status string `json:"status"`
	UUID   string `json:"uuid"`
	Type   string `json:"type"`
}

// Listeners lists the listeners.
func (c *Client) Listeners(ctx context.Context) ([]ListenerSummary, error) {
	var out []ListenerSummary
	_, _, _, err := c.do(ctx, "GET", v+"/listeners", nil, &out)
	return out, err
}

// ListenerStatus is GET /listeners/{id}.
type ListenerStatus struct {
	ListenerSummary
	Pools []PoolStatus `json:"pools"`
}

// PoolStatus is a pool in a listener's status; Members are one-entry maps as in the
// seed.
type PoolStatus struct {
	UUID    string              `json:"uuid"`
	Status  string              `json:"status"`
	Members []map[string]string `json:"members"`
}

// Member returns a member's status across the listener's pools ("" if absent).
func (s *ListenerStatus) Member(id string) string {
	for _, p := range s.Pools {
		for _, m := range p.Members {
			if st, ok := m[id]; ok {
				return st
			}
		}
	}
	return ""
}

// Pool returns a pool's status ("" if absent).
func (s *ListenerStatus) Pool(id string) string {
	for _, p := range s.Pools {
		if p.UUID == id {
			return p.Status
		}
	}
	return ""
}

// Listener gets one listener's status with pools and members.
func (c *Client) Listener(ctx context.Context, id string) (*ListenerStatus, error) {
	var out ListenerStatus
	_, _, _, err := c.do(ctx, "GET", v+"/listeners/"+url.PathEscape(id), nil, &out)
	return &out, err
}

// ListenerAction runs start, stop or reload and returns the agent's details.
func (c *Client) ListenerAction(ctx context.Context, id, action string) (string, error) {
	var out Message
	_, _, _, err := c.do(ctx, "PUT", v+"/listeners/"+url.PathEscape(id)+"/"+url.PathEscape(action), nil, &out)
	return out.Details, err
}

// DeleteListener stops a listener and removes its files.
func (c *Client) DeleteListener(ctx context.Context, id string) error {
	_, _, _, err := c.do(ctx, "DELETE", v+"/listeners/"+url.PathEscape(id), nil, nil)
	return err
}

// UploadConfig uploads a listener's haproxy configuration; it returns the ETag (md5).
func (c *Client) UploadConfig(ctx context.Context, amphoraID, listenerID string, cfg []byte) (string, error) {
	_, _, h, err := c.do(ctx, "PUT", v+"/listeners/"+url.PathEscape(amphoraID)+"/"+url.PathEscape(listenerID)+"/haproxy", cfg, nil)
	if err != nil {
		return "", err
	}
	return h.Get("ETag"), nil
}

// Config gets a listener's stored haproxy configuration.
func (c *Client) Config(ctx context.Context, id string) ([]byte, error) {
	_, body, _, err := c.do(ctx, "GET", v+"/listeners/"+url.PathEscape(id)+"/haproxy", nil, nil)
	if err != nil {
		return nil, err
	}
	return body, nil
}

// PutCertificate uploads a listener's PEM file.
func (c *Client) PutCertificate(ctx context.Context, listenerID, filename string, pem []byte) error {
	_, _, _, err := c.do(ctx, "PUT", v+"/listeners/"+url.PathEscape(listenerID)+"/certificates/"+url.PathEscape(filename), pem, nil)
	return err
}

// CertificateMD5 returns the md5 of a stored PEM file.
func (c *Client) CertificateMD5(ctx context.Context, listenerID, filename string) (string, error) {
	var out struct {
		MD5 string `json:"md5sum"`
	}
	_, _, _, err := c.do(ctx, "GET", v+"/listeners/"+url.PathEscape(listenerID)+"/certificates/"+url.PathEscape(filename), nil, &out)
	return out.MD5, err
}

// DeleteCertificate deletes a stored PEM file.
func (c *Client) DeleteCertificate(ctx context.Context, listenerID, filename string) error {
	_, _, _, err := c.do(ctx, "DELETE", v+"/listeners/"+url.PathEscape(listenerID)+"/certificates/"+url.PathEscape(filename), nil, nil)
	return err
}

// PlugVIPRequest is the plug vip body.
type PlugVIPRequest struct {
	SubnetCIDR string `json:"subnet_cidr"`
	Gateway    string `json:"gateway,omitempty"`
	MACAddress string `json:"mac_address"`
}

// PlugVIP plugs a VIP and returns the agent's details.
func (c *Client) PlugVIP(ctx context.Context, vip string, req PlugVIPRequest) (string, error) {
	var out Message
	_, _, _, err := c.do(ctx, "POST", v+"/plug/vip/"+url.PathEscape(vip), jsonBody(req), &out)
	return out.Details, err
}

// FixedIP is an address for plug network.
type FixedIP struct {
	IPAddress  string `json:"ip_address"`
	SubnetCIDR string `json:"subnet_cidr"`
}

// PlugNetwork plugs the port with the MAC and returns the agent's details.
func (c *Client) PlugNetwork(ctx context.Context, mac string, fixed []FixedIP) (string, error) {
	var out Message
	body := map[string]any{"mac_address": mac}
	if len(fixed) > 0 {
		body["fixed_ips"] = fixed
	}
	_, _, _, err := c.do(ctx, "POST", v+"/plug/network/", jsonBody(body), &out)
	return out.Details, err
}

// PutServerCertificate replaces the agent's server certificate (key + cert + chain).
func (c *Client) PutServerCertificate(ctx context.Context, pem []byte) error {
	_, _, _, err := c.do(ctx, "PUT", v+"/certificate", pem, nil)
	return err
}

// UploadVRRP uploads a keepalived configuration.
func (c *Client) UploadVRRP(ctx context.Context, cfg []byte) error {
	_, _, _, err := c.do(ctx, "PUT", v+"/vrrp/upload", cfg, nil)
	return err
}

// VRRPAction runs start, stop or reload on keepalived and returns the agent's details.
func (c *Client) VRRPAction(ctx context.Context, action string) (string, error) {
	var out Message
	_, _, _, err := c.do(ctx, "PUT", v+"/vrrp/"+url.PathEscape(action), nil, &out)
	return out.Details, err
}

// Raw sends any request and returns status and body, for callers (and tests) that
// need what the typed methods hide.
func (c *Client) Raw(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	status, data, _, err := c.do(ctx, method, path, body, nil)
	if _, isAPI := err.(*APIError); isAPI {
		err = nil
	}
	return status, data, err
}
