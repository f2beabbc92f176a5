package http

import (
	"slices"
	"time"

	"github.com/valyala/fasthttp"

	"keel/actors/baremetal"
	"keel/store/storepb"
)

// Mogan's views of store rows. Timestamps are ISO 8601 with "+00:00" (Python's
// isoformat of an aware datetime: microseconds only when not zero);
// updated_at and launched_at are null until set. power_state is "power on",
// "power off" or null (unknown). network_info is the object Mogan's engine
// fills from Neutron, keyed by port id; keel has no Neutron and makes no
// ports, so it shows the networks the create asked for, keyed by network id,
// with no MAC and no fixed IPs (networkInfo; docs/mogan-deviations.md). links (self
// and bookmark) are always rendered, even when fields leaves everything else
// out. Instance types render uuid, name, description, is_public, extra_specs,
// created_at, updated_at and links.

// moganBase is the URL the request reached the listener by.
func moganBase(ctx *fasthttp.RequestCtx) string { return "http://" + string(ctx.Host()) }

func appendMoganLink(b []byte, href, rel string) []byte {
	o := openObject(b)
	o.str("href", href)
	o.str("rel", rel)
	return o.close()
}

// appendMoganLinks is [self, bookmark] of a collection (id "") or a member.
func appendMoganLinks(b []byte, base, collection, id string) []byte {
	path := "/" + collection
	if id != "" {
		path += "/" + id
	}
	b = appendMoganLink(append(b, '['), base+"/v1"+path, "self")
	return append(appendMoganLink(append(b, ','), base+path, "bookmark"), ']')
}

// moganTime is t (unix microseconds) as Python's isoformat of a UTC datetime.
func moganTime(us int64) string {
	t := time.UnixMicro(us).UTC()
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05") + "+00:00"
	}
	return t.Format("2006-01-02T15:04:05.000000") + "+00:00"
}

func (o *jsonObject) moganTime(k string, us int64) {
	if us == 0 {
		o.null(k)
		return
	}
	o.str(k, moganTime(us))
}

// networkInfo is what keel knows of an instance's ports: the ports recorded
// on the row if any (keel records none today: it has no Neutron), else one
// entry per network the create asked for, keyed by the network's id (there
// is no port id to key it by), with no MAC address and no fixed IPs. A
// network asked for twice is one key: a JSON object cannot repeat it, and
// keel has nothing that tells the two apart.
func networkInfo(x *storepb.Instance) []*storepb.NetworkPort {
	if len(x.NetworkInfo) > 0 {
		return x.NetworkInfo
	}
	out := make([]*storepb.NetworkPort, 0, len(x.Networks))
	for _, n := range x.Networks {
		if !slices.ContainsFunc(out, func(p *storepb.NetworkPort) bool { return p.PortId == n.NetId }) {
			out = append(out, &storepb.NetworkPort{PortId: n.NetId, NetworkId: n.NetId})
		}
	}
	return out
}

// appendNetworkInfo renders network_info: {<key>: {"network",
// "mac_address", "fixed_ips": [{"ip_address", "subnet_id"}]}}, the key the
// port id (the network id when keel knows no port: networkInfo).
func appendNetworkInfo(b []byte, ports []*storepb.NetworkPort) []byte {
	o := openObject(b)
	for _, p := range ports {
		port := openObject(nil)
		port.str("network", p.NetworkId)
		port.nullableStr("mac_address", p.MacAddress)
		port.key("fixed_ips")
		port.b = append(port.b, '[')
		for i, ip := range p.FixedIps {
			if i > 0 {
				port.b = append(port.b, ',')
			}
			f := openObject(port.b)
			f.str("ip_address", ip.IpAddress)
			f.str("subnet_id", ip.SubnetId)
			port.b = f.close()
		}
		port.b = append(port.b, ']')
		o.raw(p.PortId, port.close())
	}
	return o.close()
}

// appendInstanceField renders one field of an instance (a name of
// baremetal.DetailFields or "links").
func appendInstanceField(o *jsonObject, base string, x *storepb.Instance, f string) {
	switch f {
	case "uuid":
		o.str(f, x.Uuid)
	case "name":
		o.str(f, x.Name)
	case "description":
		o.nullableStr(f, x.Description)
	case "project_id":
		o.str(f, x.ProjectId)
	case "user_id":
		o.str(f, x.UserId)
	case "status":
		o.str(f, x.Status)
	case "power_state":
		o.nullableStr(f, x.PowerState)
	case "target_power_state":
		o.nullableStr(f, x.TargetPowerState)
	case "instance_type_uuid":
		o.str(f, x.InstanceTypeUuid)
	case "image_uuid":
		o.str(f, x.ImageUuid)
	case "availability_zone":
		o.nullableStr(f, x.AvailabilityZone)
	case "network_info":
		o.key(f)
		o.b = appendNetworkInfo(o.b, networkInfo(x))
	case "launched_at":
		o.moganTime(f, x.LaunchedAtUs)
	case "extra":
		o.key(f)
		o.b = appendStringMap(o.b, x.Extra)
	case "created_at":
		o.moganTime(f, x.CreatedAtUs)
	case "updated_at":
		if x.UpdatedAtUs == x.CreatedAtUs {
			o.null(f)
		} else {
			o.moganTime(f, x.UpdatedAtUs)
		}
	case "links":
		o.key(f)
		o.b = appendMoganLinks(o.b, base, "instances", x.Uuid)
	}
}

// appendInstance renders an instance with fields (which end with links).
// Rendered with every field (detail, show without fields, a write's answer),
// an instance in error also has later Mogan's "fault": {"message": why}
// ("No valid host was found.", the BMC's failure): the seed era's fields
// cannot say why, and without it nobody could.
func appendInstance(b []byte, base string, x *storepb.Instance, fields []string) []byte {
	o := openObject(b)
	for _, f := range fields {
		appendInstanceField(&o, base, x, f)
	}
	if x.Status == storepb.InstanceError && x.StatusReason != "" && slices.Equal(fields, detailFields) {
		fault := openObject(nil)
		fault.str("message", x.StatusReason)
		o.raw("fault", fault.close())
	}
	return o.close()
}

// detailFields are every field of an instance, then links.
var detailFields = append(slices.Clip(baremetal.DetailFields), "links")

// listFields are a list's fields without ?fields=.
var listFields = append(slices.Clip(baremetal.ListFields), "links")

func appendInstanceType(b []byte, base string, t *storepb.InstanceType) []byte {
	o := openObject(b)
	o.str("uuid", t.Uuid)
	o.str("name", t.Name)
	o.nullableStr("description", t.Description)
	o.boolean("is_public", t.IsPublic)
	o.key("extra_specs")
	o.b = appendStringMap(o.b, t.ExtraSpecs)
	o.moganTime("created_at", t.CreatedAtUs)
	if t.UpdatedAtUs == t.CreatedAtUs {
		o.null("updated_at")
	} else {
		o.moganTime("updated_at", t.UpdatedAtUs)
	}
	o.key("links")
	o.b = appendMoganLinks(o.b, base, "types", t.Uuid)
	return o.close()
}
