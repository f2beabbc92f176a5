// Package power switches bare-metal hosts on and off through their baseboard
// management controllers (BMCs): the power driver of every host in keel's
// inventory (Blazar hosts, storepb.Bmc.power_driver).
//
// Two drivers: "ipmi" (IPMI 2.0 over LAN, lanplus, through Debian's ipmitool, as
// Ironic's ipmitool driver does) and "fake" (in memory, for API tests). A driver
// never logs a BMC's password, and no error it returns contains it.
package power

import (
	"context"
	"fmt"
	"net"
	"strconv"
)

// BMC is how a host's baseboard management controller is reached.
type BMC struct {
	Address  string
	Port     int // 0 means IPMI's port, 623
	Username string
	Password string
}

// DefaultPort is IPMI over LAN's UDP port (RMCP).
const DefaultPort = 623

// Endpoint is the BMC's address and port ("host:port"): what errors and logs name
// the BMC by (never its credentials).
func (b BMC) Endpoint() string {
	port := b.Port
	if port == 0 {
		port = DefaultPort
	}
	return net.JoinHostPort(b.Address, strconv.Itoa(port))
}

// String names the BMC without its password, so that printing a BMC by accident
// (%v, %s) cannot leak it.
func (b BMC) String() string {
	return fmt.Sprintf("BMC(%s user %q)", b.Endpoint(), b.Username)
}

// GoString is String, for %#v.
func (b BMC) GoString() string { return b.String() }

// PowerState is a host's power as its BMC reports it. The values of On and Off are
// Mogan's (and Ironic's) power_state strings; Unknown is the zero value, rendered
// as null by the API.
type PowerState string

const (
	Unknown PowerState = ""
	On      PowerState = "power on"
	Off     PowerState = "power off"
)

func (s PowerState) String() string {
	if s == Unknown {
		return "unknown"
	}
	return string(s)
}

// Action is a power request: Mogan's power targets.
type Action string

const (
	ActionOn         Action = "on"
	ActionOff        Action = "off"
	ActionReboot     Action = "reboot"      // hard: power cycle (or power on when off)
	ActionSoftOff    Action = "soft_off"    // ACPI soft shutdown, the OS powers off
	ActionSoftReboot Action = "soft_reboot" // soft shutdown, wait for off, power on
)

// Actions lists every action, in Mogan's order.
var Actions = []Action{ActionOn, ActionOff, ActionReboot, ActionSoftOff, ActionSoftReboot}

// ParseAction returns the action named s, or an error for anything else.
func ParseAction(s string) (Action, error) {
	for _, a := range Actions {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("power: unknown action %q (want on, off, reboot, soft_off or soft_reboot)", s)
}

// Target is the power state an action leaves the host in once it is done.
func (a Action) Target() PowerState {
	switch a {
	case ActionOff, ActionSoftOff:
		return Off
	case ActionOn, ActionReboot, ActionSoftReboot:
		return On
	}
	return Unknown
}

// Driver switches hosts through their BMCs. Implementations are safe for
// concurrent use; every call is bounded (by ctx, and by the driver's own timeout
// when ctx has none).
type Driver interface {
	// State asks the BMC for the host's power state.
	State(ctx context.Context, bmc BMC) (PowerState, error)
	// Set asks the BMC to carry out action. It returns once the BMC has accepted
	// the request (for soft_reboot: once the host is back on); the host may take
	// longer to reach Target (a soft shutdown is up to its OS).
	Set(ctx context.Context, bmc BMC, action Action) error
}

// Names lists the drivers ForName knows.
var Names = []string{"ipmi", "fake"}

var (
	defaultIPMI = &IPMI{}
	sharedFake  = NewFake()
)

// ForName returns the process's driver called name ("ipmi" or "fake"): one shared
// instance per name, so every host with the fake driver sees one fake world.
func ForName(name string) (Driver, error) {
	switch name {
	case "ipmi":
		return defaultIPMI, nil
	case "fake":
		return sharedFake, nil
	}
	return nil, fmt.Errorf("power: unknown power driver %q (want ipmi or fake)", name)
}

// Error is a failed driver call. Its text names the BMC by endpoint and says what
// failed; it never contains the password.
type Error struct {
	Driver   string // "ipmi", "fake"
	Op       string // "power status", "power on", ...
	Endpoint string // host:port
	Reason   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("power: %s %s at BMC %s: %s", e.Driver, e.Op, e.Endpoint, e.Reason)
}
