// SPDX-License-Identifier: GPL-2.0
/* What redirectctl prints, as text or JSON: ctl_output.h. */
#include <stdio.h>
#include <string.h>
#include "ctl_output.h"

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void json_strs(char **v, size_t n)
{
	putchar('[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			putchar(',');
		json_str(v[i]);
	}
	putchar(']');
}

static void json_uints(const uint32_t *v, size_t n)
{
	putchar('[');
	for (size_t i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", v[i]);
	putchar(']');
}

void json_kv_str(const char *k, const char *v, bool comma)
{
	printf("%s\"%s\":", comma ? "," : "", k);
	json_str(v);
}

static void print_node_addrs(const StatusReply *s)
{
	size_t shown = s->n_node_addresses < 6 ? s->n_node_addresses : 6;

	printf("node addrs:  ");
	for (size_t i = 0; i < shown; i++)
		printf("%s%s", i ? ", " : "", s->node_addresses[i]);
	if (shown < s->n_node_addresses)
		printf(", ... (%zu in all)", s->n_node_addresses);
	printf("%s(%s)\n", shown ? " " : "",
	       s->node_addresses_inline ? "scanned inline" :
					  "hash lookup: more than 32");
}

void print_status(const StatusReply *s, bool json)
{
	if (json) {
		printf("{\"version\":\"%s\",\"api_version\":%u,\"pods\":%u,"
		       "\"pod_addresses\":%u,\"pod_capacity\":%u,"
		       "\"ztunnel_present\":%s",
		       s->version, s->api_version, s->pods, s->pod_addresses,
		       s->pod_capacity, s->ztunnel_present ? "true" : "false");
		json_kv_str("ztunnel_uid", s->ztunnel_uid, true);
		printf(",\"ztunnel_capture_udp\":%s",
		       s->ztunnel_capture_udp ? "true" : "false");
		json_kv_str("ztunnel_attach", s->ztunnel_attach, true);
		printf(",\"ztunnel_foreign_first\":%s",
		       s->ztunnel_foreign_first ? "true" : "false");
		json_kv_str("bpffs", s->bpffs, true);
		printf(",\"tc_priority\":%u,\"tc_handle\":%u,\"fail_open\":%s,"
		       "\"requests\":%llu,\"request_errors\":%llu,"
		       "\"clients\":%u",
		       s->tc_priority, s->tc_handle,
		       s->fail_open ? "true" : "false",
		       (unsigned long long)s->requests,
		       (unsigned long long)s->request_errors, s->clients);
		json_kv_str("log_level", s->log_level, true);
		printf(",\"sockmap_active\":%s",
		       s->sockmap_active ? "true" : "false");
		json_kv_str("sockmap_reason", s->sockmap_reason, true);
		json_kv_str("sockmap_cgroup", s->sockmap_cgroup, true);
		printf(",\"sockmap_pods\":%s",
		       s->sockmap_pods ? "true" : "false");
		json_kv_str("sockmap_pods_reason", s->sockmap_pods_reason,
			    true);
		json_kv_str("features", s->features, true);
		printf(",\"node_addresses\":");
		json_strs(s->node_addresses, s->n_node_addresses);
		printf(",\"node_addresses_inline\":%s",
		       s->node_addresses_inline ? "true" : "false");
		printf(",\"journal_write_errors\":%llu,\"journal_damaged\":%llu",
		       (unsigned long long)s->journal_write_errors,
		       (unsigned long long)s->journal_damaged);
		printf(",\"order_checks\":%llu,\"order_violations\":%llu,"
		       "\"order_restored\":%llu",
		       (unsigned long long)s->order_checks,
		       (unsigned long long)s->order_violations,
		       (unsigned long long)s->order_restored);
		json_kv_str("attach_mode", s->attach_mode, true);
		json_kv_str("guard", s->guard, true);
		printf(",\"pods_uncovered\":%u", s->pods_uncovered);
		printf(",\"kernel_errors\":%llu",
		       (unsigned long long)s->kernel_errors);
		json_kv_str("journal_error", s->journal_error, true);
		printf("}\n");
		return;
	}
	printf("redirectd %s (API %u)\n", s->version, s->api_version);
	printf("pods:        %u (%u addresses, capacity %u)\n", s->pods,
	       s->pod_addresses, s->pod_capacity);
	printf("ztunnel:     %s%s%s%s%s%s%s\n",
	       s->ztunnel_present ? "present" : "ABSENT (meshed pods ",
	       s->ztunnel_present ? ", uid " :
				    (s->fail_open ? "pass)" : "fail closed)"),
	       s->ztunnel_present ? s->ztunnel_uid : "",
	       !s->ztunnel_present    ? "" :
	       s->ztunnel_capture_udp ? ", captures all UDP" :
					", UDP: DNS only",
	       s->ztunnel_present ? ", hooks " : "", s->ztunnel_attach,
	       s->ztunnel_foreign_first ?
		       "; ANOTHER OWNER'S PROGRAM RUNS BEFORE THEM (meshed "
		       "traffic may be lost; see the log)" :
		       "");
	printf("bpffs:       %s\n", s->bpffs);
	printf("tc:          pref %u handle 0x%x\n", s->tc_priority,
	       s->tc_handle);
	printf("requests:    %llu (%llu errors), %u clients\n",
	       (unsigned long long)s->requests,
	       (unsigned long long)s->request_errors, s->clients);
	printf("log level:   %s\n", s->log_level);
	printf("attach:      %s; order watch: %llu checks, %llu foreign "
	       "programs found before ours, %llu times ours put back first\n",
	       s->attach_mode, (unsigned long long)s->order_checks,
	       (unsigned long long)s->order_violations,
	       (unsigned long long)s->order_restored);
	printf("guard:       %s\n", s->guard);
	if (s->pods_uncovered)
		printf("coverage:    %u pods hold addresses they were not "
		       "enrolled with (redirectctl pods says which)\n",
		       s->pods_uncovered);
	if (s->kernel_errors)
		printf("kernel:      %llu operations failed that nothing could "
		       "refuse (see the log)\n",
		       (unsigned long long)s->kernel_errors);
	if (s->journal_error[0])
		printf("journal:     LAGGING (%s): state is in memory; the file "
		       "is rewritten once writes work; %llu writes failed\n",
		       s->journal_error,
		       (unsigned long long)s->journal_write_errors);
	else
		printf("journal:     whole (%llu writes failed so far, %llu "
		       "damaged stretches skipped at start)\n",
		       (unsigned long long)s->journal_write_errors,
		       (unsigned long long)s->journal_damaged);
	print_node_addrs(s);
	if (s->features[0])
		printf("features:    %s\n", s->features);
	if (!s->sockmap_active)
		printf("sockmap:     off (%s)\n", s->sockmap_reason);
	else if (s->sockmap_pods)
		printf("sockmap:     on, cgroup %s, pods and ztunnel%s%s\n",
		       s->sockmap_cgroup, s->sockmap_pods_reason[0] ? "; " : "",
		       s->sockmap_pods_reason);
	else
		printf("sockmap:     on, cgroup %s, ztunnel's own loop only "
		       "(pods: %s)\n",
		       s->sockmap_cgroup, s->sockmap_pods_reason);
}

static void print_pod_json(const PodInfo *p, bool comma)
{
	printf("%s{", comma ? "," : "");
	json_kv_str("uid", p->uid, false);
	json_kv_str("name", p->name, true);
	json_kv_str("namespace", p->namespace_, true);
	printf(",\"ips\":");
	json_strs(p->ips, p->n_ips);
	json_kv_str("host_veth", p->host_veth, true);
	printf(",\"host_ifindex\":%u", p->host_ifindex);
	json_kv_str("mac", p->mac, true);
	json_kv_str("netns", p->netns_path, true);
	json_kv_str("interface", p->interface, true);
	printf(",\"dns_capture\":%s,\"qdisc_created\":%s",
	       p->dns_capture ? "true" : "false",
	       p->qdisc_created ? "true" : "false");
	json_kv_str("attach", p->attach, true);
	json_kv_str("uncovered", p->uncovered, true);
	printf(",\"guard\":%s", p->guard ? "true" : "false");
	printf(",\"exclude_outbound_cidrs\":");
	json_strs(p->exclude_outbound_cidrs, p->n_exclude_outbound_cidrs);
	printf(",\"exclude_outbound_ports\":");
	json_uints(p->exclude_outbound_ports, p->n_exclude_outbound_ports);
	printf(",\"exclude_inbound_ports\":");
	json_uints(p->exclude_inbound_ports, p->n_exclude_inbound_ports);
	printf(",\"bypass_inbound\":%s}", p->bypass_inbound ? "true" : "false");
}

static void print_zt_json(const ZtunnelInfo *z, bool comma)
{
	printf("%s{", comma ? "," : "");
	json_kv_str("uid", z->uid, false);
	printf(",\"ips\":");
	json_strs(z->ips, z->n_ips);
	json_kv_str("host_veth", z->host_veth, true);
	printf(",\"host_ifindex\":%u", z->host_ifindex);
	json_kv_str("mac", z->mac, true);
	json_kv_str("netns", z->netns_path, true);
	json_kv_str("interface", z->interface, true);
	printf(",\"current\":%s,\"capture_udp\":%s",
	       z->current ? "true" : "false",
	       z->capture_udp ? "true" : "false");
	json_kv_str("attach", z->attach, true);
	printf("}");
}

void print_pods_head(bool json)
{
	if (json)
		printf("{\"pods\":[");
	else
		printf("%-36s %-30s %-15s %s\n", "UID", "NAMESPACE/NAME",
		       "HOST VETH", "IPS");
}

static void print_ports(const char *label, const uint32_t *v, size_t n)
{
	if (!n)
		return;
	printf("%-36s %s", "", label);
	for (size_t i = 0; i < n; i++)
		printf("%s%u", i ? "," : " ", v[i]);
	printf("\n");
}

/* One line per kind of exclusion the pod has. */
static void print_pod_exclusions(const PodInfo *p)
{
	if (p->n_exclude_outbound_cidrs) {
		printf("%-36s excluded outbound to", "");
		for (size_t i = 0; i < p->n_exclude_outbound_cidrs; i++)
			printf("%s%s", i ? "," : " ",
			       p->exclude_outbound_cidrs[i]);
		printf("\n");
	}
	print_ports("excluded outbound ports", p->exclude_outbound_ports,
		    p->n_exclude_outbound_ports);
	print_ports("excluded inbound ports", p->exclude_inbound_ports,
		    p->n_exclude_inbound_ports);
	if (p->bypass_inbound)
		printf("%-36s inbound not captured (bypass)\n", "");
}

static void print_pod_text(const PodInfo *p)
{
	char nsname[64];

	snprintf(nsname, sizeof(nsname), "%s/%s", p->namespace_, p->name);
	printf("%-36s %-30s %-15s", p->uid, nsname, p->host_veth);
	for (size_t j = 0; j < p->n_ips; j++)
		printf("%s%s", j ? "," : " ", p->ips[j]);
	printf("%s%s%s\n", p->dns_capture ? " (dns capture)" : "",
	       !strcmp(p->attach, "tcx") ? " (tcx)" : "",
	       p->guard ? "" : " (no guard)");
	if (p->uncovered[0])
		printf("%-36s not covered: %s\n", "", p->uncovered);
	print_pod_exclusions(p);
}

/* One page's pods; *n: pods printed so far (for the JSON commas). */
void print_pod_page(const PodList *pl, bool json, size_t *n)
{
	for (size_t i = 0; i < pl->n_pods; i++, (*n)++) {
		if (json)
			print_pod_json(pl->pods[i], *n > 0);
		else
			print_pod_text(pl->pods[i]);
	}
}

void print_ztunnels(const PodList *pl, bool json)
{
	if (json) {
		printf("],\"ztunnels\":[");
		for (size_t i = 0; i < pl->n_ztunnels; i++)
			print_zt_json(pl->ztunnels[i], i > 0);
		printf("]}\n");
		return;
	}
	for (size_t i = 0; i < pl->n_ztunnels; i++) {
		const ZtunnelInfo *z = pl->ztunnels[i];

		printf("ztunnel %s on %s (host %s)%s%s%s\n", z->uid,
		       z->interface, z->host_veth,
		       z->current ? " current" : " replaced",
		       z->capture_udp ? ", all UDP captured" : "",
		       !strcmp(z->attach, "tcx") ? " (tcx)" : "");
	}
}

void print_stats(const StatsReply *s, bool json)
{
	if (json)
		printf("{\"counters\":[");
	else
		printf("%-16s %-28s %14s %16s\n", "PROGRAM", "DECISION",
		       "PACKETS", "BYTES");
	for (size_t i = 0; i < s->n_counters; i++) {
		const Counter *c = s->counters[i];

		if (json) {
			printf("%s{", i ? "," : "");
			json_kv_str("program", c->program, false);
			json_kv_str("decision", c->decision, true);
			printf(",\"packets\":%llu,\"bytes\":%llu}",
			       (unsigned long long)c->packets,
			       (unsigned long long)c->bytes);
		} else {
			printf("%-16s %-28s %14llu %16llu\n", c->program,
			       c->decision, (unsigned long long)c->packets,
			       (unsigned long long)c->bytes);
		}
	}
	if (json)
		printf("]}\n");
}

static void print_step_json(const ExplainStep *st)
{
	printf("{");
	json_kv_str("program", st->program, false);
	json_kv_str("decision", st->decision, true);
	json_kv_str("verdict", st->verdict, true);
	json_kv_str("why", st->why, true);
	printf("}");
}

static void print_step_text(const char *lead, const ExplainStep *st)
{
	printf("%s%-16s %-26s %-9s %s\n", lead, st->program, st->decision,
	       st->verdict, st->why);
}

void print_explain(const ExplainReply *x, bool json)
{
	if (json) {
		printf("{");
		json_kv_str("flow", x->flow, false);
		printf(",\"direction\":\"%s\",\"steps\":[",
		       x->inbound ? "in" : "out");
		for (size_t i = 0; i < x->n_steps; i++) {
			printf("%s", i ? "," : "");
			print_step_json(x->steps[i]);
		}
		printf("]");
		json_kv_str("outcome", x->outcome, true);
		printf(",\"around_app_inbound\":");
		if (x->around_app_inbound)
			print_step_json(x->around_app_inbound);
		else
			printf("null");
		printf("}\n");
		return;
	}
	printf("flow:    %s (%s the pod)\n", x->flow,
	       x->inbound ? "into" : "out of");
	for (size_t i = 0; i < x->n_steps; i++)
		print_step_text(i ? "      -> " : "         ", x->steps[i]);
	printf("outcome: %s\n", x->outcome);
	if (x->around_app_inbound)
		print_step_text("delivered around app_inbound (a CNI's "
				"redirect into the pod):\n         ",
				x->around_app_inbound);
}
