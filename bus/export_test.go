package bus

// OwnClaim exposes ownClaim to the tests.
var OwnClaim = (*Client).ownClaim
