// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include "addr.h"
#include "log.h"
#include "wire.h"
#include "requests.h"

ErrorCode wire_decode_request(const uint8_t *buf, size_t len, bool truncated,
			      Request **out, char *msg, size_t msglen)
{
	*out = NULL;
	if (truncated) {
		snprintf(msg, msglen, "message truncated: larger than %d bytes",
			 WIRE_MAX_MSG);
		return EC(BAD_REQUEST);
	}
	if (len == 0) {
		snprintf(msg, msglen, "empty message");
		return EC(BAD_REQUEST);
	}
	*out = ambient_redirect__v1__request__unpack(NULL, len, buf);
	if (!*out) {
		snprintf(msg, msglen, "message is not a valid Request");
		return EC(BAD_REQUEST);
	}
	return EC(OK);
}

void wire_request_free(Request *req)
{
	if (req)
		ambient_redirect__v1__request__free_unpacked(req, NULL);
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if (!isprint((unsigned char)*s))
			return false;
	return true;
}

static ErrorCode check_uid(const char *uid, char *msg, size_t msglen)
{
	size_t len = strlen(uid);

	if (len == 0) {
		snprintf(msg, msglen, "uid is required");
		return EC(BAD_REQUEST);
	}
	if (len > WIRE_MAX_UID || !printable(uid)) {
		snprintf(msg, msglen, "uid must be 1-%d printable characters",
			 WIRE_MAX_UID);
		return EC(BAD_REQUEST);
	}
	return EC(OK);
}

static ErrorCode check_text(const char *what, const char *s, size_t max,
			    char *msg, size_t msglen)
{
	if (strlen(s) > max || !printable(s)) {
		snprintf(msg, msglen,
			 "%s must be at most %zu printable "
			 "characters",
			 what, max);
		return EC(BAD_REQUEST);
	}
	return EC(OK);
}

/* Interface names: what the kernel accepts (dev_valid_name). */
static ErrorCode check_ifname(const char *what, const char *s, bool required,
			      char *msg, size_t msglen)
{
	size_t len = strlen(s);

	if (len == 0 && !required)
		return EC(OK);
	if (len == 0 || len >= IF_NAMESIZE || !strcmp(s, ".") ||
	    !strcmp(s, "..") || strpbrk(s, "/: \t\n")) {
		snprintf(msg, msglen,
			 "%s '%.*s' is not a valid interface "
			 "name",
			 what, IF_NAMESIZE, s);
		return EC(BAD_REQUEST);
	}
	return EC(OK);
}

static ErrorCode check_netns(const char *path, bool has_fd, char *msg,
			     size_t msglen)
{
	/* With an fd, the path is optional but journaled: bounded all the same. */
	if (has_fd && !path[0])
		return EC(OK);
	if (path[0] != '/' || strlen(path) > WIRE_MAX_PATH ||
	    !printable(path)) {
		snprintf(msg, msglen,
			 "netns_path must be an absolute path "
			 "(or attach the netns fd with SCM_RIGHTS)");
		return EC(BAD_REQUEST);
	}
	return EC(OK);
}

ErrorCode wire_parse_ips(char *const *ips, size_t n, struct addr_key *out,
			 size_t max, char *msg, size_t msglen)
{
	if (n > max) {
		snprintf(msg, msglen, "too many ips: %zu (at most %zu)", n,
			 max);
		return EC(BAD_REQUEST);
	}
	for (size_t i = 0; i < n; i++) {
		if (addr_key_parse(ips[i], &out[i])) {
			snprintf(msg, msglen,
				 "ips[%zu] '%.64s' is not an IPv4 "
				 "or IPv6 address",
				 i, ips[i]);
			return EC(BAD_REQUEST);
		}
		for (size_t j = 0; j < i; j++) {
			if (!memcmp(&out[i], &out[j], sizeof(out[i]))) {
				snprintf(msg, msglen,
					 "ips[%zu] '%.64s' is "
					 "listed twice",
					 i, ips[i]);
				return EC(BAD_REQUEST);
			}
		}
	}
	return EC(OK);
}

/* keys: room for WIRE_MAX_IPS, the parsed addresses. */
static ErrorCode check_ips(char *const *ips, size_t n, bool required,
			   struct addr_key *keys, char *msg, size_t msglen)
{
	if (required && n == 0) {
		snprintf(msg, msglen, "ips: at least one address is required");
		return EC(BAD_REQUEST);
	}
	return wire_parse_ips(ips, n, keys, WIRE_MAX_IPS, msg, msglen);
}

/* A pod's own unicast addresses only: nothing every host has or shares. */
/* A pod's own unicast addresses only: nothing every host has or shares. */
static ErrorCode check_pod_ips(char *const *ips, size_t n,
			       struct wire_request *r, char *msg, size_t msglen)
{
	ErrorCode ec = check_ips(ips, n, true, r->addrs, msg, msglen);

	if (ec)
		return ec;
	for (size_t i = 0; i < n; i++) {
		const char *why = addr_key_special(&r->addrs[i]);

		if (why) {
			snprintf(msg, msglen,
				 "ips[%zu] '%.64s' is a %s "
				 "address, never a pod's",
				 i, ips[i], why);
			return EC(BAD_REQUEST);
		}
	}
	r->naddrs = n;
	return EC(OK);
}

static ErrorCode check_pod_add(struct wire_request *r, bool has_fd, char *msg,
			       size_t msglen)
{
	const PodAdd *a = r->msg->pod_add;
	ErrorCode ec;

	if ((ec = check_uid(a->uid, msg, msglen)) ||
	    (ec = check_pod_ips(a->ips, a->n_ips, r, msg, msglen)) ||
	    (ec = check_text("name", a->name, WIRE_MAX_NAME, msg, msglen)) ||
	    (ec = check_text("container_id", a->container_id, WIRE_MAX_UID, msg,
			     msglen)) ||
	    (ec = check_text("namespace", a->namespace_, WIRE_MAX_NAME, msg,
			     msglen)) ||
	    (ec = check_netns(a->netns_path, has_fd, msg, msglen)) ||
	    (ec = check_ifname("interface", a->interface, false, msg,
			       msglen)) ||
	    (ec = check_ifname("host_veth", a->host_veth, false, msg, msglen)))
		return ec;
	if (excl_parse(&r->excl, a->exclude_outbound_cidrs,
		       a->n_exclude_outbound_cidrs, a->exclude_outbound_ports,
		       a->n_exclude_outbound_ports, a->exclude_inbound_ports,
		       a->n_exclude_inbound_ports, a->bypass_inbound, msg,
		       msglen))
		return EC(BAD_REQUEST);
	return EC(OK);
}

static ErrorCode check_ztunnel_add(struct wire_request *r, bool has_fd,
				   char *msg, size_t msglen)
{
	const ZtunnelAdd *a = r->msg->ztunnel_add;
	ErrorCode ec;

	if ((ec = check_uid(a->uid, msg, msglen)) ||
	    (ec = check_netns(a->netns_path, has_fd, msg, msglen)) ||
	    (ec = check_ifname("interface", a->interface, false, msg,
			       msglen)) ||
	    (ec = check_ips(a->ips, a->n_ips, false, r->addrs, msg, msglen)))
		return ec;
	r->naddrs = a->n_ips;
	return EC(OK);
}

static ErrorCode check_hello(struct wire_request *r, bool has_fd, char *msg,
			     size_t msglen)
{
	const Hello *h = r->msg->hello;

	if (h->version != API_VERSION) {
		snprintf(msg, msglen,
			 "API version %u is not supported; this "
			 "daemon speaks version %d",
			 h->version, API_VERSION);
		return EC(UNSUPPORTED_VERSION);
	}
	return check_text("client", h->client, WIRE_MAX_NAME, msg, msglen);
}

static ErrorCode check_log_level(struct wire_request *r, bool has_fd, char *msg,
				 size_t msglen)
{
	const char *level = r->msg->set_log_level->level;

	if (log_level_from_name(level) < 0) {
		snprintf(msg, msglen,
			 "unknown log level '%.32s' (error, warn, "
			 "info, debug)",
			 level);
		return EC(BAD_REQUEST);
	}
	return EC(OK);
}

/* The three requests without fields. */
static ErrorCode check_nothing(struct wire_request *r, bool has_fd, char *msg,
			       size_t msglen)
{
	return EC(OK);
}

static ErrorCode check_pod_delete(struct wire_request *r, bool has_fd,
				  char *msg, size_t msglen)
{
	const AmbientRedirect__V1__PodDelete *d = r->msg->pod_delete;
	ErrorCode ec;

	if ((ec = check_uid(d->uid, msg, msglen)) ||
	    (ec = check_text("container_id", d->container_id, WIRE_MAX_UID, msg,
			     msglen)))
		return ec;
	return check_text("netns_path", d->netns_path, WIRE_MAX_PATH, msg,
			  msglen);
}

static ErrorCode check_pod_get(struct wire_request *r, bool has_fd, char *msg,
			       size_t msglen)
{
	return check_uid(r->msg->pod_get->uid, msg, msglen);
}

static ErrorCode check_explain(struct wire_request *r, bool has_fd, char *msg,
			       size_t msglen)
{
	const ExplainRequest *x = r->msg->explain;
	ErrorCode ec = check_uid(x->uid, msg, msglen);

	if (ec)
		return ec;
	if (addr_port_parse(x->peer, &r->peer, &r->peer_port)) {
		snprintf(msg, msglen,
			 "peer '%.64s' is not ADDR:PORT ([ADDR]:PORT for "
			 "IPv6, port 1-65535)",
			 x->peer);
		return EC(BAD_REQUEST);
	}
	if (x->pod_port > 65535 || (x->inbound && !x->pod_port)) {
		snprintf(msg, msglen, "pod_port %u: a port 1-65535%s",
			 x->pod_port,
			 x->inbound ? " is required for an inbound flow" : "");
		return EC(BAD_REQUEST);
	}
	r->has_pod_addr = x->pod_addr[0];
	if (r->has_pod_addr && addr_key_parse(x->pod_addr, &r->pod_addr)) {
		snprintf(msg, msglen, "pod_addr '%.64s' is not an address",
			 x->pod_addr);
		return EC(BAD_REQUEST);
	}
	if (r->has_pod_addr &&
	    addr_key_is_v4(&r->pod_addr) != addr_key_is_v4(&r->peer)) {
		snprintf(msg, msglen,
			 "pod_addr and peer are of different families");
		return EC(BAD_REQUEST);
	}
	return EC(OK);
}

static ErrorCode check_list_pods(struct wire_request *r, bool has_fd, char *msg,
				 size_t msglen)
{
	const char *after = r->msg->list_pods->after_uid;

	return after[0] ? check_uid(after, msg, msglen) : EC(OK);
}

static ErrorCode check_pod_keep(struct wire_request *r, bool has_fd, char *msg,
				size_t msglen)
{
	return check_uid(r->msg->pod_keep->uid, msg, msglen);
}

static ErrorCode check_ztunnel_delete(struct wire_request *r, bool has_fd,
				      char *msg, size_t msglen)
{
	return check_uid(r->msg->ztunnel_delete->uid, msg, msglen);
}

/* The codec's columns of ctl/lib/requests.h. */
#define WIRE_ROW(body, name, fd, role, validate, handle) \
	{ REQ(body), #name, fd, validate, role },
static const struct wire_request_def request_defs[] = { REDIRECT_REQUESTS(
	WIRE_ROW) };
#undef WIRE_ROW

const struct wire_request_def *wire_request_def(const Request *req)
{
	for (size_t i = 0; i < sizeof(request_defs) / sizeof(request_defs[0]);
	     i++)
		if ((int)req->body_case == request_defs[i].body_case)
			return &request_defs[i];
	return NULL;
}

unsigned int wire_fd_roles(void)
{
	unsigned int roles = 0;

	for (size_t i = 0; i < sizeof(request_defs) / sizeof(request_defs[0]);
	     i++)
		if (request_defs[i].takes_fd)
			roles |= request_defs[i].role;
	return roles;
}

ErrorCode wire_validate(struct wire_request *r, bool has_fd, char *msg,
			size_t msglen)
{
	const struct wire_request_def *def = wire_request_def(r->msg);

	if (!def) {
		snprintf(msg, msglen, "request has no known body");
		return EC(BAD_REQUEST);
	}
	if (has_fd && !def->takes_fd) {
		snprintf(msg, msglen,
			 "a netns fd may only come with pod_add "
			 "or ztunnel_add");
		return EC(BAD_REQUEST);
	}
	r->naddrs = 0;
	return def->validate(r, has_fd, msg, msglen);
}

size_t wire_encode_reply(const Reply *reply, uint8_t *buf, size_t cap)
{
	size_t len = ambient_redirect__v1__reply__get_packed_size(reply);

	if (len > cap)
		return 0;
	return ambient_redirect__v1__reply__pack(reply, buf);
}

const char *wire_request_name(const Request *req)
{
	const struct wire_request_def *def = wire_request_def(req);

	return def ? def->name : "unknown";
}

const char *wire_role_name(enum wire_role role)
{
	switch (role) {
	case WIRE_ROLE_ANY:
		return "anyone";
	case WIRE_ROLE_READ:
		return "read";
	case WIRE_ROLE_POD_WRITE:
		return "pod writes";
	case WIRE_ROLE_ZTUNNEL_WRITE:
		return "ztunnel writes";
	default:
		return "admin";
	}
}

const char *wire_error_name(ErrorCode code)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&ambient_redirect__v1__error_code__descriptor, (int)code);

	return v ? v->name : "UNKNOWN";
}

/*
 * Exit codes for scripts: 0 ok, 2 bad usage or request, 3 not found,
 * 4 daemon unreachable (set by the client), 5 everything else.
 */
int wire_exit_code(ErrorCode code)
{
	switch (code) {
	case EC(OK):
		return 0;
	case EC(BAD_REQUEST):
	case EC(UNSUPPORTED_VERSION):
	case EC(HELLO_REQUIRED):
		return 2;
	case EC(NOT_FOUND):
		return 3;
	default:
		return 5;
	}
}
