// Package deploy holds meshscope's deployment configuration: Kubernetes
// manifests built with kustomize (kubernetes/), Istio and Linkerd
// configuration that points a mesh at meshscope (istio/, linkerd/),
// OpenTelemetry Collector configurations (otel-collector/) and the container
// image (docker/). It has no code: its tests build the manifests and check
// them against the Kubernetes API types and against the flags of
// `meshscope serve`. Nothing imports it.
package deploy
