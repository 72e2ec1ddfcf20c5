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
	// MetricsURL is where the daemon serves /metrics and /healthz ("" when off).
	MetricsURL string `json:"metrics_url,omitempty"`
}
