package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// UnmatchedRoute is the route label of a request no route matched (404, 405,
// a refusal before routing): one label for every unknown path, so a scan of
// random paths cannot grow the series.
const UnmatchedRoute = "unmatched"

// HTTPRequests records one listener's requests. The label children of a
// (route, method, code) are resolved on its first request and kept, so a
// request costs two map lookups, a counter increment and a histogram
// observation — no label strings built, nothing allocated.
type HTTPRequests struct {
	listener string
	routes   sync.Map // route template → *routeRequests
}

// NewHTTPRequests returns the recorder of listener (octavia, blazar, mogan).
func NewHTTPRequests(listener string) *HTTPRequests { return &HTTPRequests{listener: listener} }

// Listener is the listener's name.
func (h *HTTPRequests) Listener() string { return h.listener }

// routeRequests are the children of one route, by method and code; the map is
// replaced, never changed, so readers need no lock.
type routeRequests struct {
	route    string
	mu       sync.Mutex
	children atomic.Pointer[map[requestKey]requestChildren]
}

type requestKey struct {
	method string
	code   int
}

type requestChildren struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// Observe records one answered request. route is the router's template (""
// when none matched); method is the request line's.
func (h *HTTPRequests) Observe(route string, method []byte, code int, elapsed time.Duration) {
	if route == "" {
		route = UnmatchedRoute
	}
	v, ok := h.routes.Load(route)
	if !ok {
		v, _ = h.routes.LoadOrStore(route, &routeRequests{route: route})
	}
	r := v.(*routeRequests)
	key := requestKey{methodName(method), code}
	var c requestChildren
	found := false // not ok: that one said whether the route was known
	if m := r.children.Load(); m != nil {
		c, found = (*m)[key]
	}
	if !found {
		c = r.add(h.listener, key)
	}
	c.count.Inc()
	c.latency.Observe(elapsed.Seconds())
}

// add resolves and keeps the children of key.
func (r *routeRequests) add(listener string, key requestKey) requestChildren {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.children.Load()
	if old != nil {
		if c, ok := (*old)[key]; ok {
			return c
		}
	}
	next := make(map[requestKey]requestChildren, 1)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	code := codeLabel(key.code)
	c := requestChildren{
		count:   httpRequests.WithLabelValues(listener, r.route, key.method, code),
		latency: httpDuration.WithLabelValues(listener, r.route, key.method, code),
	}
	next[key] = c
	r.children.Store(&next)
	return c
}

// methodName is the method's label: the standard methods by name, anything
// else "other" (a client picks the method; the label set stays bounded).
func methodName(m []byte) string {
	switch string(m) {
	case "GET":
		return "GET"
	case "HEAD":
		return "HEAD"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "PATCH":
		return "PATCH"
	case "DELETE":
		return "DELETE"
	case "OPTIONS":
		return "OPTIONS"
	}
	return "other"
}

// codeLabel is a status code's label ("201"); the codes a server answers are few.
func codeLabel(code int) string {
	if code < 100 || code > 999 {
		return "other"
	}
	return string([]byte{byte('0' + code/100), byte('0' + code/10%10), byte('0' + code%10)})
}
