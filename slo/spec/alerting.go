package spec

import (
	"fmt"
	"time"
)

// Severities of SLO alerts.
const (
	SeverityPage   = "page"
	SeverityTicket = "ticket"
)

// Severities lists the severities in order of urgency.
var Severities = []string{SeverityPage, SeverityTicket}

// No-data policies: what alerts do when the SLO's target served no request
// in the shortest alerting window (NoDataWindow).
const (
	// NoDataKeep leaves every alert in its state until data returns.
	NoDataKeep = "keep"
	// NoDataOK treats no data as no burn: pending alerts end, firing ones resolve.
	NoDataOK = "ok"
	// NoDataAlert fires the NoDataSeverity alert (annotated no_data) and
	// keeps the others in their state.
	NoDataAlert = "alert"
)

// BurnWindow is one multiwindow condition: the burn rate over both the long
// and the short window exceeds Burn.
type BurnWindow struct {
	// Long is the long window (1h): it makes the alert significant.
	Long Duration `yaml:"long" json:"long"`
	// Short is the short window (5m): it makes the alert reset quickly
	// once the burn stops.
	Short Duration `yaml:"short" json:"short"`
	// Burn is the burn rate threshold: 1 spends the error budget exactly
	// over the SLO window, 14.4 spends 2% of a 30 day budget in an hour.
	Burn float64 `yaml:"burn" json:"burn"`
}

// Alerting configures the multiwindow multi-burn-rate alerts of an SLO.
// Nil fields take the engine's defaults (DefaultAlerting unless configured).
type Alerting struct {
	// Page are the conditions of the page alert; any one of them fires it.
	// An empty list disables paging.
	Page *[]BurnWindow `yaml:"page,omitempty" json:"page,omitempty"`
	// Ticket are the conditions of the ticket alert. An empty list
	// disables tickets.
	Ticket *[]BurnWindow `yaml:"ticket,omitempty" json:"ticket,omitempty"`
	// MinRequests is the low-traffic guard: a condition counts only when
	// both of its windows hold at least this many requests.
	MinRequests *uint64 `yaml:"min_requests,omitempty" json:"min_requests,omitempty"`
	// For is how long a condition must hold before the alert fires; until
	// then it is pending.
	For *Duration `yaml:"for,omitempty" json:"for,omitempty"`
	// NoData is keep, ok or alert (see the NoData* constants).
	NoData string `yaml:"no_data,omitempty" json:"no_data,omitempty"`
	// NoDataSeverity is the alert that NoData "alert" fires: page or ticket.
	NoDataSeverity string `yaml:"no_data_severity,omitempty" json:"no_data_severity,omitempty"`
}

// DefaultAlerting are the SRE Workbook's multiwindow multi-burn-rate
// alerts: page at 14.4x over 1h and 5m or 6x over 6h and 30m, ticket at 1x
// over 3d and 6h; a guard of 100 requests per window, no `for`, and no-data
// keeping alert states.
func DefaultAlerting() Alerting {
	page := []BurnWindow{
		{Long: Duration(time.Hour), Short: Duration(5 * time.Minute), Burn: 14.4},
		{Long: Duration(6 * time.Hour), Short: Duration(30 * time.Minute), Burn: 6},
	}
	ticket := []BurnWindow{{Long: Duration(3 * 24 * time.Hour), Short: Duration(6 * time.Hour), Burn: 1}}
	minReq := uint64(100)
	var forD Duration
	return Alerting{Page: &page, Ticket: &ticket, MinRequests: &minReq, For: &forD, NoData: NoDataKeep, NoDataSeverity: SeverityTicket}
}

// Merge fills a's unset fields from d (a may be nil).
func Merge(a *Alerting, d Alerting) Alerting { return a.merged(d) }

// merged fills a's unset fields from d.
func (a *Alerting) merged(d Alerting) Alerting {
	out := d
	if a == nil {
		return out
	}
	if a.Page != nil {
		out.Page = a.Page
	}
	if a.Ticket != nil {
		out.Ticket = a.Ticket
	}
	if a.MinRequests != nil {
		out.MinRequests = a.MinRequests
	}
	if a.For != nil {
		out.For = a.For
	}
	if a.NoData != "" {
		out.NoData = a.NoData
	}
	if a.NoDataSeverity != "" {
		out.NoDataSeverity = a.NoDataSeverity
	}
	return out
}

// Windows returns the conditions of a severity of a resolved Alerting.
func (a *Alerting) Windows(severity string) []BurnWindow {
	var p *[]BurnWindow
	switch severity {
	case SeverityPage:
		p = a.Page
	case SeverityTicket:
		p = a.Ticket
	}
	if p == nil {
		return nil
	}
	return *p
}

// validate checks a resolved Alerting; objective (percent) bounds the
// reachable burn rate and window the long windows.
func (a *Alerting) validate(path string, objective float64, window Window) *FieldError {
	maxBurn := 100 / (100 - objective)
	for _, sev := range Severities {
		for i, w := range a.Windows(sev) {
			p := fmt.Sprintf("%s.%s[%d]", path, sev, i)
			switch {
			case w.Short.D() <= 0:
				return &FieldError{Field: p + ".short", Reason: fmt.Sprintf("must be positive (got %s)", w.Short)}
			case w.Long.D() <= w.Short.D():
				return &FieldError{Field: p + ".long", Reason: fmt.Sprintf("must be longer than short %s (got %s)", w.Short, w.Long)}
			case w.Short.D()%time.Second != 0 || w.Long.D()%time.Second != 0:
				return &FieldError{Field: p, Reason: "windows must be whole numbers of seconds"}
			case w.Long.D() > window.MaxLength():
				return &FieldError{Field: p + ".long", Reason: fmt.Sprintf("must not be longer than the SLO window %s (got %s)", window, w.Long)}
			case w.Burn <= 0:
				return &FieldError{Field: p + ".burn", Reason: fmt.Sprintf("must be positive (got %g)", w.Burn)}
			case objective > 0 && objective < 100 && w.Burn > maxBurn:
				return &FieldError{Field: p + ".burn", Reason: fmt.Sprintf("can never be reached: the largest burn rate for objective %g is %g (got %g)", objective, maxBurn, w.Burn)}
			}
		}
	}
	if a.For != nil && a.For.D() < 0 {
		return &FieldError{Field: path + ".for", Reason: fmt.Sprintf("must not be negative (got %s)", *a.For)}
	}
	switch a.NoData {
	case NoDataKeep, NoDataOK, NoDataAlert:
	default:
		return &FieldError{Field: path + ".no_data", Reason: fmt.Sprintf("must be keep, ok or alert (got %q)", a.NoData)}
	}
	switch a.NoDataSeverity {
	case SeverityPage, SeverityTicket:
	default:
		return &FieldError{Field: path + ".no_data_severity", Reason: fmt.Sprintf("must be page or ticket (got %q)", a.NoDataSeverity)}
	}
	return nil
}

// NoDataWindow is the span over which "no data" is judged: the shortest
// window of any condition (5m by default), or 5m without conditions. A
// target that served no request in it has no data: its short windows are
// empty, so its burn rates say nothing.
func (a *Alerting) NoDataWindow() time.Duration {
	var out time.Duration
	for _, sev := range Severities {
		for _, w := range a.Windows(sev) {
			if out == 0 || w.Short.D() < out {
				out = w.Short.D()
			}
		}
	}
	if out == 0 {
		out = 5 * time.Minute
	}
	return out
}

// ShortestLong is the shortest long window of any condition, the window
// examples are drawn from when no condition is met; 1h without conditions.
func (a *Alerting) ShortestLong() time.Duration {
	var out time.Duration
	for _, sev := range Severities {
		for _, w := range a.Windows(sev) {
			if out == 0 || w.Long.D() < out {
				out = w.Long.D()
			}
		}
	}
	if out == 0 {
		out = time.Hour
	}
	return out
}
