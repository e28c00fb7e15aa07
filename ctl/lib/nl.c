// SPDX-License-Identifier: GPL-2.0
/*
 * The netlink core: the route netlink socket and its requests, for every
 * netlink module (nl.h; what they use is in nl_int.h). One request at a
 * time per handle: build it in nl->tx, send it with a fresh sequence
 * number, then read replies until the kernel's ACK (NLMSG_ERROR) or
 * NLMSG_DONE, skipping anything that is not an answer to that request.
 * Extended ACKs are on: the kernel's message goes with a logged failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>
#include "log.h"
#include "nl.h"
#include "nl_int.h"

/*
 * Dump replies are built in skbs of up to 32 KiB once the kernel has seen a
 * reader with a buffer that large; a smaller buffer would truncate them.
 */
#define NL_RX_SIZE 32768
#define NL_TX_SIZE 4096
#define THREAD_NETNS "/proc/thread-self/ns/net"

struct nl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
	int netns_fd; /* the netns the socket lives in, for sysctl writes */
	char ext_msg[256]; /* kernel's extack message for the last request */
	char tx[NL_TX_SIZE] __attribute__((aligned(8)));
	char rx[NL_RX_SIZE] __attribute__((aligned(8)));
};

/* --- the socket --- */

/* It remembers the calling thread's netns, for sysctl writes in it. */
int nl_open(struct nl **out)
{
	struct nl *nl;
	int one = 1, err;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->netns_fd = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);
	if (nl->netns_fd < 0) {
		err = -errno;
		pr_err("netlink: keep netns fd: %s", strerror(-err));
		goto cleanup;
	}
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID)) {
		err = -errno;
		pr_err("netlink: open socket: %s", strerror(-err));
		goto cleanup;
	}
	/* The kernel's own words on a failure; capped ACKs omit our request. */
	if (mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one)))
		pr_debug("netlink: no extended ACK: %s", strerror(errno));
	if (mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one)))
		pr_debug("netlink: no capped ACK: %s", strerror(errno));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned int)time(NULL);
	*out = nl;
	return 0;
cleanup:
	nl_close(nl);
	return err;
}

void nl_close(struct nl *nl)
{
	if (!nl)
		return;
	if (nl->sock)
		mnl_socket_close(nl->sock);
	if (nl->netns_fd >= 0)
		close(nl->netns_fd);
	free(nl);
}

int nl_netns_fd(const struct nl *nl)
{
	return nl->netns_fd;
}

int nl_strict_check(struct nl *nl, int on)
{
	return mnl_socket_setsockopt(nl->sock, NETLINK_GET_STRICT_CHK, &on,
				     sizeof(on)) ?
		       -errno :
		       0;
}

/* --- request / reply --- */

struct nlmsghdr *nl_msg(struct nl *nl, __u16 type, __u16 flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->tx);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

static int ext_ack_cb(const struct nlattr *a, void *data)
{
	struct nl *nl = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
		snprintf(nl->ext_msg, sizeof(nl->ext_msg), "%s",
			 mnl_attr_get_str(a));
	return MNL_CB_OK;
}

/* Extack TLVs start `offset` bytes into the payload of an ERROR or DONE. */
static void nl_read_ext_ack(struct nl *nl, const struct nlmsghdr *nlh,
			    size_t offset)
{
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
	    mnl_nlmsg_size(MNL_ALIGN(offset)) > nlh->nlmsg_len)
		return;
	mnl_attr_parse(nlh, offset, ext_ack_cb, nl);
}

static int nl_parse_error(struct nl *nl, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t offset = sizeof(*e);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
		return -EBADMSG;
	/* Without NLM_F_CAPPED our whole request is echoed before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
	    e->msg.nlmsg_len >= sizeof(struct nlmsghdr))
		offset += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	nl_read_ext_ack(nl, nlh, offset);
	if (e->error == 0 && nl->ext_msg[0])
		pr_warn("netlink: kernel warning: %s", nl->ext_msg);
	return e->error <= 0 ? e->error : -EPROTO;
}

/* A dump ends with NLMSG_DONE carrying the dump's own error code. */
static int nl_parse_done(struct nl *nl, const struct nlmsghdr *nlh)
{
	int err;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
		return 0;
	memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
	nl_read_ext_ack(nl, nlh, sizeof(int));
	return err <= 0 ? err : -EPROTO;
}

/*
 * Read every reply to request `seq`. Replies to older requests (left over
 * when a caller stopped a dump early) are skipped; once fn stops we still
 * drain the rest so the next request starts clean.
 */
static int nl_recv(struct nl *nl, unsigned int seq, nl_reply_fn fn, void *arg)
{
	int err = 0, fn_ret = 0;
	bool done = false;

	while (!done) {
		const struct nlmsghdr *nlh = (const void *)nl->rx;
		int len = mnl_socket_recvfrom(nl->sock, nl->rx, NL_RX_SIZE);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			/* ENOSPC: a message was larger than our buffer. */
			return -errno;
		}
		for (; !done && mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_seq != seq ||
			    !mnl_nlmsg_portid_ok(nlh, nl->portid)) {
				pr_debug(
					"netlink: skip stale reply seq %u pid %u",
					nlh->nlmsg_seq, nlh->nlmsg_pid);
				continue;
			}
			switch (nlh->nlmsg_type) {
			case NLMSG_NOOP:
				break;
			case NLMSG_ERROR:
				err = nl_parse_error(nl, nlh);
				done = true;
				break;
			case NLMSG_DONE:
				err = nl_parse_done(nl, nlh);
				done = true;
				break;
			case NLMSG_OVERRUN:
				err = -EOVERFLOW;
				done = true;
				break;
			default:
				if (fn && !fn_ret)
					fn_ret = fn(nlh, arg);
			}
		}
	}
	if (err && nl->ext_msg[0])
		pr_debug("netlink: %s (kernel: %s)", strerror(-err),
			 nl->ext_msg);
	return err ? err : fn_ret;
}

int nl_talk(struct nl *nl, struct nlmsghdr *nlh, nl_reply_fn fn, void *arg)
{
	if (++nl->seq == 0) /* 0 would turn off sequence checks */
		nl->seq = 1;
	nlh->nlmsg_seq = nl->seq;
	nlh->nlmsg_pid = 0;
	nl->ext_msg[0] = '\0';
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return nl_recv(nl, nlh->nlmsg_seq, fn, arg);
}

int nl_fail(const struct nl *nl, int err, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (nl->ext_msg[0])
		pr_err("%s: %s (kernel: %s)", what, strerror(-err),
		       nl->ext_msg);
	else
		pr_err("%s: %s", what, strerror(-err));
	return err;
}

/* --- attribute helpers --- */

struct attr_tb {
	const struct nlattr **tb;
	unsigned int max;
};

static int attr_tb_cb(const struct nlattr *a, void *data)
{
	const struct attr_tb *t = data;
	unsigned int type = mnl_attr_get_type(a);

	/* Attributes newer than our headers are ignored. */
	if (type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

int nl_parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen,
		   const struct nlattr **tb, unsigned int max)
{
	struct attr_tb t = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (mnl_nlmsg_get_payload_len(nlh) < hdrlen)
		return -EBADMSG;
	return mnl_attr_parse(nlh, hdrlen, attr_tb_cb, &t) < 0 ? -EBADMSG : 0;
}

int nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb,
		    unsigned int max)
{
	struct attr_tb t = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	return mnl_attr_parse_nested(nest, attr_tb_cb, &t) < 0 ? -EBADMSG : 0;
}

bool nl_attr_u32(const struct nlattr *a, __u32 *v)
{
	if (!a || mnl_attr_get_payload_len(a) < sizeof(__u32))
		return false;
	*v = mnl_attr_get_u32(a);
	return true;
}

/* Length of a string attribute, which need not be NUL-terminated. */
static size_t attr_strlen(const struct nlattr *a)
{
	return a ? strnlen(mnl_attr_get_payload(a),
			   mnl_attr_get_payload_len(a)) :
		   0;
}

size_t nl_attr_str(const struct nlattr *a, char *dst, size_t size)
{
	size_t len = attr_strlen(a), n = len < size ? len : size - 1;

	if (a)
		memcpy(dst, mnl_attr_get_payload(a), n);
	dst[a ? n : 0] = '\0';
	return len;
}

bool nl_attr_str_eq(const struct nlattr *a, const char *s)
{
	size_t len = strlen(s);

	return a && attr_strlen(a) == len &&
	       !memcmp(mnl_attr_get_payload(a), s, len);
}
