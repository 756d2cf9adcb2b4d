package spec

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseShortForm(t *testing.T) {
	data, err := os.ReadFile("testdata/short.yaml")
	require.NoError(t, err)
	got, err := Parse(data, DefaultAlerting())
	require.NoError(t, err)
	require.Len(t, got, 3)

	a := got[0].Resolved
	require.Equal(t, "checkout-availability", a.Name)
	require.Equal(t, "service:shop/checkout", a.Target.Service)
	require.Equal(t, "shop/checkout", a.Service())
	require.Equal(t, 99.9, a.Objective)
	require.Equal(t, 28*24*time.Hour, a.Window.Rolling.D())
	require.Equal(t, []string{"5xx", "429"}, a.Errors.Codes)
	require.Equal(t, 2*time.Minute, a.Alerting.For.D())
	require.Equal(t, uint64(100), *a.Alerting.MinRequests)
	require.Equal(t, []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 6 * time.Hour, 72 * time.Hour}, a.Windows())
	require.Equal(t, map[string]string{"team": "payments"}, a.Labels)

	b := got[1].Resolved
	require.Equal(t, &Edge{Source: "service:shop/web", Destination: "service:shop/checkout"}, b.Target.Edge)
	require.Equal(t, "calendar month (Europe/Berlin)", b.Window.String())
	require.Equal(t, NoDataKeep, b.Alerting.NoData, "defaults fill what the spec leaves out")
	require.Len(t, b.Alerting.Windows(SeverityPage), 2)

	c := got[2].Resolved
	require.Equal(t, Latency, c.SLI.Kind)
	require.Equal(t, 300*time.Millisecond, c.SLI.Threshold.D())
	require.Equal(t, "POST", c.Target.Filter.Method)
	require.Equal(t, "service:shop/checkout", c.Target.Filter.Destination)
	require.Empty(t, c.Alerting.Windows(SeverityTicket), "ticket: [] disables tickets")
	require.Equal(t, NoDataAlert, c.Alerting.NoData)
	require.Equal(t, "checkout-api-latency", got[2].Spec.Name)
	require.Nil(t, got[1].Spec.Alerting, "the written spec keeps what was written")
}

func TestParseOpenSLO(t *testing.T) {
	data, err := os.ReadFile("testdata/openslo.yaml")
	require.NoError(t, err)
	got, err := Parse(data, DefaultAlerting())
	require.NoError(t, err)
	require.Len(t, got, 2)

	a := got[0].Resolved
	require.Equal(t, "checkout-availability", a.Name)
	require.Equal(t, "Checkout availability", a.Description)
	require.Equal(t, "service:shop/checkout", a.Target.Service)
	require.Equal(t, Availability, a.SLI.Kind)
	require.InDelta(t, 99.9, a.Objective, 1e-9)
	require.Equal(t, 28*24*time.Hour, a.Window.Rolling.D())
	require.Equal(t, map[string]string{"team": "payments", "tier": "gold,critical"}, a.Labels)

	b := got[1].Resolved
	require.Equal(t, Latency, b.SLI.Kind)
	require.Equal(t, 250*time.Millisecond, b.SLI.Threshold.D())
	require.Equal(t, 95.0, b.Objective)
	require.Equal(t, Window{Calendar: CalendarMonth, TimeZone: "UTC"}, b.Window)
}

func TestParseOneAndNamed(t *testing.T) {
	body := []byte(`{"target": {"service": "shop/cart"}, "sli": "availability", "objective": 99.5, "window": "30d"}`)
	p, err := ParseNamed(body, DefaultAlerting(), "cart")
	require.NoError(t, err)
	require.Equal(t, "cart", p.Spec.Name)

	_, err = ParseNamed([]byte(`{"name": "other", "target": {"service": "shop/cart"}, "sli": "availability", "objective": 99.5, "window": "30d"}`), DefaultAlerting(), "cart")
	require.EqualError(t, err, `name: must be "cart", the name in the URL (got "other")`)

	_, err = ParseOne([]byte("slos: []"), DefaultAlerting())
	require.EqualError(t, err, "want exactly one SLO (got 0)")
}

func TestMarshalRoundTrip(t *testing.T) {
	data, err := os.ReadFile("testdata/short.yaml")
	require.NoError(t, err)
	first, err := Parse(data, DefaultAlerting())
	require.NoError(t, err)
	var written []SLO
	for _, p := range first {
		written = append(written, p.Spec)
	}
	out, err := Marshal("comment", written...)
	require.NoError(t, err)
	second, err := Parse(out, DefaultAlerting())
	require.NoError(t, err, string(out))
	require.Equal(t, first, second, string(out))
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		out  string
	}{
		{"28d", 28 * 24 * time.Hour, "28d"},
		{"1w", 7 * 24 * time.Hour, "7d"},
		{"6h", 6 * time.Hour, "6h"},
		{"90m", 90 * time.Minute, "1h30m"},
		{"300ms", 300 * time.Millisecond, "300ms"},
		{"1.5d", 36 * time.Hour, "36h"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			d, err := ParseDuration(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, d.D())
			require.Equal(t, tc.out, d.String())
			back, err := ParseDuration(d.String())
			require.NoError(t, err)
			require.Equal(t, d, back)
		})
	}
	_, err := ParseDuration("soon")
	require.Error(t, err)
}

func TestWindowStart(t *testing.T) {
	at := time.Date(2025, 3, 13, 15, 4, 5, 0, time.UTC) // a Thursday
	for _, tc := range []struct {
		w    Window
		want time.Time
	}{
		{Window{Rolling: Duration(28 * 24 * time.Hour)}, at.Add(-28 * 24 * time.Hour)},
		{Window{Calendar: CalendarDay}, time.Date(2025, 3, 13, 0, 0, 0, 0, time.UTC)},
		{Window{Calendar: CalendarWeek}, time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)},
		{Window{Calendar: CalendarMonth}, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)},
		{Window{Calendar: CalendarMonth, TimeZone: "Asia/Tokyo"}, time.Date(2025, 2, 28, 15, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.w.String(), func(t *testing.T) {
			require.True(t, tc.want.Equal(tc.w.Start(at)), "got %s", tc.w.Start(at))
		})
	}
}

func TestNodeID(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"shop/checkout", "service:shop/checkout", true},
		{"service:shop/checkout", "service:shop/checkout", true},
		{"external:api.stripe.com", "external:api.stripe.com", true},
		{"client:/", "client:/", true},
		{"database:postgres/orders", "database:postgres/orders", true},
		{"checkout", "", false},
		{"pod:shop/x", "", false},
		{"service:checkout", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := NodeID(tc.in)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
		})
	}
}
