package spec

import (
	"fmt"
	"reflect"
	"time"

	"gopkg.in/yaml.v3"
)

// Calendar periods of a calendar window.
const (
	CalendarDay   = "day"
	CalendarWeek  = "week"
	CalendarMonth = "month"
)

// Window is the SLO window: rolling ("28d": the last 28 days at every
// evaluation) or calendar (`{calendar: month, timezone: Europe/Berlin}`:
// since the start of the current day, ISO week or month). Written as a
// duration string for a rolling window or as a mapping.
type Window struct {
	// Rolling is the length of a rolling window.
	Rolling Duration `yaml:"rolling,omitempty" json:"rolling,omitempty"`
	// Calendar is day, week or month.
	Calendar string `yaml:"calendar,omitempty" json:"calendar,omitempty"`
	// TimeZone of calendar periods (IANA name); empty means UTC.
	TimeZone string `yaml:"timezone,omitempty" json:"timezone,omitempty"`
}

type windowForm Window

// UnmarshalYAML reads "28d" or the mapping form.
func (w *Window) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		d, err := ParseDuration(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		*w = Window{Rolling: d}
		return nil
	}
	var f windowForm
	if err := n.Decode(&f); err != nil {
		return err
	}
	*w = Window(f)
	return nil
}

func (w *Window) checkKeys(n *yaml.Node, path string) *FieldError {
	if n.Kind == yaml.ScalarNode {
		return nil
	}
	return checkKeys(n, reflect.TypeFor[windowForm](), path)
}

// MarshalYAML writes a rolling window as its duration.
func (w Window) MarshalYAML() (any, error) {
	if w.Calendar == "" {
		return w.Rolling.String(), nil
	}
	return windowForm(w), nil
}

// MarshalJSON writes the same shape as MarshalYAML.
func (w Window) MarshalJSON() ([]byte, error) {
	v, _ := w.MarshalYAML()
	return jsonMarshal(v)
}

// String describes the window: "28d", "calendar month (UTC)".
func (w Window) String() string {
	if w.Calendar == "" {
		return w.Rolling.String()
	}
	tz := w.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	return "calendar " + w.Calendar + " (" + tz + ")"
}

// Start is the first instant of the window that ends at t. The window must
// be valid.
func (w Window) Start(t time.Time) time.Time {
	if w.Calendar == "" {
		return t.Add(-w.Rolling.D())
	}
	loc := time.UTC
	if w.TimeZone != "" {
		if l, err := time.LoadLocation(w.TimeZone); err == nil {
			loc = l
		}
	}
	lt := t.In(loc)
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	switch w.Calendar {
	case CalendarWeek:
		back := (int(day.Weekday()) + 6) % 7 // weeks start on Monday
		return day.AddDate(0, 0, -back)
	case CalendarMonth:
		return time.Date(lt.Year(), lt.Month(), 1, 0, 0, 0, 0, loc)
	}
	return day
}

// MaxLength is the longest the window can be: the rolling length, or the
// longest calendar period.
func (w Window) MaxLength() time.Duration {
	switch w.Calendar {
	case "":
		return w.Rolling.D()
	case CalendarDay:
		return 25 * time.Hour // a day with a daylight saving change
	case CalendarWeek:
		return 7*24*time.Hour + time.Hour
	}
	return 31*24*time.Hour + time.Hour
}

func (w *Window) validate(path string) *FieldError {
	if w.Calendar == "" {
		if w.TimeZone != "" {
			return &FieldError{Field: path + ".timezone", Reason: "only applies to calendar windows"}
		}
		if w.Rolling.D() < time.Hour || w.Rolling.D() > 366*24*time.Hour {
			return &FieldError{Field: path, Reason: fmt.Sprintf("must be between 1h and 366d (got %s)", w.Rolling)}
		}
		if w.Rolling.D()%time.Second != 0 {
			return &FieldError{Field: path, Reason: "must be a whole number of seconds"}
		}
		return nil
	}
	if w.Rolling != 0 {
		return &FieldError{Field: path + ".rolling", Reason: "give rolling or calendar, not both"}
	}
	switch w.Calendar {
	case CalendarDay, CalendarWeek, CalendarMonth:
	default:
		return &FieldError{Field: path + ".calendar", Reason: fmt.Sprintf("must be day, week or month (got %q)", w.Calendar)}
	}
	if w.TimeZone != "" {
		if _, err := time.LoadLocation(w.TimeZone); err != nil {
			return &FieldError{Field: path + ".timezone", Reason: fmt.Sprintf("unknown time zone %q", w.TimeZone)}
		}
	}
	return nil
}

// UnmarshalJSON reads the same shapes as UnmarshalYAML.
func (w *Window) UnmarshalJSON(b []byte) error { return unmarshalJSONViaYAML(b, w) }
