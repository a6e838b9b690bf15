package simulator

import "github.com/fsbridge/fsbridge/freshservice"

// The time_zone and language vocabularies (reference §13 item 13) are data
// shared with the client, so both sides reject exactly the same values. This
// is the only use of package freshservice here: the simulator implements the
// API independently of the client. (A consequence: tests that run the
// client against the simulator must live in package freshservice_test, or
// the imports would form a cycle.)
var (
	validTimeZone = freshservice.ValidTimeZone
	validLanguage = freshservice.ValidLanguage
)
