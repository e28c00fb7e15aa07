// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <linux/tcp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "redirect.skel.h"
#include "sockmap.skel.h"
#include "sockmap.h"
#include "addr.h"
#include "upgrade.h"
#include "sock_key.h"
#include "netns.h"
#include "log.h"

/* Room for ztunnels' addresses besides the pods'. */
#define NETNS_EXTRA 64
#define SELFTEST_BYTES 100

static void set_reason(struct sockmap *sm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_reason(struct sockmap *sm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sm->reason, sizeof(sm->reason), fmt, ap);
	va_end(ap);
}

/* What the programs need from the kernel, named when missing. */
static const char *missing_feature(void)
{
	static const struct {
		enum bpf_prog_type prog;
		enum bpf_func_id helper;
		const char *name;
	} helpers[] = {
		{ BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_sock_hash_update,
		  "bpf_sock_hash_update in sock_ops" },
		{ BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_get_netns_cookie,
		  "bpf_get_netns_cookie in sock_ops" },
		{ BPF_PROG_TYPE_SK_MSG, BPF_FUNC_msg_redirect_hash,
		  "bpf_msg_redirect_hash" },
		{ BPF_PROG_TYPE_SK_MSG, BPF_FUNC_get_netns_cookie,
		  "bpf_get_netns_cookie in sk_msg" },
		{ BPF_PROG_TYPE_SK_MSG, BPF_FUNC_sk_storage_get,
		  "bpf_sk_storage_get in sk_msg" },
	};
	__u64 cookie;
	int fd, err;

	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SOCK_OPS, NULL) != 1)
		return "sock_ops programs";
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SK_MSG, NULL) != 1)
		return "sk_msg programs";
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SOCKHASH, NULL) != 1)
		return "sockhash maps";
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SK_STORAGE, NULL) != 1)
		return "socket storage maps";
	for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
		if (libbpf_probe_bpf_helper(helpers[i].prog, helpers[i].helper,
					    NULL) != 1)
			return helpers[i].name;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return "sockets";
	err = netns_cookie_of_sock(fd, &cookie);
	close(fd);
	return err ? "SO_NETNS_COOKIE (kernel 5.14)" : NULL;
}

/* A cgroup v2 folder below a hierarchy's root; its id through *id. */
static int cgroup_open(struct sockmap *sm, const char *path, __u64 *id)
{
	struct {
		struct file_handle fh;
		__u64 id;
	} h = { .fh.handle_bytes = sizeof(__u64) };
	struct statfs st;
	int fd, mount_id;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		set_reason(sm, "cgroup %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstatfs(fd, &st) || st.f_type != CGROUP2_SUPER_MAGIC) {
		set_reason(sm, "%s is not a cgroup v2 folder", path);
		goto fail;
	}
	/* Only the root of a hierarchy has no cgroup.type. */
	if (faccessat(fd, "cgroup.type", F_OK, 0)) {
		set_reason(sm,
			   "%s is the root cgroup: refused, it would "
			   "touch every connection on the node",
			   path);
		goto fail;
	}
	if (name_to_handle_at(fd, "", &h.fh, &mount_id, AT_EMPTY_PATH)) {
		set_reason(sm, "cgroup %s: id: %s", path, strerror(errno));
		goto fail;
	}
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return fd;
fail:
	close(fd);
	return -1;
}

static void link_pin_path(const char *pin_dir, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", pin_dir, SOCKMAP_LINK_PIN);
}

/* Our cgroup attachment pinned by an earlier daemon, if any. */
static int pinned_link(const char *pin_dir, struct bpf_link_info *info)
{
	char pin[PATH_MAX];
	__u32 len = sizeof(*info);
	int fd;

	link_pin_path(pin_dir, pin, sizeof(pin));
	fd = bpf_obj_get(pin);
	if (fd < 0)
		return -1;
	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len))
		memset(info, 0, sizeof(*info));
	return fd;
}

static void unpin_link(const char *pin_dir, int fd)
{
	char pin[PATH_MAX];

	link_pin_path(pin_dir, pin, sizeof(pin));
	if (bpf_link_detach(fd))
		pr_warn("sockmap: detach the cgroup link: %s", strerror(errno));
	close(fd);
	unlink(pin);
}

/*
 * sock_ops on the cgroup: swap our program into the link an earlier
 * daemon pinned for this cgroup (no moment without it), or make and pin
 * a new link.
 */
static int attach_cgroup(struct sockmap *sm, int cg_fd, __u64 cg_id)
{
	int prog = bpf_program__fd(sm->skel->progs.sockops_add);
	struct bpf_link_info info;
	char pin[PATH_MAX];
	int fd = pinned_link(sm->pin_dir, &info);

	if (fd >= 0) {
		if (info.type == BPF_LINK_TYPE_CGROUP &&
		    info.cgroup.cgroup_id == cg_id &&
		    info.cgroup.attach_type == BPF_CGROUP_SOCK_OPS &&
		    !bpf_link_update(fd, prog, NULL)) {
			sm->link_fd = fd;
			return 0;
		}
		pr_info("sockmap: replacing the attachment of another cgroup");
		unpin_link(sm->pin_dir, fd);
	}
	fd = bpf_link_create(prog, cg_fd, BPF_CGROUP_SOCK_OPS, NULL);
	if (fd < 0)
		return -errno;
	link_pin_path(sm->pin_dir, pin, sizeof(pin));
	if (bpf_obj_pin(fd, pin)) {
		int err = -errno;

		close(fd); /* unpinned: the attachment goes with the fd */
		return err;
	}
	sm->link_fd = fd;
	return 0;
}

/*
 * The maps shared with the tc programs (bpf/include/maps.h) are pinned by
 * name in the same folder: libbpf reuses the datapath's pins when layout
 * and size agree, so the sizes the datapath was loaded with are set here.
 */
static int size_maps(struct sockmap_bpf *skel, const struct datapath *dp)
{
	int err =
		bpf_map__set_max_entries(skel->maps.pods, dp_pod_capacity(dp));

	if (!err)
		err = bpf_map__set_max_entries(
			skel->maps.sk_netns, dp_pod_capacity(dp) + NETNS_EXTRA);
	return err;
}

static int load(struct sockmap *sm, const struct datapath *dp)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts,
		    .pin_root_path = sm->pin_dir);
	int err;

	sm->skel = sockmap_bpf__open_opts(&open_opts);
	if (!sm->skel)
		return -errno;
	err = size_maps(sm->skel, dp);
	/* another layout's pins went aside in dp_load already */
	if (!err)
		err = upgrade_set_aside_incompatible(sm->skel->obj, sm->pin_dir,
						     NULL);
	if (!err)
		err = sockmap_bpf__load(sm->skel);
	if (err) {
		upgrade_restore(sm->skel->obj, sm->pin_dir);
		return err;
	}
	if (dp->layout_found == REDIRECT_LAYOUT_VERSION)
		upgrade_copy_old(sm->skel->obj, sm->pin_dir, NULL);
	return 0;
}

static int map_err(int ret)
{
	return ret < 0 ? -errno : 0;
}

/* sk_config: a new ztunnel cookie (NULL: keep the pinned one), flags. */
static int config_update(const struct sockmap *sm, const __u64 *ztunnel,
			 __u32 flags)
{
	struct sockmap_config cfg = { 0 };
	__u32 zero = 0;

	if (bpf_map__lookup_elem(sm->skel->maps.sk_config, &zero, sizeof(zero),
				 &cfg, sizeof(cfg), 0))
		return -errno;
	if (ztunnel)
		cfg.ztunnel_netns = *ztunnel;
	cfg.flags = flags;
	return map_err(bpf_map__update_elem(sm->skel->maps.sk_config, &zero,
					    sizeof(zero), &cfg, sizeof(cfg),
					    BPF_ANY));
}

/* --- the kernel self-test --- */

struct selftest {
	int lst, cli, srv;
};

/* A connected pair over 127.0.0.1 in the caller's netns. */
static int selftest_pair(struct selftest *t)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);

	t->lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->lst < 0 || bind(t->lst, (struct sockaddr *)&sa, len) ||
	    listen(t->lst, 1) ||
	    getsockname(t->lst, (struct sockaddr *)&sa, &len))
		return -errno;
	t->cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->cli < 0 || connect(t->cli, (struct sockaddr *)&sa, len))
		return -errno;
	t->srv = accept4(t->lst, NULL, NULL, SOCK_CLOEXEC);
	return t->srv < 0 ? -errno : 0;
}

/* File a socket the way sockops_add does: under its peer's view. */
static int selftest_file(const struct sockmap *sm, int fd, __u64 netns)
{
	struct sockaddr_in l, r;
	socklen_t ll = sizeof(l), rl = sizeof(r);
	struct sock_tuple t = { 0 };
	struct sock_key k;
	__u64 value = (__u64)fd;

	if (getsockname(fd, (struct sockaddr *)&l, &ll) ||
	    getpeername(fd, (struct sockaddr *)&r, &rl))
		return -errno;
	addr_key_from_v4(l.sin_addr.s_addr, &t.local);
	addr_key_from_v4(r.sin_addr.s_addr, &t.remote);
	t.local_port = ntohs(l.sin_port);
	t.remote_port = ntohs(r.sin_port);
	sock_key_build(&k, netns, &t, KEY_PEER_VIEW);
	return map_err(bpf_map__update_elem(sm->skel->maps.sock_hash, &k,
					    sizeof(k), &value, sizeof(value),
					    BPF_NOEXIST));
}

struct st_read {
	int fd;
	ssize_t n;
	int err;
};

static void *selftest_blocked_read(void *arg)
{
	struct st_read *r = arg;
	char c;

	r->n = recv(r->fd, &c, 1, 0);
	r->err = errno;
	return NULL;
}

/* Redirected, and counted by FIONREAD: how nginx sizes its reads. */
static int selftest_fionread(struct selftest *t, char *why, size_t len)
{
	struct pollfd pfd = { .fd = t->srv, .events = POLLIN };
	char buf[SELFTEST_BYTES] = { 0 };
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	int inq = -1;

	if (send(t->cli, buf, sizeof(buf), 0) != sizeof(buf) ||
	    getsockopt(t->cli, IPPROTO_TCP, TCP_INFO, &ti, &tl) ||
	    poll(&pfd, 1, 1000) != 1)
		return -errno;
	if (ti.tcpi_bytes_sent) {
		snprintf(why, len, "self-test: the bytes went by TCP");
		return -EPROTO;
	}
	if (ioctl(t->srv, FIONREAD, &inq) || inq != sizeof(buf)) {
		snprintf(why, len,
			 "the kernel's FIONREAD counts %d of %d "
			 "redirected bytes (nginx would hang)",
			 inq, SELFTEST_BYTES);
		return 1;
	}
	return recv(t->srv, buf, sizeof(buf), 0) == sizeof(buf) ? 0 : -EIO;
}

/*
 * A blocked read must wait for data whatever else wakes the socket; here
 * its own FIN being acknowledged after shutdown(SHUT_WR), as in a client
 * that half-closes and waits for the answer.
 */
static int selftest_half_close(struct selftest *t, char *why, size_t len)
{
	struct timeval tv = { .tv_sec = 2 };
	struct st_read r = { .fd = t->cli };
	pthread_t th;

	if (setsockopt(t->cli, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    pthread_create(&th, NULL, selftest_blocked_read, &r))
		return -EIO;
	usleep(50000);
	shutdown(t->cli, SHUT_WR);
	usleep(100000);
	send(t->srv, "y", 1, 0);
	pthread_join(th, NULL);
	if (r.n == 1)
		return 0;
	snprintf(why, len,
		 "a blocked read on an accelerated socket returns "
		 "%s once its own FIN is acknowledged (kernel tcp_bpf_recvmsg)",
		 r.n < 0 ? (r.err == EAGAIN ? "EAGAIN" : strerror(r.err)) :
			   "EOF");
	return 1;
}

int sockmap_selftest(const struct sockmap *sm, char *why, size_t len)
{
	struct selftest t = { -1, -1, -1 };
	__u64 netns;
	int err = selftest_pair(&t);

	if (!err)
		err = netns_cookie_of_sock(t.cli, &netns);
	if (!err)
		err = selftest_file(sm, t.cli, netns);
	if (!err)
		err = selftest_file(sm, t.srv, netns);
	if (!err)
		err = selftest_fionread(&t, why, len);
	if (!err)
		err = selftest_half_close(&t, why, len);
	if (err < 0 && err != -EPROTO)
		snprintf(why, len, "self-test could not run: %s",
			 strerror(-err));
	/* Closing them takes them out of the sockhash. */
	if (t.srv >= 0)
		close(t.srv);
	if (t.cli >= 0)
		close(t.cli);
	if (t.lst >= 0)
		close(t.lst);
	return err;
}

static void decide_pods(struct sockmap *sm, enum sockmap_pods policy)
{
	char why[sizeof(sm->pods_reason) - 48] = "";

	sm->pods = false;
	if (policy == SOCKMAP_PODS_OFF) {
		snprintf(sm->pods_reason, sizeof(sm->pods_reason),
			 "turned off with --sockmap-pods off");
		return;
	}
	if (!sockmap_selftest(sm, why, sizeof(why))) {
		sm->pods = true;
		return;
	}
	sm->pods = policy == SOCKMAP_PODS_ON;
	snprintf(sm->pods_reason, sizeof(sm->pods_reason), "%s%s",
		 sm->pods ? "on by --sockmap-pods on although " : "", why);
	pr_warn("sockmap: %s%s", sm->pods_reason,
		sm->pods ? "" :
			   "; pods' connections are not accelerated "
			   "(--sockmap-pods on would)");
}

/* Leave acceleration off, with the reason already set; never fails. */
static int turn_off(struct sockmap *sm)
{
	pr_warn("sockmap acceleration off: %s", sm->reason);
	sockmap_stop(sm, sm->pin_dir, sm->reason);
	return 0;
}

int sockmap_start(struct sockmap *sm, const struct datapath *dp,
		  const char *cgroup, enum sockmap_pods pods)
{
	const char *missing;
	__u64 cg_id;
	int cg_fd, err;

	memset(sm, 0, sizeof(*sm));
	sm->link_fd = -1;
	if (!cgroup || strlen(cgroup) >= sizeof(sm->cgroup))
		return -EINVAL;
	strcpy(sm->pin_dir, dp->pin_dir);
	strcpy(sm->cgroup, cgroup);
	missing = missing_feature();
	if (missing) {
		set_reason(sm, "the kernel lacks %s", missing);
		return turn_off(sm);
	}
	cg_fd = cgroup_open(sm, cgroup, &cg_id);
	if (cg_fd < 0)
		return turn_off(sm);
	err = load(sm, dp);
	if (err) {
		set_reason(sm,
			   "load: %s (a pinned map of another size or "
			   "layout?)",
			   strerror(-err));
		goto off;
	}
	/* sk_msg first: a socket gets the programs present when it is filed. */
	if (bpf_prog_attach(bpf_program__fd(sm->skel->progs.msg_redirect),
			    bpf_map__fd(sm->skel->maps.sock_hash),
			    BPF_SK_MSG_VERDICT, 0)) {
		set_reason(sm, "attach sk_msg: %s", strerror(errno));
		goto off;
	}
	decide_pods(sm, pods);
	err = config_update(sm, NULL, sm->pods ? SKF_PODS : 0);
	if (err) {
		set_reason(sm, "sk_config: %s", strerror(-err));
		goto off;
	}
	err = attach_cgroup(sm, cg_fd, cg_id);
	if (err) {
		set_reason(sm, "attach sock_ops to %s: %s", cgroup,
			   strerror(-err));
		goto off;
	}
	close(cg_fd);
	sm->active = true;
	pr_info("sockmap acceleration on, cgroup %s, %s", cgroup,
		sm->pods ? "pods and ztunnel" : "ztunnel's own loop only");
	return 0;
off:
	close(cg_fd);
	return turn_off(sm);
}

void sockmap_stop(struct sockmap *sm, const char *pin_dir, const char *reason)
{
	struct bpf_link_info info;
	int fd;

	/* Only ever called instead of, or after a failed, start: no link. */
	sockmap_bpf__destroy(sm->skel);
	sm->skel = NULL;
	sm->link_fd = -1;
	if (sm->pin_dir != pin_dir)
		snprintf(sm->pin_dir, sizeof(sm->pin_dir), "%s", pin_dir);
	if (sm->reason != reason)
		snprintf(sm->reason, sizeof(sm->reason), "%s", reason);
	sm->active = false;
	fd = pinned_link(sm->pin_dir, &info);
	if (fd < 0)
		return;
	pr_info("sockmap: detaching the earlier cgroup attachment; "
		"connections accelerated already go on until they close");
	unpin_link(sm->pin_dir, fd);
}

void sockmap_close(struct sockmap *sm)
{
	if (sm->link_fd >= 0)
		close(sm->link_fd);
	sm->link_fd = -1;
	sockmap_bpf__destroy(sm->skel);
	sm->skel = NULL;
}

int sockmap_netns_set(const struct sockmap *sm, const struct addr_key *addr,
		      __u64 cookie)
{
	if (!sm->skel)
		return 0;
	return map_err(bpf_map__update_elem(sm->skel->maps.sk_netns, addr,
					    sizeof(*addr), &cookie,
					    sizeof(cookie), BPF_ANY));
}

int sockmap_netns_del(const struct sockmap *sm, const struct addr_key *addr)
{
	int err;

	if (!sm->skel)
		return 0;
	err = map_err(bpf_map__delete_elem(sm->skel->maps.sk_netns, addr,
					   sizeof(*addr), 0));
	return err == -ENOENT ? 0 : err;
}

int sockmap_netns_for_each(const struct sockmap *sm,
			   int (*fn)(const struct addr_key *addr, void *arg),
			   void *arg)
{
	struct addr_key *keys = NULL, *bigger, *prev = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	if (!sm->skel)
		return 0;
	/* Keys first: fn may delete, which would restart a running walk. */
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			bigger = realloc(keys, cap * sizeof(*keys));
			if (!bigger) {
				free(keys);
				return -ENOMEM;
			}
			keys = bigger;
		}
		prev = n ? &keys[n - 1] : NULL;
		if (bpf_map__get_next_key(sm->skel->maps.sk_netns, prev,
					  &keys[n], sizeof(*keys)))
			break;
		n++;
	}
	if (errno != ENOENT)
		err = -errno;
	for (size_t i = 0; i < n && !err; i++)
		err = fn(&keys[i], arg);
	free(keys);
	return err;
}

int sockmap_ztunnel_set(const struct sockmap *sm, __u64 cookie)
{
	if (!sm->skel)
		return 0;
	return config_update(sm, &cookie, sm->pods ? SKF_PODS : 0);
}
