/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The socket API's codec: decoding and validating requests, encoding
 * replies. Pure logic, no I/O, so it can be unit tested and fuzzed.
 */
#ifndef REDIRECT_WIRE_H
#define REDIRECT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "redirect.pb-c.h"
#include "redirect_abi.h"
#include "defaults.h"
#include "exclusions.h"

typedef AmbientRedirect__V1__Request Request;
typedef AmbientRedirect__V1__Reply Reply;
typedef AmbientRedirect__V1__Hello Hello;
typedef AmbientRedirect__V1__PodAdd PodAdd;
typedef AmbientRedirect__V1__ZtunnelAdd ZtunnelAdd;
typedef AmbientRedirect__V1__PodInfo PodInfo;
typedef AmbientRedirect__V1__ZtunnelInfo ZtunnelInfo;
typedef AmbientRedirect__V1__StatusReply StatusReply;
typedef AmbientRedirect__V1__PodList PodList;
typedef AmbientRedirect__V1__StatsReply StatsReply;
typedef AmbientRedirect__V1__Counter Counter;
typedef AmbientRedirect__V1__JournalEntry JournalEntry;
typedef AmbientRedirect__V1__ExplainRequest ExplainRequest;
typedef AmbientRedirect__V1__ExplainReply ExplainReply;
typedef AmbientRedirect__V1__ExplainStep ExplainStep;
typedef AmbientRedirect__V1__DoctorReply DoctorReply;
typedef AmbientRedirect__V1__Finding Finding;

#define API_VERSION 1
/* One request or reply per packet; larger ones are refused. */
#define WIRE_MAX_MSG (64 * 1024)
#define WIRE_MAX_IPS 16
#define WIRE_MAX_UID 128
#define WIRE_MAX_NAME 253
#define WIRE_MAX_PATH 1024
#define WIRE_MSG_LEN 256 /* size of error message buffers */

/* Short names for the generated constants. */
#define REQ(x) AMBIENT_REDIRECT__V1__REQUEST__BODY_##x
#define REPLY_BODY(x) AMBIENT_REDIRECT__V1__REPLY__BODY_##x
#define EC(x) AMBIENT_REDIRECT__V1__ERROR_CODE__##x

typedef AmbientRedirect__V1__ErrorCode ErrorCode;

/*
 * Unpack one packet into *out (free with wire_request_free). Returns EC(OK),
 * or an error code with a human-readable reason in msg.
 */
ErrorCode wire_decode_request(const uint8_t *buf, size_t len, bool truncated,
			      Request **out, char *msg, size_t msglen);
void wire_request_free(Request *req);

/*
 * Who may send a request (redirectd's --allow-* options grant them to a
 * non-root peer; root has all). Bits, so a connection holds a set.
 */
enum wire_role {
	WIRE_ROLE_ANY = 0, /* Hello */
	WIRE_ROLE_READ = 1u << 0, /* queries */
	WIRE_ROLE_POD_WRITE = 1u << 1, /* enrol, delete, snapshot pods */
	WIRE_ROLE_ZTUNNEL_WRITE = 1u
				  << 2, /* choose where meshed traffic goes */
	WIRE_ROLE_ADMIN = 1u << 3, /* daemon settings: root only */
};
#define WIRE_ROLES_ALL 0xfu

/*
 * A request as the codec checked it: the message, and what checking it
 * parsed (the addresses of a PodAdd or ZtunnelAdd, in the order given),
 * so that nothing after it parses the same text again.
 */
struct wire_request {
	Request *msg;
	size_t naddrs;
	struct addr_key addrs[WIRE_MAX_IPS];
	struct pod_exclusions excl; /* a PodAdd's */
	/* an ExplainRequest's peer, and its pod address (has_pod_addr) */
	struct addr_key peer, pod_addr;
	__u16 peer_port;
	bool has_pod_addr;
};

/* One row per request type: the codec's whole knowledge of it. */
struct wire_request_def {
	int body_case; /* REQ(...) */
	const char *name;
	bool takes_fd; /* may carry a netns fd (SCM_RIGHTS) */
	ErrorCode (*validate)(struct wire_request *r, bool has_fd, char *msg,
			      size_t msglen);
	enum wire_role role;
};

/* The row of req's type, or NULL for an unknown body. */
const struct wire_request_def *wire_request_def(const Request *req);
const char *wire_role_name(enum wire_role role);
/* The roles of the requests that may carry a netns fd (takes_fd). */
unsigned int wire_fd_roles(void);

/*
 * Check every field of r->msg (decoded) and fill the rest of *r; has_fd:
 * a netns fd came along.
 */
ErrorCode wire_validate(struct wire_request *r, bool has_fd, char *msg,
			size_t msglen);

/* Parse a list of address strings; rejects bad and duplicate ones. */
ErrorCode wire_parse_ips(char *const *ips, size_t n, struct addr_key *out,
			 size_t max, char *msg, size_t msglen);

/* Pack a reply; returns its length, or 0 if it does not fit in cap. */
size_t wire_encode_reply(const Reply *reply, uint8_t *buf, size_t cap);

const char *wire_request_name(const Request *req);
const char *wire_error_name(ErrorCode code);

/* Exit status of redirectctl / redirect-cni for an error code. */
int wire_exit_code(ErrorCode code);

#endif
