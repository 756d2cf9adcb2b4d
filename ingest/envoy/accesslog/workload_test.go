package accesslog

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplitWorkload(t *testing.T) {
	tests := []struct {
		name, app, version string
	}{
		{"reviews-v2", "reviews", "v2"},
		{"reviews-v10", "reviews", "v10"},
		{"details-v1beta1", "details", "v1beta1"},
		{"productpage", "productpage", "latest"},
		{"my-app", "my-app", "latest"},
		{"vault", "vault", "latest"},
		{"secret-vault", "secret-vault", "latest"},
		{"api-v", "api-v", "latest"},
		{"api-vx", "api-vx", "latest"},
		{"v2", "v2", "latest"},
		{"-v2", "-v2", "latest"},
		{"ratings-v1-2", "ratings-v1-2", "latest"},
		{"reviews-v2-5b64f47978-rv5ls", "reviews", "v2"},
		{"productpage-v1-6b746f74dc-9stvs", "productpage", "v1"},
		{"redis-6", "redis-6", "latest"},
		{"", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app, version := SplitWorkload(tc.name)
			require.Equal(t, tc.app, app)
			require.Equal(t, tc.version, version)
		})
	}
}

func TestPodWorkload(t *testing.T) {
	tests := []struct {
		pod, workload string
	}{
		{"reviews-v2-5b64f47978-rv5ls", "reviews-v2"},
		{"productpage-v1-6b746f74dc-9stvs", "productpage-v1"},
		{"details-v1-79f774bdb9-wq2mc", "details-v1"},
		{"coredns-558bd4d5db-x7k2p", "coredns"},
		{"nginx-deployment-1370807587-6ekbw", "nginx-deployment"}, // Kubernetes before 1.8
		{"nginx-deployment-abcdefg-6ekbw", "nginx-deployment-abcdefg-6ekbw"},
		{"kube-proxy-4bd9c", "kube-proxy"},
		{"fluentd-x7k2p", "fluentd"},
		{"hello-28391520-x7k2p", "hello"},
		{"web-0", "web"},
		{"zookeeper-12", "zookeeper"},
		{"reviews-v2", "reviews-v2"},
		{"ratings", "ratings"},
		{"my-proxy", "my-proxy"},
		{"svc-db-xk2pl", "svc-db"},
		{"-x7k2p", "-x7k2p"},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.pod, func(t *testing.T) {
			require.Equal(t, tc.workload, PodWorkload(tc.pod))
		})
	}
}
