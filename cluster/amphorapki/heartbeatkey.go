package amphorapki

import (
	"crypto/rand"
	"encoding/hex"
)

// HeartbeatKeyBytes is how many random bytes a generated heartbeat key holds.
const HeartbeatKeyBytes = 32

// NewHeartbeatKey generates a cluster heartbeat key: 32 random bytes as 64 lowercase
// hex characters. Like Octavia's heartbeat_key, the key is used as the UTF-8 bytes of
// this string ([]byte(key)) by the agents' -heartbeat-key and by the Verifier.
func NewHeartbeatKey() string {
	b := make([]byte, HeartbeatKeyBytes)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b)
}
