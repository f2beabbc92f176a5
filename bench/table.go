package bench

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Row is one line of a results table: a workload measured in a scenario ("1 node",
// "3 nodes"). keelbench writes rows, the charts draw them and the comparison with an
// earlier results file reads them back.
type Row struct {
	Scenario    string
	Workload    string
	Concurrency int
	RPS         float64
	P50, P90    time.Duration
	P99, Max    time.Duration
	Errors      int
}

// RowOf is the table row of a measured result.
func RowOf(scenario string, r Result) Row {
	return Row{Scenario: scenario, Workload: r.Name, Concurrency: r.Concurrency, RPS: r.RPS(),
		P50: r.P50, P90: r.P90, P99: r.P99, Max: r.Max, Errors: r.Errors}
}

// TableHeader opens a results table; Row.Markdown writes its lines.
const TableHeader = "| scenario | workload | concurrency | req/s | p50 | p90 | p99 | max | errors |\n|---|---|---|---|---|---|---|---|---|\n"

// Markdown is the row as a line of the results table.
func (r Row) Markdown() string {
	return fmt.Sprintf("| %s | %s | %d | %.0f | %s | %s | %s | %s | %d |\n", r.Scenario, r.Workload, r.Concurrency, r.RPS,
		Millis(r.P50), Millis(r.P90), Millis(r.P99), Millis(r.Max), r.Errors)
}

// Millis formats a latency as the tables do: "8.38 ms".
func Millis(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// ParseTable reads the first results table of a markdown file (the one TableHeader
// opens). Columns are found by their header names, so a table with extra or
// reordered columns still reads; a column it lacks stays zero. Lines that do not
// parse are returned in bad (quoted, with their line number) rather than failing
// the whole file: a comparison is still worth having when one row was hand-edited.
func ParseTable(md string) (rows []Row, bad []string, err error) {
	sc := bufio.NewScanner(strings.NewReader(md))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var col map[string]int
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if col == nil {
			cells := splitCells(text)
			if len(cells) > 0 && cells[0] == "scenario" && slices.Contains(cells, "req/s") {
				col = map[string]int{}
				for i, c := range cells {
					col[c] = i
				}
			}
			continue
		}
		if !strings.HasPrefix(text, "|") {
			break // the table ended
		}
		cells := splitCells(text)
		if isRule(cells) {
			continue
		}
		r, err := parseRow(cells, col)
		if err != nil {
			bad = append(bad, fmt.Sprintf("line %d %q: %v", line, text, err))
			continue
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if col == nil {
		return nil, nil, fmt.Errorf("no results table (a header starting %q)", "| scenario | workload |")
	}
	return rows, bad, nil
}

// ParseFile is ParseTable on a file.
func ParseFile(path string) ([]Row, []string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	rows, bad, err := ParseTable(string(b))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, bad, nil
}

// Results is what a comparison takes from an earlier results file.
type Results struct {
	Rows   []Row
	Bad    []string // lines of the table that did not parse
	Memory *Memory  // nil when the file has no memory note
}

// ReadResults reads a results file's table and memory note.
func ReadResults(path string) (Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Results{}, err
	}
	var r Results
	if r.Rows, r.Bad, err = ParseTable(string(b)); err != nil {
		return Results{}, fmt.Errorf("%s: %w", path, err)
	}
	if m, ok := ParseMemory(string(b)); ok {
		r.Memory = &m
	}
	return r, nil
}

func splitCells(line string) []string {
	if !strings.HasPrefix(line, "|") {
		return nil
	}
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	cells := strings.Split(line, "|")
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return cells
}

func isRule(cells []string) bool {
	for _, c := range cells {
		if strings.Trim(c, "-: ") != "" {
			return false
		}
	}
	return true
}

func parseRow(cells []string, col map[string]int) (Row, error) {
	cell := func(name string) string {
		if i, ok := col[name]; ok && i < len(cells) {
			return cells[i]
		}
		return ""
	}
	var r Row
	var err error
	r.Scenario, r.Workload = cell("scenario"), cell("workload")
	if r.Scenario == "" || r.Workload == "" {
		return r, fmt.Errorf("no scenario or workload")
	}
	if r.Concurrency, err = strconv.Atoi(cell("concurrency")); err != nil {
		return r, fmt.Errorf("concurrency: %w", err)
	}
	if r.RPS, err = strconv.ParseFloat(cell("req/s"), 64); err != nil {
		return r, fmt.Errorf("req/s: %w", err)
	}
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{"p50", &r.P50}, {"p90", &r.P90}, {"p99", &r.P99}, {"max", &r.Max}} {
		if *d.to, err = parseLatency(cell(d.name)); err != nil {
			return r, fmt.Errorf("%s: %w", d.name, err)
		}
	}
	if s := cell("errors"); s != "" {
		if r.Errors, err = strconv.Atoi(s); err != nil {
			return r, fmt.Errorf("errors: %w", err)
		}
	}
	return r, nil
}

// parseLatency reads "8.38 ms" (or any Go duration, spaces allowed); an empty cell
// (a column the table lacks) is zero.
func parseLatency(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	return time.ParseDuration(strings.ReplaceAll(s, " ", ""))
}

// PreviousResults is the newest results file in dir older than current: files
// named prefix + "YYYYMMDD-HHMMSS.md" (the time keelbench stamps them with, so the
// names sort by time) whose name sorts before current's. It is "" when there is
// none; latest.md and other kinds of results files never count.
func PreviousResults(dir, prefix, current string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return "", nil
		}
		return "", err
	}
	stamped := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `\d{8}-\d{6}\.md$`)
	cur := filepath.Base(current)
	best := ""
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !stamped.MatchString(name) || name >= cur {
			continue
		}
		if name > best {
			best = name
		}
	}
	if best == "" {
		return "", nil
	}
	return filepath.Join(dir, best), nil
}
