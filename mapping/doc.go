// Package mapping holds the pure translations between SCIM resources and
// Freshservice objects: fields, time zones, languages, promotion rules and
// call plans. It does no I/O.
package mapping
