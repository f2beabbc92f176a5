package baremetal

// Instance statuses. The seed era has building, active, deleting, deleted
// and error; keel adds the power statuses of Mogan's later state machine
// (mogan/common/states.py), as the reference's suggested keel model does, so
// a power action is visible in status while it runs.
const (
	StatusBuilding        = "building"
	StatusActive          = "active"
	StatusDeleting        = "deleting"
	StatusDeleted         = "deleted"
	StatusError           = "error"
	StatusStopped         = "stopped"
	StatusPoweringOn      = "powering-on"
	StatusPoweringOff     = "powering-off"
	StatusSoftPoweringOff = "soft-powering-off"
	StatusRebooting       = "rebooting"
	StatusSoftRebooting   = "soft-rebooting"
)

// Power states as rendered; "" is rendered as null (unknown).
const (
	PowerOn  = "power on"
	PowerOff = "power off"
)

// Power targets of PUT /v1/instances/{uuid}/states/power.
const (
	TargetOn         = "on"
	TargetOff        = "off"
	TargetReboot     = "reboot"
	TargetSoftOff    = "soft_off"
	TargetSoftReboot = "soft_reboot"
)

// Events of the status machine, Mogan's names.
const (
	EventDone       = "done"
	EventFail       = "fail"
	EventError      = "error"
	EventDelete     = "delete"
	EventStart      = "start"
	EventStop       = "stop"
	EventSoftStop   = "soft_stop"
	EventReboot     = "reboot"
	EventSoftReboot = "soft_reboot"
)

// transitions is Mogan's machine (B.2) restricted to keel's statuses
// (no rebuilding or maintenance): status → event → next status.
var transitions = map[string]map[string]string{
	StatusActive: {
		EventStop: StatusPoweringOff, EventSoftStop: StatusSoftPoweringOff,
		EventReboot: StatusRebooting, EventSoftReboot: StatusSoftRebooting,
		EventDelete: StatusDeleting,
	},
	StatusStopped:         {EventStart: StatusPoweringOn, EventDelete: StatusDeleting},
	StatusError:           {EventDelete: StatusDeleting},
	StatusBuilding:        {EventDone: StatusActive, EventError: StatusError, EventDelete: StatusDeleting},
	StatusPoweringOn:      {EventDone: StatusActive, EventFail: StatusStopped, EventError: StatusError, EventDelete: StatusDeleting},
	StatusPoweringOff:     {EventDone: StatusStopped, EventFail: StatusActive, EventError: StatusError, EventDelete: StatusDeleting},
	StatusSoftPoweringOff: {EventDone: StatusStopped, EventFail: StatusActive, EventError: StatusError, EventDelete: StatusDeleting},
	StatusRebooting:       {EventDone: StatusActive, EventFail: StatusActive, EventError: StatusError, EventDelete: StatusDeleting},
	StatusSoftRebooting:   {EventDone: StatusActive, EventFail: StatusActive, EventError: StatusError, EventDelete: StatusDeleting},
	StatusDeleting:        {EventDone: StatusDeleted, EventError: StatusError},
	StatusDeleted:         {},
}

// Statuses lists every status keel uses.
func Statuses() []string {
	return []string{
		StatusBuilding, StatusActive, StatusDeleting, StatusDeleted, StatusError,
		StatusStopped, StatusPoweringOn, StatusPoweringOff, StatusSoftPoweringOff,
		StatusRebooting, StatusSoftRebooting,
	}
}

// Stable reports whether status is one no action is running in.
func Stable(status string) bool {
	switch status {
	case StatusActive, StatusStopped, StatusError, StatusDeleted:
		return true
	}
	return false
}

// Next is the status after event, or InvalidState with automaton's text.
// Deleting keeps Mogan's rule that only a settled or building instance is
// torn down once: a second delete of a deleting instance is refused here;
// the HTTP layer may treat it as already done (204) before asking.
func Next(status, event string) (string, *Error) {
	if next, ok := transitions[status][event]; ok {
		return next, nil
	}
	return "", ErrInvalidTransition(status, event)
}

// PowerPlan is what a power request does at once: the transitional status
// and target_power_state to write; the action itself runs later and ends
// with FinishPower.
type PowerPlan struct {
	Event            string
	Status           string
	TargetPowerState string
}

// targetEvents maps a power target to its event and the power state it aims
// at (Ironic's target_power_state; a reboot aims at "power on").
var targetEvents = map[string][2]string{
	TargetOn:         {EventStart, PowerOn},
	TargetOff:        {EventStop, PowerOff},
	TargetSoftOff:    {EventSoftStop, PowerOff},
	TargetReboot:     {EventReboot, PowerOn},
	TargetSoftReboot: {EventSoftReboot, PowerOn},
}

// PowerTargets lists the accepted targets.
func PowerTargets() []string {
	return []string{TargetOn, TargetOff, TargetReboot, TargetSoftOff, TargetSoftReboot}
}

// PlanPower decides a PUT …/states/power: 400 "Unacceptable parameters."
// for a target that is not one of PowerTargets (Mogan checks the target
// first); 409 while a power action runs (targetPowerState not ""); 400
// InvalidState when the status has no transition on the target's event (on
// from active, off from stopped, anything from building, error, deleting).
// Otherwise the plan, to answer 202 with.
func PlanPower(uuid, status, targetPowerState, target string) (PowerPlan, *Error) {
	te, ok := targetEvents[target]
	if !ok {
		return PowerPlan{}, ErrInvalidPowerTarget()
	}
	if targetPowerState != "" {
		return PowerPlan{}, ErrPowerInProgress(uuid)
	}
	next, err := Next(status, te[0])
	if err != nil {
		return PowerPlan{}, err
	}
	return PowerPlan{Event: te[0], Status: next, TargetPowerState: te[1]}, nil
}

// PowerOutcome is the instance after a power action ended: target_power_state
// is null again.
type PowerOutcome struct {
	Status     string
	PowerState string // "" is null
}

// FinishPower ends a power action begun from status (a transitional power
// status). ok: power_state becomes the target and the status settles
// (active, or stopped after off). Failed: power_state is what the node
// reports (observed, "" if unknown) and the status goes back with fail —
// except a failed reboot that leaves the power not on, which is error, as
// Mogan's engine does.
func FinishPower(status, target string, ok bool, observed string) (PowerOutcome, *Error) {
	if ok {
		next, err := Next(status, EventDone)
		if err != nil {
			return PowerOutcome{}, err
		}
		return PowerOutcome{Status: next, PowerState: target}, nil
	}
	if (status == StatusRebooting || status == StatusSoftRebooting) && observed != PowerOn {
		next, err := Next(status, EventError)
		return PowerOutcome{Status: next, PowerState: observed}, err
	}
	next, err := Next(status, EventFail)
	if err != nil {
		return PowerOutcome{}, err
	}
	return PowerOutcome{Status: next, PowerState: observed}, nil
}
