// The SLO list's form for a new SLO (POST /api/v1/slos) and the detail
// page's delete button (DELETE /api/v1/slos/NAME). Specs with filters,
// error rules or their own alerting are written as files or sent to the
// API; the form covers the common cases: a service's or an edge's
// availability or latency.

import { APIError, deleteJSON, getJSON, postJSON } from "../api";
import { h } from "../dom";
import { errorBox, field } from "./common";

/** Whether the new-SLO form is open: the list is not drawn again meanwhile. */
export function newSLOFormOpen(): boolean {
  const d = document.getElementById("slo-new");
  return d instanceof HTMLDetailsElement && d.open;
}

/**
 * What a link to the SLO page may ask the form to start with (#/slos?new=
 * edge&source=ID&destination=ID, or new=service&service=NS/NAME): the form
 * opens, filled in.
 */
export interface SLOPrefill {
  new?: string;
  service?: string;
  source?: string;
  destination?: string;
}

/** The SLO page's address that opens the form for a service or an edge. */
export function newSLOHref(p: SLOPrefill): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(p)) if (v) q.set(k, v);
  return `#/slos?${q.toString()}`;
}

/** The form for a new SLO; created tells the name once the API took it. */
export function newSLOForm(created: (name: string) => void, prefill: SLOPrefill = {}): HTMLElement {
  const name = h("input", { name: "name", required: true, pattern: "[a-z0-9][a-z0-9._\\-]*", placeholder: "checkout-availability", autocomplete: "off" });
  const targetKind = h("select", { name: "target" }, h("option", { value: "service" }, "a service's inbound calls"), h("option", { value: "edge" }, "the calls of one edge")) as HTMLSelectElement;
  const service = h("input", { name: "service", required: true, placeholder: "NAMESPACE/NAME", list: "slo-services", autocomplete: "off", value: prefill.service ?? "" });
  const source = h("input", { name: "source", placeholder: "NAMESPACE/NAME or node id", list: "slo-services", autocomplete: "off", value: prefill.source ?? "" });
  const destination = h("input", { name: "destination", placeholder: "NAMESPACE/NAME or node id", list: "slo-services", autocomplete: "off", value: prefill.destination ?? "" });
  const serviceField = field("Service", service);
  const edgeFields = [field("Source", source), field("Destination", destination)];
  const showTarget = () => {
    const edge = targetKind.value === "edge";
    serviceField.hidden = edge;
    service.required = !edge;
    for (const f of edgeFields) f.hidden = !edge;
    source.required = destination.required = edge;
  };
  targetKind.value = prefill.new === "edge" ? "edge" : "service";
  targetKind.addEventListener("change", showTarget);
  showTarget();
  const services = h("datalist", { id: "slo-services" });
  void getJSON<{ services: { namespace: string; name: string }[] | null }>("services")
    .then((r) => services.replaceChildren(...(r.services ?? []).filter((s) => s.namespace && s.name).map((s) => h("option", { value: `${s.namespace}/${s.name}` }))))
    .catch(() => undefined);
  const kind = h("select", { name: "sli" }, h("option", { value: "availability" }, "availability"), h("option", { value: "latency" }, "latency"));
  const threshold = h("input", { name: "threshold", value: "300ms", size: 8 });
  const thresholdField = field("Latency threshold", threshold);
  thresholdField.hidden = true;
  kind.addEventListener("change", () => (thresholdField.hidden = kind.value !== "latency"));
  const objective = h("input", { name: "objective", type: "number", value: "99.9", step: "any", min: 0, max: 100, size: 6 });
  const win = h("select", { name: "window" }, ...["7d", "28d", "30d"].map((w) => h("option", { value: w, selected: w === "28d" }, w)));
  const out = h("div", { "aria-live": "polite" });
  const submit = async (ev: Event) => {
    ev.preventDefault();
    const spec = {
      name: name.value.trim(),
      target: targetKind.value === "edge" ? { edge: { source: source.value.trim(), destination: destination.value.trim() } } : { service: service.value.trim() },
      sli: kind.value === "latency" ? { latency: { threshold: threshold.value.trim() } } : "availability",
      objective: Number(objective.value),
      window: win.value,
    };
    out.replaceChildren();
    try {
      await postJSON("slos", spec);
      details.open = false;
      name.value = "";
      created(spec.name);
    } catch (err) {
      out.replaceChildren(errorBox(err));
      const f = err instanceof APIError ? err.field : "";
      // Put the cursor in the field the API names (name, target.service, objective...).
      const input = {
        name,
        "target.service": service,
        "target.edge.source": source,
        "target.edge.destination": destination,
        objective,
        "sli.latency.threshold": threshold,
        window: win,
      }[f.replace(/^slos\[\d+\]\./, "")];
      input?.focus();
    }
  };
  const form = h(
    "form",
    { class: "toolbar wrap", onsubmit: (ev: Event) => void submit(ev) },
    field("Name", name),
    field("Target", targetKind),
    serviceField,
    ...edgeFields,
    field("SLI", kind),
    thresholdField,
    field("Objective (%)", objective),
    field("Window", win),
    h("button", { type: "submit", class: "primary" }, "Create"),
  );
  const details = h("details", { id: "slo-new" }, h("summary", {}, "New SLO"), form, services, out);
  details.open = Boolean(prefill.new);
  return details;
}

/**
 * A delete button that asks once more before it deletes: the first press
 * turns it into "Confirm delete", the second deletes and calls deleted.
 */
export function deleteSLOButton(name: string, deleted: () => void): HTMLElement {
  const out = h("span", { "aria-live": "polite" });
  let armed = false;
  const btn = h("button", { type: "button", id: "slo-delete" }, "Delete SLO");
  btn.addEventListener("click", () => {
    if (!armed) {
      armed = true;
      btn.textContent = `Confirm: delete ${name}`;
      btn.classList.add("danger");
      return;
    }
    deleteJSON(`slos/${encodeURIComponent(name)}`).then(deleted, (err: unknown) => out.replaceChildren(errorBox(err)));
  });
  return h("p", {}, btn, out);
}
