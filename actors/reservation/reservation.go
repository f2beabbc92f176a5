// Package reservation owns Blazar v1's rules for leases of physical hosts, as
// pure functions: the date format (ParseDate, FormatDate, FormatTimestamp);
// the create checks in Blazar's order and the lease they plan (ValidateCreate);
// the update checks, the new dates and event times (ValidateUpdate); the
// filter language of hypervisor_properties and resource_properties and how a
// host matches it (ParseRequirements, Requirements.Match); which hosts a
// reservation gets (ChooseHosts) and keeps, loses or gains on update
// (Reallocate), with the one definition of a double booking (Overlaps); the
// lease, reservation and event status machines and the order of events due
// together (status.go); Blazar's default policy as data (PolicyRules); and
// every refusal with Blazar's text (Error, errors.go).
//
// Inputs in, a plan or an *Error out: nothing here reads a clock (now is a
// parameter), the store or the network. The lease grain applies the plans to
// the store; the HTTP layer decodes bodies into LeaseRequest / UpdateRequest
// and renders an *Error as Blazar's error body. Where keel answers otherwise
// than Blazar (a 4xx for Blazar's 500s, a refused upstream bug) the function
// says so and docs/blazar-deviations.md lists it. Of keel it imports only
// actors/python (Python's repr, for the texts that show Python values).
package reservation
