package subjects

import "time"

// ServerStatus is the daemon's answer on StatusSubject.
type ServerStatus struct {
	ServerName string `json:"server_name"`
	// Host is the host token of the daemon's machine (see LocalHost); "" from a daemon that
	// does not say.
	Host        string    `json:"host,omitempty"`
	Version     string    `json:"version"`
	PID         int       `json:"pid"`
	Started     time.Time `json:"started"`
	ClientURLs  []string  `json:"client_urls"`
	Home        string    `json:"home"`
	Sync        string    `json:"sync"`
	Connections int       `json:"connections"`
	// StoreUsed and StoreMax are the JetStream file store's bytes in use and its cap.
	StoreUsed int64 `json:"store_used_bytes"`
	StoreMax  int64 `json:"store_max_bytes"`
	MemoryRSS int64 `json:"memory_rss_bytes"`
	InMsgs    int64 `json:"in_msgs"`
	OutMsgs   int64 `json:"out_msgs"`
	Healthy   bool  `json:"healthy"`
	// Health is the server's own health check result ("ok" or the error).
	Health string `json:"health"`
	// StoreError says what keeps the store from storing messages (a full disk), "" when
	// nothing does.
	StoreError string `json:"store_error,omitempty"`
	// StoreDamage lists the damage found in the store at start: which files, and how many
	// messages of which stream were lost.
	StoreDamage []string `json:"store_damage,omitempty"`
	// MetricsURL is where the daemon serves /metrics and /healthz ("" when off).
	MetricsURL string `json:"metrics_url,omitempty"`
	// Cluster is set when the daemon is a node of a cluster.
	Cluster *ClusterStatus `json:"cluster,omitempty"`
}

// StatusRequest is the body of a status request; an empty body asks for the brief status.
type StatusRequest struct {
	// Cluster asks for the cluster's members and the placement of every stream, which
	// costs the daemon a request to each stream's leader.
	Cluster bool `json:"cluster,omitempty"`
}

// ClusterStatus is a node's view of its cluster.
type ClusterStatus struct {
	Name string `json:"name"`
	// MetaLeader is the node that leads JetStream's meta group ("" during an election).
	MetaLeader string `json:"meta_leader"`
	// Size is the number of nodes the meta group knows; QuorumNeeded how many must agree.
	Size         int `json:"size"`
	QuorumNeeded int `json:"quorum_needed"`
	// Routes is the number of route connections of this node.
	Routes int `json:"routes"`
	// RouteAuth says how routes authenticate: "mutual TLS", or "route secret, without
	// TLS: loopback only".
	RouteAuth string         `json:"route_auth,omitempty"`
	Members   []PeerStatus   `json:"members"`
	Streams   []StreamStatus `json:"streams"`
}

// PeerStatus is one node as seen from another.
type PeerStatus struct {
	Name    string `json:"name"`
	Leader  bool   `json:"leader,omitempty"`
	Current bool   `json:"current"`
	Offline bool   `json:"offline,omitempty"`
	// ActiveMS is how long ago the node was last heard from, in milliseconds.
	ActiveMS int64 `json:"active_ms"`
	// Lag is how many operations behind the leader it is.
	Lag uint64 `json:"lag,omitempty"`
}

// StreamStatus is a stream's placement: its leader and replicas.
type StreamStatus struct {
	Name     string       `json:"name"`
	Messages uint64       `json:"messages"`
	Leader   string       `json:"leader"`
	Replicas []PeerStatus `json:"replicas"`
}
