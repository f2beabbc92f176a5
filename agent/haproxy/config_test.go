package haproxy

import (
	"strings"
	"testing"
)

const lid = "04bff5c3-5862-4a13-b9e3-9b440d0ed50a"

func TestAgentConfig(t *testing.T) {
	got := string(AgentConfig([]byte("global\n  daemon\nfrontend x\n"), "/s/l.sock", "/certs/l"))
	for _, want := range []string{"global\n", "stats socket /s/l.sock mode 600 level admin expose-fd listeners\n", "crt-base /certs/l\n", "ca-base /certs/l\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	got = string(AgentConfig([]byte("global\n  crt-base /mine # comment\n  ca-base /ca\n"), "/s", "/c"))
	if strings.Contains(got, "crt-base") || strings.Contains(got, "ca-base") {
		t.Errorf("overrode the upload's crt-base/ca-base:\n%s", got)
	}
	// crt-base outside global does not count.
	got = string(AgentConfig([]byte("frontend f\n  crt-base /x\n"), "/s", "/c"))
	if !strings.Contains(got, "crt-base /c") {
		t.Errorf("crt-base missing:\n%s", got)
	}
}

func TestListenerType(t *testing.T) {
	cases := []struct{ cfg, want string }{
		{"defaults\n mode http\nfrontend " + lid + "\n bind :80\n", TypeHTTP},
		{"defaults\n mode http\nfrontend " + lid + "\n bind :443 ssl crt a.pem\n", TypeTerminatedHTTPS},
		{"frontend " + lid + "\n mode http\n bind :443 ssl crt a.pem # tls\n", TypeTerminatedHTTPS},
		{"frontend " + lid + "\n mode tcp\n bind :443\n", TypeTCP},
		{"frontend " + lid + "\n bind :443\n", TypeTCP},
		{"frontend other\n mode tcp\nfrontend " + lid + "\n mode http\n bind :1\n", TypeHTTP},
		{"defaults\n mode http\nlisten any\n bind :1\n", TypeHTTP},
		{"", TypeTCP},
		{"defaults\n mode http\nfrontend " + lid + "\n bind :80\n#mode tcp\n", TypeHTTP},
	}
	for _, c := range cases {
		if got := ListenerType([]byte(c.cfg), lid); got != c.want {
			t.Errorf("ListenerType(%q) = %s, want %s", c.cfg, got, c.want)
		}
	}
}

const sampleStat = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,
L1,FRONTEND,,,3,5,100,40,1000,2000,0,0,2,,,,,OPEN,,,,,,,,,1,2,0,,,,0,
P1:L1,M1,0,0,1,1,,20,500,1000,,0,,0,0,0,0,UP,1,1,0,0,0,1,0,,1,3,1,,20,,2,
P1:L1,M2,0,0,0,0,,20,500,1000,,0,,0,0,0,0,DOWN,1,1,0,1,1,1,1,,1,3,2,,20,,2,
P1:L1,BACKEND,0,0,1,1,10,40,1000,2000,0,0,,0,0,0,0,UP,2,2,0,,1,1,1,,1,3,0,,40,,1,
P2,M3,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN 1/2,1,1,0,1,1,1,1,,1,4,1,,0,,2,
P2,BACKEND,0,0,0,0,10,0,0,0,0,0,,0,0,0,0,DOWN,0,0,0,,1,1,1,,1,4,0,,0,,1,
P3,M4,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,1,1,0,0,0,1,0,,1,5,1,,0,,2,
P3,M5,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP 1/3,1,1,0,0,0,1,0,,1,5,2,,0,,2,
P3,BACKEND,0,0,0,0,10,0,0,0,0,0,,0,0,0,0,UP,0,0,0,,1,1,1,,1,5,0,,0,,1,
prometheus-exporter,FRONTEND,,,0,0,100,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,6,0,,,,0,
`

func TestSummarize(t *testing.T) {
	rows, err := ParseStat([]byte(sampleStat))
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(rows)
	f := s.Frontend
	if f.Status != "OPEN" || f.BytesIn != 1000 || f.BytesOut != 2000 || f.CurrentConns != 3 || f.TotalConns != 40 || f.RequestErrs != 2 {
		t.Fatalf("frontend %+v", f)
	}
	if len(s.Pools) != 3 {
		t.Fatalf("pools %+v", s.Pools)
	}
	p1, p2, p3 := s.Pools[0], s.Pools[1], s.Pools[2]
	if p1.ID != "P1" || p1.Backend != "P1:L1" || p1.Status != StatusDegraded ||
		p1.Members[0] != (Member{ID: "M1", Status: "UP", Raw: "UP"}) || p1.Members[1] != (Member{ID: "M2", Status: "DOWN", Raw: "DOWN"}) {
		t.Fatalf("p1 %+v", p1)
	}
	if p2.ID != "P2" || p2.Status != StatusDown || p2.Members[0].Status != "DOWN" {
		t.Fatalf("p2 %+v", p2)
	}
	if p3.Status != StatusUp || p3.Members[0].Raw != "no check" || p3.Members[1].Raw != "UP" {
		t.Fatalf("p3 %+v", p3)
	}
	if _, err := ParseStat([]byte("Unknown command\n")); err == nil {
		t.Fatal("garbage parsed")
	}
}
