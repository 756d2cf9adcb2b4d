package accesslog

import "strings"

// DefaultVersion is the version of a workload whose name carries none, as
// Istio's canonical revision defaults to it.
const DefaultVersion = "latest"

// SplitWorkload derives app and version from a workload name when no
// labels or peer metadata tell them. Like Istio's canonical service and
// revision without labels, the name is the app and the version is
// "latest"; but a trailing "-v<digit>..." is read as the version, as in
// Bookinfo: "reviews-v2" is app "reviews", version "v2". A Deployment's pod
// name is first reduced to the Deployment, so "reviews-v2-5b64f47978-rv5ls"
// gives "reviews", "v2" too.
func SplitWorkload(name string) (app, version string) {
	if name == "" {
		return "", ""
	}
	if w, ok := stripDeploymentPod(name); ok {
		name = w
	}
	if i := strings.LastIndexByte(name, '-'); i > 0 && isVersion(name[i+1:]) {
		return name[:i], name[i+1:]
	}
	return name, DefaultVersion
}

// PodWorkload returns the workload that owns a pod, read from the pod's
// name the way Kubernetes controllers build it:
//
//	reviews-v2-5b64f47978-rv5ls -> reviews-v2  (Deployment: ReplicaSet hash, random suffix)
//	fluentd-x7k2p               -> fluentd     (DaemonSet, Job)
//	hello-28391520-x7k2p        -> hello       (CronJob: scheduled time, random suffix)
//	web-0                       -> web         (StatefulSet ordinal)
//
// A name that fits none of these is returned as is.
func PodWorkload(pod string) string {
	if w, ok := stripDeploymentPod(pod); ok {
		return w
	}
	i := strings.LastIndexByte(pod, '-')
	if i <= 0 {
		return pod
	}
	last := pod[i+1:]
	if isPodSuffix(last) || isDigits(last) && len(last) <= 5 {
		return pod[:i]
	}
	return pod
}

// stripDeploymentPod removes "-<hash>-<suffix>" from a pod name.
// Before Kubernetes 1.8 the hash was plain digits and the suffix any
// lowercase letters and digits.
func stripDeploymentPod(pod string) (string, bool) {
	i := strings.LastIndexByte(pod, '-')
	if i <= 0 || len(pod)-i-1 != 5 {
		return "", false
	}
	suffix, base := pod[i+1:], pod[:i]
	j := strings.LastIndexByte(base, '-')
	if j <= 0 {
		return "", false
	}
	hash := base[j+1:]
	switch {
	case isTemplateHash(hash) && isPodSuffix(suffix):
	case isDigits(hash) && len(hash) >= 6 && len(hash) <= 10 && isLowerAlnum(suffix):
	default:
		return "", false
	}
	return base[:j], true
}

// isLowerAlnum reports whether s is made of lowercase letters and digits.
func isLowerAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// podSafe is the alphabet of generated name suffixes (no vowels, no
// characters that read alike).
const podSafe = "bcdfghjklmnpqrstvwxz2456789"

// isPodSuffix reports whether s is a 5-character generated suffix.
func isPodSuffix(s string) bool {
	if len(s) != 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(podSafe, s[i]) < 0 {
			return false
		}
	}
	return true
}

// isTemplateHash reports whether s looks like a pod-template-hash: the
// decimal digits of a 32-bit hash, mapped onto the safe alphabet
// (digits 0-9 become 4-9 and b, c, d, f) since Kubernetes 1.8, plain
// digits before; the scheduled minutes of a CronJob's Job look alike.
func isTemplateHash(s string) bool {
	if len(s) < 6 || len(s) > 10 {
		return false
	}
	if isDigits(s) {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '4' && c <= '9' || c == 'b' || c == 'c' || c == 'd' || c == 'f') {
			return false
		}
	}
	return true
}

// isVersion reports whether s is "v" followed by a digit and then digits,
// lowercase letters or dots, such as "v2", "v10" or "v1beta1".
func isVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' || s[1] < '0' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '.') {
			return false
		}
	}
	return true
}

// isDigits reports whether s is non-empty and all decimal digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
