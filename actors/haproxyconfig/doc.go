// Package haproxyconfig renders the haproxy configuration of one listener of a load
// balancer from keel's stored rows, for keel-agent, which runs one haproxy per
// listener (PUT /v0.1/listeners/{amphora}/{listener}/haproxy; docs/agent-api.md),
// and refuses, with an *Unsupported, what the amphora driver cannot serve.
// Octavia's haproxy template (combined_listeners/templates) is the reference for
// the mapping; docs/haproxy-config.md describes it and every refusal.
//
// # Input
//
// A View holds one listener with what its configuration depends on:
//
//	View{
//	    LoadBalancer: lb,                       // VIP, additional VIPs, admin state
//	    Listener:     l,
//	    Pools:        []Pool{{Pool, Members, Monitor}}, // default pool + REDIRECT_TO_POOL targets
//	    Policies:     []Policy{{Policy, Rules}},        // the listener's L7 policies
//	}
//
// ViewOf builds it from a load balancer's tree (storepb.Tree, what a grain holds
// and replies with). Rows may come in any order and may be
// admin down or PENDING_DELETE: only rows admin up and not being deleted render as
// live (a disabled member is rendered "disabled", a disabled pool or policy is left
// out, a disabled monitor means no checks).
//
// # Use
//
//   - Check(tree) before a write is accepted: the tree as the write would leave it.
//     Every row not being deleted is checked, rendered or not; the first refusal is
//     returned as an *Unsupported{Object, ID, Field, Reason}.
//   - Render(view) when configuring an amphora: the same checks on the view's rows,
//     then ErrNotLive if the listener is not live (View.Live: it or its load
//     balancer admin down or being deleted) — such a listener's haproxy must be
//     stopped, as haproxy refuses a configuration with no enabled frontend — and
//     otherwise the configuration.
//
// # Contract with keel-agent
//
// The frontend is named by the listener id, each backend by its pool id and each
// server by its member id, so the agent maps haproxy's stats back to listeners, pools
// and members (docs/heartbeat.md). The configuration has no global section: the
// agent runs its own (agent.cfg: stats socket, crt-base) before it and passes the pid
// file on the command line; no placeholder is substituted.
//
// # Safety
//
// Every user string that reaches the file is either checked against an alphabet that
// haproxy reads literally (ids are UUIDs, addresses and CIDRs are parsed and
// re-printed, header and cookie names are tokens, ciphers use Octavia's
// VALID_CIPHER_RE) or written as one single-quoted word after refusing control
// characters, so no value can end a line, start a comment or split into words.
// Names and descriptions never reach the file.
package haproxyconfig
