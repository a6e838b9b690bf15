// Package simulator is a faithful, stateful Freshservice REST API v2 server.
//
// It implements the parts of the API that fsbridge uses (requesters, agents,
// agent groups, requester groups, roles, departments and locations) the way
// ../shared/reference/freshservice-api.md describes the real service: one
// user table behind the agent and requester views, account-wide email
// uniqueness that includes deactivated users and secondary emails, lists that
// include inactive users unless active= is sent, partial PUT with
// whole-array replacement, the can_see_all_tickets_from_associated_departments
// reset, convert_to_agent giving an occasional SD Agent, full-time seats,
// query= with its limits and index lag, Link pagination, and per-plan,
// per-bucket rate limits with the real headers and 429 + Retry-After.
//
// What the reference reports a real tenant answering (its §19) is the default.
// Every point the reference marks UNCERTAIN is a field of Switches whose zero
// value is the documented default, so the bridge's tests can run against each
// variant; so is every account variation the default account lacks:
// workspaces, a key's permissions, mandatory custom fields, approval-gated
// restricted groups, seat allocation without error, and (through
// Options.Plan) features the plan lacks. Faults injects 429s, 5xx, dropped connections, writes that commit
// and then fail, and latency, from a seeded RNG. Options.TimeScale makes a
// rate-limit minute pass faster than a real one.
//
// It deliberately does not import the fsbridge Freshservice client: it is an
// independent implementation of the API, so that tests of the client against
// it mean something. The only shared piece is the time-zone and language
// vocabulary, which is data, not behaviour.
//
// The Server is an http.Handler. Requests under /api/v2 are the API;
// requests under /_simulator are unauthenticated control endpoints (stats,
// reset, state, faults, switches, seats, seed) that cost no rate-limit
// credit. See docs/simulator.md for the user-facing description.
package simulator
