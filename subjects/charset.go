package subjects

// byteSet is a set of ASCII bytes: the character classes of ids, hosts, groups and tags,
// checked without a regular expression because every published and every delivered
// message is validated (a regexp match cost more than the rest of the check).
type byteSet [256]bool

// newByteSet returns the set of the given bytes and of the ranges "a-z"-style triples in
// ranges.
func newByteSet(ranges string, extra string) *byteSet {
	var s byteSet
	for i := 0; i+2 < len(ranges); i += 3 {
		for c := int(ranges[i]); c <= int(ranges[i+2]); c++ {
			s[c] = true
		}
	}
	for i := 0; i < len(extra); i++ {
		s[extra[i]] = true
	}
	return &s
}

var (
	alnum      = newByteSet("a-zA-Z0-9", "")
	lowerAlnum = newByteSet("a-z0-9", "")
	wordDash   = newByteSet("a-zA-Z0-9", "_-")    // ids, hosts
	groupRest  = newByteSet("a-z0-9", "_-")       // groups
	tagRest    = newByteSet("a-zA-Z0-9", "_.:/-") // tags
)

// matches reports whether s is 1 to max bytes long, its first byte in first and every other
// byte in rest.
func matches(s string, first, rest *byteSet, max int) bool {
	if len(s) == 0 || len(s) > max || !first[s[0]] {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !rest[s[i]] {
			return false
		}
	}
	return true
}
