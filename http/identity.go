package http

import (
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"keel/actors"
	"keel/actors/actorspb"
)

// DefaultProject is the caller's project when X-Project-Id is absent.
const DefaultProject = "default"

// callerOf identifies the caller under noauth, as Octavia's auth_strategy=noauth
// does: the project from X-Project-Id (absent: "default"); roles from X-Roles,
// comma-separated (absent: an administrator; present: one only if it lists "admin").
func callerOf(ctx *fasthttp.RequestCtx) *actorspb.Caller {
	project := string(ctx.Request.Header.Peek("X-Project-Id"))
	if project == "" {
		project = DefaultProject
	}
	admin := true
	if roles := ctx.Request.Header.Peek("X-Roles"); roles != nil {
		admin = false
		for _, r := range strings.Split(string(roles), ",") {
			if strings.TrimSpace(r) == "admin" {
				admin = true
				break
			}
		}
	}
	return &actorspb.Caller{ProjectId: project, Admin: admin, RequestId: requestID(ctx),
		DeadlineUnixMs: actors.RequestDeadline(time.Now())}
}
