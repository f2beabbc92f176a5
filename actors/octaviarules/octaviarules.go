// Package octaviarules owns Octavia's stateless rules: its vocabularies (the
// protocols, algorithms, session persistence, monitor and L7 rule types, TLS
// versions and ALPN protocols it accepts, and its TLS defaults), the
// listener/pool protocol map, and the checks that need nothing but the values
// they check: an L7 rule's data, a listener's options against its protocol, a
// session persistence, a TLS version list, a monitor type against its pool's
// protocol, a listener's allowed CIDRs against its VIP, and a pool's or monitor's
// update against the row it updates (CA / CRL, session persistence, domain name:
// the grain applies them to the row as it holds it, so two updates that are each
// valid against an older row cannot combine into an invalid one). The API (http) and the grains (actors) apply them from here, so
// each is written once. Rules that need other objects of a load balancer's
// tree (a port clash, a duplicate member, a pool's listeners) stay with the
// grain that owns the tree; how a request body is decoded stays with the API.
//
// A check refuses with an Invalid: Octavia's 400 and its message. The package
// imports nothing of keel but the stored types and the Python compatibility
// package (an L7 rule's REGEX must compile with Python's re).
package octaviarules

import "fmt"

// Invalid is a refusal: Octavia answers it with 400 and the message (its
// faultstring) as it is.
type Invalid string

func (e Invalid) Error() string { return string(e) }

func invalidf(format string, args ...any) Invalid { return Invalid(fmt.Sprintf(format, args...)) }
