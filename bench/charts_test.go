package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"strings"
	"testing"
)

func TestChartsAreSVG(t *testing.T) {
	rows, bad, err := ParseFile("testdata/results-20261201-060400.md")
	if err != nil || len(bad) > 0 {
		t.Fatalf("parse: %v %v", err, bad)
	}
	for name, write := range map[string]func(*bytes.Buffer) error{
		"throughput": func(b *bytes.Buffer) error { return WriteThroughputChart(b, "keel: throughput", rows) },
		"latency": func(b *bytes.Buffer) error {
			return WriteLatencyChart(b, "keel: latency (solid p50, dashed p99)", rows)
		},
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b.Len() < 1000 {
			t.Fatalf("%s: %d bytes", name, b.Len())
		}
		// Well-formed XML whose root is <svg>, naming every series.
		d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
		root := ""
		for root == "" {
			tok, err := d.Token()
			if err != nil {
				t.Fatalf("%s: no root element: %v", name, err)
			}
			if se, ok := tok.(xml.StartElement); ok {
				root = se.Name.Local
			}
		}
		for {
			if _, err := d.Token(); err != nil {
				if err != io.EOF {
					t.Fatalf("%s: not well-formed: %v", name, err)
				}
				break
			}
		}
		if root != "svg" {
			t.Fatalf("%s: root %q", name, root)
		}
		for _, want := range []string{"1 node", "3 nodes", "create (round-robin over nodes)", "concurrency"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s: no %q", name, want)
			}
		}
		if os.Getenv("BENCH_CHARTS_OUT") != "" {
			os.WriteFile(os.Getenv("BENCH_CHARTS_OUT")+"-"+name+".svg", b.Bytes(), 0o644)
		}
	}
}
