package deploy_test

import (
	"encoding/xml"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// serveFlags returns the flag names of `meshscope serve`, read from the
// source: every fs.XxxVar(&o.field, "name", ...) call in a method of
// serveOptions in cmd/meshscope. Reading the source rather than running the
// binary keeps this test independent of whether the rest builds.
func serveFlags(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "cmd", "meshscope", "*.go"))
	require.NoError(t, err)
	flags := map[string]bool{}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || len(fn.Recv.List) != 1 {
				continue
			}
			recv := fn.Recv.List[0].Type
			if star, ok := recv.(*ast.StarExpr); ok {
				recv = star.X
			}
			if id, ok := recv.(*ast.Ident); !ok || id.Name != "serveOptions" {
				continue
			}
			ast.Inspect(fn, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) < 2 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || !strings.HasSuffix(sel.Sel.Name, "Var") {
					return true
				}
				if lit, ok := call.Args[1].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					name, err := strconv.Unquote(lit.Value)
					require.NoError(t, err)
					flags[name] = true
				}
				return true
			})
		}
	}
	for _, want := range []string{"config", "clickhouse", "clickhouse-cluster", "data-dir", "http-addr"} {
		require.True(t, flags[want], "flag --%s not found in cmd/meshscope: has the flag parsing of this test gone stale?", want)
	}
	return flags
}

// objects is the output of one kustomize build, decoded into the Kubernetes
// API types.
type objects struct {
	namespaces      map[string]*corev1.Namespace
	serviceAccounts map[string]*corev1.ServiceAccount
	configMaps      map[string]*corev1.ConfigMap
	secrets         map[string]*corev1.Secret
	services        map[string]*corev1.Service
	statefulSets    map[string]*appsv1.StatefulSet
	pdbs            map[string]*policyv1.PodDisruptionBudget
}

// decoder decodes manifests into the Kubernetes API types the way the API
// server does with strict field validation (kubectl apply
// --validate=strict): a misspelled, misplaced or wrongly cased key is an
// error instead of being dropped silently.
var decoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// build runs kustomize on dir (relative to deploy/) the way `kubectl apply
// -k` does and decodes every resulting object.
func build(t *testing.T, dir string) *objects {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	abs, err := filepath.Abs(dir)
	require.NoError(t, err)
	rm, err := k.Run(filesys.MakeFsOnDisk(), abs)
	require.NoError(t, err, "kustomize build %s", dir)
	o := &objects{
		namespaces: map[string]*corev1.Namespace{}, serviceAccounts: map[string]*corev1.ServiceAccount{},
		configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		services: map[string]*corev1.Service{}, statefulSets: map[string]*appsv1.StatefulSet{},
		pdbs: map[string]*policyv1.PodDisruptionBudget{},
	}
	for _, res := range rm.Resources() {
		b, err := res.MarshalJSON()
		require.NoError(t, err)
		id := res.GetKind() + " " + res.GetName()
		obj, gvk, err := decoder.Decode(b, nil, nil)
		require.NoError(t, err, "%s: %s", dir, id)
		switch v := obj.(type) {
		case *corev1.Namespace:
			o.namespaces[v.Name] = v
		case *corev1.ServiceAccount:
			o.serviceAccounts[v.Name] = v
		case *corev1.ConfigMap:
			o.configMaps[v.Name] = v
		case *corev1.Secret:
			o.secrets[v.Name] = v
		case *corev1.Service:
			o.services[v.Name] = v
		case *appsv1.StatefulSet:
			o.statefulSets[v.Name] = v
		case *policyv1.PodDisruptionBudget:
			o.pdbs[v.Name] = v
		default:
			t.Fatalf("%s: %s (%s) is not a kind this test checks; add it", dir, id, gvk)
		}
		if gvk.Kind != "Namespace" {
			meta, ok := obj.(metav1.Object)
			require.True(t, ok)
			require.Equal(t, "meshscope", meta.GetNamespace(), "%s: %s", dir, id)
		}
	}
	return o
}

// podNameLabel is set by the StatefulSet controller on each pod: the pod's
// name, so that a Service can pick one replica.
const podNameLabel = "statefulset.kubernetes.io/pod-name"

// selects reports whether a Service selector picks pods of sts.
func selects(selector map[string]string, sts *appsv1.StatefulSet) bool {
	if len(selector) == 0 {
		return false
	}
	podLabels := labels.Set{}
	for k, v := range sts.Spec.Template.Labels {
		podLabels[k] = v
	}
	if pod, ok := selector[podNameLabel]; ok {
		ordinal, found := strings.CutPrefix(pod, sts.Name+"-")
		n, err := strconv.Atoi(ordinal)
		if !found || err != nil || n < 0 || n >= int(*sts.Spec.Replicas) {
			return false
		}
		podLabels[podNameLabel] = pod
	}
	return labels.SelectorFromSet(selector).Matches(podLabels)
}

// containerPort finds the port a Service's targetPort names in c.
func containerPort(c corev1.Container, sp corev1.ServicePort) (corev1.ContainerPort, bool) {
	for _, p := range c.Ports {
		if sp.TargetPort.StrVal != "" && p.Name == sp.TargetPort.StrVal {
			return p, true
		}
		if sp.TargetPort.StrVal == "" && sp.TargetPort.IntVal != 0 && p.ContainerPort == sp.TargetPort.IntVal {
			return p, true
		}
		if sp.TargetPort.StrVal == "" && sp.TargetPort.IntVal == 0 && p.ContainerPort == sp.Port {
			return p, true
		}
	}
	return corev1.ContainerPort{}, false
}

func namedPort(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port %q", c.Name, name)
	return 0
}

func envVar(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

// secretValue resolves a secretKeyRef to the value in the build.
func (o *objects) secretValue(t *testing.T, ref *corev1.SecretKeySelector) string {
	t.Helper()
	require.NotNil(t, ref)
	s, ok := o.secrets[ref.Name]
	require.True(t, ok, "Secret %s referenced but not in the build", ref.Name)
	if v, ok := s.Data[ref.Key]; ok {
		return string(v)
	}
	v, ok := s.StringData[ref.Key]
	require.True(t, ok, "Secret %s has no key %s", ref.Name, ref.Key)
	return v
}

// configFile returns the content of the file at path as a container sees it
// through its ConfigMap volume mounts.
func (o *objects) configFile(t *testing.T, pod corev1.PodSpec, c corev1.Container, path string) string {
	t.Helper()
	for _, m := range c.VolumeMounts {
		var key string
		switch {
		case m.SubPath != "" && m.MountPath == path:
			key = m.SubPath
		case m.SubPath == "" && filepath.Dir(path) == filepath.Clean(m.MountPath):
			key = filepath.Base(path)
		default:
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil {
				cm, ok := o.configMaps[v.ConfigMap.Name]
				require.True(t, ok, "ConfigMap %s referenced but not in the build", v.ConfigMap.Name)
				data, ok := cm.Data[key]
				require.True(t, ok, "ConfigMap %s has no key %s (mounted at %s)", cm.Name, key, path)
				return data
			}
		}
	}
	t.Fatalf("container %s mounts no ConfigMap file at %s", c.Name, path)
	return ""
}

// checkReferences requires that every ConfigMap, Secret, volume and
// ServiceAccount a pod template refers to is in the build.
func (o *objects) checkReferences(t *testing.T, sts *appsv1.StatefulSet) {
	t.Helper()
	pod := sts.Spec.Template.Spec
	if pod.ServiceAccountName != "" {
		require.Contains(t, o.serviceAccounts, pod.ServiceAccountName, "StatefulSet %s", sts.Name)
	}
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
		if v.ConfigMap != nil {
			cm, ok := o.configMaps[v.ConfigMap.Name]
			require.True(t, ok, "StatefulSet %s: ConfigMap %s not in the build", sts.Name, v.ConfigMap.Name)
			for _, item := range v.ConfigMap.Items {
				require.Contains(t, cm.Data, item.Key)
			}
		}
	}
	for _, pvc := range sts.Spec.VolumeClaimTemplates {
		volumes[pvc.Name] = true
	}
	for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
		for _, m := range c.VolumeMounts {
			require.True(t, volumes[m.Name], "StatefulSet %s container %s mounts unknown volume %s", sts.Name, c.Name, m.Name)
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				o.secretValue(t, e.ValueFrom.SecretKeyRef)
			}
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
				cm, ok := o.configMaps[e.ValueFrom.ConfigMapKeyRef.Name]
				require.True(t, ok, "ConfigMap %s not in the build", e.ValueFrom.ConfigMapKeyRef.Name)
				require.Contains(t, cm.Data, e.ValueFrom.ConfigMapKeyRef.Key)
			}
		}
	}
}

// xmlNode is a generic XML element, for ClickHouse configuration files.
type xmlNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []xmlNode  `xml:",any"`
}

// find returns the elements at path below n.
func (n xmlNode) find(path ...string) []xmlNode {
	if len(path) == 0 {
		return []xmlNode{n}
	}
	var out []xmlNode
	for _, c := range n.Nodes {
		if c.XMLName.Local == path[0] {
			out = append(out, c.find(path[1:]...)...)
		}
	}
	return out
}

func (n xmlNode) text(path ...string) string {
	found := n.find(path...)
	if len(found) != 1 {
		return ""
	}
	return strings.TrimSpace(found[0].Text)
}

// fromEnv lists the from_env attributes anywhere below n.
func (n xmlNode) fromEnv() []string {
	var out []string
	for _, a := range n.Attrs {
		if a.Name.Local == "from_env" {
			out = append(out, a.Value)
		}
	}
	for _, c := range n.Nodes {
		out = append(out, c.fromEnv()...)
	}
	return out
}

func parseXML(t *testing.T, name, data string) xmlNode {
	t.Helper()
	var root xmlNode
	require.NoError(t, xml.Unmarshal([]byte(data), &root), name)
	require.Equal(t, "clickhouse", root.XMLName.Local, "%s: root element", name)
	return root
}

// podDNSNames are the stable DNS names of the pods of sts.
func podDNSNames(sts *appsv1.StatefulSet) []string {
	var out []string
	for i := range *sts.Spec.Replicas {
		out = append(out, fmt.Sprintf("%s-%d.%s.%s.svc.cluster.local", sts.Name, i, sts.Spec.ServiceName, sts.Namespace))
	}
	return out
}

func TestKustomizeOverlays(t *testing.T) {
	flags := serveFlags(t)
	cases := []struct {
		name      string
		dir       string
		replicas  int32
		cluster   bool
		shards    map[string]int32 // ClickHouse StatefulSets and their replicas
		keeperSet string
	}{
		{name: "single", dir: "kubernetes/overlays/single", replicas: 1, shards: map[string]int32{"clickhouse": 1}},
		{name: "cluster", dir: "kubernetes/overlays/cluster", replicas: 3, cluster: true,
			shards: map[string]int32{"clickhouse-shard1": 2, "clickhouse-shard2": 2}, keeperSet: "clickhouse-keeper"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := build(t, tc.dir)
			require.Contains(t, o.namespaces, "meshscope")

			// meshscope itself.
			ms, ok := o.statefulSets["meshscope"]
			require.True(t, ok, "StatefulSet meshscope")
			require.Equal(t, tc.replicas, *ms.Spec.Replicas)
			o.checkReferences(t, ms)
			pod := ms.Spec.Template.Spec
			require.Len(t, pod.Containers, 1)
			c := pod.Containers[0]

			// Arguments: the serve command and flags it has.
			require.Equal(t, "serve", c.Args[0])
			args := map[string]string{}
			for _, a := range c.Args[1:] {
				name, value, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
				require.True(t, strings.HasPrefix(a, "--") && hasValue, "argument %q: want --flag=value", a)
				require.True(t, flags[name], "argument %q: `meshscope serve` has no flag --%s", a, name)
				args[name] = value
			}
			if tc.cluster {
				require.Equal(t, "meshscope", args["clickhouse-cluster"])
			} else {
				require.NotContains(t, args, "clickhouse-cluster")
			}

			// Environment: MESHSCOPE_* variables name flags; the DSN is a Secret.
			for _, e := range c.Env {
				if name, ok := strings.CutPrefix(e.Name, "MESHSCOPE_"); ok {
					flag := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
					require.True(t, flags[flag], "environment %s: `meshscope serve` has no flag --%s", e.Name, flag)
				}
			}
			dsnVar, ok := envVar(c, "MESHSCOPE_CLICKHOUSE")
			require.True(t, ok, "the ClickHouse DSN comes from MESHSCOPE_CLICKHOUSE")
			require.NotNil(t, dsnVar.ValueFrom, "MESHSCOPE_CLICKHOUSE from a Secret, not a literal")
			dsn, err := url.Parse(o.secretValue(t, dsnVar.ValueFrom.SecretKeyRef))
			require.NoError(t, err)
			require.Equal(t, "clickhouse", dsn.Scheme)
			pass, _ := dsn.User.Password()
			require.Equal(t, o.secretValue(t, &corev1.SecretKeySelector{LocalObjectReference: dsnVar.ValueFrom.SecretKeyRef.LocalObjectReference, Key: "password"}), pass,
				"the DSN's password is the ClickHouse user's (Secret key password)")
			chHost, chPort, err := net.SplitHostPort(dsn.Host)
			require.NoError(t, err)
			chSvc, ok := o.services[chHost]
			require.True(t, ok, "the DSN's host %s is a Service of the build", chHost)
			require.True(t, slices.ContainsFunc(chSvc.Spec.Ports, func(p corev1.ServicePort) bool { return strconv.Itoa(int(p.Port)) == chPort }),
				"Service %s has port %s", chHost, chPort)

			// The config file: mounted, given with --config, keys are flags.
			configPath := args["config"]
			require.NotEmpty(t, configPath, "--config")
			var config map[string]any
			require.NoError(t, yaml.Unmarshal([]byte(o.configFile(t, pod, c, configPath)), &config))
			for key := range config {
				require.True(t, flags[key], "%s: key %q is not a flag of `meshscope serve`", configPath, key)
			}
			require.NotContains(t, config, "clickhouse", "the DSN (with its password) belongs in the Secret")

			// Ports: the listeners of the config file are the container's ports.
			for flag, port := range map[string]string{"http-addr": "http", "otlp-grpc-addr": "otlp-grpc", "otlp-http-addr": "otlp-http"} {
				addr, _ := config[flag].(string)
				_, p, err := net.SplitHostPort(addr)
				require.NoError(t, err, "%s: %s", configPath, flag)
				require.Equal(t, strconv.Itoa(int(namedPort(t, c, port))), p, "%s of %s is container port %s", flag, configPath, port)
			}
			require.EqualValues(t, 8080, namedPort(t, c, "http"))
			require.EqualValues(t, 4317, namedPort(t, c, "otlp-grpc"))
			require.EqualValues(t, 4318, namedPort(t, c, "otlp-http"))

			// The write-ahead log is on the claim template's volume.
			require.Len(t, ms.Spec.VolumeClaimTemplates, 1)
			pvc := ms.Spec.VolumeClaimTemplates[0]
			require.NotZero(t, pvc.Spec.Resources.Requests.Storage().Value())
			dataDir, _ := config["data-dir"].(string)
			require.True(t, slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
				return m.Name == pvc.Name && filepath.Clean(m.MountPath) == filepath.Clean(dataDir)
			}), "data-dir %q is the mount of volume claim %s", dataDir, pvc.Name)

			// Probes.
			for _, p := range []struct {
				probe *corev1.Probe
				path  string
			}{{c.LivenessProbe, "/healthz"}, {c.ReadinessProbe, "/readyz"}, {c.StartupProbe, "/healthz"}} {
				require.NotNil(t, p.probe)
				require.NotNil(t, p.probe.HTTPGet)
				require.Equal(t, p.path, p.probe.HTTPGet.Path)
				require.Equal(t, "http", p.probe.HTTPGet.Port.StrVal)
			}

			// Resources and security.
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				require.Contains(t, c.Resources.Requests, r)
				require.Contains(t, c.Resources.Limits, r)
			}
			memLimit := c.Resources.Limits.Memory().Value()
			goLimit, ok := envVar(c, "GOMEMLIMIT")
			require.True(t, ok, "GOMEMLIMIT")
			mib, err := strconv.ParseInt(strings.TrimSuffix(goLimit.Value, "MiB"), 10, 64)
			require.NoError(t, err, "GOMEMLIMIT %q: want NMiB", goLimit.Value)
			require.True(t, mib<<20 < memLimit && mib<<20 > memLimit*8/10, "GOMEMLIMIT %s is a little under the memory limit %d", goLimit.Value, memLimit)
			require.NotNil(t, pod.SecurityContext)
			require.True(t, *pod.SecurityContext.RunAsNonRoot)
			require.NotNil(t, c.SecurityContext)
			require.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
			require.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
			require.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)
			require.False(t, *pod.AutomountServiceAccountToken)

			// The ClusterIP Service for senders and the headless one for the
			// Collector's load balancing, both with every port.
			for _, name := range []string{"meshscope", "meshscope-headless"} {
				svc, ok := o.services[name]
				require.True(t, ok, "Service %s", name)
				require.True(t, selects(svc.Spec.Selector, ms), "Service %s selects the meshscope pods", name)
				require.True(t, svc.Spec.PublishNotReadyAddresses, "Service %s reaches replicas whose ClickHouse is down", name)
				var ports []int32
				for _, p := range svc.Spec.Ports {
					ports = append(ports, p.Port)
				}
				require.ElementsMatch(t, []int32{8080, 4317, 4318}, ports, "Service %s", name)
			}
			require.Equal(t, corev1.ClusterIPNone, o.services["meshscope-headless"].Spec.ClusterIP)
			require.NotEqual(t, corev1.ClusterIPNone, o.services["meshscope"].Spec.ClusterIP)
			require.Equal(t, "meshscope-headless", ms.Spec.ServiceName)
			if tc.cluster {
				// Access logs and remote_write reach one replica.
				pinned, ok := o.services["meshscope-pinned"]
				require.True(t, ok, "Service meshscope-pinned")
				require.Equal(t, "meshscope-0", pinned.Spec.Selector[podNameLabel])
				require.True(t, selects(pinned.Spec.Selector, ms))
			}

			// Every Service selects pods and targets ports they have.
			for _, svc := range o.services {
				var matched []*appsv1.StatefulSet
				for _, sts := range o.statefulSets {
					if selects(svc.Spec.Selector, sts) {
						matched = append(matched, sts)
					}
				}
				require.NotEmpty(t, matched, "Service %s selects no pods", svc.Name)
				for _, sts := range matched {
					for _, sp := range svc.Spec.Ports {
						require.True(t, slices.ContainsFunc(sts.Spec.Template.Spec.Containers, func(c corev1.Container) bool {
							_, ok := containerPort(c, sp)
							return ok
						}), "Service %s port %s: no such container port in StatefulSet %s", svc.Name, sp.Name, sts.Name)
					}
				}
			}

			// Every StatefulSet's serviceName is a headless Service of the
			// build that selects its pods.
			for _, sts := range o.statefulSets {
				svc, ok := o.services[sts.Spec.ServiceName]
				require.True(t, ok, "StatefulSet %s: serviceName %s", sts.Name, sts.Spec.ServiceName)
				require.Equal(t, corev1.ClusterIPNone, svc.Spec.ClusterIP, "Service %s", svc.Name)
				require.True(t, selects(svc.Spec.Selector, sts), "Service %s selects StatefulSet %s", svc.Name, sts.Name)
				require.True(t, labels.SelectorFromSet(sts.Spec.Selector.MatchLabels).Matches(labels.Set(sts.Spec.Template.Labels)),
					"StatefulSet %s selects its own pods", sts.Name)
				o.checkReferences(t, sts)
			}

			// Every PodDisruptionBudget selects pods; meshscope has one.
			var msPDB bool
			for _, pdb := range o.pdbs {
				sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
				require.NoError(t, err)
				var n int
				for _, sts := range o.statefulSets {
					if sel.Matches(labels.Set(sts.Spec.Template.Labels)) {
						n++
						msPDB = msPDB || sts.Name == "meshscope"
					}
				}
				require.Equal(t, 1, n, "PodDisruptionBudget %s selects the pods of one StatefulSet", pdb.Name)
				require.NotNil(t, pdb.Spec.MaxUnavailable, "PodDisruptionBudget %s: maxUnavailable never blocks a drain for good", pdb.Name)
			}
			require.True(t, msPDB, "a PodDisruptionBudget covers meshscope")

			// ClickHouse servers.
			var shardEnv []string
			for name, replicas := range tc.shards {
				sts, ok := o.statefulSets[name]
				require.True(t, ok, "StatefulSet %s", name)
				require.Equal(t, replicas, *sts.Spec.Replicas, "StatefulSet %s", name)
				require.True(t, selects(chSvc.Spec.Selector, sts), "Service %s (the DSN's host) reaches StatefulSet %s", chSvc.Name, name)
				ch := sts.Spec.Template.Spec.Containers[0]
				require.True(t, strings.HasPrefix(ch.Image, "clickhouse/clickhouse-server:"), ch.Image)
				require.EqualValues(t, 9000, namedPort(t, ch, "native"))
				require.Equal(t, "/ping", ch.ReadinessProbe.HTTPGet.Path)
				require.True(t, *sts.Spec.Template.Spec.SecurityContext.RunAsNonRoot)
				env := map[string]bool{}
				for _, e := range ch.Env {
					env[e.Name] = true
				}
				// Every from_env of the mounted configuration is set.
				for _, m := range ch.VolumeMounts {
					if m.SubPath == "" || !strings.HasSuffix(m.SubPath, ".xml") {
						continue
					}
					root := parseXML(t, m.SubPath, o.configFile(t, sts.Spec.Template.Spec, ch, m.MountPath))
					for _, v := range root.fromEnv() {
						require.True(t, env[v], "StatefulSet %s: %s reads %s from the environment, which is not set", name, m.SubPath, v)
					}
				}
				if e, ok := envVar(ch, "CH_SHARD"); ok {
					shardEnv = append(shardEnv, e.Value)
				}
			}
			if !tc.cluster {
				require.Empty(t, tc.keeperSet)
				return
			}

			// Cluster mode: remote_servers, macros, Keeper, all consistent
			// with the StatefulSets and their headless Services.
			require.Len(t, shardEnv, len(tc.shards), "every shard StatefulSet sets CH_SHARD")
			require.Len(t, slices.Compact(slices.Sorted(slices.Values(shardEnv))), len(tc.shards), "shards have distinct {shard} macros")
			keeper, ok := o.statefulSets[tc.keeperSet]
			require.True(t, ok, "StatefulSet %s", tc.keeperSet)
			require.EqualValues(t, 3, *keeper.Spec.Replicas)
			kc := keeper.Spec.Template.Spec.Containers[0]
			require.True(t, strings.HasPrefix(kc.Image, "clickhouse/clickhouse-keeper:"), kc.Image)

			sts1 := o.statefulSets["clickhouse-shard1"]
			ch := sts1.Spec.Template.Spec.Containers[0]
			cluster := parseXML(t, "meshscope-cluster.xml", o.configFile(t, sts1.Spec.Template.Spec, ch, "/etc/clickhouse-server/config.d/meshscope-cluster.xml"))
			shards := cluster.find("remote_servers", "meshscope", "shard")
			require.Len(t, shards, len(tc.shards), "remote_servers lists every shard")
			for i, shard := range shards {
				sts := o.statefulSets[fmt.Sprintf("clickhouse-shard%d", i+1)]
				require.NotNil(t, sts)
				require.True(t, o.services[sts.Spec.ServiceName].Spec.PublishNotReadyAddresses, "replicas resolve each other before they are ready")
				var hosts []string
				for _, r := range shard.find("replica") {
					hosts = append(hosts, r.text("host"))
					require.Equal(t, strconv.Itoa(int(namedPort(t, sts.Spec.Template.Spec.Containers[0], "native"))), r.text("port"))
				}
				require.Equal(t, podDNSNames(sts), hosts, "shard %d replicas are the pods of %s", i+1, sts.Name)
				require.Equal(t, "true", shard.text("internal_replication"))
				e, _ := envVar(sts.Spec.Template.Spec.Containers[0], "CH_SHARD")
				require.Equal(t, fmt.Sprintf("0%d", i+1), e.Value, "the {shard} macro of %s", sts.Name)
			}
			require.Equal(t, []string{"CH_SHARD"}, cluster.find("macros", "shard")[0].fromEnv())
			require.Equal(t, []string{"CH_REPLICA"}, cluster.find("macros", "replica")[0].fromEnv())
			replica, _ := envVar(ch, "CH_REPLICA")
			require.Equal(t, "metadata.name", replica.ValueFrom.FieldRef.FieldPath, "the {replica} macro is the pod name")
			require.NotEmpty(t, cluster.text("distributed_ddl", "path"), "ON CLUSTER DDL needs distributed_ddl")

			var zk []string
			for _, n := range cluster.find("zookeeper", "node") {
				zk = append(zk, n.text("host"))
				require.Equal(t, strconv.Itoa(int(namedPort(t, kc, "client"))), n.text("port"))
			}
			require.Equal(t, podDNSNames(keeper), zk, "zookeeper lists the Keeper pods")

			kconf := parseXML(t, "keeper_config.xml", o.configFile(t, keeper.Spec.Template.Spec, kc, "/etc/clickhouse-keeper/keeper_config.xml"))
			require.Equal(t, strconv.Itoa(int(namedPort(t, kc, "client"))), kconf.text("keeper_server", "tcp_port"))
			var raft []string
			for i, s := range kconf.find("keeper_server", "raft_configuration", "server") {
				require.Equal(t, strconv.Itoa(i+1), s.text("id"), "server ids are the pod ordinals plus one")
				require.Equal(t, strconv.Itoa(int(namedPort(t, kc, "raft"))), s.text("port"))
				raft = append(raft, s.text("hostname"))
			}
			require.Equal(t, podDNSNames(keeper), raft, "raft_configuration lists the Keeper pods")
			require.Equal(t, []string{"KEEPER_SERVER_ID"}, kconf.find("keeper_server", "server_id")[0].fromEnv())
			require.Contains(t, strings.Join(kc.Command, " "), "KEEPER_SERVER_ID=$$((${HOSTNAME##*-} + 1))",
				"the command derives server_id from the ordinal; $$ keeps Kubernetes from expanding it")
			require.True(t, o.services[keeper.Spec.ServiceName].Spec.PublishNotReadyAddresses, "Keeper peers resolve each other before a quorum")
		})
	}
}
