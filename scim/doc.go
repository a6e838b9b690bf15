// Package scim is the SCIM 2.0 protocol edge of fsbridge: HTTP routes, authentication, IdP dialect
// normalisation, the request handlers, SCIM error bodies, and the protocol-level PATCH, filter
// and projection engine. It knows nothing of Freshservice.
package scim
