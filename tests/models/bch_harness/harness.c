/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host test driver for hw/block/nand_bch.c: reads one command a line on
 * stdin, answers one line on stdout. Byte strings are hex, "-" if empty.
 *
 *   new M T POLY          -> ok ECC_BYTES MAX_DATA | err MESSAGE
 *   enc DATA              -> ecc ECC
 *   cor DATA ECC          -> res N DATA ECC   (N = -1: uncorrectable)
 *   bench COUNT DATA ECC  -> ns TOTAL_NS N    (COUNT corrections of copies)
 *
 * Copyright (c) 2026 tangolab developers
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/block/nand_bch.h"
#include <stdarg.h>
#include <time.h>

void error_setg(Error **errp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    *errp = g_new0(Error, 1);
    (*errp)->msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

static GByteArray *unhex(const char *s)
{
    GByteArray *b = g_byte_array_new();
    size_t i, len;

    if (!s || !strcmp(s, "-")) {
        return b;
    }
    len = strlen(s);
    for (i = 0; i + 1 < len; i += 2) {
        char pair[3] = { s[i], s[i + 1], 0 };
        guint8 v = g_ascii_strtoull(pair, NULL, 16);

        g_byte_array_append(b, &v, 1);
    }
    return b;
}

static void puthex(const uint8_t *p, size_t len)
{
    size_t i;

    if (!len) {
        fputs(" -", stdout);
        return;
    }
    putchar(' ');
    for (i = 0; i < len; i++) {
        printf("%02x", p[i]);
    }
}

int main(void)
{
    NandBch *bch = NULL;
    char *line = NULL;
    size_t cap = 0;

    while (getline(&line, &cap, stdin) > 0) {
        char **tok = g_strsplit_set(g_strstrip(line), " ", -1);

        if (!g_strcmp0(tok[0], "new") && g_strv_length(tok) == 4) {
            Error *err = NULL;

            nand_bch_free(bch);
            bch = nand_bch_new(g_ascii_strtoull(tok[1], NULL, 0),
                               g_ascii_strtoull(tok[2], NULL, 0),
                               g_ascii_strtoull(tok[3], NULL, 0), &err);
            if (bch) {
                printf("ok %u %u\n", nand_bch_ecc_bytes(bch),
                       nand_bch_max_data(bch));
            } else {
                printf("err %s\n", err->msg);
                g_free(err->msg);
                g_free(err);
            }
        } else if (bch && !g_strcmp0(tok[0], "enc") &&
                   g_strv_length(tok) == 2) {
            GByteArray *d = unhex(tok[1]);
            uint8_t *ecc = g_malloc(nand_bch_ecc_bytes(bch));

            nand_bch_encode(bch, d->data, d->len, ecc);
            fputs("ecc", stdout);
            puthex(ecc, nand_bch_ecc_bytes(bch));
            putchar('\n');
            g_free(ecc);
            g_byte_array_free(d, TRUE);
        } else if (bch && !g_strcmp0(tok[0], "cor") &&
                   g_strv_length(tok) == 3) {
            GByteArray *d = unhex(tok[1]);
            GByteArray *e = unhex(tok[2]);
            int res;

            g_byte_array_set_size(e, nand_bch_ecc_bytes(bch));
            res = nand_bch_correct(bch, d->data, d->len, e->data);
            printf("res %d", res);
            puthex(d->data, d->len);
            puthex(e->data, e->len);
            putchar('\n');
            g_byte_array_free(d, TRUE);
            g_byte_array_free(e, TRUE);
        } else if (bch && !g_strcmp0(tok[0], "bench") &&
                   g_strv_length(tok) == 4) {
            unsigned long i, count = g_ascii_strtoull(tok[1], NULL, 0);
            GByteArray *d = unhex(tok[2]);
            GByteArray *e = unhex(tok[3]);
            uint8_t *dc = g_malloc(d->len + 1);
            uint8_t *ec = g_malloc(nand_bch_ecc_bytes(bch));
            struct timespec t0, t1;
            int res = 0;

            g_byte_array_set_size(e, nand_bch_ecc_bytes(bch));
            clock_gettime(CLOCK_MONOTONIC, &t0);
            for (i = 0; i < count; i++) {
                memcpy(dc, d->data, d->len);
                memcpy(ec, e->data, e->len);
                res = nand_bch_correct(bch, dc, d->len, ec);
            }
            clock_gettime(CLOCK_MONOTONIC, &t1);
            printf("ns %lld %d\n",
                   (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL +
                   (t1.tv_nsec - t0.tv_nsec), res);
            g_free(dc);
            g_free(ec);
            g_byte_array_free(d, TRUE);
            g_byte_array_free(e, TRUE);
        } else {
            printf("err bad command\n");
        }
        fflush(stdout);
        g_strfreev(tok);
    }
    free(line);
    nand_bch_free(bch);
    return 0;
}
