package bench

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Charts are drawn with gonum/plot to SVG: vector output needs no fonts or raster
// library on the machine that runs the bench, diffs as text and opens in any
// browser or markdown viewer. Each chart has one panel per scenario ("1 node",
// "3 nodes"), concurrency on a log₂ axis, one line per workload; the legend sits
// under its panel so that it hides no point.

const (
	panelWidth  = 420 // pt
	panelHeight = 300 // pt, the legend's lines come on top
	legendEntry = 13  // pt per legend line
	legendFont  = 9   // pt
)

// series is one line of a chart: a workload of a scenario across concurrencies.
type series struct {
	workload string
	rows     []Row
}

// panel is a scenario's series, in the order the table lists them.
type panel struct {
	scenario string
	series   []*series
}

func panelsOf(rows []Row) []*panel {
	var panels []*panel
	byScenario := map[string]*panel{}
	bySeries := map[[2]string]*series{}
	for _, r := range rows {
		p := byScenario[r.Scenario]
		if p == nil {
			p = &panel{scenario: r.Scenario}
			byScenario[r.Scenario] = p
			panels = append(panels, p)
		}
		k := [2]string{r.Scenario, r.Workload}
		s := bySeries[k]
		if s == nil {
			s = &series{workload: r.Workload}
			bySeries[k] = s
			p.series = append(p.series, s)
		}
		s.rows = append(s.rows, r)
	}
	for _, p := range panels {
		for _, s := range p.series {
			// Sorted by concurrency so the line runs left to right.
			for i := 1; i < len(s.rows); i++ {
				for j := i; j > 0 && s.rows[j].Concurrency < s.rows[j-1].Concurrency; j-- {
					s.rows[j], s.rows[j-1] = s.rows[j-1], s.rows[j]
				}
			}
		}
	}
	return panels
}

// WriteThroughputChart draws req/s against concurrency as SVG to w, on a log
// axis: reads of one object run ten times faster than creates, and a linear axis
// would flatten the create curves at its bottom.
func WriteThroughputChart(w io.Writer, title string, rows []Row) error {
	return writeChart(w, title, rows, func(p *plot.Plot, pn *panel) (plot.Legend, error) {
		p.Y.Label.Text = "req/s (log scale)"
		p.Y.Scale = plot.LogScale{}
		leg := newLegend()
		lo, hi := math.Inf(1), math.Inf(-1)
		for i, s := range pn.series {
			var xys plotter.XYs
			for _, r := range s.rows {
				if r.RPS > 0 { // a log axis has no zero
					xys = append(xys, plotter.XY{X: float64(r.Concurrency), Y: r.RPS})
					lo, hi = math.Min(lo, r.RPS), math.Max(hi, r.RPS)
				}
			}
			if len(xys) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(xys)
			if err != nil {
				return leg, err
			}
			styleSeries(line, points, i, false)
			p.Add(line, points)
			leg.Add(s.workload, line, points)
		}
		logRange(p, lo, hi)
		return leg, nil
	})
}

// WriteLatencyChart draws p50 (solid) and p99 (dashed) against concurrency on a
// log axis as SVG to w.
func WriteLatencyChart(w io.Writer, title string, rows []Row) error {
	return writeChart(w, title, rows, func(p *plot.Plot, pn *panel) (plot.Legend, error) {
		p.Y.Label.Text = "ms (log scale)"
		p.Y.Scale = plot.LogScale{}
		leg := newLegend()
		lo, hi := math.Inf(1), math.Inf(-1)
		for i, s := range pn.series {
			var thumbs []plot.Thumbnailer
			for _, pct := range []struct {
				dashed bool
				of     func(Row) float64
			}{
				{false, func(r Row) float64 { return ms(r.P50) }},
				{true, func(r Row) float64 { return ms(r.P99) }},
			} {
				var xys plotter.XYs
				for _, r := range s.rows {
					if v := pct.of(r); v > 0 { // a log axis has no zero
						xys = append(xys, plotter.XY{X: float64(r.Concurrency), Y: v})
						lo, hi = math.Min(lo, v), math.Max(hi, v)
					}
				}
				if len(xys) == 0 {
					continue
				}
				line, points, err := plotter.NewLinePoints(xys)
				if err != nil {
					return leg, err
				}
				styleSeries(line, points, i, pct.dashed)
				p.Add(line, points)
				if !pct.dashed {
					thumbs = append(thumbs, line, points)
				}
			}
			if thumbs != nil {
				leg.Add(s.workload, thumbs...)
			}
		}
		logRange(p, lo, hi)
		return leg, nil
	})
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func newLegend() plot.Legend {
	leg := plot.NewLegend()
	leg.Top, leg.Left = true, true
	leg.TextStyle.Font.Size = legendFont
	leg.Padding = vg.Points(legendEntry - legendFont)
	return leg
}

func styleSeries(line *plotter.Line, points *plotter.Scatter, i int, dashed bool) {
	c := plotutil.Color(i)
	line.Color, points.Color = c, c
	line.Width = vg.Points(1.5)
	points.Shape = plotutil.Shape(i)
	points.Radius = vg.Points(3)
	if dashed {
		line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
}

// writeChart lays out one panel per scenario side by side, each with its legend
// under it, fills each with fill and writes the SVG.
func writeChart(w io.Writer, title string, rows []Row, fill func(*plot.Plot, *panel) (plot.Legend, error)) error {
	panels := panelsOf(rows)
	if len(panels) == 0 {
		return fmt.Errorf("no rows to chart")
	}
	maxSeries := 0
	for _, pn := range panels {
		maxSeries = max(maxSeries, len(pn.series))
	}
	legendHeight := vg.Points(float64(legendEntry*maxSeries + 12))
	titleHeight := vg.Points(24)
	width := vg.Points(panelWidth * float64(len(panels)))
	height := vg.Points(panelHeight) + legendHeight + titleHeight

	canvas := vgsvg.New(width, height)
	dc := draw.New(canvas)
	dc.FillPolygon(color.White, []vg.Point{dc.Min, {X: dc.Max.X, Y: dc.Min.Y}, dc.Max, {X: dc.Min.X, Y: dc.Max.Y}})
	sty := plot.New().Title.TextStyle
	sty.Font = font.From(sty.Font, 13)
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
	dc.FillText(sty, vg.Point{X: width / 2, Y: height - vg.Points(5)}, title)
	body := draw.Crop(dc, 0, 0, 0, -titleHeight)
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Points(10), PadLeft: vg.Points(6), PadRight: vg.Points(10)}
	for i, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.scenario
		p.Title.Padding = vg.Points(6)
		p.X.Label.Text = "concurrency"
		p.X.Scale = plot.LogScale{}
		p.Add(plotter.NewGrid())
		leg, err := fill(p, pn)
		if err != nil {
			return err
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, s := range pn.series {
			for _, r := range s.rows {
				lo, hi = math.Min(lo, float64(r.Concurrency)), math.Max(hi, float64(r.Concurrency))
			}
		}
		lo, hi = math.Max(lo, 1), math.Max(hi, 1)
		p.X.Min, p.X.Max = lo/1.5, hi*1.5
		p.X.Tick.Marker = powersOfTwo(p.X.Min, p.X.Max)

		tile := tiles.At(body, i, 0)
		p.Draw(draw.Crop(tile, 0, 0, legendHeight, 0))
		legendArea := draw.Crop(tile, vg.Points(40), 0, 0, 0)
		legendArea.Max.Y = legendArea.Min.Y + legendHeight - vg.Points(4)
		leg.Draw(legendArea)
	}
	_, err := canvas.WriteTo(w)
	return err
}

// logRange fits a log Y axis to the data's [lo, hi] with some room, ticked at
// 1-2-5 steps.
func logRange(p *plot.Plot, lo, hi float64) {
	if math.IsInf(lo, 0) {
		lo, hi = 1, 10
	}
	p.Y.Min, p.Y.Max = lo/2, hi*1.5
	p.Y.Tick.Marker = steps125(p.Y.Min, p.Y.Max)
}

// powersOfTwo ticks a concurrency axis: 1, 2, 4, … within [lo, hi].
func powersOfTwo(lo, hi float64) plot.ConstantTicks {
	var ticks plot.ConstantTicks
	for v := 1.0; v <= hi; v *= 2 {
		if v >= lo {
			ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
		}
	}
	return ticks
}

// steps125 ticks a log latency axis at 1, 2, 5 times powers of ten within
// [lo, hi], so that even a range inside one decade has labels.
func steps125(lo, hi float64) plot.ConstantTicks {
	var ticks plot.ConstantTicks
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v >= lo && v <= hi {
				ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
			}
		}
	}
	return ticks
}
