package embedded

import "time"

// HasSettings and BucketHas expose the comparisons a cluster node makes before it sends an
// update, so that a test can check they hold for what the node itself provisioned.
var (
	HasSettings = hasSettings
	BucketHas   = bucketHas
)

// SetCreateGrace sets createGrace for a test and restores it after.
func SetCreateGrace(t interface{ Cleanup(func()) }, d time.Duration) {
	old := createGrace
	createGrace = d
	t.Cleanup(func() { createGrace = old })
}
