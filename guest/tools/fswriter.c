// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fswriter: a seeded file-system writer with a journal of what was made
 * durable, and a checker of what a directory holds, for power-cut tests.
 *
 * Copyright (c) 2026 tangolab developers
 *
 *   fswriter run DIR --seed S [--ops N]
 *   fswriter check DIR
 *
 * run creates DIR and then, N operations long (0, the default: until an
 * error), creates, appends to, renames and deletes files in it, chosen from
 * the seed. A file is named ID.GEN: ID never changes, GEN counts its
 * renames; its content is always the first SIZE bytes of the pattern of ID
 * (fswriter_pattern() below), so any prefix of it can be checked. After
 * about half of the operations (also chosen from the seed) the file is
 * fsync()ed, then DIR; once both returned, the operation is durable.
 *
 * The journal goes to stdout, one line per event, each starting "fsw: ":
 *
 *   fsw: start seed=S dir=DIR
 *   fsw: r OLD NEW       before rename(OLD, NEW)
 *   fsw: u NAME          before unlink(NAME)
 *   fsw: D NAME SIZE     NAME holds at least the first SIZE pattern bytes
 *                        of its ID durably (its file and DIR were synced)
 *   fsw: U NAME          the unlink of NAME is durable
 *   fsw: E OP NAME ERR   a system call failed: the writer stops (status 1)
 *   fsw: done ops=N      N operations done (status 0)
 *
 * "r" and "u" lines are sent (tcdrain() on a terminal) before the change
 * is made, so a reader of the journal who has not seen one knows the
 * change was not made. A reader who saw "D ID.G SIZE" expects after any
 * crash: a file of that ID under ID.G or under a name of a later "r"
 * line, holding at least SIZE pattern bytes; or no file, if a "u" line for
 * it came later.
 *
 * check reads every file of DIR and prints, then a summary:
 *
 *   fsw: F NAME SIZE GOOD [ERR]   GOOD: length of the prefix that is the
 *                                 pattern; ERR: the read error, if any
 *   fsw: X NAME                   a name that is not ID.GEN
 *   fsw: checked N
 *
 * Exit status: 0, 1 on an error (run: a failed system call; check: DIR
 * cannot be read), 2 on a usage error.
 */

#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#define MAX_FILES 24
#define MAX_FILE_SIZE (192 * 1024)
#define BUDGET (1536 * 1024)
#define CHUNK 16384

struct file {
	uint32_t id;
	uint32_t gen;
	uint64_t size;
};

static struct file files[MAX_FILES];
static unsigned int nfiles;
static uint64_t total;
static uint32_t rng;
static const char *dir;
static int dirfd_;
static unsigned char buf[CHUNK];

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static uint32_t below(uint32_t n)
{
	return next_rand() % n;
}

/* Byte OFF of the content of file ID: a 32-bit mix of (ID, OFF / 4). */
static uint8_t fswriter_pattern(uint32_t id, uint64_t off)
{
	uint32_t x = id * 0x9E3779B1u ^ (uint32_t)(off >> 2) * 0x85EBCA77u ^
		     (uint32_t)(off >> 34);

	x ^= x >> 16;
	x *= 0x7FEB352Du;
	x ^= x >> 15;
	x *= 0x846CA68Bu;
	x ^= x >> 16;
	return x >> (8 * (off & 3));
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("fsw: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/*
 * A line that must be out before the change it announces is made. The
 * writer may run in the background of the console's shell: SIGTTOU is
 * ignored (in main()) so that tcdrain() does not stop it.
 */
static void announce(char what, const char *a, const char *b)
{
	say("%c %s%s%s", what, a, b ? " " : "", b ? b : "");
	if (isatty(STDOUT_FILENO))
		tcdrain(STDOUT_FILENO);
}

static void fail(const char *op, const char *name)
{
	say("E %s %s %s", op, name, strerror(errno));
	exit(1);
}

static void file_name(const struct file *f, char *out, size_t len)
{
	snprintf(out, len, "%" PRIu32 ".%" PRIu32, f->id, f->gen);
}

static void append(struct file *f, uint64_t len, int flags)
{
	char name[32];
	int fd;

	file_name(f, name, sizeof(name));
	fd = openat(dirfd_, name, O_WRONLY | O_APPEND | flags, 0644);
	if (fd < 0)
		fail("open", name);
	while (len) {
		size_t n = len < CHUNK ? len : CHUNK;
		ssize_t done;
		size_t i;

		for (i = 0; i < n; i++)
			buf[i] = fswriter_pattern(f->id, f->size + i);
		done = write(fd, buf, n);
		if (done < 0)
			fail("write", name);
		f->size += done;
		total += done;
		len -= done;
	}
	if (close(fd))
		fail("close", name);
}

static void sync_file(struct file *f)
{
	char name[32];
	int fd;

	file_name(f, name, sizeof(name));
	fd = openat(dirfd_, name, O_RDONLY);
	if (fd < 0)
		fail("open", name);
	if (fsync(fd))
		fail("fsync", name);
	close(fd);
	if (fsync(dirfd_))
		fail("fsync", dir);
	say("D %s %" PRIu64, name, f->size);
}

static void remove_file(unsigned int i, int sync)
{
	char name[32];

	file_name(&files[i], name, sizeof(name));
	announce('u', name, NULL);
	if (unlinkat(dirfd_, name, 0))
		fail("unlink", name);
	total -= files[i].size;
	files[i] = files[--nfiles];
	if (sync) {
		if (fsync(dirfd_))
			fail("fsync", dir);
		say("U %s", name);
	}
}

static void rename_file(struct file *f)
{
	char old[32], new[32];

	file_name(f, old, sizeof(old));
	f->gen++;
	file_name(f, new, sizeof(new));
	announce('r', old, new);
	if (renameat(dirfd_, old, dirfd_, new))
		fail("rename", old);
}

static void one_op(uint32_t *next_id)
{
	uint32_t r = below(100);
	int sync = below(2);
	struct file *f;

	if (nfiles && (total >= BUDGET || nfiles == MAX_FILES) && r < 50)
		r = 90;	/* make room: delete */
	if (!nfiles || (r < 30 && nfiles < MAX_FILES && total < BUDGET)) {
		f = &files[nfiles++];
		f->id = (*next_id)++;
		f->gen = 0;
		f->size = 0;
		append(f, 1 + below(8192), O_CREAT | O_EXCL);
	} else if (r < 70) {
		f = &files[below(nfiles)];
		if (f->size < MAX_FILE_SIZE && total < BUDGET)
			append(f, 1 + below(CHUNK), 0);
	} else if (r < 85) {
		f = &files[below(nfiles)];
		rename_file(f);
	} else {
		remove_file(below(nfiles), sync);
		return;
	}
	if (sync)
		sync_file(f);
}

static int cmd_run(unsigned long seed, unsigned long ops)
{
	const char *slash = strrchr(dir, '/');
	char *parent = slash && slash != dir ? strndup(dir, slash - dir) :
			strdup(slash ? "/" : ".");
	uint32_t next_id = 1;
	unsigned long done;
	int pfd;

	rng = (uint32_t)seed ^ 0x9E3779B9u;
	if (!rng)
		rng = 0x9E3779B9u;
	say("start seed=%lu dir=%s", seed, dir);
	if (mkdir(dir, 0755) && errno != EEXIST)
		fail("mkdir", dir);
	pfd = open(parent, O_RDONLY | O_DIRECTORY);
	if (pfd < 0 || fsync(pfd))
		fail("fsync", parent);
	close(pfd);
	free(parent);
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY);
	if (dirfd_ < 0)
		fail("open", dir);
	for (done = 0; !ops || done < ops; done++)
		one_op(&next_id);
	say("done ops=%lu", done);
	return 0;
}

static void check_one(int dfd, const char *name)
{
	char *end;
	unsigned long id = strtoul(name, &end, 10);
	uint64_t size = 0, good = 0;
	int matching = 1;
	const char *err = NULL;
	int fd;

	if (end == name || *end != '.' || id > UINT32_MAX) {
		say("X %s", name);
		return;
	}
	fd = openat(dfd, name, O_RDONLY);
	if (fd < 0) {
		say("F %s 0 0 %s", name, strerror(errno));
		return;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		ssize_t i;

		if (n < 0) {
			err = strerror(errno);
			break;
		}
		if (!n)
			break;
		for (i = 0; i < n && matching; i++) {
			if (buf[i] != fswriter_pattern(id, size + i))
				matching = 0;
			else
				good++;
		}
		size += n;
	}
	close(fd);
	if (err)
		say("F %s %" PRIu64 " %" PRIu64 " %s", name, size, good, err);
	else
		say("F %s %" PRIu64 " %" PRIu64, name, size, good);
}

static int cmd_check(void)
{
	struct dirent *e;
	unsigned int n = 0;
	DIR *d = opendir(dir);

	if (!d) {
		say("E opendir %s %s", dir, strerror(errno));
		return 1;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		check_one(dirfd(d), e->d_name);
		n++;
	}
	closedir(d);
	say("checked %u", n);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: fswriter run DIR --seed S [--ops N]\n"
			"       fswriter check DIR\n");
	return 2;
}

static int number(const char *text, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(text, &end, 0);
	return !errno && end != text && !*end && *text != '-';
}

int main(int argc, char **argv)
{
	unsigned long seed = 0, ops = 0;
	int have_seed = 0;
	int i;

	if (argc < 3)
		return usage();
	dir = argv[2];
	if (!strcmp(argv[1], "check"))
		return argc == 3 ? cmd_check() : usage();
	if (strcmp(argv[1], "run"))
		return usage();
	for (i = 3; i < argc; i += 2) {
		if (i + 1 >= argc)
			return usage();
		if (!strcmp(argv[i], "--seed") && number(argv[i + 1], &seed))
			have_seed = 1;
		else if (strcmp(argv[i], "--ops") || !number(argv[i + 1], &ops))
			return usage();
	}
	if (!have_seed)
		return usage();
	signal(SIGTTOU, SIG_IGN);
	return cmd_run(seed, ops);
}
