package embedded

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// serverConfigText renders the parts of the server configuration that behave reliably only
// when loaded as configuration text (accounts, users with permissions, cluster, TLS,
// WebSocket): building them in Go misbehaves in embedded clusters (nats-server #6890, #6261).
// localUser is the data directory's own NKey user, which has every right on this node;
// routeSecret, when set, is what routes must present.
func (c *Config) serverConfigText(localUser, routeSecret string) string {
	var b strings.Builder
	q := strconv.Quote
	fmt.Fprintf(&b, "server_name: %s\n", q(c.ServerName))
	fmt.Fprintf(&b, "accounts {\n  %s {\n    jetstream: enabled\n    users: [\n", Account)
	fmt.Fprintf(&b, "      {nkey: %s}\n", q(localUser))
	for _, u := range c.Users {
		if u.NKey == localUser {
			continue
		}
		fmt.Fprintf(&b, "      {nkey: %s", q(u.NKey))
		if perms := rolePermissions(u); perms != "" {
			fmt.Fprintf(&b, ", permissions: %s", perms)
		}
		b.WriteString("}\n")
	}
	b.WriteString("    ]\n  }\n}\n")
	if c.TLS.Enabled() {
		fmt.Fprintf(&b, "tls %s\n", c.tlsBlock(c.TLS.VerifyClients))
	}
	if cl := c.Cluster; cl.Enabled() {
		fmt.Fprintf(&b, "cluster {\n  name: %s\n  listen: %s\n  routes: [", q(cl.Name), q(cl.Listen))
		for i, r := range cl.Routes {
			if i > 0 {
				b.WriteString(", ")
			}
			if routeSecret != "" {
				r = withRouteUser(r, routeSecret)
			}
			b.WriteString(q(r))
		}
		b.WriteString("]\n")
		if routeSecret != "" {
			// A route without the secret is refused; gossiped (implicit) routes use it too.
			fmt.Fprintf(&b, "  authorization {user: %s, password: %s, timeout: 2}\n", q(RouteUser), q(routeSecret))
		}
		if cl.Advertise != "" {
			fmt.Fprintf(&b, "  cluster_advertise: %s\n", q(cl.Advertise))
		}
		if c.TLS.Enabled() {
			// Routes authenticate each other by certificate: both ends verify.
			fmt.Fprintf(&b, "  tls %s\n", c.tlsBlock(true))
		}
		b.WriteString("}\n")
	}
	if ws := c.Websocket; ws.Listen != "" {
		fmt.Fprintf(&b, "websocket {\n  listen: %s\n", q(ws.Listen))
		if c.TLS.Enabled() {
			fmt.Fprintf(&b, "  tls %s\n", c.tlsBlock(false))
		} else {
			b.WriteString("  no_tls: true\n")
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func (c *Config) tlsBlock(verify bool) string {
	q := strconv.Quote
	return fmt.Sprintf("{cert_file: %s, key_file: %s, ca_file: %s, verify: %t, timeout: 5}",
		q(c.TLS.Cert), q(c.TLS.Key), q(c.TLS.CA), verify)
}

// Permissions per role. Admins have none (everything is allowed). What the others may
// publish is an allow list: they cannot create, change, purge or delete streams.
//
// Agents publish messages and acknowledgements, read (ephemeral consumers, direct gets),
// ask for the status (the daemon's and the monitor's) and report hook events. They cannot
// delete consumers (their own ephemeral ones expire by themselves), acknowledge JetStream
// messages (theirs need no acknowledgement, so they cannot settle a bridge's), record
// receipts, stop or start a monitor, or restart an agent.
//
// A PM may do what an agent may, and also restart agents and start or stop monitors.
//
// A bridge for host H may create (or update) only its own two consumers per priority
// stream: bridge-H-sessions, whose single filter subject is within its own host's
// (orc.<p>.H.>), and bridge-H-groups, filtered on the groups everywhere (orc.<p>.~.~.>): the
// server puts the name and a single filter in the API subject, so the permission matches
// them, and the forms without a filter are not allowed. It records receipts and claims only for its own host
// (orc.receipt.<p>.<state>.<id>.H.<pane>), publishes its alerts to its own host's sessions,
// registers its own host's sessions and keeps its monitor's state (keys of ORC_MONITOR
// starting with its host).
var agentPublish = []string{
	"orc.critical.>", "orc.high.>", "orc.normal.>", "orc.low.>",
	"orc.ack.>", "orc.sys.status", "orc.sys.status.*", "orc.sys.monitor.status.*", "orc.sys.monitor.hook.*",
	// An agent's hook says what it received (a prompt naming an id) and asks its host's
	// bridge for the messages to hand over at the end of a turn.
	"orc.receipt.*.received.>", "orc.sys.bridge.handover.*",
	"$JS.API.INFO", "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST",
	"$JS.API.CONSUMER.CREATE.>", "$JS.API.CONSUMER.INFO.*.*",
	"$JS.API.CONSUMER.MSG.NEXT.*.*", "$JS.API.DIRECT.GET.>", "$JS.API.STREAM.MSG.GET.*",
	"$JS.FC.>",
}

// agentPublishPMLoop is what the PM's loop (issue 12) adds for agents: scheduling messages
// (publish --in/--at/--every stores them under orc.sched.>), cancelling them (schedule rm
// purges their subjects), and listing consumers (pubsub stats' queue depth). Kept apart
// from agentPublish so the two lists can change independently.
var agentPublishPMLoop = []string{
	"orc.sched.at.>",
	"$JS.API.STREAM.PURGE.ORC_SCHEDULES",
	"$JS.API.CONSUMER.LIST.*", "$JS.API.CONSUMER.NAMES.*",
}

// pmPublish adds restarting agents and controlling monitors to what agents may do.
var pmPublish = append(append([]string(nil), agentPublish...), "orc.sys.monitor.restart.*", "orc.sys.monitor.control.*")

func bridgePublish(host string) []string {
	// The priorities are spelled out: "orc.*.H.>" would also match orc.receipt.H.> and
	// orc.ack.H.> for a host named like a priority.
	// Its consumers are named: bridge-H-sessions (bus.HostDurable) with its host's filter,
	// bridge-H-groups (bus.EverywhereDurable) with the groups everywhere's, in each priority
	// stream; so it can neither create nor change another host's consumers, nor consume
	// under another name.
	var out []string
	for _, p := range subjects.Priorities {
		api := "$JS.API.CONSUMER.CREATE." + p.Stream() + "."
		out = append(out, "orc."+p.String()+"."+host+".>",
			api+"bridge-"+host+"-sessions."+subjects.HostSubjects(p, host),
			api+"bridge-"+host+"-groups."+subjects.EverywhereSubjects(p))
	}
	return append(out,
		"orc.receipt.*.*.*."+host+".*", "orc.sys.status", "orc.sys.status.*",
		"$KV.ORC_SESSIONS.*."+host, "$KV.ORC_MONITOR."+host+".>",
		"$JS.API.CONSUMER.CREATE.KV_ORC_MONITOR.*.$KV.ORC_MONITOR."+host+".>",
		"$JS.API.CONSUMER.DELETE.KV_ORC_MONITOR.*",
		"$JS.API.DIRECT.GET.KV_ORC_MONITOR.$KV.ORC_MONITOR."+host+".>",
		"$JS.API.INFO", "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.NAMES",
		"$JS.API.CONSUMER.CREATE.KV_ORC_SESSIONS.>",
		"$JS.API.CONSUMER.INFO.*.*", "$JS.API.CONSUMER.MSG.NEXT.*.*", "$JS.API.CONSUMER.DELETE.KV_ORC_SESSIONS.*",
		"$JS.API.DIRECT.GET.ORC_RECEIPTS", "$JS.API.DIRECT.GET.ORC_RECEIPTS.>",
		// A claim refused because one is stored is read from the stream's leader, never
		// from a follower that may not have it yet (bus.Client.Claim).
		"$JS.API.STREAM.MSG.GET.ORC_RECEIPTS",
		"$JS.API.DIRECT.GET.ORC_ACKS", "$JS.API.DIRECT.GET.ORC_ACKS.>",
		"$JS.API.DIRECT.GET.KV_ORC_SESSIONS", "$JS.API.DIRECT.GET.KV_ORC_SESSIONS.>",
		"$JS.ACK.>", "$JS.FC.>",
	)
}

func rolePermissions(u User) string {
	var pub []string
	switch u.Role {
	case RoleAdmin:
		return ""
	case RoleAgent:
		pub = append(append([]string(nil), agentPublish...), agentPublishPMLoop...)
	case RolePM:
		pub = append(append([]string(nil), pmPublish...), agentPublishPMLoop...)
	case RoleBridge:
		pub = bridgePublish(u.Host)
	}
	quoted := make([]string, len(pub))
	for i, s := range pub {
		quoted[i] = strconv.Quote(s)
	}
	switch u.Role {
	case RoleAgent, RolePM:
		return fmt.Sprintf(`{publish: {allow: [%s]}, subscribe: {allow: ["_INBOX.>", "orc.>"]}}`, strings.Join(quoted, ", "))
	default:
		// A bridge host also runs its monitor, which answers requests for its host.
		return fmt.Sprintf(`{publish: {allow: [%s]}, subscribe: {allow: ["_INBOX.>", %s, %s]}, allow_responses: true}`,
			strings.Join(quoted, ", "), strconv.Quote("orc.sys.monitor.*."+u.Host), strconv.Quote("orc.sys.bridge.handover."+u.Host))
	}
}
