/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pure parts of redirect-cni: network config, CNI_ARGS, the previous
 * plugin's result, and the JSON the plugin prints. No I/O, so the unit
 * tests can feed them the exact shapes the reference plugins produce.
 */
#ifndef REDIRECT_CNI_H
#define REDIRECT_CNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <netinet/in.h>
#include <json-c/json.h>
#include "defaults.h"
#include "exclusions.h"

#define CNI_VERSION "1.0.0"
#define CNI_MAX_IPS 16 /* WIRE_MAX_IPS: what one PodAdd may carry */

/*
 * The capability under which containerd and CRI-O hand the pod's
 * annotations to a plugin that declares it, in runtimeConfig.
 */
#define CNI_CAP_POD_ANNOTATIONS "io.kubernetes.cri.pod-annotations"

/* The CNI spec's well-known error codes (SPEC.md, "Error"). */
enum cni_code {
	CNI_ERR_INCOMPATIBLE_VERSION = 1,
	CNI_ERR_UNSUPPORTED_FIELD = 2,
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_INVALID_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_INVALID_CONFIG = 7,
	CNI_ERR_TRY_AGAIN = 11,
	CNI_ERR_INTERNAL = 999,
};

/* What went wrong, as the runtime will be told. */
struct cni_err {
	int code;
	char msg[128];
	char details[512];
};

/* Fill e and return ret, so a caller can `return cni_fail(...)`. */
int cni_fail(struct cni_err *e, int ret, int code, const char *msg,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Our entry of the conflist. Strings point into root. */
struct cni_conf {
	struct json_object *root;
	const char *cni_version;
	const char *name;
	const char *mode; /* redirectMode as given, NULL when absent */
	bool ebpf; /* redirectMode == "ebpf": enrol pods */
	const char *socket_path;
	struct json_object *exclude; /* array of strings, or NULL */
	bool dns_capture;
	struct json_object *prev_result; /* NULL when absent */
	/* as given, NULL when absent; cni_pod_opts_parse checks it (on ADD) */
	struct json_object *runtime_config;
};

/*
 * Parse and check the network config from stdin. Returns 0, or -EINVAL /
 * -EBADMSG / -EPROTONOSUPPORT with e filled; conf needs cni_conf_free
 * either way.
 */
int cni_conf_parse(const char *json, size_t len, struct cni_conf *conf,
		   struct cni_err *e);
void cni_conf_free(struct cni_conf *conf);
bool cni_conf_excluded(const struct cni_conf *conf, const char *ns);
bool cni_version_supported(const char *version);

/* What a pod's annotations ask of its enrolment. */
struct cni_ports {
	size_t n;
	uint32_t port[EXCL_MAX_PER_POD]; /* 1-65535, distinct, as given */
};

struct cni_cidrs {
	size_t n;
	/* "addr/prefix", host bits cleared, distinct, as given */
	char cidr[EXCL_MAX_PER_POD][EXCL_CIDR_STRLEN];
};

struct cni_pod_opts {
	struct cni_cidrs out_cidrs;
	struct cni_ports out_ports;
	struct cni_ports in_ports;
	bool bypass_inbound;
	bool dns_capture; /* the config's dnsCapture unless annotated */
};

/*
 * The options of the pod from the annotations in the config's runtimeConfig
 * (Istio's names; docs in README.md, "Pod annotations"). Without them, the
 * config's defaults. Returns 0, or -EINVAL / -E2BIG with e naming the
 * annotation and the value refused.
 */
int cni_pod_opts_parse(const struct cni_conf *conf, struct cni_pod_opts *o,
		       struct cni_err *e);

/* The pod identity kubelet passes in CNI_ARGS. */
struct cni_args {
	char *pod_namespace;
	char *pod_name;
	char *pod_uid;
	bool ignore_unknown;
};

/* Parse "K=V;K=V". Returns 0 or -EINVAL (a pair without '='), -ENOMEM. */
int cni_args_parse(const char *s, struct cni_args *a);
void cni_args_free(struct cni_args *a);

/* What the previous plugin's result says about the pod. */
struct cni_pod_net {
	int pod_if; /* index in "interfaces", -1 if not found */
	int n_host_ifs; /* interfaces without a sandbox */
	char host_veth[IF_NAMESIZE]; /* "" when absent or ambiguous */
	size_t n_ips;
	char ips[CNI_MAX_IPS][INET6_ADDRSTRLEN]; /* bare, no prefix */
};

int cni_result_parse(struct json_object *result, const char *netns,
		     const char *ifname, struct cni_pod_net *net,
		     struct cni_err *e);

/* Same addresses, in any order and spelling ("fd00::1" == "fd00:0::1"). */
bool cni_ips_equal(char *const *a, size_t na, char *const *b, size_t nb);

/* JSON for stdout; malloc'd, NULL when out of memory. */
char *cni_result_json(struct json_object *result, const char *version);
char *cni_error_json(const char *version, const struct cni_err *e);
char *cni_version_json(void);

#endif
