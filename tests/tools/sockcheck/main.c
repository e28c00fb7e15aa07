// SPDX-License-Identifier: GPL-2.0
/*
 * sockcheck: a TCP client and server that check the socket semantics
 * sockmap acceleration must keep: content (SHA-256), half-close, reset,
 * poll/epoll wake-ups, FIONREAD, many connections at once. Used by
 * tests/e2e/test_sockmap.sh through the simulated node and ztunnel-sim.
 *
 *   sockcheck serve --port P [--ready FILE] [--log FILE]
 *   sockcheck CASE --to ADDR --port P [options]    one JSON line; exit 0 ok
 *   sockcheck keys PINNED_SOCKHASH                  the keys, one a line
 *
 * The client's first line tells the server what to do:
 *   sink REPLY DELAY [PAUSE]  read to EOF (PAUSE us after each read);
 *                      after DELAY ms send "<n> <sha256>\n" and REPLY
 *                      bytes of data(seed n + 1), then close
 *   source N SEED      send N bytes of data(SEED), then close
 *   echo               send back everything until EOF, then close
 *   fionread           "ready\n"; wait until readable, 100 ms more, then
 *                      FIONREAD, read that many, FIONREAD again; report
 *   late DELAY COUNT   COUNT times: wait DELAY ms, send 100 bytes
 *   wake DELAY         epoll_wait up to DELAY + 3000 ms for data; report
 *   reset              read one byte, then reset the connection
 *   rstwatch ID        read until an error or EOF; log what it was
 * The header is read one byte at a time so no payload is consumed with it.
 *
 * Reads wait with poll and then recv without blocking, as event-loop
 * programs do; --blocking makes them plain blocking reads instead.
 * Client cases: sink (--reply: data back after our FIN), source, echo
 * (--ready/--go: a second round once told), fionread, late (poll, epoll
 * and blocking-read wake-ups), wake (the server's epoll), reset, rstwatch
 * (we reset; the server logs what its read saw), many (--conns at once),
 * blockedfin (a thread blocked in recv while our FIN is acknowledged).
 *
 * This file: the usage, the options and which subcommand runs; sockcheck.h
 * says which file owns the rest.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sockcheck.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sockcheck serve --port P [--ready FILE] [--log FILE]\n"
		"       sockcheck CASE --to ADDR --port P [--bind-port P]\n"
		"                 [--bytes N] [--reply N] [--delay MS] [--count N]\n"
		"                 [--seed N] [--max-write N] [--conns N]\n"
		"                 [--max-bytes N] [--id ID] [--ready F --go F]\n"
		"                 [--timeout S] [--blocking] [--pause US]\n"
		"       sockcheck keys PINNED_SOCKHASH\n"
		"cases: sink source echo fionread late wake reset rstwatch many\n"
		"       blockedfin\n");
}

static int parse(int argc, char **argv, struct opts *o, const char **ready,
		 const char **logf)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "bind-port", required_argument, NULL, 'B' },
		{ "bytes", required_argument, NULL, 'n' },
		{ "reply", required_argument, NULL, 'R' },
		{ "delay", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 's' },
		{ "max-write", required_argument, NULL, 'w' },
		{ "conns", required_argument, NULL, 'C' },
		{ "max-bytes", required_argument, NULL, 'M' },
		{ "id", required_argument, NULL, 'i' },
		{ "ready", required_argument, NULL, 'r' },
		{ "go", required_argument, NULL, 'g' },
		{ "log", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "blocking", no_argument, NULL, 'b' },
		{ "pause", required_argument, NULL, 'P' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		unsigned long long v = optarg ? strtoull(optarg, NULL, 0) : 0;

		switch (c) {
		case 't':
			o->to = optarg;
			break;
		case 'p':
			o->port = (unsigned int)v;
			break;
		case 'B':
			o->bind_port = (unsigned int)v;
			break;
		case 'n':
			o->bytes = v;
			break;
		case 'R':
			o->reply = v;
			break;
		case 'd':
			o->delay = (unsigned int)v;
			break;
		case 'c':
			o->count = (unsigned int)v;
			break;
		case 's':
			o->seed = v;
			break;
		case 'w':
			o->max_write = (size_t)v;
			break;
		case 'C':
			o->conns = (unsigned int)v;
			break;
		case 'M':
			o->max_bytes = v;
			break;
		case 'i':
			o->id = optarg;
			break;
		case 'r':
			*ready = optarg;
			break;
		case 'g':
			o->go = optarg;
			break;
		case 'l':
			*logf = optarg;
			break;
		case 'T':
			o->timeout = (unsigned int)v;
			break;
		case 'b':
			blocking = true;
			break;
		case 'P':
			o->pause = (unsigned int)v;
			break;
		default:
			return -1;
		}
	}
	o->ready = *ready;
	io_timeout_ms = (int)o->timeout * 1000;
	return optind == argc ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct opts o = { .count = 3,
			  .delay = 300,
			  .seed = 1,
			  .timeout = 10,
			  .conns = 50,
			  .max_bytes = 200000,
			  .id = "-" };
	const char *ready = NULL;
	struct result r = { 0 };

	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "keys"))
		return argc == 3 ? dump_keys(argv[2]) : 2;
	if (parse(argc - 1, argv + 1, &o, &ready, &log_path) || !o.port) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "serve"))
		return serve(o.port, ready);
	if (!o.to) {
		usage(stderr);
		return 2;
	}
	run_case(argv[1], &o, &r);
	printf("{\"case\":\"%s\",\"ok\":%s,\"sent\":%" PRIu64
	       ",\"received\":%" PRIu64 ",\"detail\":\"%s\"}\n",
	       argv[1], r.ok ? "true" : "false", r.sent, r.received, r.detail);
	return r.ok ? 0 : 1;
}
