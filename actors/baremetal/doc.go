// Package baremetal owns Mogan v1's rules for bare-metal instances, as the
// seed-era API (Mogan's tree 02a6f560, package nimble) answers them, as pure
// functions: the create body's JSON schema in Mogan's words and the request it
// yields (ValidateCreate, CreateRequest); the JSON Patch an update may send,
// which ops and paths it may touch and the view it produces (ApplyPatch,
// Patchable); the instance status machine and the power actions allowed from
// each status (status.go: Next, PlanPower, FinishPower); the listing
// conventions (ParseFields, ParseAllTenants, ListFields, DetailFields);
// Mogan's default policy as data (PolicyRules); and every refusal with
// Mogan's text and its Ironic-style error body (Error, Body, errors.go).
//
// Inputs in, a value or an *Error out: nothing here reads a clock, the store
// or the network. The instance grain applies the results; the HTTP layer
// decodes requests and renders an *Error with Body. Where keel answers
// otherwise than Mogan (a 4xx for Mogan's 500s, a refused upstream bug, no
// Glance or Neutron behind it) the function says so and
// docs/mogan-deviations.md lists it. JSON Patch is applied with
// github.com/evanphx/json-patch/v5; Python's repr comes from actors/python.
package baremetal
