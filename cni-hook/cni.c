// SPDX-License-Identifier: GPL-2.0
/*
 * redirect-cni's pure logic: parsing what the runtime hands us and
 * formatting what we print. See cni.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cni.h"
#include "exclusions.h"

static const char *const supported_versions[] = { "0.4.0", "1.0.0" };

int cni_fail(struct cni_err *e, int ret, int code, const char *msg,
	     const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	e->details[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(e->details, sizeof(e->details), fmt, ap);
		va_end(ap);
	}
	return ret;
}

bool cni_version_supported(const char *version)
{
	size_t n = sizeof(supported_versions) / sizeof(supported_versions[0]);

	for (size_t i = 0; version && i < n; i++)
		if (!strcmp(version, supported_versions[i]))
			return true;
	return false;
}

/* --- network config --- */

/*
 * One whole JSON document, strict as Go's decoder is (no trailing commas),
 * nothing after it but whitespace. Undecodable input is CNI code 6,
 * "Failed to decode content", as the reference plugins report it.
 */
static int parse_document(const char *json, size_t len,
			  struct json_object **out, struct cni_err *e)
{
	struct json_tokener *tok = json_tokener_new();
	char *copy = len < INT32_MAX ? malloc(len + 1) : NULL;
	enum json_tokener_error jerr;
	size_t end;

	*out = NULL;
	if (!tok || !copy) {
		json_tokener_free(tok);
		free(copy);
		return cni_fail(e, -ENOMEM, CNI_ERR_INTERNAL, "out of memory",
				NULL);
	}
	/* the NUL tells json-c the input ends (a bare 42 is whole) */
	memcpy(copy, json, len);
	copy[len] = '\0';
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	*out = json_tokener_parse_ex(tok, copy, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	while (jerr == json_tokener_success && end < len && json[end] &&
	       strchr(" \t\r\n", json[end]))
		end++;
	if (jerr == json_tokener_success && end < len)
		jerr = json_tokener_error_parse_unexpected;
	json_tokener_free(tok);
	free(copy);
	if (jerr == json_tokener_success)
		return 0; /* *out is NULL for a bare null */
	json_object_put(*out);
	*out = NULL;
	return cni_fail(e, -EBADMSG, CNI_ERR_DECODE,
			"failed to decode the network config",
			"%s at offset %zu", json_tokener_error_desc(jerr), end);
}

/* An optional member of a given type; NULL when absent or null. */
static int member(struct json_object *obj, const char *key, enum json_type type,
		  struct json_object **out, struct cni_err *e)
{
	static const char *const names[] = {
		[json_type_boolean] = "a boolean",
		[json_type_int] = "an integer",
		[json_type_string] = "a string",
		[json_type_array] = "an array",
		[json_type_object] = "an object",
		[json_type_double] = "a number",
		[json_type_null] = "null",
	};

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, out) || !*out)
		return 0;
	if (json_object_is_type(*out, type))
		return 0;
	return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
			"invalid network config", "\"%s\" must be %s", key,
			names[type]);
}

static int conf_strings(struct cni_conf *c, struct cni_err *e)
{
	struct json_object *v;
	int err;

	if ((err = member(c->root, "cniVersion", json_type_string, &v, e)))
		return err;
	/* Like libcni: a config without cniVersion is version 0.1.0. */
	c->cni_version = v ? json_object_get_string(v) : "0.1.0";
	if ((err = member(c->root, "name", json_type_string, &v, e)))
		return err;
	c->name = v ? json_object_get_string(v) : "";
	if ((err = member(c->root, "redirectMode", json_type_string, &v, e)))
		return err;
	c->mode = v ? json_object_get_string(v) : NULL;
	c->ebpf = c->mode && !strcmp(c->mode, "ebpf");
	if ((err = member(c->root, "socketPath", json_type_string, &v, e)))
		return err;
	c->socket_path = v ? json_object_get_string(v) : DEFAULT_SOCKET_PATH;
	if (c->socket_path[0] != '/')
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid network config",
				"\"socketPath\" must be an absolute path");
	return 0;
}

static int conf_others(struct cni_conf *c, struct cni_err *e)
{
	struct json_object *v;
	size_t n;
	int err;

	if ((err = member(c->root, "dnsCapture", json_type_boolean, &v, e)))
		return err;
	c->dns_capture = v && json_object_get_boolean(v);
	if ((err = member(c->root, "excludeNamespaces", json_type_array,
			  &c->exclude, e)))
		return err;
	n = c->exclude ? json_object_array_length(c->exclude) : 0;
	for (size_t i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(c->exclude,
								   i),
					 json_type_string))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"invalid network config",
					"\"excludeNamespaces\" must hold "
					"namespace names (strings)");
	/*
	 * Only ADD reads it (cni_pod_opts_parse): a DEL must not fail on the
	 * pod's annotations, nor a pass-through.
	 */
	if (!json_object_object_get_ex(c->root, "runtimeConfig",
				       &c->runtime_config))
		c->runtime_config = NULL;
	return member(c->root, "prevResult", json_type_object, &c->prev_result,
		      e);
}

int cni_conf_parse(const char *json, size_t len, struct cni_conf *conf,
		   struct cni_err *e)
{
	int err;

	memset(conf, 0, sizeof(*conf));
	err = parse_document(json, len, &conf->root, e);
	if (err)
		return err;
	if (!json_object_is_type(conf->root, json_type_object))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid network config",
				"the network config must be a JSON object");
	if ((err = conf_strings(conf, e)) || (err = conf_others(conf, e)))
		return err;
	if (!cni_version_supported(conf->cni_version))
		return cni_fail(e, -EPROTONOSUPPORT,
				CNI_ERR_INCOMPATIBLE_VERSION,
				"incompatible CNI version",
				"config version %.32s; this plugin supports "
				"0.4.0 and 1.0.0",
				conf->cni_version);
	return 0;
}

void cni_conf_free(struct cni_conf *conf)
{
	json_object_put(conf->root);
	memset(conf, 0, sizeof(*conf));
}

bool cni_conf_excluded(const struct cni_conf *conf, const char *ns)
{
	size_t n = conf->exclude ? json_object_array_length(conf->exclude) : 0;

	for (size_t i = 0; ns && i < n; i++) {
		struct json_object *v =
			json_object_array_get_idx(conf->exclude, i);

		if (!strcmp(json_object_get_string(v), ns))
			return true;
	}
	return false;
}

/* --- CNI_ARGS --- */

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/* A later duplicate wins; an empty value counts as absent. */
static int set_arg(char **slot, const char *val)
{
	free(*slot);
	*slot = NULL;
	if (!*val)
		return 0;
	*slot = strdup(val);
	return *slot ? 0 : -ENOMEM;
}

static int apply_pair(char *pair, struct cni_args *a)
{
	char *eq = strchr(pair, '='), *key, *val;

	if (!eq)
		return -EINVAL;
	*eq = '\0';
	key = trim(pair);
	val = trim(eq + 1);
	if (!*key)
		return -EINVAL;
	if (!strcmp(key, "K8S_POD_NAMESPACE"))
		return set_arg(&a->pod_namespace, val);
	if (!strcmp(key, "K8S_POD_NAME"))
		return set_arg(&a->pod_name, val);
	if (!strcmp(key, "K8S_POD_UID"))
		return set_arg(&a->pod_uid, val);
	if (!strcmp(key, "IgnoreUnknown"))
		a->ignore_unknown = !strcmp(val, "1") ||
				    !strcasecmp(val, "true");
	/*
	 * Other keys (K8S_POD_INFRA_CONTAINER_ID, ...) are ignored whatever
	 * IgnoreUnknown says: they are meant for other plugins of the chain.
	 */
	return 0;
}

/*
 * Kinder than the reference plugins: empty pairs (";;", a trailing ';')
 * and blanks around keys and values are skipped, a value may hold '='.
 * Only a pair without '=' or with an empty key is an error.
 */
int cni_args_parse(const char *s, struct cni_args *a)
{
	char *copy, *pair, *next;
	int err = 0;

	memset(a, 0, sizeof(*a));
	if (!s || !*s)
		return 0;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	for (pair = copy; pair && !err; pair = next) {
		next = strchr(pair, ';');
		if (next)
			*next++ = '\0';
		if (*trim(pair))
			err = apply_pair(pair, a);
	}
	free(copy);
	if (err)
		cni_args_free(a);
	return err;
}

void cni_args_free(struct cni_args *a)
{
	free(a->pod_namespace);
	free(a->pod_name);
	free(a->pod_uid);
	memset(a, 0, sizeof(*a));
}

/* --- the pod's annotations --- */

#define ANN_OUT_CIDRS "traffic.sidecar.istio.io/excludeOutboundIPRanges"
#define ANN_OUT_PORTS "traffic.sidecar.istio.io/excludeOutboundPorts"
#define ANN_IN_PORTS "traffic.sidecar.istio.io/excludeInboundPorts"
#define ANN_BYPASS_INBOUND "ambient.istio.io/bypass-inbound-capture"
#define ANN_DNS_CAPTURE "ambient.istio.io/dns-capture"
#define ANN_INVALID "invalid pod annotation"

/* Decimal digits only, at most max_digits: no sign, no blank, no hex. */
static int parse_uint(const char *s, size_t max_digits, unsigned int *out)
{
	size_t n = strspn(s, "0123456789");
	unsigned int v = 0;

	if (!n || s[n] || n > max_digits)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned int)(s[i] - '0');
	*out = v;
	return 0;
}

/* "10.1.2.3/8" -> "10.0.0.0/8", as redirectd will keep it. */
static int canonical_cidr(const char *item, char *out)
{
	struct excl_cidr c;

	if (excl_cidr_parse(item, &c))
		return -EINVAL;
	excl_cidr_format(&c, out, EXCL_CIDR_STRLEN);
	return 0;
}

/* redirectd refuses longer lists: say so here, naming the annotation. */
static int too_many(const char *ann, struct cni_err *e)
{
	return cni_fail(e, -E2BIG, CNI_ERR_INVALID_CONFIG, ANN_INVALID,
			"%s: more than %d distinct entries", ann,
			EXCL_MAX_PER_POD);
}

static int add_cidr(struct cni_cidrs *l, const char *cidr, const char *ann,
		    struct cni_err *e)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->cidr[i], cidr))
			return 0;
	if (l->n == EXCL_MAX_PER_POD)
		return too_many(ann, e);
	strcpy(l->cidr[l->n++], cidr);
	return 0;
}

/* One item of a list annotation into list; 0 or -errno with e filled. */
typedef int item_fn(void *list, const char *item, const char *ann,
		    struct cni_err *e);

static int cidr_item(void *list, const char *item, const char *ann,
		     struct cni_err *e)
{
	char cidr[EXCL_CIDR_STRLEN];
	int err;

	/* Istio's "*": every destination, of either family */
	if (!strcmp(item, "*")) {
		err = add_cidr(list, "0.0.0.0/0", ann, e);
		return err ? err : add_cidr(list, "::/0", ann, e);
	}
	if (canonical_cidr(item, cidr))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, ANN_INVALID,
				"%s: \"%.64s\" is not an IPv4 or IPv6 CIDR "
				"or address",
				ann, item);
	return add_cidr(list, cidr, ann, e);
}

static int port_item(void *list, const char *item, const char *ann,
		     struct cni_err *e)
{
	struct cni_ports *l = list;
	unsigned int port;

	/* Istio takes it; our port lists are explicit (a set of 64 at most) */
	if (!strcmp(item, "*"))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, ANN_INVALID,
				"%s: \"*\" (every port) is not supported; "
				"list the ports",
				ann);
	if (parse_uint(item, 5, &port) || !port || port > 65535)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, ANN_INVALID,
				"%s: \"%.64s\" is not a port (1-65535)", ann,
				item);
	for (size_t i = 0; i < l->n; i++)
		if (l->port[i] == port)
			return 0;
	if (l->n == EXCL_MAX_PER_POD)
		return too_many(ann, e);
	l->port[l->n++] = port;
	return 0;
}

/* A known annotation's value; NULL when the pod does not carry it. */
static int ann_value(struct json_object *anns, const char *ann,
		     const char **out, struct cni_err *e)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(anns, ann, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, ANN_INVALID,
				"%s: the value must be a string", ann);
	*out = json_object_get_string(v);
	return 0;
}

/* Comma-separated items, blanks around them trimmed, empty ones skipped. */
static int ann_list(struct json_object *anns, const char *ann, item_fn *fn,
		    void *list, struct cni_err *e)
{
	char *copy, *item, *next;
	const char *v;
	int err = ann_value(anns, ann, &v, e);

	if (err || !v)
		return err;
	copy = strdup(v);
	if (!copy)
		return cni_fail(e, -ENOMEM, CNI_ERR_INTERNAL, "out of memory",
				NULL);
	for (item = copy; item && !err; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		item = trim(item);
		if (*item)
			err = fn(list, item, ann, e);
	}
	free(copy);
	return err;
}

/* "true" or "false", any case, blanks around allowed. */
static int ann_bool(struct json_object *anns, const char *ann, bool *out,
		    struct cni_err *e)
{
	char *copy, *t;
	const char *v;
	int err = ann_value(anns, ann, &v, e);

	if (err || !v)
		return err;
	copy = strdup(v);
	if (!copy)
		return cni_fail(e, -ENOMEM, CNI_ERR_INTERNAL, "out of memory",
				NULL);
	t = trim(copy);
	if (!strcasecmp(t, "true") || !strcasecmp(t, "false"))
		*out = !strcasecmp(t, "true");
	else
		err = cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, ANN_INVALID,
			       "%s: \"%.64s\" is neither true nor false", ann,
			       v);
	free(copy);
	return err;
}

/* runtimeConfig's annotations object; NULL when the runtime sent none. */
static int pod_annotations(const struct cni_conf *c, struct json_object **out,
			   struct cni_err *e)
{
	*out = NULL;
	if (!c->runtime_config)
		return 0;
	if (!json_object_is_type(c->runtime_config, json_type_object))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid network config",
				"\"runtimeConfig\" must be an object");
	return member(c->runtime_config, CNI_CAP_POD_ANNOTATIONS,
		      json_type_object, out, e);
}

int cni_pod_opts_parse(const struct cni_conf *conf, struct cni_pod_opts *o,
		       struct cni_err *e)
{
	struct json_object *anns;
	int err;

	memset(o, 0, sizeof(*o));
	o->dns_capture = conf->dns_capture;
	if ((err = pod_annotations(conf, &anns, e)) || !anns)
		return err;
	if ((err = ann_list(anns, ANN_OUT_CIDRS, cidr_item, &o->out_cidrs,
			    e)) ||
	    (err = ann_list(anns, ANN_OUT_PORTS, port_item, &o->out_ports,
			    e)) ||
	    (err = ann_list(anns, ANN_IN_PORTS, port_item, &o->in_ports, e)) ||
	    (err = ann_bool(anns, ANN_BYPASS_INBOUND, &o->bypass_inbound, e)))
		return err;
	return ann_bool(anns, ANN_DNS_CAPTURE, &o->dns_capture, e);
}

/* --- the previous result --- */

static const char *str_member(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/*
 * The pod's interface: inside CNI_NETNS and named CNI_IFNAME; else any
 * inside CNI_NETNS; else one named CNI_IFNAME inside some sandbox (the
 * runtime may spell the netns path differently from the plugin that wrote
 * the result). -1 when none fits.
 */
static int find_pod_if(struct json_object *ifs, const char *netns,
		       const char *ifname)
{
	size_t n = ifs ? json_object_array_length(ifs) : 0;
	int best = -1, best_score = 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *it = json_object_array_get_idx(ifs, i);
		const char *sb = str_member(it, "sandbox");
		const char *name = str_member(it, "name");
		bool in_ns, named;
		int score;

		if (!sb || !*sb)
			continue;
		in_ns = netns && !strcmp(sb, netns);
		named = name && ifname && !strcmp(name, ifname);
		score = in_ns * 2 + named;
		if (score > best_score) {
			best = (int)i;
			best_score = score;
		}
	}
	return best;
}

/*
 * Host-side interfaces have no sandbox. ptp leaves exactly one, the host
 * veth. bridge also lists the bridge (cni0) and nothing in our entry
 * names it, so with several we name none: redirectd finds the peer of
 * the pod's interface itself, and checks host_veth when we do send one.
 */
static void find_host_veth(struct json_object *ifs, struct cni_pod_net *net)
{
	size_t n = ifs ? json_object_array_length(ifs) : 0;
	const char *only = NULL;

	for (size_t i = 0; i < n; i++) {
		struct json_object *it = json_object_array_get_idx(ifs, i);
		const char *sb = str_member(it, "sandbox");

		if (sb && *sb)
			continue;
		net->n_host_ifs++;
		only = str_member(it, "name");
	}
	if (net->n_host_ifs == 1 && only && strlen(only) < IF_NAMESIZE)
		strcpy(net->host_veth, only);
}

/* "10.244.0.2/24" -> "10.244.0.2", spelled the way inet_ntop does. */
static int bare_address(const char *cidr, char *out)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	struct in6_addr a6;
	struct in_addr a4;

	if (strlen(cidr) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, cidr);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1)
		return inet_ntop(AF_INET, &a4, out, INET6_ADDRSTRLEN) ? 0 :
									-EINVAL;
	if (inet_pton(AF_INET6, buf, &a6) == 1)
		return inet_ntop(AF_INET6, &a6, out, INET6_ADDRSTRLEN) ?
			       0 :
			       -EINVAL;
	return -EINVAL;
}

static int add_ip(struct cni_pod_net *net, size_t i, const char *cidr,
		  struct cni_err *e)
{
	char addr[INET6_ADDRSTRLEN];

	if (!cidr || bare_address(cidr, addr))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid prevResult",
				"ips[%zu].address '%.64s' is not an address", i,
				cidr ? cidr : "(missing)");
	for (size_t j = 0; j < net->n_ips; j++)
		if (!strcmp(net->ips[j], addr))
			return 0; /* redirectd refuses duplicates */
	if (net->n_ips == CNI_MAX_IPS)
		return cni_fail(e, -E2BIG, CNI_ERR_INVALID_CONFIG,
				"invalid prevResult",
				"more than %d addresses for the pod",
				CNI_MAX_IPS);
	strcpy(net->ips[net->n_ips++], addr);
	return 0;
}

/* The pod's addresses: those on its interface, or on no named one. */
static int collect_ips(struct json_object *ips, size_t n_ifs,
		       struct cni_pod_net *net, struct cni_err *e)
{
	size_t n = ips ? json_object_array_length(ips) : 0;
	int err;

	for (size_t i = 0; i < n; i++) {
		struct json_object *ip = json_object_array_get_idx(ips, i),
				   *idx;

		if (!json_object_is_type(ip, json_type_object))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"invalid prevResult",
					"ips[%zu] is not an object", i);
		if (json_object_object_get_ex(ip, "interface", &idx) && idx) {
			int64_t k = json_object_get_int64(idx);

			if (!json_object_is_type(idx, json_type_int) || k < 0 ||
			    (size_t)k >= n_ifs)
				return cni_fail(e, -EINVAL,
						CNI_ERR_INVALID_CONFIG,
						"invalid prevResult",
						"ips[%zu].interface is not an "
						"index into interfaces",
						i);
			if (k != net->pod_if)
				continue;
		}
		err = add_ip(net, i, str_member(ip, "address"), e);
		if (err)
			return err;
	}
	return 0;
}

int cni_result_parse(struct json_object *result, const char *netns,
		     const char *ifname, struct cni_pod_net *net,
		     struct cni_err *e)
{
	struct json_object *ifs = NULL, *ips = NULL;
	struct cni_err ignore;
	int err;

	memset(net, 0, sizeof(*net));
	net->pod_if = -1;
	if (!result || !json_object_is_type(result, json_type_object))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid prevResult", "not an object");
	if (member(result, "interfaces", json_type_array, &ifs, &ignore) ||
	    member(result, "ips", json_type_array, &ips, &ignore))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid prevResult",
				"\"interfaces\" and \"ips\" must be arrays");
	net->pod_if = find_pod_if(ifs, netns, ifname);
	find_host_veth(ifs, net);
	err = collect_ips(ips, ifs ? json_object_array_length(ifs) : 0, net, e);
	if (err)
		return err;
	if (!net->n_ips)
		return cni_fail(e, -ENOENT, CNI_ERR_INVALID_CONFIG,
				"invalid prevResult",
				"no address for the pod's interface %s",
				ifname ? ifname : "");
	return 0;
}

/* --- comparing address lists --- */

static int to_in6(const char *s, struct in6_addr *a)
{
	struct in_addr v4;

	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &v4) == 1) {
		a->s6_addr[10] = a->s6_addr[11] = 0xff;
		memcpy(&a->s6_addr[12], &v4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, s, a) == 1 ? 0 : -EINVAL;
}

/* Every address of a is in b (both lists are duplicate-free, small). */
static bool all_in(char *const *a, size_t na, char *const *b, size_t nb)
{
	for (size_t i = 0; i < na; i++) {
		struct in6_addr x, y;
		bool found = false;

		if (to_in6(a[i], &x))
			return false;
		for (size_t j = 0; j < nb && !found; j++)
			found = !to_in6(b[j], &y) && !memcmp(&x, &y, sizeof(x));
		if (!found)
			return false;
	}
	return true;
}

bool cni_ips_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	return na == nb && all_in(a, na, b, nb) && all_in(b, nb, a, na);
}

/* --- output --- */

static char *dump(struct json_object *obj)
{
	const char *s = json_object_to_json_string_ext(
		obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	return s ? strdup(s) : NULL;
}

/* Add every member of from to to, but skip; 0 or -ENOMEM. */
static int copy_members(struct json_object *to, struct json_object *from,
			const char *skip)
{
	struct json_object_iterator it = json_object_iter_begin(from);
	struct json_object_iterator end = json_object_iter_end(from);

	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *key = json_object_iter_peek_name(&it);
		struct json_object *val;

		if (!strcmp(key, skip))
			continue;
		val = json_object_get(json_object_iter_peek_value(&it));
		if (json_object_object_add(to, key, val)) {
			json_object_put(val); /* not taken on failure */
			return -ENOMEM;
		}
	}
	return 0;
}

/*
 * A chained plugin passes the previous result on, unchanged but for its
 * version, which is the config's (cniVersion first, as plugins print it).
 * Without one (only in pass-through) an empty result.
 */
char *cni_result_json(struct json_object *result, const char *version)
{
	struct json_object *out = json_object_new_object();
	char *s = NULL;

	if (!out || json_object_object_add(out, "cniVersion",
					   json_object_new_string(version)))
		goto out;
	if (result && copy_members(out, result, "cniVersion"))
		goto out;
	s = dump(out);
out:
	json_object_put(out);
	return s;
}

char *cni_error_json(const char *version, const struct cni_err *e)
{
	struct json_object *o = json_object_new_object();
	char *s;

	if (!o)
		return NULL;
	json_object_object_add(o, "cniVersion",
			       json_object_new_string(version));
	json_object_object_add(o, "code", json_object_new_int(e->code));
	json_object_object_add(o, "msg", json_object_new_string(e->msg));
	if (e->details[0])
		json_object_object_add(o, "details",
				       json_object_new_string(e->details));
	s = dump(o);
	json_object_put(o);
	return s;
}

char *cni_version_json(void)
{
	size_t n = sizeof(supported_versions) / sizeof(supported_versions[0]);
	struct json_object *o = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	char *s;

	if (!o || !arr) {
		json_object_put(o);
		json_object_put(arr);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		json_object_array_add(
			arr, json_object_new_string(supported_versions[i]));
	json_object_object_add(o, "cniVersion",
			       json_object_new_string(CNI_VERSION));
	json_object_object_add(o, "supportedVersions", arr);
	s = dump(o);
	json_object_put(o);
	return s;
}
