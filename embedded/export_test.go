package embedded

// HasSettings and BucketHas expose the comparisons a cluster node makes before it sends an
// update, so that a test can check they hold for what the node itself provisioned.
var (
	HasSettings = hasSettings
	BucketHas   = bucketHas
)
