package systemtest

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// Metrics is one scrape of a node's GET /metrics (Prometheus text format):
// every sample by metric name.
type Metrics map[string][]Sample

// Sample is one series' value.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Metrics scrapes the node as an operator (nil if it does not answer 200).
func (n *Node) Metrics() Metrics {
	r, err := n.Do("GET", "/metrics", nil, "X-Roles: admin")
	if err != nil || r.Status != 200 {
		return nil
	}
	return ParseMetrics(r.Body)
}

// Value is the sum of name's samples whose labels include every
// "label=value" given (0 when there is none).
func (m Metrics) Value(name string, labels ...string) float64 {
	var sum float64
	for _, s := range m[name] {
		if s.has(labels) {
			sum += s.Value
		}
	}
	return sum
}

// Has reports whether name has a sample with the labels given.
func (m Metrics) Has(name string, labels ...string) bool {
	for _, s := range m[name] {
		if s.has(labels) {
			return true
		}
	}
	return false
}

func (s Sample) has(labels []string) bool {
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		if got, ok := s.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// ParseMetrics reads Prometheus's text format: `name{k="v",…} value`; comments
// and lines it cannot read are skipped.
func ParseMetrics(text []byte) Metrics {
	m := Metrics{}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		labels := map[string]string{}
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		if strings.HasPrefix(rest, "{") {
			var ok bool
			if rest, ok = parseLabels(rest[1:], labels); !ok {
				continue
			}
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		m[name] = append(m[name], Sample{Labels: labels, Value: v})
	}
	return m
}

// parseLabels reads `k="v",…}` into labels and returns what follows the brace.
func parseLabels(s string, labels map[string]string) (string, bool) {
	for {
		s = strings.TrimLeft(s, ", ")
		if strings.HasPrefix(s, "}") {
			return s[1:], true
		}
		eq := strings.Index(s, `="`)
		if eq < 0 {
			return "", false
		}
		key := s[:eq]
		s = s[eq+2:]
		var val strings.Builder
		for {
			if s == "" {
				return "", false
			}
			c := s[0]
			s = s[1:]
			if c == '"' {
				break
			}
			if c == '\\' && s != "" {
				switch s[0] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(s[0])
				}
				s = s[1:]
				continue
			}
			val.WriteByte(c)
		}
		labels[key] = val.String()
	}
}
