// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for redirect-cni's pure parsing (cni-hook/cni.c).
 *
 * Input: "CNI_ARGS\nCNI_IFNAME\nnetwork config JSON" (a missing part is
 * absent, as an unset variable is). Properties checked besides the
 * sanitizers': every JSON we print parses back; the result we pass on
 * carries the config's cniVersion; the pod's addresses are at most
 * CNI_MAX_IPS, distinct, and equal to themselves in any order; the pod
 * options from the annotations hold at most EXCL_MAX_PER_POD distinct
 * entries a list, ports 1-65535, CIDRs "addr/prefix".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                      \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "fuzz_cni: %s:%d: %s\n", __FILE__, \
				__LINE__, #cond);                          \
			abort();                                           \
		}                                                          \
	} while (0)

/* Printed JSON must parse back to an object; returns it (caller puts). */
static struct json_object *reparse(char *s)
{
	struct json_object *o;

	REQUIRE(s != NULL);
	o = json_tokener_parse(s);
	REQUIRE(o != NULL && json_object_is_type(o, json_type_object));
	free(s);
	return o;
}

static void check_ips(const struct cni_pod_net *net)
{
	char *fwd[CNI_MAX_IPS], *rev[CNI_MAX_IPS];
	size_t n = net->n_ips;

	REQUIRE(n >= 1 && n <= CNI_MAX_IPS);
	REQUIRE(strlen(net->host_veth) < IF_NAMESIZE);
	for (size_t i = 0; i < n; i++) {
		fwd[i] = (char *)net->ips[i];
		rev[n - 1 - i] = (char *)net->ips[i];
		for (size_t j = 0; j < i; j++)
			REQUIRE(strcmp(net->ips[i], net->ips[j]));
	}
	REQUIRE(cni_ips_equal(fwd, n, rev, n));
	if (n > 1)
		REQUIRE(!cni_ips_equal(fwd, n, rev, n - 1));
}

static void check_ports(const struct cni_ports *p)
{
	REQUIRE(p->n <= EXCL_MAX_PER_POD);
	for (size_t i = 0; i < p->n; i++) {
		REQUIRE(p->port[i] >= 1 && p->port[i] <= 65535);
		for (size_t j = 0; j < i; j++)
			REQUIRE(p->port[i] != p->port[j]);
	}
}

static void check_opts(const struct cni_conf *c)
{
	const struct cni_cidrs *l;
	struct cni_pod_opts o;
	struct cni_err e;

	if (cni_pod_opts_parse(c, &o, &e)) {
		json_object_put(reparse(cni_error_json(c->cni_version, &e)));
		return;
	}
	l = &o.out_cidrs;
	REQUIRE(l->n <= EXCL_MAX_PER_POD);
	for (size_t i = 0; i < l->n; i++) {
		REQUIRE(strlen(l->cidr[i]) < EXCL_CIDR_STRLEN);
		REQUIRE(strchr(l->cidr[i], '/'));
		for (size_t j = 0; j < i; j++)
			REQUIRE(strcmp(l->cidr[i], l->cidr[j]));
	}
	check_ports(&o.out_ports);
	check_ports(&o.in_ports);
}

static void config(const char *json, size_t len, const char *ifname,
		   const struct cni_args *args)
{
	struct cni_pod_net net;
	struct json_object *o, *v;
	struct cni_conf c;
	struct cni_err e;

	if (cni_conf_parse(json, len, &c, &e)) {
		o = reparse(cni_error_json(CNI_VERSION, &e));
		json_object_put(o);
		cni_conf_free(&c);
		return;
	}
	cni_conf_excluded(&c, args->pod_namespace);
	check_opts(&c);
	if (c.prev_result) {
		if (cni_result_parse(c.prev_result, "/var/run/netns/fuzz",
				     ifname, &net, &e) == 0)
			check_ips(&net);
		else
			json_object_put(
				reparse(cni_error_json(c.cni_version, &e)));
	}
	o = reparse(cni_result_json(c.prev_result, c.cni_version));
	REQUIRE(json_object_object_get_ex(o, "cniVersion", &v));
	REQUIRE(!strcmp(json_object_get_string(v), c.cni_version));
	json_object_put(o);
	cni_conf_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *ifname = NULL, *conf = NULL, *end;
	struct cni_args args = { 0 };

	REQUIRE(copy);
	memcpy(copy, data, size);
	copy[size] = '\0';
	end = memchr(copy, '\n', size);
	if (end) {
		*end = '\0';
		ifname = end + 1;
		end = memchr(ifname, '\n', size - (size_t)(ifname - copy));
		if (end) {
			*end = '\0';
			conf = end + 1;
		}
	}
	if (ifname && !*ifname)
		ifname = NULL;
	cni_args_parse(copy, &args); /* left empty when refused */
	if (conf)
		config(conf, size - (size_t)(conf - copy), ifname, &args);
	cni_args_free(&args);
	free(copy);
	return 0;
}
