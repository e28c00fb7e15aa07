// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "client.h"

#define DEFAULT_TIMEOUT_MS 10000

static int send_packet(int fd, const uint8_t *buf, size_t len, int netns_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (netns_fd >= 0) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &netns_fd, sizeof(int));
	}
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n = poll(&pfd, 1, timeout_ms);

	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

static int recv_reply(struct client *c, Reply **reply)
{
	uint8_t *buf = malloc(WIRE_MAX_MSG);
	ssize_t n;
	int err;

	if (!buf)
		return -ENOMEM;
	err = wait_readable(c->fd, c->timeout_ms);
	if (err)
		goto out;
	n = recv(c->fd, buf, WIRE_MAX_MSG, MSG_TRUNC);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	if (n == 0) {
		err = -ECONNRESET;
		goto out;
	}
	if (n > WIRE_MAX_MSG) {
		err = -EMSGSIZE;
		goto out;
	}
	*reply = ambient_redirect__v1__reply__unpack(NULL, (size_t)n, buf);
	err = *reply ? 0 : -EBADMSG;
out:
	free(buf);
	return err;
}

int client_call(struct client *c, Request *req, int netns_fd, Reply **reply)
{
	uint8_t *buf;
	size_t len;
	int err;

	*reply = NULL;
	req->id = ++c->next_id;
	len = ambient_redirect__v1__request__get_packed_size(req);
	if (len > WIRE_MAX_MSG)
		return -EMSGSIZE;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	ambient_redirect__v1__request__pack(req, buf);
	err = send_packet(c->fd, buf, len, netns_fd);
	free(buf);
	if (err)
		return err;
	err = recv_reply(c, reply);
	if (!err && (*reply)->id != req->id) {
		client_reply_free(*reply);
		*reply = NULL;
		err = -EPROTO;
	}
	return err;
}

void client_reply_free(Reply *reply)
{
	if (reply)
		ambient_redirect__v1__reply__free_unpacked(reply, NULL);
}

/*
 * One request whose body (a message of body case `body`) goes in the
 * Request's oneof: its members are one pointer, so any of them carries it.
 */
static int call_body(struct client *c, int body, void *msg, int netns_fd,
		     Reply **reply)
{
	Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;

	req.body_case = (AmbientRedirect__V1__Request__BodyCase)body;
	req.hello = msg;
	return client_call(c, &req, netns_fd, reply);
}

static int hello(struct client *c, const char *name, char *msg, size_t msglen)
{
	Hello h = AMBIENT_REDIRECT__V1__HELLO__INIT;
	Reply *reply;
	int err;

	h.version = API_VERSION;
	h.client = (char *)name;
	err = call_body(c, REQ(HELLO), &h, -1, &reply);
	if (err)
		return err;
	err = (int)reply->code;
	if (err)
		snprintf(msg, msglen, "%s", reply->message);
	client_reply_free(reply);
	return err;
}

int client_connect(struct client *c, const char *path, const char *name,
		   char *msg, size_t msglen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int err;

	memset(c, 0, sizeof(*c));
	c->timeout_ms = DEFAULT_TIMEOUT_MS;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		goto fail;
	}
	err = hello(c, name, msg, msglen);
	if (!err)
		return 0;
fail:
	close(c->fd);
	c->fd = -1;
	return err;
}

void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int client_status(struct client *c, Reply **reply)
{
	AmbientRedirect__V1__StatusRequest b =
		AMBIENT_REDIRECT__V1__STATUS_REQUEST__INIT;

	return call_body(c, REQ(STATUS), &b, -1, reply);
}

int client_stats(struct client *c, Reply **reply)
{
	AmbientRedirect__V1__StatsRequest b =
		AMBIENT_REDIRECT__V1__STATS_REQUEST__INIT;

	return call_body(c, REQ(STATS), &b, -1, reply);
}

int client_list_page(struct client *c, const char *after, uint32_t limit,
		     Reply **reply)
{
	AmbientRedirect__V1__ListPodsRequest b =
		AMBIENT_REDIRECT__V1__LIST_PODS_REQUEST__INIT;

	b.after_uid = (char *)(after ? after : "");
	b.limit = limit;
	return call_body(c, REQ(LIST_PODS), &b, -1, reply);
}

int client_pod_get(struct client *c, const char *uid, Reply **reply)
{
	AmbientRedirect__V1__PodGetRequest b =
		AMBIENT_REDIRECT__V1__POD_GET_REQUEST__INIT;

	b.uid = (char *)uid;
	return call_body(c, REQ(POD_GET), &b, -1, reply);
}

int client_explain(struct client *c, const ExplainRequest *x, Reply **reply)
{
	return call_body(c, REQ(EXPLAIN), (void *)x, -1, reply);
}

int client_doctor(struct client *c, Reply **reply)
{
	AmbientRedirect__V1__DoctorRequest b =
		AMBIENT_REDIRECT__V1__DOCTOR_REQUEST__INIT;

	return call_body(c, REQ(DOCTOR), &b, -1, reply);
}

int client_pod_delete(struct client *c, const char *uid,
		      const char *container_id, const char *netns,
		      Reply **reply)
{
	AmbientRedirect__V1__PodDelete b =
		AMBIENT_REDIRECT__V1__POD_DELETE__INIT;

	b.uid = (char *)uid;
	b.container_id = (char *)(container_id ? container_id : "");
	b.netns_path = (char *)(netns ? netns : "");
	return call_body(c, REQ(POD_DELETE), &b, -1, reply);
}

int client_ztunnel_delete(struct client *c, const char *uid, Reply **reply)
{
	AmbientRedirect__V1__ZtunnelDelete b =
		AMBIENT_REDIRECT__V1__ZTUNNEL_DELETE__INIT;

	b.uid = (char *)uid;
	return call_body(c, REQ(ZTUNNEL_DELETE), &b, -1, reply);
}

int client_pod_keep(struct client *c, const char *uid, Reply **reply)
{
	AmbientRedirect__V1__PodKeep b = AMBIENT_REDIRECT__V1__POD_KEEP__INIT;

	b.uid = (char *)uid;
	return call_body(c, REQ(POD_KEEP), &b, -1, reply);
}

int client_snapshot_done(struct client *c, Reply **reply)
{
	AmbientRedirect__V1__SnapshotDone b =
		AMBIENT_REDIRECT__V1__SNAPSHOT_DONE__INIT;

	return call_body(c, REQ(SNAPSHOT_DONE), &b, -1, reply);
}

int client_set_log_level(struct client *c, const char *level, Reply **reply)
{
	AmbientRedirect__V1__SetLogLevel b =
		AMBIENT_REDIRECT__V1__SET_LOG_LEVEL__INIT;

	b.level = (char *)level;
	return call_body(c, REQ(SET_LOG_LEVEL), &b, -1, reply);
}

/*
 * redirectd refuses a descriptor at sendmsg (EPERM, SO_PASSRIGHTS off)
 * while too many sent by non-root peers wait to be closed: a request that
 * names its netns by path too goes again with the path alone.
 */
static int call_with_netns(struct client *c, int body, void *msg, int netns_fd,
			   const char *path, Reply **reply)
{
	int err = call_body(c, body, msg, netns_fd, reply);

	if (err == -EPERM && netns_fd >= 0 && path && path[0])
		err = call_body(c, body, msg, -1, reply);
	return err;
}

int client_pod_add(struct client *c, const PodAdd *add, int netns_fd,
		   Reply **reply)
{
	return call_with_netns(c, REQ(POD_ADD), (PodAdd *)add, netns_fd,
			       add->netns_path, reply);
}

int client_ztunnel_add(struct client *c, const ZtunnelAdd *add, int netns_fd,
		       Reply **reply)
{
	return call_with_netns(c, REQ(ZTUNNEL_ADD), (ZtunnelAdd *)add, netns_fd,
			       add->netns_path, reply);
}
