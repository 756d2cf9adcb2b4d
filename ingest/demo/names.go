package demo

import (
	"strconv"
	"strings"
)

// Namespaces and service names. Application services live in domain
// namespaces and are named NOUN-ROLE from the domain's nouns; databases
// and caches live in "data", Kafka in "messaging", the ingress gateway in
// "istio-system". Names are Kubernetes DNS labels and never end in
// "-v<digit>", which meshes read as a version.

const (
	nsGateway   = "istio-system"
	nsData      = "data"
	nsMessaging = "messaging"
	nsWeb       = "web"
	// meshDomain is the cluster's DNS domain and trust domain.
	meshDomain = "cluster.local"
	// clusterID is Istio's default cluster name.
	clusterID = "Kubernetes"
)

// domain is a namespace of application services and its nouns.
type domain struct {
	name  string
	nouns []string
}

// domains are taken in order: small meshes use the first few.
var domains = []domain{
	{"accounts", []string{"user", "profile", "account", "session", "auth", "identity", "settings", "device", "login", "consent", "avatar", "handle"}},
	{"timeline", []string{"timeline", "tweet", "home", "feed", "fanout", "thread", "reply", "engagement", "ranking", "impression", "cursor", "content"}},
	{"social", []string{"graph", "follow", "friend", "block", "mute", "list", "community", "mention", "like", "retweet", "bookmark", "circle"}},
	{"platform", []string{"config", "feature-flag", "rate-limit", "geo", "locale", "id-gen", "audit", "quota", "secret", "tenant", "clock", "policy"}},
	{"search", []string{"search", "index", "query", "typeahead", "trend", "hashtag", "suggest", "spell", "topic", "earlybird", "relevance", "crawl"}},
	{"media", []string{"media", "image", "video", "upload", "transcode", "thumbnail", "gif", "photo", "caption", "blob", "preview", "moderation"}},
	{"ads", []string{"ad", "campaign", "bid", "budget", "targeting", "click", "audience", "creative", "pacing", "conversion", "advertiser", "auction"}},
	{"payments", []string{"payment", "invoice", "subscription", "wallet", "refund", "ledger", "checkout", "tax", "payout", "fraud", "pricing", "coupon"}},
	{"notifications", []string{"notification", "push", "email", "sms", "digest", "badge", "inbox", "alert", "template", "preference", "delivery", "unsubscribe"}},
	{"messages", []string{"dm", "conversation", "message", "chat", "receipt", "typing", "attachment", "emoji", "sticker", "presence", "group", "reaction"}},
	{"analytics", []string{"event", "metric", "report", "dashboard", "funnel", "cohort", "export", "sessionizer", "attribution", "sampler", "rollup", "insight"}},
	{"safety", []string{"spam", "abuse", "report-queue", "trust", "review", "appeal", "label", "classifier", "botdetect", "signal", "enforcement", "verdict"}},
}

// roles are the suffixes of service names by kind.
var (
	frontendNames = []string{"web", "mobile-api", "graphql", "tweetdeck", "partner-api", "admin-ui", "embed", "lite", "oauth-ui", "status-page"}
	apiRoles      = []string{"api", "facade", "bff", "edge"} // never "gateway": meshscope reads such workloads as gateways
	midRoles      = []string{"service", "store", "resolver", "ranker", "manager", "engine", "aggregator", "router", "scorer", "mixer", "indexer", "hydrator", "filter", "builder", "validator"}
	workerRoles   = []string{"worker", "consumer", "processor", "writer", "sink"}
	jobRoles      = []string{"cron", "scheduler", "reconciler", "janitor", "backfill"}
	databaseRoles = []string{"postgres", "mysql"}
)

// externalHosts are APIs outside the mesh; passthrough ones are reached
// without a ServiceEntry, through Istio's PassthroughCluster.
var externalHosts = []struct {
	host        string
	passthrough bool
	domains     []string // the domains whose services call it
	path        string
}{
	{"api.stripe.com", true, []string{"payments"}, "/v1/charges"},
	{"api.twilio.com", false, []string{"notifications", "accounts"}, "/2010-04-01/Accounts/AC1/Messages.json"},
	{"api.sendgrid.com", true, []string{"notifications"}, "/v3/mail/send"},
	{"s3.amazonaws.com", false, []string{"media", "analytics"}, "/media-bucket/object"},
	{"maps.googleapis.com", true, []string{"platform", "search"}, "/maps/api/geocode/json"},
	{"hooks.slack.com", true, []string{"safety", "platform"}, "/services/T000/B000/XXXX"},
	{"api.openai.com", false, []string{"safety", "search", "ads"}, "/v1/moderations"},
	{"oauth2.googleapis.com", true, []string{"accounts"}, "/token"},
}

// namer hands out unique service names.
type namer struct {
	used map[string]bool
}

func newNamer() *namer { return &namer{used: map[string]bool{}} }

// suffixes tell apart services that would share a name. Numbers are not
// used: "-2" at the end of a name reads as a StatefulSet ordinal.
var suffixes = []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "sigma", "omega"}

// take returns name if unused, else name-alpha, name-beta... and then
// name-x13, name-x14...
func (n *namer) take(name string) string {
	if !n.used[name] {
		n.used[name] = true
		return name
	}
	for i := 0; ; i++ {
		var c string
		if i < len(suffixes) {
			c = name + "-" + suffixes[i]
		} else {
			c = name + "-x" + strconv.Itoa(i)
		}
		if !n.used[c] {
			n.used[c] = true
			return c
		}
	}
}

// pick tries a few random NOUN-ROLE combinations before numbering one.
func (n *namer) pick(g *rng, nouns, roles []string) string {
	for range 8 {
		c := nouns[g.intn(len(nouns))] + "-" + roles[g.intn(len(roles))]
		if !n.used[c] {
			n.used[c] = true
			return c
		}
	}
	return n.take(nouns[g.intn(len(nouns))] + "-" + roles[g.intn(len(roles))])
}

// camel turns "home-timeline" into "HomeTimeline" for gRPC names.
func camel(s string) string {
	var b strings.Builder
	up := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' || c == '.' {
			up = true
			continue
		}
		if up && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		b.WriteByte(c)
	}
	return b.String()
}
