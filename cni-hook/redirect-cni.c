// SPDX-License-Identifier: GPL-2.0
/*
 * redirect-cni: the chained CNI plugin (spec 1.0.0 and 0.4.0) that enrols
 * pods with redirectd, placed after the primary plugin as istio-cni is.
 *
 *   ADD     PodAdd from prevResult and the pod's annotations (runtimeConfig,
 *           capability io.kubernetes.cri.pod-annotations); print
 *           prevResult. Fails when redirectd cannot enrol the pod, or an
 *           annotation is malformed: a pod must not start unmeshed
 *           silently, nor meshed otherwise than asked.
 *   DEL     PodDelete guarded by this sandbox's container id and netns;
 *           succeeds even when redirectd is down, so it never blocks
 *           teardown (redirectd drops pods whose veth is gone).
 *   CHECK   PodGet: the pod must be enrolled with prevResult's addresses.
 *   VERSION the versions we speak.
 *
 * Only "redirectMode": "ebpf" enrols; any other mode passes through. stdout
 * carries nothing but the result or error JSON; logs go to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "client.h"
#include "log.h"
#include "wire.h"
#include "cni.h"

_Static_assert(CNI_MAX_IPS == WIRE_MAX_IPS, "one PodAdd carries every ip");

#define MAX_STDIN (1 << 20) /* a network config with a prevResult */

struct cni_env {
	const char *command;
	const char *container_id;
	const char *netns;
	const char *ifname;
	const char *args;
};

struct plugin {
	struct cni_env env;
	struct cni_conf conf;
	struct cni_args args;
	const char *uid;
	struct cni_err err;
};

static const char *getenv_or_null(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static void load_env(struct cni_env *env)
{
	env->command = getenv_or_null("CNI_COMMAND");
	env->container_id = getenv_or_null("CNI_CONTAINERID");
	env->netns = getenv_or_null("CNI_NETNS");
	env->ifname = getenv_or_null("CNI_IFNAME");
	env->args = getenv_or_null("CNI_ARGS");
}

/* All of stdin, up to MAX_STDIN bytes (one spare byte detects more). */
static int read_stdin(char **out, size_t *len, struct cni_err *e)
{
	char *buf = malloc(MAX_STDIN + 1);
	size_t n = 0, got;

	if (!buf)
		return cni_fail(e, -ENOMEM, CNI_ERR_INTERNAL, "out of memory",
				NULL);
	while (n <= MAX_STDIN &&
	       (got = fread(buf + n, 1, MAX_STDIN + 1 - n, stdin)) > 0)
		n += got;
	if (ferror(stdin) || n > MAX_STDIN) {
		free(buf);
		return cni_fail(e, -EIO, CNI_ERR_IO,
				"cannot read the network config", "%s",
				n > MAX_STDIN ? "more than 1 MiB on stdin" :
						"read error on stdin");
	}
	*out = buf;
	*len = n;
	return 0;
}

/* The result or error document, one line, and nothing else on stdout. */
static int emit(char *json)
{
	int err = 0;

	if (!json)
		return -ENOMEM;
	if (puts(json) < 0 || fflush(stdout))
		err = -EIO;
	free(json);
	return err;
}

static int report_error(const struct plugin *p)
{
	const char *v = cni_version_supported(p->conf.cni_version) ?
				p->conf.cni_version :
				CNI_VERSION;

	pr_err("redirect-cni %s%s%s: %s%s%s",
	       p->env.command ? p->env.command : "-", p->uid ? " " : "",
	       p->uid ? p->uid : "", p->err.msg, p->err.details[0] ? ": " : "",
	       p->err.details);
	emit(cni_error_json(v, &p->err));
	return 1;
}

/* The variables each command needs (CNI_NETNS may be gone by DEL). */
static int check_env(struct plugin *p, bool need_netns)
{
	const struct cni_env *env = &p->env;

	if (!env->container_id || !env->ifname || (need_netns && !env->netns))
		return cni_fail(&p->err, -EINVAL, CNI_ERR_INVALID_ENV,
				"missing environment variables",
				"%s needs CNI_CONTAINERID, CNI_IFNAME%s",
				env->command, need_netns ? ", CNI_NETNS" : "");
	return 0;
}

/*
 * The pod's identity. kubelet always sends K8S_POD_UID; other runtimes may
 * not, and then the sandbox's container id is the one name that ADD, CHECK
 * and DEL all see and that no other pod can have.
 */
static int load_identity(struct plugin *p)
{
	int err = cni_args_parse(p->env.args, &p->args);

	if (err)
		return cni_fail(&p->err, err, CNI_ERR_INVALID_ENV,
				"invalid CNI_ARGS", "%s: %.200s",
				strerror(-err), p->env.args);
	p->uid = p->args.pod_uid ? p->args.pod_uid : p->env.container_id;
	return 0;
}

/*
 * Check the environment and learn who the pod is. Returns 1 when the pod
 * is in an excluded namespace (nothing to do), 0 to go on, or -errno.
 */
static int prepare(struct plugin *p, bool need_netns)
{
	int err;

	if ((err = check_env(p, need_netns)) || (err = load_identity(p)))
		return err;
	if (cni_conf_excluded(&p->conf, p->args.pod_namespace)) {
		pr_info("redirect-cni %s %s: namespace %s is excluded",
			p->env.command, p->uid, p->args.pod_namespace);
		return 1;
	}
	return 0;
}

/* --- talking to redirectd --- */

static int daemon_open(struct plugin *p, struct client *c)
{
	char msg[WIRE_MSG_LEN] = "";
	int err = client_connect(c, p->conf.socket_path, "redirect-cni", msg,
				 sizeof(msg));

	if (err < 0)
		return cni_fail(&p->err, err, CNI_ERR_TRY_AGAIN,
				"redirectd is unreachable", "%s: %s",
				p->conf.socket_path, strerror(-err));
	if (err > 0)
		return cni_fail(&p->err, -EACCES, CNI_ERR_INTERNAL,
				"redirectd refused the connection", "%s: %s",
				wire_error_name((ErrorCode)err), msg);
	return 0;
}

/*
 * One request on a fresh connection. Returns 0 with *out set, or -errno:
 * a transport failure is "try again" (code 11), a refusal is code 999.
 */
static int daemon_pod_add(struct plugin *p, const PodAdd *add, int fd,
			  Reply **out)
{
	struct client c;
	Reply *reply = NULL;
	int err = daemon_open(p, &c);

	if (err)
		return err;
	err = client_pod_add(&c, add, fd, &reply);
	client_close(&c);
	if (err)
		return cni_fail(&p->err, err, CNI_ERR_TRY_AGAIN,
				"redirectd did not answer", "%s: %s",
				p->conf.socket_path, strerror(-err));
	if (reply->code) {
		err = cni_fail(&p->err, -EREMOTEIO, CNI_ERR_INTERNAL,
			       "redirectd refused the request",
			       "pod_add %s: %s", wire_error_name(reply->code),
			       reply->message);
		client_reply_free(reply);
		return err;
	}
	*out = reply;
	return 0;
}

/*
 * Our uid's enrolment (PodGet): 0 with *reply and *pod set, *pod NULL when
 * not enrolled; else the error set in p->err.
 */
static int find_enrolled(struct plugin *p, Reply **reply, const PodInfo **pod)
{
	struct client c;
	Reply *r;
	int err = daemon_open(p, &c);

	*pod = NULL;
	*reply = NULL;
	if (err)
		return err;
	err = client_pod_get(&c, p->uid, &r);
	client_close(&c);
	if (err)
		return cni_fail(&p->err, err, CNI_ERR_TRY_AGAIN,
				"redirectd did not answer", "%s: %s",
				p->conf.socket_path, strerror(-err));
	if (r->code && r->code != EC(NOT_FOUND)) {
		err = cni_fail(&p->err, -EREMOTEIO, CNI_ERR_INTERNAL,
			       "redirectd refused the request",
			       "pod_get %s: %s", wire_error_name(r->code),
			       r->message);
		client_reply_free(r);
		return err;
	}
	if (!r->code && r->body_case == REPLY_BODY(POD))
		*pod = r->pod;
	*reply = r;
	return 0;
}

/* --- commands --- */

static int print_prev_result(struct plugin *p)
{
	int err =
		emit(cni_result_json(p->conf.prev_result, p->conf.cni_version));

	if (err)
		return cni_fail(&p->err, err, CNI_ERR_IO,
				"cannot print the result", "%s",
				strerror(-err));
	return 0;
}

static int pod_net(struct plugin *p, struct cni_pod_net *net)
{
	if (!p->conf.prev_result)
		return cni_fail(&p->err, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"missing prevResult",
				"redirect-cni must be chained after the plugin "
				"that creates the pod's interface");
	return cni_result_parse(p->conf.prev_result, p->env.netns,
				p->env.ifname, net, &p->err);
}

static char *or_empty(const char *s)
{
	return (char *)(s ? s : "");
}

/* What the pod's annotations ask; cidrs holds the strings b points to. */
static void fill_opts(PodAdd *b, struct cni_pod_opts *o,
		      char *cidrs[EXCL_MAX_PER_POD])
{
	for (size_t i = 0; i < o->out_cidrs.n; i++)
		cidrs[i] = o->out_cidrs.cidr[i];
	b->exclude_outbound_cidrs = cidrs;
	b->n_exclude_outbound_cidrs = o->out_cidrs.n;
	b->exclude_outbound_ports = o->out_ports.port;
	b->n_exclude_outbound_ports = o->out_ports.n;
	b->exclude_inbound_ports = o->in_ports.port;
	b->n_exclude_inbound_ports = o->in_ports.n;
	b->bypass_inbound = o->bypass_inbound;
	b->dns_capture = o->dns_capture;
}

static int send_pod_add(struct plugin *p, struct cni_pod_net *net,
			struct cni_pod_opts *opts, int fd)
{
	PodAdd b = AMBIENT_REDIRECT__V1__POD_ADD__INIT;
	char *ips[CNI_MAX_IPS], *cidrs[EXCL_MAX_PER_POD];
	Reply *reply = NULL;
	int err;

	for (size_t i = 0; i < net->n_ips; i++)
		ips[i] = net->ips[i];
	b.uid = (char *)p->uid;
	b.name = or_empty(p->args.pod_name);
	b.namespace_ = or_empty(p->args.pod_namespace);
	b.netns_path = (char *)p->env.netns;
	b.interface = (char *)p->env.ifname;
	b.ips = ips;
	b.n_ips = net->n_ips;
	b.host_veth = net->host_veth;
	b.container_id = (char *)p->env.container_id;
	fill_opts(&b, opts, cidrs);
	err = daemon_pod_add(p, &b, fd, &reply);
	if (err)
		return err;
	pr_info("redirect-cni ADD %s: pod %s/%s (excluded: %zu outbound CIDRs, "
		"%zu outbound ports, %zu inbound ports%s): %s",
		p->uid, b.namespace_, b.name, b.n_exclude_outbound_cidrs,
		b.n_exclude_outbound_ports, b.n_exclude_inbound_ports,
		b.bypass_inbound ? ", all inbound" : "", reply->message);
	client_reply_free(reply);
	return 0;
}

static int cmd_add(struct plugin *p)
{
	struct cni_pod_opts opts;
	struct cni_pod_net net;
	int err, fd;

	/* other modes pass the result on untouched, whatever the env says */
	if (!p->conf.ebpf || (err = prepare(p, true)) > 0)
		return print_prev_result(p);
	if (err)
		return err;
	/* a bad annotation fails the pod before redirectd hears of it */
	if ((err = pod_net(p, &net)) ||
	    (err = cni_pod_opts_parse(&p->conf, &opts, &p->err)))
		return err;
	/*
	 * The netns travels as an fd: redirectd may live in another mount
	 * namespace where the runtime's netns path does not exist.
	 */
	fd = open(p->env.netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cni_fail(&p->err, -errno, CNI_ERR_INVALID_ENV,
				"cannot open CNI_NETNS", "%s: %s", p->env.netns,
				strerror(errno));
	err = send_pod_add(p, &net, &opts, fd);
	close(fd);
	return err ? err : print_prev_result(p);
}

/*
 * Never fails once the config is sound: teardown must go on. The delete
 * is guarded by this sandbox's container id and netns: a DEL that comes
 * late, after a new sandbox of the same pod was added, leaves the new
 * enrolment alone (redirectd compares, in the same step it deletes).
 */
static int cmd_del(struct plugin *p)
{
	struct client c;
	Reply *reply = NULL;
	int err;

	if (!p->conf.ebpf || (err = prepare(p, false)) > 0)
		return 0;
	if (err)
		return err;
	err = daemon_open(p, &c);
	if (!err) {
		err = client_pod_delete(&c, p->uid, p->env.container_id,
					p->env.netns, &reply);
		client_close(&c);
	}
	if (err || reply->code) {
		pr_warn("redirect-cni DEL %s: %s: %s (redirectd drops pods "
			"whose veth is gone)",
			p->uid, err ? p->err.msg : "refused",
			err ? p->err.details : reply->message);
		if (!err)
			client_reply_free(reply);
		return 0;
	}
	pr_info("redirect-cni DEL %s: %s", p->uid,
		reply->message[0] ? reply->message : "removed");
	client_reply_free(reply);
	return 0;
}

static int check_pod(struct plugin *p, const PodInfo *pod,
		     struct cni_pod_net *net)
{
	char *ips[CNI_MAX_IPS];

	for (size_t i = 0; i < net->n_ips; i++)
		ips[i] = net->ips[i];
	if (!pod)
		return cni_fail(&p->err, -ENOENT, CNI_ERR_INTERNAL,
				"pod is not enrolled with redirectd", "uid %s",
				p->uid);
	if (!cni_ips_equal(ips, net->n_ips, pod->ips, pod->n_ips))
		return cni_fail(&p->err, -ESTALE, CNI_ERR_INTERNAL,
				"pod is enrolled with other addresses",
				"uid %s: redirectd has %zu, prevResult %zu",
				p->uid, pod->n_ips, net->n_ips);
	if (net->host_veth[0] && strcmp(net->host_veth, pod->host_veth))
		return cni_fail(&p->err, -ESTALE, CNI_ERR_INTERNAL,
				"pod is enrolled on another veth",
				"uid %s: redirectd has %s, prevResult %s",
				p->uid, pod->host_veth, net->host_veth);
	if (strcmp(pod->interface, p->env.ifname))
		return cni_fail(&p->err, -ESTALE, CNI_ERR_INTERNAL,
				"pod is enrolled on another interface",
				"uid %s: redirectd has %s, CNI_IFNAME %s",
				p->uid, pod->interface, p->env.ifname);
	return 0;
}

static int cmd_check(struct plugin *p)
{
	struct cni_pod_net net;
	const PodInfo *pod;
	Reply *reply = NULL;
	int err;

	if (!p->conf.ebpf || (err = prepare(p, true)) > 0)
		return 0;
	if (err)
		return err;
	if ((err = pod_net(p, &net)) || (err = find_enrolled(p, &reply, &pod)))
		return err;
	err = check_pod(p, pod, &net);
	client_reply_free(reply);
	return err;
}

static int run(struct plugin *p)
{
	const char *cmd = p->env.command;
	char *input = NULL;
	size_t len = 0;
	int err;

	if (!cmd)
		return cni_fail(&p->err, -EINVAL, CNI_ERR_INVALID_ENV,
				"CNI_COMMAND is not set", NULL);
	/* VERSION needs no valid config: it is how a runtime probes us. */
	if (!strcmp(cmd, "VERSION"))
		return emit(cni_version_json());
	if (strcmp(cmd, "ADD") && strcmp(cmd, "DEL") && strcmp(cmd, "CHECK"))
		return cni_fail(&p->err, -EINVAL, CNI_ERR_INVALID_ENV,
				"unknown CNI_COMMAND", "%.32s", cmd);
	err = read_stdin(&input, &len, &p->err);
	if (err)
		return err;
	err = cni_conf_parse(input, len, &p->conf, &p->err);
	free(input);
	if (err)
		return err;
	if (!strcmp(cmd, "ADD"))
		return cmd_add(p);
	if (!strcmp(cmd, "DEL"))
		return cmd_del(p);
	return cmd_check(p);
}

int main(void)
{
	struct plugin p = { 0 };
	int err, rc = 0;

	load_env(&p.env);
	err = run(&p);
	if (err) {
		if (!p.err.code) /* out of memory, or stdout is gone */
			cni_fail(&p.err, err, CNI_ERR_INTERNAL,
				 "internal error", "%s", strerror(-err));
		rc = report_error(&p);
	}
	cni_args_free(&p.args);
	cni_conf_free(&p.conf);
	return rc;
}
