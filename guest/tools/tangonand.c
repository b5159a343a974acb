// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tangonand: write, read back and verify NAND pages through the MTD
 * character device with the seeded pattern of tangolab.nand.pattern.
 *
 * Copyright (c) 2026 tangolab developers
 *
 *   tangonand write  --dev /dev/mtd0 --seed S --start-page A --pages N
 *   tangonand verify --dev /dev/mtd0 --seed S --start-page A --pages N
 *   tangonand read   --dev /dev/mtd0 --start-page A --pages N
 *   tangonand pattern --seed S --page P [--len N]
 *
 * Options: --skip-bad (pages of bad blocks are skipped, not errors),
 * --quiet (print only pages that are not ok, and the summary).
 *
 * write erases every block the page range touches (MEMERASE; other pages
 * of those blocks are erased too), then writes each page with pwrite().
 * verify reads each page with pread() and compares it with the pattern;
 * read only reads. ECC statistics (ECCGETSTATS) are taken around each
 * read: the MTD character device returns data with uncorrectable ECC
 * errors without an error, so "failed" comes from there.
 *
 * Output, one line per page, then a summary (machine-parsable):
 *
 *   page N ok us=T [corrected=C failed=F] [fnv=H]
 *   page N mismatch bytes=K first=OFF us=T corrected=C failed=F
 *   page N eio|etimedout|ebadmsg|short|bad|... us=T [erase]
 *   page N skipped bad-block
 *   summary: pages=N ok=N mismatch=N errors=N us=N skipped=N corrected=N failed=N
 *
 * "pages" counts the pages operated on (not the skipped ones); ok +
 * mismatch + errors = pages; "us" is the elapsed time of the whole
 * operation (CLOCK_MONOTONIC). A write or read error (EIO, ETIMEDOUT from
 * the driver) is reported for its page and the tool goes on. "read"
 * reports a page whose ECC failed as ebadmsg. Exit status: 0 if every page
 * is ok, 1 otherwise, 2 for usage errors or a device that cannot be used.
 *
 * The pattern (tangolab.nand.pattern): state = seed ^ (page * 0x9E3779B9),
 * 0 becomes 0x9E3779B9; per 32-bit word xorshift32 (13, 17, 5) first, then
 * the word is emitted little-endian.
 */

#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <mtd/mtd-user.h>

#define GOLDEN 0x9E3779B9u
#define EXIT_PROBLEM 1
#define EXIT_USAGE 2

enum mode { MODE_NONE, MODE_WRITE, MODE_READ, MODE_VERIFY, MODE_PATTERN };

struct options {
	enum mode mode;
	const char *dev;
	uint32_t seed;
	int have_seed;
	uint64_t start_page;
	int have_start;
	uint64_t pages;
	int have_pages;
	uint64_t page;		/* pattern */
	int have_page;
	uint64_t len;		/* pattern */
	int skip_bad;
	int quiet;
};

struct counts {
	uint64_t pages, ok, mismatch, errors, skipped;
	uint64_t corrected, failed;
};

static void pattern_fill(uint8_t *buf, size_t len, uint32_t seed, uint64_t page)
{
	uint32_t x = seed ^ (uint32_t)((uint32_t)page * GOLDEN);
	size_t i;

	if (!x)
		x = GOLDEN;
	for (i = 0; i < len; i++) {
		if (i % 4 == 0) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
		}
		buf[i] = (uint8_t)(x >> (8 * (i % 4)));
	}
}

static uint32_t fnv1a(const uint8_t *buf, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= buf[i];
		h *= 16777619u;
	}
	return h;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Lower-case errno name for the page lines; "errno-N" if not in the list */
static const char *err_name(int err, char *buf, size_t size)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {
		{ EIO, "eio" }, { ETIMEDOUT, "etimedout" }, { EBADMSG, "ebadmsg" },
		{ EUCLEAN, "euclean" }, { EINVAL, "einval" }, { EROFS, "erofs" },
		{ EPERM, "eperm" }, { EACCES, "eacces" }, { EBUSY, "ebusy" },
		{ ENOMEM, "enomem" }, { EFAULT, "efault" }, { ENOSPC, "enospc" },
		{ EAGAIN, "eagain" }, { EINTR, "eintr" }, { ENODEV, "enodev" },
		{ ENXIO, "enxio" }, { EOPNOTSUPP, "eopnotsupp" },
		{ ENOTTY, "enotty" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].err == err)
			return names[i].name;
	snprintf(buf, size, "errno-%d", err);
	return buf;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tangonand write|verify --dev DEV --seed S --start-page A --pages N\n"
		"                 [--skip-bad] [--quiet]\n"
		"       tangonand read --dev DEV --start-page A --pages N [--skip-bad] [--quiet]\n"
		"       tangonand pattern --seed S --page P [--len N]\n"
		"Numbers are decimal or 0x hexadecimal. Exit status: 0 all pages ok,\n"
		"1 some page failed or mismatched, 2 usage or device error.\n");
}

static int parse_u64(const char *opt, const char *text, uint64_t max,
		     uint64_t *value)
{
	char *end;
	unsigned long long v;

	if (!text[0] || text[0] == '-' || text[0] == '+' || text[0] == ' ') {
		fprintf(stderr, "tangonand: %s: not a non-negative number: '%s'\n",
			opt, text);
		return -1;
	}
	errno = 0;
	v = strtoull(text, &end, 0);
	if (errno || *end) {
		fprintf(stderr, "tangonand: %s: not a number: '%s'\n", opt, text);
		return -1;
	}
	if (v > max) {
		fprintf(stderr, "tangonand: %s: %s is larger than %" PRIu64 "\n",
			opt, text, max);
		return -1;
	}
	*value = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "start-page", required_argument, NULL, 'a' },
		{ "pages", required_argument, NULL, 'n' },
		{ "page", required_argument, NULL, 'p' },
		{ "len", required_argument, NULL, 'l' },
		{ "skip-bad", no_argument, NULL, 'b' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd;
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->len = 16;
	if (argc < 2) {
		usage(stderr);
		return -1;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "write")) {
		o->mode = MODE_WRITE;
	} else if (!strcmp(cmd, "read")) {
		o->mode = MODE_READ;
	} else if (!strcmp(cmd, "verify")) {
		o->mode = MODE_VERIFY;
	} else if (!strcmp(cmd, "pattern")) {
		o->mode = MODE_PATTERN;
	} else if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		exit(0);
	} else {
		fprintf(stderr, "tangonand: unknown command '%s'\n", cmd);
		usage(stderr);
		return -1;
	}
	optind = 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->dev = optarg;
			break;
		case 's':
			if (parse_u64("--seed", optarg, UINT32_MAX, &v))
				return -1;
			o->seed = (uint32_t)v;
			o->have_seed = 1;
			break;
		case 'a':
			if (parse_u64("--start-page", optarg, UINT32_MAX, &o->start_page))
				return -1;
			o->have_start = 1;
			break;
		case 'n':
			if (parse_u64("--pages", optarg, UINT32_MAX, &o->pages))
				return -1;
			o->have_pages = 1;
			break;
		case 'p':
			if (parse_u64("--page", optarg, UINT32_MAX, &o->page))
				return -1;
			o->have_page = 1;
			break;
		case 'l':
			if (parse_u64("--len", optarg, 1u << 20, &o->len))
				return -1;
			break;
		case 'b':
			o->skip_bad = 1;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "tangonand: bad option '%s'\n",
				argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tangonand: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->mode == MODE_PATTERN) {
		if (!o->have_seed || !o->have_page) {
			fprintf(stderr, "tangonand: pattern needs --seed and --page\n");
			return -1;
		}
		return 0;
	}
	if (!o->dev || !o->have_start || !o->have_pages ||
	    (o->mode != MODE_READ && !o->have_seed)) {
		fprintf(stderr, "tangonand: %s needs --dev, %s--start-page and --pages\n",
			cmd, o->mode == MODE_READ ? "" : "--seed, ");
		return -1;
	}
	if (!o->pages) {
		fprintf(stderr, "tangonand: --pages must be at least 1\n");
		return -1;
	}
	return 0;
}

static int do_pattern(const struct options *o)
{
	uint8_t *buf = malloc(o->len ? o->len : 1);
	uint64_t i;

	if (!buf) {
		fprintf(stderr, "tangonand: out of memory\n");
		return EXIT_USAGE;
	}
	pattern_fill(buf, o->len, o->seed, o->page);
	for (i = 0; i < o->len; i++)
		printf("%02x", buf[i]);
	printf("\n");
	free(buf);
	return 0;
}

struct dev {
	int fd;
	struct mtd_info_user info;
	uint64_t pages_per_block;
	uint64_t total_pages;
};

/* 1 bad, 0 good (or no bad-block support), -errno on failure */
static int block_is_bad(const struct dev *d, uint64_t block)
{
	loff_t offs = (loff_t)(block * d->info.erasesize);
	int ret = ioctl(d->fd, MEMGETBADBLOCK, &offs);

	if (ret < 0)
		return errno == EOPNOTSUPP ? 0 : -errno;
	return ret > 0;
}

static int ecc_stats(const struct dev *d, struct mtd_ecc_stats *st)
{
	if (ioctl(d->fd, ECCGETSTATS, st) < 0) {
		memset(st, 0, sizeof(*st));
		return -errno;
	}
	return 0;
}

static void page_line(const struct options *o, int ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void page_line(const struct options *o, int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok && o->quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/* Error status of a page (errno-based or a short transfer) */
static void page_error(const struct options *o, struct counts *n, uint64_t page,
		       ssize_t ret, int err, size_t size, uint64_t us,
		       const char *what)
{
	char buf[32];
	const char *name = ret < 0 ? err_name(err, buf, sizeof(buf)) : "short";

	n->errors++;
	if (ret >= 0)
		page_line(o, 0, "page %" PRIu64 " short %s=%zd/%zu us=%" PRIu64 "\n",
			  page, what, ret, size, us);
	else
		page_line(o, 0, "page %" PRIu64 " %s us=%" PRIu64 "%s%s\n",
			  page, name, us, *what ? " " : "", what);
}

static void write_pages(const struct options *o, const struct dev *d,
			uint8_t *buf, struct counts *n, uint64_t first,
			uint64_t end, int erase_err)
{
	size_t size = d->info.writesize;
	uint64_t page;

	for (page = first; page < end; page++) {
		uint64_t t0 = now_us();
		ssize_t ret;
		int err;

		n->pages++;
		if (erase_err) {
			page_error(o, n, page, -1, erase_err, size, 0, "erase");
			continue;
		}
		pattern_fill(buf, size, o->seed, page);
		ret = pwrite(d->fd, buf, size, (off_t)(page * size));
		err = errno;
		if (ret != (ssize_t)size) {
			page_error(o, n, page, ret, err, size, now_us() - t0, "write");
			continue;
		}
		n->ok++;
		page_line(o, 1, "page %" PRIu64 " ok us=%" PRIu64 "\n", page,
			  now_us() - t0);
	}
}

static void read_pages(const struct options *o, const struct dev *d,
		       uint8_t *buf, uint8_t *expect, struct counts *n,
		       uint64_t first, uint64_t end)
{
	size_t size = d->info.writesize;
	uint64_t page;

	for (page = first; page < end; page++) {
		struct mtd_ecc_stats before, after;
		uint64_t t0 = now_us(), us;
		uint32_t corrected, failed;
		ssize_t ret;
		int err;

		n->pages++;
		ecc_stats(d, &before);
		ret = pread(d->fd, buf, size, (off_t)(page * size));
		err = errno;
		us = now_us() - t0;
		ecc_stats(d, &after);
		corrected = after.corrected - before.corrected;
		failed = after.failed - before.failed;
		n->corrected += corrected;
		n->failed += failed;
		if (ret != (ssize_t)size) {
			page_error(o, n, page, ret, err, size, us, "read");
			continue;
		}
		if (o->mode == MODE_READ) {
			if (failed) {
				n->errors++;
				page_line(o, 0, "page %" PRIu64 " ebadmsg us=%" PRIu64
					  " corrected=%" PRIu32 " failed=%" PRIu32
					  " fnv=%08" PRIx32 "\n", page, us, corrected,
					  failed, fnv1a(buf, size));
				continue;
			}
			n->ok++;
			page_line(o, 1, "page %" PRIu64 " ok us=%" PRIu64
				  " corrected=%" PRIu32 " failed=0 fnv=%08" PRIx32 "\n",
				  page, us, corrected, fnv1a(buf, size));
			continue;
		}
		pattern_fill(expect, size, o->seed, page);
		if (memcmp(buf, expect, size)) {
			size_t i, diff = 0, first_diff = size;

			for (i = 0; i < size; i++) {
				if (buf[i] != expect[i]) {
					if (first_diff == size)
						first_diff = i;
					diff++;
				}
			}
			n->mismatch++;
			page_line(o, 0, "page %" PRIu64 " mismatch bytes=%zu first=%zu us=%"
				  PRIu64 " corrected=%" PRIu32 " failed=%" PRIu32 "\n",
				  page, diff, first_diff, us, corrected, failed);
			continue;
		}
		n->ok++;
		page_line(o, 1, "page %" PRIu64 " ok us=%" PRIu64 " corrected=%" PRIu32
			  " failed=%" PRIu32 "\n", page, us, corrected, failed);
	}
}

static int open_dev(const struct options *o, struct dev *d)
{
	d->fd = open(o->dev, (o->mode == MODE_WRITE ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (d->fd < 0) {
		fprintf(stderr, "tangonand: cannot open %s: %s\n", o->dev,
			strerror(errno));
		return -1;
	}
	if (ioctl(d->fd, MEMGETINFO, &d->info) < 0) {
		fprintf(stderr, "tangonand: %s is not an MTD device (MEMGETINFO: %s)\n",
			o->dev, strerror(errno));
		return -1;
	}
	if (!d->info.writesize || !d->info.erasesize ||
	    d->info.erasesize % d->info.writesize) {
		fprintf(stderr, "tangonand: %s: unusable geometry: page %" PRIu32
			", erase block %" PRIu32 "\n", o->dev, d->info.writesize,
			d->info.erasesize);
		return -1;
	}
	d->pages_per_block = d->info.erasesize / d->info.writesize;
	d->total_pages = d->info.size / d->info.writesize;
	if (o->start_page >= d->total_pages ||
	    o->pages > d->total_pages - o->start_page) {
		fprintf(stderr, "tangonand: pages %" PRIu64 "..%" PRIu64
			" are beyond %s (pages 0..%" PRIu64 ")\n", o->start_page,
			o->start_page + o->pages - 1, o->dev, d->total_pages - 1);
		return -1;
	}
	return 0;
}

static int do_io(const struct options *o)
{
	struct counts n = { 0 };
	struct dev d;
	uint8_t *buf, *expect;
	uint64_t t0, end = o->start_page + o->pages, block, us;
	int ret = EXIT_USAGE;

	if (open_dev(o, &d)) {
		if (d.fd >= 0)
			close(d.fd);
		return EXIT_USAGE;
	}
	buf = malloc(d.info.writesize);
	expect = malloc(d.info.writesize);
	if (!buf || !expect) {
		fprintf(stderr, "tangonand: out of memory\n");
		goto out;
	}

	t0 = now_us();
	for (block = o->start_page / d.pages_per_block;
	     block * d.pages_per_block < end; block++) {
		uint64_t first = block * d.pages_per_block, last;
		int bad = block_is_bad(&d, block), erase_err = 0;

		if (first < o->start_page)
			first = o->start_page;
		last = (block + 1) * d.pages_per_block;
		if (last > end)
			last = end;
		if (bad < 0) {
			char name[32];

			fprintf(stderr, "tangonand: block %" PRIu64 ": MEMGETBADBLOCK: %s\n",
				block, strerror(-bad));
			for (; first < last; first++) {
				n.pages++;
				n.errors++;
				page_line(o, 0, "page %" PRIu64 " %s badblock-check\n", first,
					  err_name(-bad, name, sizeof(name)));
			}
			continue;
		}
		if (bad) {
			for (; first < last; first++) {
				if (o->skip_bad) {
					n.skipped++;
					page_line(o, 0, "page %" PRIu64 " skipped bad-block\n",
						  first);
				} else {
					n.pages++;
					n.errors++;
					page_line(o, 0, "page %" PRIu64 " bad\n", first);
				}
			}
			continue;
		}
		if (o->mode == MODE_WRITE) {
			struct erase_info_user ei = {
				.start = (uint32_t)(block * d.info.erasesize),
				.length = d.info.erasesize,
			};

			if (ioctl(d.fd, MEMERASE, &ei) < 0) {
				char name[32];

				erase_err = errno;
				printf("block %" PRIu64 " erase %s\n", block,
				       err_name(erase_err, name, sizeof(name)));
			}
			write_pages(o, &d, buf, &n, first, last, erase_err);
		} else {
			read_pages(o, &d, buf, expect, &n, first, last);
		}
	}
	us = now_us() - t0;
	printf("summary: pages=%" PRIu64 " ok=%" PRIu64 " mismatch=%" PRIu64
	       " errors=%" PRIu64 " us=%" PRIu64 " skipped=%" PRIu64
	       " corrected=%" PRIu64 " failed=%" PRIu64 "\n", n.pages, n.ok,
	       n.mismatch, n.errors, us, n.skipped, n.corrected, n.failed);
	ret = (n.mismatch || n.errors) ? EXIT_PROBLEM : 0;
out:
	free(buf);
	free(expect);
	close(d.fd);
	return ret;
}

int main(int argc, char **argv)
{
	struct options o;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_args(argc, argv, &o))
		return EXIT_USAGE;
	if (o.mode == MODE_PATTERN)
		return do_pattern(&o);
	return do_io(&o);
}
