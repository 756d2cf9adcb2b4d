package slo

import (
	"time"

	"github.com/meshscope/meshscope/slo/notify"
)

// heldAlerts fires an alert once its condition held at a number of
// evaluations in a row, keeps it while the condition holds, and resolves
// it (sent once more, then forgotten) when it stops: the deployment
// regression and instance outlier watches.
type heldAlerts[K comparable] struct {
	firing map[K]notify.Alert
	// held counts the evaluations in a row at which a condition held.
	held map[K]int
}

// update takes the conditions holding now, with their descriptions, and
// returns every alert to send (firing, and resolved in their last send) and
// those that changed (fired or resolved). build makes a new alert; a
// firing one gets describe's description and a later end.
func (w *heldAlerts[K]) update(holds map[K]string, checks int, now, endsAt time.Time,
	build func(K, string) notify.Alert, describe func(K, string) string) (all, changed []notify.Alert, fired []K) {
	if w.firing == nil {
		w.firing, w.held = map[K]notify.Alert{}, map[K]int{}
	}
	for k := range w.held {
		if _, ok := holds[k]; !ok {
			delete(w.held, k)
		}
	}
	for k, desc := range holds {
		w.held[k] = min(w.held[k]+1, checks)
		_, firing := w.firing[k]
		if !firing && w.held[k] >= checks {
			a := build(k, desc)
			w.firing[k] = a
			changed = append(changed, a)
			fired = append(fired, k)
		}
	}
	for k, a := range w.firing {
		desc, ok := holds[k]
		if !ok {
			a.EndsAt = now // resolved
			changed = append(changed, a)
			delete(w.firing, k)
		} else {
			a.Annotations["description"] = describe(k, desc)
			a.EndsAt = endsAt
			w.firing[k] = a
		}
		all = append(all, a)
	}
	return all, changed, fired
}
