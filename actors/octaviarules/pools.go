package octaviarules

import (
	"slices"

	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

// CheckPoolUpdate applies Octavia's rules of a pool update that need the pool
// as it was: cur is the pool before the update, x the pool as the update leaves
// it (cur with the attributes fields names set from the body). A session
// persistence sent without a type keeps cur's type (x is completed so); the
// session persistence sent must suit the pool's protocol; and a certificate
// revocation list needs a CA reference (Octavia's PUT words the refusal
// differently when the update removes the CA).
func CheckPoolUpdate(cur, x *storepb.Pool, fields []string) error {
	set := func(name string) bool { return slices.Contains(fields, name) }
	if set("session_persistence") && x.SessionPersistence != nil {
		if x.SessionPersistence.Type == "" && cur.SessionPersistence != nil {
			sp := proto.Clone(x.SessionPersistence).(*storepb.SessionPersistence) // x may share the body's
			sp.Type = cur.SessionPersistence.Type
			x.SessionPersistence = sp
		}
		if err := CheckSessionPersistence(cur.Protocol, x.SessionPersistence, false); err != nil {
			return err
		}
	}
	if x.CaTlsContainerRef == "" && x.CrlContainerRef != "" {
		if set("ca_tls_container_ref") && cur.CaTlsContainerRef != "" {
			return Invalid("Validation failure: A CA reference cannot be removed when a certificate revocation list is present.")
		}
		return Invalid("Validation failure: A CA reference is required to specify a certificate revocation list.")
	}
	return nil
}
