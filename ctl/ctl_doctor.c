// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include "ctl_doctor.h"
#include "ctl_output.h"

#define POD_ANNOTATIONS "io.kubernetes.cri.pod-annotations"

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int cni_file(const struct dirent *e)
{
	const char *dot = strrchr(e->d_name, '.');

	return e->d_name[0] != '.' && dot &&
	       (!strcmp(dot, ".conflist") || !strcmp(dot, ".conf") ||
		!strcmp(dot, ".json"));
}

/* As libcni: a regular file (a link to one too); a FIFO would block. */
static bool regular_file(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return !stat(path, &st) && S_ISREG(st.st_mode);
}

/* The file the runtime uses: the first by name, as libcni picks it. */
static bool first_cni_file(const char *dir, char *path, size_t len)
{
	struct dirent **names;
	int n = scandir(dir, &names, cni_file, by_name);
	bool found = false;

	if (n < 0)
		return false;
	for (int i = 0; i < n; i++) {
		if (!found && regular_file(dir, names[i]->d_name)) {
			snprintf(path, len, "%s/%s", dir, names[i]->d_name);
			found = true;
		}
		free(names[i]);
	}
	free(names);
	return found;
}

static const char *str_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) &&
			       json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) :
		       NULL;
}

static int hook_index(struct json_object *plugins)
{
	size_t n = json_object_array_length(plugins);

	for (size_t i = 0; i < n; i++) {
		const char *t =
			str_of(json_object_array_get_idx(plugins, i), "type");

		if (t && !strcmp(t, "redirect-cni"))
			return (int)i;
	}
	return -1;
}

static void check_hook_entry(struct findings *l, const char *path,
			     struct json_object *hook, const char *socket_path)
{
	struct json_object *caps, *ann;
	const char *mode = str_of(hook, "redirectMode");
	const char *sock = str_of(hook, "socketPath");

	if (!json_object_object_get_ex(hook, "capabilities", &caps) ||
	    !json_object_object_get_ex(caps, POD_ANNOTATIONS, &ann) ||
	    !json_object_is_type(ann, json_type_boolean) ||
	    !json_object_get_boolean(ann))
		findings_add(l, "warn", "cni", path,
			     "deploy/install-cni.sh writes it; or add "
			     "\"capabilities\": {\"" POD_ANNOTATIONS
			     "\": true}",
			     "redirect-cni does not declare " POD_ANNOTATIONS
			     ": pods' exclusion annotations are not passed");
	if (!mode || strcmp(mode, "ebpf"))
		findings_add(l, "warn", "cni", path,
			     "set redirectMode to ebpf (install values)",
			     "redirectMode is %s: pods are not enrolled",
			     mode ? mode : "not set");
	if (sock && strcmp(sock, socket_path))
		findings_add(l, "warn", "cni", path,
			     "make socketPath and redirectd's --socket agree",
			     "socketPath %s is not the socket asked here (%s)",
			     sock, socket_path);
}

static void check_conflist(struct findings *l, const char *path,
			   struct json_object *conf, const char *socket_path)
{
	struct json_object *plugins;
	int i;

	if (!json_object_object_get_ex(conf, "plugins", &plugins) ||
	    !json_object_is_type(plugins, json_type_array)) {
		findings_add(l, "fail", "cni", path,
			     "use a conflist with the primary plugin, then "
			     "redirect-cni",
			     "a single-plugin config: nothing is chained after "
			     "the primary plugin");
		return;
	}
	i = hook_index(plugins);
	if (i < 0) {
		findings_add(l, "fail", "cni", path,
			     "chain it: deploy/install-cni.sh",
			     "redirect-cni is not in the chain: new pods are "
			     "not enrolled");
		return;
	}
	if (i == 0) {
		findings_add(l, "fail", "cni", path,
			     "move redirect-cni after the primary plugin",
			     "redirect-cni comes first: it needs the primary "
			     "plugin's result (the pod's veth and addresses)");
		return;
	}
	findings_add(l, "ok", "cni", path, NULL,
		     "redirect-cni chained after %s",
		     str_of(json_object_array_get_idx(plugins, 0), "type") ?:
			     "the primary plugin");
	check_hook_entry(l, path, json_object_array_get_idx(plugins, i),
			 socket_path);
}

static void check_cni(struct findings *l, const char *dir,
		      const char *socket_path)
{
	char path[4096];
	struct json_object *conf;

	if (!first_cni_file(dir, path, sizeof(path))) {
		findings_add(l, "warn", "cni", dir,
			     "is the node's CNI installed? (--cni-conf-dir "
			     "names another folder)",
			     "no CNI config here");
		return;
	}
	conf = json_object_from_file(path);
	if (!conf) {
		findings_add(l, "fail", "cni", path, "fix the file's JSON",
			     "not JSON: the runtime cannot use it");
		return;
	}
	check_conflist(l, path, conf, socket_path);
	json_object_put(conf);
}

void doctor_local(struct findings *l, const char *cni_dir,
		  const char *socket_path)
{
	findings_mounts(l);
	check_cni(l, cni_dir, socket_path);
}

int doctor_exit_code(Finding *const *v, size_t n)
{
	int worst = findings_worst(v, n);

	return worst == 2 ? DOCTOR_EXIT_FAIL :
	       worst == 1 ? DOCTOR_EXIT_WARN :
			    0;
}

void doctor_print(Finding *const *v, size_t n, bool json)
{
	static const char *const names[] = { "ok", "warn", "fail" };
	int code = doctor_exit_code(v, n);

	if (json) {
		printf("{\"findings\":[");
		for (size_t i = 0; i < n; i++) {
			printf("%s{", i ? "," : "");
			json_kv_str("level", v[i]->level, false);
			json_kv_str("check", v[i]->check, true);
			json_kv_str("subject", v[i]->subject, true);
			json_kv_str("detail", v[i]->detail, true);
			json_kv_str("fix", v[i]->fix, true);
			printf("}");
		}
		printf("],\"worst\":\"%s\"}\n",
		       names[code == DOCTOR_EXIT_FAIL ? 2 :
			     code == DOCTOR_EXIT_WARN ? 1 :
							0]);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		printf("%-4s  %-13s %s: %s\n", v[i]->level, v[i]->check,
		       v[i]->subject, v[i]->detail);
		if (v[i]->fix[0])
			printf("      -> %s\n", v[i]->fix);
	}
}
