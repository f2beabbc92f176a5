package baremetal

import "testing"

func TestNext(t *testing.T) {
	for _, c := range []struct{ from, event, want string }{
		{StatusBuilding, EventDone, StatusActive},
		{StatusBuilding, EventError, StatusError},
		{StatusBuilding, EventDelete, StatusDeleting},
		{StatusActive, EventStop, StatusPoweringOff},
		{StatusActive, EventSoftStop, StatusSoftPoweringOff},
		{StatusActive, EventReboot, StatusRebooting},
		{StatusActive, EventSoftReboot, StatusSoftRebooting},
		{StatusActive, EventDelete, StatusDeleting},
		{StatusStopped, EventStart, StatusPoweringOn},
		{StatusStopped, EventDelete, StatusDeleting},
		{StatusError, EventDelete, StatusDeleting},
		{StatusPoweringOn, EventDone, StatusActive},
		{StatusPoweringOn, EventFail, StatusStopped},
		{StatusPoweringOff, EventDone, StatusStopped},
		{StatusPoweringOff, EventFail, StatusActive},
		{StatusSoftPoweringOff, EventFail, StatusActive},
		{StatusRebooting, EventFail, StatusActive},
		{StatusSoftRebooting, EventDone, StatusActive},
		{StatusRebooting, EventDelete, StatusDeleting},
		{StatusDeleting, EventDone, StatusDeleted},
	} {
		got, err := Next(c.from, c.event)
		if err != nil || got != c.want {
			t.Errorf("%s on %s: %s %v, want %s", c.from, c.event, got, err, c.want)
		}
	}
	for _, c := range []struct{ from, event string }{
		{StatusStopped, EventStop}, {StatusActive, EventStart}, {StatusError, EventStart},
		{StatusDeleting, EventDelete}, {StatusDeleted, EventDelete}, {StatusBuilding, EventStop},
		{"nonsense", EventDone},
	} {
		if _, err := Next(c.from, c.event); err == nil || errText(err) != errText(ErrInvalidTransition(c.from, c.event)) {
			t.Errorf("%s on %s: %v", c.from, c.event, err)
		}
	}
	for _, s := range Statuses() {
		if _, ok := transitions[s]; !ok {
			t.Errorf("%s has no row", s)
		}
	}
	if !Stable(StatusStopped) || Stable(StatusRebooting) || Stable(StatusBuilding) {
		t.Error("Stable")
	}
}

func TestPlanPower(t *testing.T) {
	for _, c := range []struct {
		status, target string
		want           PowerPlan
	}{
		{StatusActive, TargetOff, PowerPlan{EventStop, StatusPoweringOff, PowerOff}},
		{StatusActive, TargetSoftOff, PowerPlan{EventSoftStop, StatusSoftPoweringOff, PowerOff}},
		{StatusActive, TargetReboot, PowerPlan{EventReboot, StatusRebooting, PowerOn}},
		{StatusActive, TargetSoftReboot, PowerPlan{EventSoftReboot, StatusSoftRebooting, PowerOn}},
		{StatusStopped, TargetOn, PowerPlan{EventStart, StatusPoweringOn, PowerOn}},
	} {
		got, err := PlanPower("u1", c.status, "", c.target)
		if err != nil || got != c.want {
			t.Errorf("%s %s: %+v %v", c.status, c.target, got, err)
		}
	}
	for _, c := range []struct{ status, tps, target, want string }{
		{StatusActive, "", "explode", "400 Unacceptable parameters."},
		{StatusActive, "", "", "400 Unacceptable parameters."},
		{StatusActive, "", "ON", "400 Unacceptable parameters."},
		// the target is checked before the action in progress
		{StatusPoweringOff, PowerOff, "bad", "400 Unacceptable parameters."},
		{StatusPoweringOff, PowerOff, TargetOn, "409 Instance u1 has a power action in progress, please retry after the current operation is completed."},
		{StatusActive, PowerOn, TargetOff, "409 Instance u1 has a power action in progress, please retry after the current operation is completed."},
		{StatusActive, "", TargetOn, "400 Can not transition from state 'active' on event 'start' (no defined transition)"},
		{StatusStopped, "", TargetOff, "400 Can not transition from state 'stopped' on event 'stop' (no defined transition)"},
		{StatusStopped, "", TargetReboot, "400 Can not transition from state 'stopped' on event 'reboot' (no defined transition)"},
		{StatusBuilding, "", TargetOff, "400 Can not transition from state 'building' on event 'stop' (no defined transition)"},
		{StatusError, "", TargetOn, "400 Can not transition from state 'error' on event 'start' (no defined transition)"},
		{StatusDeleting, "", TargetSoftReboot, "400 Can not transition from state 'deleting' on event 'soft_reboot' (no defined transition)"},
	} {
		_, err := PlanPower("u1", c.status, c.tps, c.target)
		if err == nil || errText(err) != c.want {
			t.Errorf("%s/%q %s: %v, want %s", c.status, c.tps, c.target, err, c.want)
		}
	}
}

func TestFinishPower(t *testing.T) {
	for _, c := range []struct {
		status, target string
		ok             bool
		observed       string
		want           PowerOutcome
	}{
		{StatusPoweringOff, PowerOff, true, "", PowerOutcome{StatusStopped, PowerOff}},
		{StatusSoftPoweringOff, PowerOff, true, "", PowerOutcome{StatusStopped, PowerOff}},
		{StatusPoweringOn, PowerOn, true, "", PowerOutcome{StatusActive, PowerOn}},
		{StatusRebooting, PowerOn, true, "", PowerOutcome{StatusActive, PowerOn}},
		{StatusPoweringOff, PowerOff, false, PowerOn, PowerOutcome{StatusActive, PowerOn}},
		{StatusPoweringOn, PowerOn, false, PowerOff, PowerOutcome{StatusStopped, PowerOff}},
		{StatusRebooting, PowerOn, false, PowerOn, PowerOutcome{StatusActive, PowerOn}},
		{StatusSoftRebooting, PowerOn, false, PowerOff, PowerOutcome{StatusError, PowerOff}},
		{StatusRebooting, PowerOn, false, "", PowerOutcome{StatusError, ""}},
	} {
		got, err := FinishPower(c.status, c.target, c.ok, c.observed)
		if err != nil || got != c.want {
			t.Errorf("%+v: %+v %v", c, got, err)
		}
	}
	if _, err := FinishPower(StatusActive, PowerOn, true, ""); err == nil {
		t.Error("finished a power action that was not running")
	}
}
