package haproxy

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Pool and member statuses reported by the agent.
const (
	StatusUp       = "UP"
	StatusDown     = "DOWN"
	StatusDegraded = "DEGRADED"
)

// StatRow is one row of haproxy's "show stat".
type StatRow map[string]string

// Uint reads a numeric column (0 when empty or absent).
func (r StatRow) Uint(col string) uint64 {
	v, _ := strconv.ParseUint(r[col], 10, 64)
	return v
}

// socketCommand sends one command to an haproxy stats socket and returns the answer.
func socketCommand(path, command string, timeout time.Duration) ([]byte, error) {
	conn, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(conn, command+"\n"); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(conn, 16<<20))
}

// ShowStat queries "show stat" on a stats socket.
func ShowStat(socket string, timeout time.Duration) ([]StatRow, error) {
	out, err := socketCommand(socket, "show stat", timeout)
	if err != nil {
		return nil, err
	}
	return ParseStat(out)
}

// ParseStat parses "show stat" CSV output (header line "# pxname,svname,...").
func ParseStat(out []byte) ([]StatRow, error) {
	text := strings.TrimSpace(string(out))
	if !strings.HasPrefix(text, "# ") {
		return nil, fmt.Errorf("unexpected stats output: %.80q", text)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(text, "# ")))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("parse stats: %w", err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("empty stats output")
	}
	header := recs[0]
	rows := make([]StatRow, 0, len(recs)-1)
	for _, rec := range recs[1:] {
		row := StatRow{}
		for i, v := range rec {
			if i < len(header) && header[i] != "" {
				row[header[i]] = v
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// ShowInfo queries "show info" and returns its "Key: value" lines.
func ShowInfo(socket string, timeout time.Duration) (map[string]string, error) {
	out, err := socketCommand(socket, "show info", timeout)
	if err != nil {
		return nil, err
	}
	info := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			info[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if info["Pid"] == "" {
		return nil, fmt.Errorf("unexpected info output: %.80q", out)
	}
	return info, nil
}

// Pool is a backend's state: ID is the pool UUID (the backend name up to its last ':',
// which separates "<pool>:<listener>" names).
type Pool struct {
	ID      string
	Backend string
	Status  string // UP, DOWN or DEGRADED (UP but some members not UP)
	Members []Member
}

// Member is a server: ID is the member UUID (the server name); Status is UP or DOWN
// for the listener API; Raw is haproxy's own status (UP, DOWN, DRAIN, MAINT, no check).
type Member struct {
	ID     string
	Status string
	Raw    string
}

// Frontend aggregates a listener's FRONTEND rows.
type Frontend struct {
	Status                                                   string // OPEN, FULL or STOP
	BytesIn, BytesOut, CurrentConns, TotalConns, RequestErrs uint64
}

// Summary is a listener process's status read from its stats.
type Summary struct {
	Frontend Frontend
	Pools    []Pool
}

// isInternal reports proxies that are no listener's (haproxy's own, prometheus, stats).
func isInternal(pxname string) bool {
	return strings.HasPrefix(pxname, "<") || strings.Contains(pxname, "prometheus") || pxname == "stats"
}

// rawMemberStatus normalises haproxy's transitional states ("UP 1/3" is still UP,
// "DOWN 1/2" still DOWN) and keeps the others as haproxy spells them.
func rawMemberStatus(s string) string {
	switch {
	case strings.HasPrefix(s, "UP"):
		return "UP"
	case strings.HasPrefix(s, "DOWN"), s == "NOLB":
		return "DOWN"
	case strings.HasPrefix(s, "MAINT"):
		return "MAINT"
	case strings.HasPrefix(s, "DRAIN"):
		return "DRAIN"
	case s == "no check":
		return "no check"
	}
	return s
}

// Summarize maps stats rows to frontend, pools and members.
func Summarize(rows []StatRow) Summary {
	var sum Summary
	pools := map[string]*Pool{}
	var order []string
	pool := func(backend string) *Pool {
		if p, ok := pools[backend]; ok {
			return p
		}
		id := backend
		if i := strings.LastIndexByte(backend, ':'); i > 0 {
			id = backend[:i]
		}
		p := &Pool{ID: id, Backend: backend}
		pools[backend] = p
		order = append(order, backend)
		return p
	}
	for _, r := range rows {
		px, sv := r["pxname"], r["svname"]
		if isInternal(px) {
			continue
		}
		switch sv {
		case "FRONTEND":
			f := &sum.Frontend
			switch {
			case r["status"] == "FULL" || f.Status == "FULL":
				f.Status = "FULL"
			case r["status"] == "OPEN" || f.Status == "OPEN":
				f.Status = "OPEN"
			default:
				f.Status = r["status"]
			}
			f.BytesIn += r.Uint("bin")
			f.BytesOut += r.Uint("bout")
			f.CurrentConns += r.Uint("scur")
			f.TotalConns += r.Uint("stot")
			f.RequestErrs += r.Uint("ereq")
		case "BACKEND":
			p := pool(px)
			p.Status = r["status"]
		default:
			if r["type"] == "2" || r["type"] == "" { // 2 = server
				p := pool(px)
				raw := rawMemberStatus(r["status"])
				st := StatusDown
				if raw == "UP" || raw == "no check" {
					st = StatusUp
				}
				p.Members = append(p.Members, Member{ID: sv, Status: st, Raw: raw})
			}
		}
	}
	for _, b := range order {
		p := pools[b]
		up := 0
		for _, m := range p.Members {
			if m.Status == StatusUp {
				up++
			}
		}
		switch {
		case p.Status != "UP" && p.Status != "":
			p.Status = StatusDown
		case len(p.Members) == 0 && p.Status == "":
			p.Status = StatusDown
		case up == 0 && len(p.Members) > 0:
			p.Status = StatusDown
		case up < len(p.Members):
			p.Status = StatusDegraded
		default:
			p.Status = StatusUp
		}
		sum.Pools = append(sum.Pools, *p)
	}
	return sum
}
