// SPDX-License-Identifier: GPL-2.0
/*
 * The test_tc fixture: see tc_fixture.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "net_helpers.h"
#include "link.h"
#include "netns.h"
#include "nl.h"
#include "tc.h"
#include "ztunnel_routing.h"
#include "redirect.skel.h"
#include "tc_fixture.h"

const __u8 MAC_ZT[6] = { 0x02, 0x7a, 0x00, 0x00, 0x00, 0x01 };
const __u8 MAC_POD_A[6] = { 0x02, 0xaa, 0x00, 0x00, 0x00, 0x02 };
const __u8 MAC_POD_B[6] = { 0x02, 0xbb, 0x00, 0x00, 0x00, 0x03 };

static const struct {
	const char *v4, *v6;
} hosts[HOST_MAX] = {
	[POD_A] = { "10.0.0.2", "fd00::2" },
	[POD_B] = { "10.0.0.3", "fd00::3" },
	[NOT_POD] = { "10.0.0.9", "fd00::9" },
	[REMOTE] = { "10.1.0.5", "fd01::5" },
	[NODE] = { "10.0.0.1", "fd00::1" },
	[DNS_SERVER] = { "10.96.0.10", "fd02::a" },
	[LOOPBACK] = { "127.0.0.1", "::1" },
};

struct tc_fixture fx;

void skip_test(const char *why)
{
	CU_pTest t = CU_get_current_test();

	printf("\n    SKIP %s: %s\n", t ? t->pName : "?", why);
	fx.skipped++;
}

/* --- hosts, sockets, map state --- */

const char *addr_of(int family, enum host h)
{
	return family == AF_INET ? hosts[h].v4 : hosts[h].v6;
}

struct addr_key key_of(int family, enum host h)
{
	struct addr_key k;

	addr_key_parse(addr_of(family, h), &k);
	return k;
}

int track_fd(int fd)
{
	if (fd >= 0 && fx.n_fds < TC_MAX_FDS)
		fx.fds[fx.n_fds++] = fd;
	else if (fd >= 0)
		close(fd);
	return fd;
}

static void close_fds(void)
{
	while (fx.n_fds > 0)
		close(fx.fds[--fx.n_fds]);
}

bool set_ztunnel_as(bool present, __u8 flags, __s32 netns_id)
{
	struct ztunnel_value zt = {
		.host_ifindex = (__u32)fx.if_zt_host,
		.present = present,
		.flags = flags,
		.generation = 1,
		.netns_id = netns_id,
	};

	memcpy(zt.mac, MAC_ZT, 6);
	return CHECK(!dp_ztunnel_set(&fx.dp, &zt), "set ztunnel");
}

bool set_ztunnel(bool present)
{
	return set_ztunnel_as(present, 0, -1);
}

bool set_capture_udp(void)
{
	return set_ztunnel_as(true, ZT_F_CAPTURE_UDP, -1);
}

bool set_fail_open(bool open)
{
	struct settings s = { .flags = open ? SET_F_FAIL_OPEN : 0 };

	return CHECK(!dp_settings_set(&fx.dp, &s), "set settings");
}

int set_node_list(const struct addr_key *extra, size_t n_extra)
{
	struct addr_key all[2 + NODE_ADDRS_INLINE + 1];

	if (n_extra > NODE_ADDRS_INLINE - 1)
		return -E2BIG;
	all[0] = key_of(AF_INET, NODE);
	all[1] = key_of(AF_INET6, NODE);
	memcpy(&all[2], extra, n_extra * sizeof(*extra));
	return dp_node_addr_list_set(&fx.dp, all, 2 + n_extra);
}

bool node_opened_to_pod_a(int family, int type)
{
	const struct sock_opts transparent = { .transparent = true };
	int fd, err;

	/* A route to the pod, so connect() sends a SYN (lost, unanswered). */
	if (!CHECK(!run_cmd(
			   family == AF_INET ?
				   "ip link set " IF_POD_A " up && "
				   "ip route replace 10.0.0.2/32 dev " IF_POD_A :
				   "ip link set " IF_POD_A " up && "
				   "ip -6 route replace fd00::2/128 dev " IF_POD_A),
		   "route to pod A"))
		return false;
	fd = track_fd(open_bound_socket(family, type | SOCK_NONBLOCK,
					addr_of(family, NODE), 10250,
					&transparent));
	if (!CHECK(fd >= 0, "bind %s: %s", addr_of(family, NODE),
		   strerror(-fd)))
		return false;
	err = start_connect(fd, family, addr_of(family, POD_A), 40000);
	return CHECK(!err, "connect: %s", strerror(-err));
}

static int clear_map(struct bpf_map *m)
{
	__u8 key[128];
	int fd = bpf_map__fd(m);

	while (!bpf_map_get_next_key(fd, NULL, key))
		if (bpf_map_delete_elem(fd, key))
			return -errno;
	return 0;
}

void tc_test_setup(void)
{
	fx.ingress_ifindex = 0;
	fx.reset_ok = set_ztunnel(true) && set_fail_open(false) &&
		      !clear_map(fx.dp.skel->maps.dns_flows) &&
		      !clear_map(fx.dp.skel->maps.frags);
}

void tc_test_teardown(void)
{
	close_fds();
}

/* --- running a program --- */

bool run_prog(enum dp_prog prog, const struct pkt *in, int ifindex, __u32 mark,
	      struct run *r)
{
	struct __sk_buff ctx_in = { .ifindex = (__u32)ifindex,
				    .ingress_ifindex = fx.ingress_ifindex,
				    .mark = mark };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data,
		    .data_size_in = (__u32)in->len, .data_out = r->out.data,
		    .data_size_out = sizeof(r->out.data), .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in), .ctx_out = &r->ctx,
		    .ctx_size_out = sizeof(r->ctx), .repeat = 1);
	int err;

	if (!CHECK(fx.reset_ok, "resetting the maps before the test failed"))
		return false;
	memset(&r->out, 0, sizeof(r->out));
	memset(&r->ctx, 0, sizeof(r->ctx));
	if (!CHECK(!dp_counters_read(&fx.dp, r->before), "read counters"))
		return false;
	err = bpf_prog_test_run_opts(dp_prog_fd(&fx.dp, prog), &opts);
	if (!CHECK(!err, "test run of %s: %s", dp_prog_name(prog),
		   strerror(errno)))
		return false;
	r->retval = opts.retval;
	r->out.len = opts.data_size_out;
	return CHECK(!dp_counters_read(&fx.dp, r->after), "read counters");
}

static bool check_counters(const struct pkt *in, const struct run *r,
			   counter_set want)
{
	bool ok = true;

	for (int id = 0; id < CNT_MAX; id++) {
		bool hit = (want >> id) & 1;
		__u64 pkts = r->after[id].packets - r->before[id].packets;
		__u64 bytes = r->after[id].bytes - r->before[id].bytes;

		ok &= CHECK(pkts == (hit ? 1 : 0) &&
				    bytes == (hit ? in->len : 0),
			    "counter %s/%s moved by %llu packets %llu bytes, "
			    "expected %d packet(s) of %zu bytes",
			    counter_prog(id), counter_decision(id),
			    (unsigned long long)pkts, (unsigned long long)bytes,
			    hit, in->len);
	}
	return ok;
}

static bool check_frame(const struct pkt *in, const struct run *r,
			const __u8 *dmac)
{
	const __u8 *want_dmac = dmac ? dmac : in->data;

	if (!CHECK(r->out.len == in->len, "frame length %zu, expected %zu",
		   r->out.len, in->len))
		return false;
	return CHECK(!memcmp(r->out.data, want_dmac, 6),
		     "destination MAC %02x:%02x:%02x:%02x:%02x:%02x",
		     r->out.data[0], r->out.data[1], r->out.data[2],
		     r->out.data[3], r->out.data[4], r->out.data[5]) &&
	       CHECK(!memcmp(r->out.data + 6, in->data + 6, in->len - 6),
		     "bytes after the destination MAC changed");
}

static bool check_run(const struct pkt *in, const struct run *r,
		      const struct expect *e)
{
	bool ok = CHECK(r->retval == e->retval, "verdict %u, expected %u",
			r->retval, e->retval);

	ok &= CHECK(r->ctx.mark == e->mark, "mark %#x, expected %#x",
		    r->ctx.mark, e->mark);
	ok &= check_frame(in, r, e->dmac);
	ok &= check_counters(in, r, e->counters);
	return ok;
}

bool expect_run(enum dp_prog prog, const struct pkt *in, int ifindex,
		__u32 mark, const struct expect *e)
{
	struct run r;

	return run_prog(prog, in, ifindex, mark, &r) && check_run(in, &r, e);
}

struct expect pass(counter_set counters)
{
	return (struct expect){ .retval = TC_ACT_PIPE, .counters = counters };
}

struct expect drop(counter_set counters)
{
	return (struct expect){ .retval = TC_ACT_SHOT, .counters = counters };
}

struct expect redirect(__u32 mark, const __u8 *dmac, counter_set counters)
{
	return (struct expect){ .retval = TC_ACT_REDIRECT,
				.mark = mark,
				.dmac = dmac,
				.counters = counters };
}

/* --- building packets --- */

bool build(struct pkt *p, const struct pkt_spec *s)
{
	return CHECK(!pkt_build(p, s), "build %s packet %s -> %s",
		     s->family == AF_INET ? "IPv4" : "IPv6", s->saddr,
		     s->daddr);
}

struct pkt_spec flow(int family, __u8 proto, enum host src, __u16 sport,
		     enum host dst, __u16 dport)
{
	return (struct pkt_spec){
		.family = family,
		.proto = proto,
		.saddr = addr_of(family, src),
		.daddr = addr_of(family, dst),
		.sport = sport,
		.dport = dport,
		.payload_len = 32,
	};
}

bool build_flow(struct pkt *p, int family, __u8 proto, enum host src,
		__u16 sport, enum host dst, __u16 dport)
{
	struct pkt_spec s = flow(family, proto, src, sport, dst, dport);

	return build(p, &s);
}

bool build_frag_to(struct pkt *p, int family, __u8 proto, enum host src,
		   enum host dst, __u16 dport, enum pkt_frag frag, __u32 id)
{
	struct pkt_spec s = flow(family, proto, src, 40000, dst, dport);

	s.frag = frag;
	s.frag_id = id;
	s.frag_offset = frag == PKT_FRAG_LATER ? 40 : 0;
	return build(p, &s);
}

bool build_frag(struct pkt *p, int family, __u8 proto, enum host src,
		enum host dst, enum pkt_frag frag, __u32 id)
{
	return build_frag_to(p, family, proto, src, dst, 80, frag, id);
}

__u8 icmp_of(int family)
{
	return family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
}

/* --- the run: set-up and tear-down --- */

static int probe_run(int fd, const void *frame, __u32 len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
		    .data_size_in = len, .repeat = 1);
	int err = bpf_prog_test_run_opts(fd, &opts);

	return err ?: opts.retval == TC_ACT_PIPE ? 0 : -EPROTO;
}

const char *tc_probe_kernel(void)
{
	static const struct bpf_insn ret_pipe[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K,
		  .dst_reg = BPF_REG_0,
		  .imm = TC_ACT_PIPE },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	static const struct {
		enum bpf_func_id id;
		const char *name;
	} helpers[] = {
		{ BPF_FUNC_redirect_peer, "bpf_redirect_peer" },
		{ BPF_FUNC_skc_lookup_tcp, "bpf_skc_lookup_tcp" },
		{ BPF_FUNC_sk_assign, "bpf_sk_assign" },
	};
	/* Ethernet header, then the start of an IPv4 / IPv6 header */
	__u8 frame[64] = { [12] = 0x08, [13] = 0x00, [14] = 0x45 };
	__u8 frame6[64] = { [12] = 0x86, [13] = 0xdd, [14] = 0x60 };
	int fd, err;

	fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "probe", "GPL", ret_pipe,
			   ARRAY_LEN(ret_pipe), NULL);
	if (fd < 0)
		return "cannot load a tc program";
	err = probe_run(fd, frame, sizeof(frame));
	fx.short_ip_frames[0] = !probe_run(fd, frame, 14 + 10);
	fx.short_ip_frames[1] = !probe_run(fd, frame6, 14 + 20);
	close(fd);
	if (err)
		return "BPF_PROG_TEST_RUN of a tc program does not work";
	for (size_t i = 0; i < ARRAY_LEN(helpers); i++)
		if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS,
					    helpers[i].id, NULL) != 1)
			return helpers[i].name;
	return NULL;
}

static int put_pod(enum host h, int ifindex, const __u8 *mac, __u16 flags)
{
	struct pod_value info = { .host_ifindex = (__u32)ifindex,
				  .flags = flags };
	struct addr_key k4 = key_of(AF_INET, h), k6 = key_of(AF_INET6, h);

	memcpy(info.mac, mac, 6);
	return dp_pod_put(&fx.dp, &k4, &info) ?: dp_pod_put(&fx.dp, &k6, &info);
}

static int setup_maps(void)
{
	struct addr_key node4 = key_of(AF_INET, NODE);
	struct addr_key node6 = key_of(AF_INET6, NODE);

	return put_pod(POD_A, fx.if_pod_a, MAC_POD_A, 0) ?:
		       put_pod(POD_B, fx.if_pod_b, MAC_POD_B, POD_F_DNS_CAPTURE) ?:
		       dp_node_addr_add(&fx.dp, &node4) ?:
		       dp_node_addr_add(&fx.dp, &node6) ?:
							  set_node_list(NULL, 0);
}

/* A veth pair NAME/NAME-p (this kernel has no dummy); NAME's ifindex. */
static int veth_of(const char *name)
{
	char peer[IFNAMSIZ];

	snprintf(peer, sizeof(peer), "%s-p", name);
	return add_veth(name, peer);
}

int tc_fixture_setup(void)
{
	struct dp_opts opts = { .sz = sizeof(opts) };
	int err;

	fx.if_pod_a = veth_of(IF_POD_A);
	fx.if_pod_b = veth_of(IF_POD_B);
	fx.if_zt_host = veth_of(IF_ZT_HOST);
	fx.if_zt = veth_of(IF_ZT);
	if (fx.if_pod_a <= 0 || fx.if_pod_b <= 0 || fx.if_zt_host <= 0 ||
	    fx.if_zt <= 0) {
		fprintf(stderr, "creating veth interfaces failed\n");
		return -1;
	}
	snprintf(fx.pin_dir, sizeof(fx.pin_dir), "/sys/fs/bpf/ar-test-tc-%d",
		 (int)getpid());
	opts.pin_dir = fx.pin_dir;
	err = dp_load(&fx.dp, &opts);
	if (err) {
		fprintf(stderr, "dp_load: %s\n", strerror(-err));
		return err;
	}
	fx.loaded = true;
	fx.self_nsid = netns_id_self();
	err = setup_maps();
	if (err)
		fprintf(stderr, "filling the maps: %s\n", strerror(-err));
	return err;
}

void tc_fixture_cleanup(void)
{
	close_fds();
	if (fx.loaded) {
		dp_unpin(&fx.dp);
		dp_close(&fx.dp);
		fx.loaded = false;
	}
}
