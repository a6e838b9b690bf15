package status

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The drawings: geometry is computed here, the template only writes it
// out, so the page needs no script.

type statusView struct {
	Report
	Gauges  []gauge
	Chart   chart
	UserBar userBar
	Filters []auditFilter
}

type auditFilter struct {
	Label, Href string
	Active      bool
}

func auditFilters(cur string) []auditFilter {
	out := []auditFilter{{Label: "all", Href: "/status"}}
	for _, o := range []string{"ok", "error", "planned"} {
		out = append(out, auditFilter{Label: o, Href: "/status?outcome=" + o})
	}
	for i := range out {
		out[i].Active = out[i].Label == cur || (cur == "" && out[i].Label == "all")
	}
	return out
}

// gauge is a half-circle meter of one bucket's use in this window.
type gauge struct {
	BucketReport
	Label string
	Track string // the path of the whole arc
	Fill  string // the path of the used part ("" when nothing is used)
	Level string // ok, warn, fail
}

func buildGauge(b BucketReport) gauge {
	g := gauge{BucketReport: b, Label: strings.ReplaceAll(b.Bucket, "_", " ")}
	const cx, cy, r = 70.0, 70.0, 56.0
	point := func(frac float64) (float64, float64) {
		a := math.Pi * (1 - frac)
		return cx + r*math.Cos(a), cy - r*math.Sin(a)
	}
	x0, y0 := point(0)
	x1, y1 := point(1)
	g.Track = fmt.Sprintf("M %.1f %.1f A %.0f %.0f 0 0 1 %.1f %.1f", x0, y0, r, r, x1, y1)
	frac := 0.0
	if b.Limit > 0 {
		frac = math.Min(float64(b.Used)/float64(b.Limit), 1)
	}
	if frac > 0 {
		x, y := point(frac)
		g.Fill = fmt.Sprintf("M %.1f %.1f A %.0f %.0f 0 0 1 %.2f %.2f", x0, y0, r, r, x, y)
	}
	switch {
	case frac >= 0.9:
		g.Level = "fail"
	case frac >= 0.7:
		g.Level = "warn"
	default:
		g.Level = "ok"
	}
	return g
}

// chart is the stacked bar chart of calls per minute.
type chart struct {
	Width, Height       float64
	Left, Top, PlotW    float64
	PlotH, Bottom       float64
	Bars                []chartBar
	Ticks               []chartTick
	Labels              []chartLabel
	Max                 int64
	Empty               bool
	AxisY               float64
	AxisRight           float64
	SeenMarks, RetMarks []chartMark
}

type chartBar struct {
	X, W  float64
	Title string
	Segs  []chartSeg
}

type chartSeg struct {
	Y, H  float64
	Class string
}

type chartTick struct {
	Y     float64
	Label string
}

type chartLabel struct {
	X     float64
	Label string
}

type chartMark struct {
	X, Y  float64
	Title string
}

// chartCategories are the stacked series, bottom first.
var chartCategories = []struct {
	class string
	get   func(CallCounts) int64
}{
	{"c-writes", func(c CallCounts) int64 { return c.Writes }},
	{"c-lookups", func(c CallCounts) int64 { return c.Lookups }},
	{"c-walks", func(c CallCounts) int64 { return c.Walks }},
	{"c-retries", func(c CallCounts) int64 { return c.Retries }},
	{"c-failures", func(c CallCounts) int64 { return c.Failures }},
}

// niceMax rounds up to 1, 2 or 5 times a power of ten, at least 4.
func niceMax(v int64) int64 {
	if v < 4 {
		return 4
	}
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= v {
				return m * p
			}
		}
	}
}

func buildChart(ms []MinuteReport) chart {
	c := chart{Width: 1100, Left: 44, Top: 28}
	c.PlotW = c.Width - c.Left - 12
	c.PlotH = 180
	c.Height = c.Top + c.PlotH + 28
	c.Bottom = c.Top + c.PlotH
	c.AxisY = c.Bottom
	c.AxisRight = c.Left + c.PlotW
	var top int64
	for _, m := range ms {
		top = max(top, m.Calls)
	}
	c.Empty = top == 0
	c.Max = niceMax(top)
	for i := 0; i <= 4; i++ {
		v := c.Max * int64(i) / 4
		if c.Max%4 != 0 && i%2 == 1 {
			continue
		}
		c.Ticks = append(c.Ticks, chartTick{Y: c.Bottom - c.PlotH*float64(v)/float64(c.Max), Label: strconv.FormatInt(v, 10)})
	}
	slot := c.PlotW / float64(len(ms))
	scale := c.PlotH / float64(c.Max)
	for i, m := range ms {
		x := c.Left + float64(i)*slot
		b := chartBar{X: x + 1, W: math.Max(slot-2, 1)}
		b.Title = fmt.Sprintf("%s: %s (%d writes, %d lookups, %d walks, %d retries, %d failures); 429s: %d seen, %d returned; %s",
			m.Start.Local().Format("15:04"), plural(int(m.Calls), "Freshservice call", "Freshservice calls"),
			m.Writes, m.Lookups, m.Walks, m.Retries, m.Failures, m.RateLimitedSeen, m.RateLimitedReturned,
			plural(int(m.SCIMRequests), "SCIM request", "SCIM requests"))
		y := c.Bottom
		for _, cat := range chartCategories {
			v := cat.get(m.CallCounts)
			if v == 0 {
				continue
			}
			h := float64(v) * scale
			y -= h
			b.Segs = append(b.Segs, chartSeg{Y: y, H: h, Class: cat.class})
		}
		c.Bars = append(c.Bars, b)
		if m.RateLimitedSeen > 0 {
			c.SeenMarks = append(c.SeenMarks, chartMark{X: x + slot/2, Y: c.Top - 16, Title: fmt.Sprintf("%s: Freshservice answered 429 %s", m.Start.Local().Format("15:04"), plural(int(m.RateLimitedSeen), "time", "times"))})
		}
		if m.RateLimitedReturned > 0 {
			c.RetMarks = append(c.RetMarks, chartMark{X: x + slot/2, Y: c.Top - 6, Title: fmt.Sprintf("%s: the bridge answered an IdP 429 %s", m.Start.Local().Format("15:04"), plural(int(m.RateLimitedReturned), "time", "times"))})
		}
		if i%15 == 0 || i == len(ms)-1 {
			label := m.Start.Local().Format("15:04")
			if i == len(ms)-1 {
				label = "now"
			}
			c.Labels = append(c.Labels, chartLabel{X: x + slot/2, Label: label})
		}
	}
	return c
}

// userBar is a horizontal bar of users by kind.
type userBar struct {
	Width float64
	Segs  []userSeg
	Total int
}

type userSeg struct {
	X, W         float64
	Class, Title string
}

func buildUserBar(u UserCounts) userBar {
	b := userBar{Width: 360}
	parts := []struct {
		n            int
		class, title string
	}{
		{u.FullTimeAgents, "c-fulltime", "full-time agents"},
		{u.OccasionalAgents, "c-occasional", "occasional agents"},
		{u.Requesters, "c-requesters", "requesters"},
		{u.Deactivated, "c-deactivated", "deactivated"},
	}
	for _, p := range parts {
		b.Total += p.n
	}
	if b.Total == 0 {
		return b
	}
	x := 0.0
	for _, p := range parts {
		if p.n == 0 {
			continue
		}
		w := b.Width * float64(p.n) / float64(b.Total)
		b.Segs = append(b.Segs, userSeg{X: x, W: w, Class: p.class, Title: fmt.Sprintf("%d %s", p.n, p.title)})
		x += w
	}
	return b
}
