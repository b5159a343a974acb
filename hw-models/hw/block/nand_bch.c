/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Binary BCH code over GF(2^m) for NAND controllers
 *
 * The code is the narrow-sense binary BCH code of length n = 2^m - 1
 * with designed distance 2t + 1, shortened to the data length in use.
 * Its generator g(x) is the least common multiple of the minimal
 * polynomials of alpha^1 .. alpha^2t, alpha being a root of the
 * primitive polynomial. A codeword is d(x) * x^E + r(x), where E is the
 * degree of g(x) (E <= m * t), d(x) holds the data bits (first byte's
 * most significant bit is the highest coefficient) and r(x) is the
 * remainder of d(x) * x^E divided by g(x).
 *
 * Encoding runs a table-driven division, 32 data bits per step.
 * Decoding re-encodes the data and adds the received parity, which gives
 * the remainder of the received word; its evaluation at alpha^j gives the
 * syndromes (all zero if and only if the remainder is zero: fast path).
 * Berlekamp-Massey finds the error locator and a Chien search its roots
 * among the bit positions of the shortened codeword.
 *
 * Copyright (c) 2026 tangolab developers
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/block/nand_bch.h"

#define NAND_BCH_MIN_M 5
#define NAND_BCH_MAX_M 15
#define NAND_BCH_MAX_T 64

struct NandBch {
    unsigned m;             /* field order */
    unsigned t;             /* correction capability */
    unsigned n;             /* 2^m - 1: length of the full code in bits */
    unsigned ecc_bits;      /* degree E of the generator polynomial */
    unsigned ecc_bytes;     /* ceil(m * t / 8) */
    unsigned words;         /* 32-bit words of the remainder register */
    uint16_t *exp;          /* exp[i] = alpha^i, 0 <= i < n */
    uint16_t *log;          /* log[alpha^i] = i, log[0] unused */
    /*
     * Division tables: tab[(k * 256 + v) * words ..] is the remainder of
     * v(x) * x^(8k + E) by g(x), k = 0..3, left aligned like the register.
     */
    uint32_t *tab;
};

/* Linux lib/bch.c's default primitive polynomials, m = 5 .. 15 */
static const unsigned nand_bch_default_poly[] = {
    0x25, 0x43, 0x83, 0x11d, 0x211, 0x409, 0x805, 0x1053, 0x201b,
    0x402b, 0x8003,
};

/*
 * The remainder register holds a polynomial of degree < E left aligned:
 * the coefficient of x^(E - 1 - k) is bit 31 - k % 32 of word k / 32, so
 * that the register read as big-endian bytes is the parity, MSB first.
 */

static inline unsigned gf_mod(const NandBch *bch, unsigned v)
{
    return v >= bch->n ? v - bch->n : v;
}

static inline unsigned gf_mul(const NandBch *bch, unsigned a, unsigned b)
{
    if (!a || !b) {
        return 0;
    }
    return bch->exp[gf_mod(bch, bch->log[a] + bch->log[b])];
}

static inline unsigned gf_div(const NandBch *bch, unsigned a, unsigned b)
{
    if (!a) {
        return 0;
    }
    return bch->exp[gf_mod(bch, bch->log[a] + bch->n - bch->log[b])];
}

static bool nand_bch_build_field(NandBch *bch, unsigned poly)
{
    unsigned x = 1;
    unsigned i;

    for (i = 0; i < bch->n; i++) {
        if (i && x == 1) {
            return false;   /* order of alpha smaller than n */
        }
        bch->exp[i] = x;
        bch->log[x] = i;
        x <<= 1;
        if (x & (1u << bch->m)) {
            x ^= poly;
        }
    }
    return x == 1;
}

/*
 * g(x) = product of (x - alpha^j) over the union of the cyclotomic cosets
 * of 1, 3, .., 2t - 1. Returns the binary coefficients in @gen (gen[i] is
 * the coefficient of x^i) and the degree.
 */
static int nand_bch_generator(NandBch *bch, uint8_t *gen)
{
    unsigned *g = g_new0(unsigned, bch->m * bch->t + 1);
    bool *seen = g_new0(bool, bch->n);
    unsigned deg = 0;
    unsigned i, j, k, root;
    int ret = -1;

    g[0] = 1;
    for (i = 1; i < 2 * bch->t; i += 2) {
        root = i;
        while (!seen[root]) {
            seen[root] = true;
            if (deg == bch->m * bch->t) {
                goto out;
            }
            /* g(x) *= x + alpha^root */
            g[deg + 1] = g[deg];
            for (k = deg; k > 0; k--) {
                g[k] = g[k - 1] ^ gf_mul(bch, g[k], bch->exp[root]);
            }
            g[0] = gf_mul(bch, g[0], bch->exp[root]);
            deg++;
            root = gf_mod(bch, 2 * root);
        }
    }
    for (j = 0; j <= deg; j++) {
        if (g[j] > 1) {
            goto out;   /* not binary: the field was not built right */
        }
        gen[j] = g[j];
    }
    ret = deg;
out:
    g_free(seen);
    g_free(g);
    return ret;
}

/* Multiply the register by x^8 and add @byte * x^E, modulo g(x). */
static inline void nand_bch_step8(const NandBch *bch, uint32_t *r,
                                  uint8_t byte)
{
    const unsigned l = bch->words - 1;
    const uint32_t *p = bch->tab + ((r[0] >> 24) ^ byte) * bch->words;
    unsigned i;

    for (i = 0; i < l; i++) {
        r[i] = ((r[i] << 8) | (r[i + 1] >> 24)) ^ p[i];
    }
    r[l] = (r[l] << 8) ^ p[l];
}

static void nand_bch_build_tables(NandBch *bch, const uint8_t *gen)
{
    const unsigned w = bch->words;
    const unsigned e = bch->ecc_bits;
    uint32_t *glow = g_new0(uint32_t, w);
    uint32_t *xk = g_new0(uint32_t, 32 * w);
    unsigned i, k, b, v;

    /* g(x) - x^E, left aligned */
    for (i = 0; i < e; i++) {
        if (gen[e - 1 - i]) {
            glow[i / 32] |= 1u << (31 - i % 32);
        }
    }
    /* xk[k] = x^(k + E) mod g(x) */
    memcpy(xk, glow, w * sizeof(uint32_t));
    for (k = 1; k < 32; k++) {
        const uint32_t *prev = xk + (k - 1) * w;
        uint32_t *cur = xk + k * w;
        bool carry = prev[0] >> 31;

        for (i = 0; i + 1 < w; i++) {
            cur[i] = (prev[i] << 1) | (prev[i + 1] >> 31);
        }
        cur[w - 1] = prev[w - 1] << 1;
        if (carry) {
            for (i = 0; i < w; i++) {
                cur[i] ^= glow[i];
            }
        }
    }
    /* tab[k][v] = v(x) * x^(8k + E) mod g(x), by linearity */
    for (k = 0; k < 4; k++) {
        for (v = 0; v < 256; v++) {
            uint32_t *dst = bch->tab + (k * 256 + v) * w;

            for (b = 0; b < 8; b++) {
                if (v & (1u << b)) {
                    const uint32_t *src = xk + (8 * k + b) * w;

                    for (i = 0; i < w; i++) {
                        dst[i] ^= src[i];
                    }
                }
            }
        }
    }
    g_free(xk);
    g_free(glow);
}

NandBch *nand_bch_new(unsigned m, unsigned t, unsigned prim_poly,
                      Error **errp)
{
    NandBch *bch;
    uint8_t *gen;
    int deg;

    if (m < NAND_BCH_MIN_M || m > NAND_BCH_MAX_M) {
        error_setg(errp, "BCH: field order m=%u not in %d..%d",
                   m, NAND_BCH_MIN_M, NAND_BCH_MAX_M);
        return NULL;
    }
    if (t < 1 || t > NAND_BCH_MAX_T || m * t >= (1u << m) - 1) {
        error_setg(errp, "BCH: strength t=%u not in 1..%d with m*t < 2^m-1"
                   " (m=%u)", t, NAND_BCH_MAX_T, m);
        return NULL;
    }
    if (prim_poly == 0) {
        prim_poly = nand_bch_default_poly[m - NAND_BCH_MIN_M];
    }
    if ((prim_poly >> m) != 1) {
        error_setg(errp, "BCH: polynomial 0x%x is not of degree m=%u",
                   prim_poly, m);
        return NULL;
    }

    bch = g_new0(NandBch, 1);
    bch->m = m;
    bch->t = t;
    bch->n = (1u << m) - 1;
    bch->ecc_bytes = DIV_ROUND_UP(m * t, 8);
    bch->words = DIV_ROUND_UP(m * t, 32);
    bch->exp = g_new0(uint16_t, bch->n + 1);
    bch->log = g_new0(uint16_t, bch->n + 1);
    if (!nand_bch_build_field(bch, prim_poly)) {
        error_setg(errp, "BCH: polynomial 0x%x is not primitive", prim_poly);
        nand_bch_free(bch);
        return NULL;
    }
    gen = g_new0(uint8_t, m * t + 1);
    deg = nand_bch_generator(bch, gen);
    if (deg < 0) {
        error_setg(errp, "BCH: no binary generator polynomial for m=%u t=%u",
                   m, t);
        g_free(gen);
        nand_bch_free(bch);
        return NULL;
    }
    bch->ecc_bits = deg;
    bch->tab = g_new0(uint32_t, 4 * 256 * bch->words);
    nand_bch_build_tables(bch, gen);
    g_free(gen);
    return bch;
}

void nand_bch_free(NandBch *bch)
{
    if (!bch) {
        return;
    }
    g_free(bch->tab);
    g_free(bch->log);
    g_free(bch->exp);
    g_free(bch);
}

unsigned nand_bch_ecc_bytes(const NandBch *bch)
{
    return bch->ecc_bytes;
}

unsigned nand_bch_max_data(const NandBch *bch)
{
    return (bch->n - bch->ecc_bits) / 8;
}

/* Remainder of data(x) * x^E by g(x) into the register @r (zeroed here). */
static void nand_bch_remainder(const NandBch *bch, const uint8_t *data,
                               size_t len, uint32_t *r)
{
    const unsigned w = bch->words;
    const unsigned l = w - 1;
    const uint32_t *t0 = bch->tab;
    const uint32_t *t1 = t0 + 256 * w;
    const uint32_t *t2 = t1 + 256 * w;
    const uint32_t *t3 = t2 + 256 * w;
    unsigned i;

    memset(r, 0, w * sizeof(uint32_t));
    for (; len >= 4; len -= 4, data += 4) {
        uint32_t v = ((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
                      (uint32_t)data[2] << 8 | data[3]) ^ r[0];
        const uint32_t *p0 = t0 + (v & 0xff) * w;
        const uint32_t *p1 = t1 + ((v >> 8) & 0xff) * w;
        const uint32_t *p2 = t2 + ((v >> 16) & 0xff) * w;
        const uint32_t *p3 = t3 + (v >> 24) * w;

        for (i = 0; i < l; i++) {
            r[i] = r[i + 1] ^ p0[i] ^ p1[i] ^ p2[i] ^ p3[i];
        }
        r[l] = p0[l] ^ p1[l] ^ p2[l] ^ p3[l];
    }
    for (; len; len--) {
        nand_bch_step8(bch, r, *data++);
    }
}

void nand_bch_encode(const NandBch *bch, const uint8_t *data, size_t len,
                     uint8_t *ecc)
{
    uint32_t r[DIV_ROUND_UP(NAND_BCH_MAX_M * NAND_BCH_MAX_T, 32)];
    unsigned i;

    nand_bch_remainder(bch, data, len, r);
    for (i = 0; i < bch->ecc_bytes; i++) {
        ecc[i] = r[i / 4] >> (24 - 8 * (i % 4));
    }
}

/*
 * Berlekamp-Massey: the shortest LFSR generating syn[0..2t-1] (S_1 ..
 * S_2t). Returns its length L with the locator in @lambda (L + 1
 * coefficients), or -1 if L > t or deg(lambda) != L.
 */
static int nand_bch_locator(const NandBch *bch, const unsigned *syn,
                            unsigned *lambda)
{
    unsigned b[2 * NAND_BCH_MAX_T + 1];
    unsigned tmp[2 * NAND_BCH_MAX_T + 1];
    const unsigned len = 2 * bch->t + 1;
    unsigned big_l = 0, shift = 1, prev = 1;
    unsigned k, i;

    memset(lambda, 0, len * sizeof(unsigned));
    memset(b, 0, len * sizeof(unsigned));
    lambda[0] = 1;
    b[0] = 1;
    for (k = 0; k < 2 * bch->t; k++) {
        unsigned d = syn[k];
        unsigned coef;

        for (i = 1; i <= big_l; i++) {
            d ^= gf_mul(bch, lambda[i], syn[k - i]);
        }
        if (!d) {
            shift++;
            continue;
        }
        coef = gf_div(bch, d, prev);
        memcpy(tmp, lambda, len * sizeof(unsigned));
        for (i = 0; i + shift < len; i++) {
            lambda[i + shift] ^= gf_mul(bch, coef, b[i]);
        }
        if (2 * big_l <= k) {
            big_l = k + 1 - big_l;
            memcpy(b, tmp, len * sizeof(unsigned));
            prev = d;
            shift = 1;
        } else {
            shift++;
        }
    }
    if (big_l > bch->t || !lambda[big_l]) {
        return -1;
    }
    for (i = big_l + 1; i < len; i++) {
        if (lambda[i]) {
            return -1;
        }
    }
    return big_l;
}

/*
 * Chien search: positions p in [0, nbits) (degree in the codeword) with
 * lambda(alpha^-p) = 0. Returns the number of roots found (at most
 * @nerr, stopping there) with the positions in @pos.
 */
static unsigned nand_bch_chien(const NandBch *bch, const unsigned *lambda,
                               unsigned nerr, unsigned nbits, unsigned *pos)
{
    int lg[NAND_BCH_MAX_T];
    int step[NAND_BCH_MAX_T];
    const int n = bch->n;
    unsigned terms = 0, found = 0;
    unsigned p, i;

    if (nerr == 1) {
        /* 1 + lambda_1 x vanishes at alpha^-p for lambda_1 = alpha^p */
        pos[0] = bch->log[lambda[1]];
        return pos[0] < nbits;
    }
    /* nonzero terms lambda_i * alpha^(-i * p), in the log domain */
    for (i = 1; i <= nerr; i++) {
        if (lambda[i]) {
            lg[terms] = bch->log[lambda[i]];
            step[terms++] = i;
        }
    }
    for (p = 0; p < nbits && found < nerr; p++) {
        unsigned sum = 1;

        for (i = 0; i < terms; i++) {
            sum ^= bch->exp[lg[i]];
            lg[i] -= step[i];
            lg[i] += n & -(lg[i] < 0);
        }
        if (!sum) {
            pos[found++] = p;
        }
    }
    return found;
}

int nand_bch_correct(const NandBch *bch, uint8_t *data, size_t len,
                     uint8_t *ecc)
{
    uint32_t r[DIV_ROUND_UP(NAND_BCH_MAX_M * NAND_BCH_MAX_T, 32)];
    unsigned syn[2 * NAND_BCH_MAX_T];
    unsigned lambda[2 * NAND_BCH_MAX_T + 1];
    unsigned pos[NAND_BCH_MAX_T];
    const unsigned e = bch->ecc_bits;
    uint32_t any = 0;
    unsigned nbits, i, j;
    int nerr;

    if (len > nand_bch_max_data(bch)) {
        return -1;
    }
    /* remainder of the received word = computed parity + received parity */
    nand_bch_remainder(bch, data, len, r);
    for (i = 0; i < bch->words; i++) {
        uint32_t recv = 0;

        for (j = 0; j < 4; j++) {
            unsigned bit = 32 * i + 8 * j;

            if (bit < e) {
                uint32_t byte = ecc[bit / 8];

                if (e - bit < 8) {
                    byte &= 0xff00u >> (e - bit);   /* drop the pad bits */
                }
                recv |= byte << (24 - 8 * j);
            }
        }
        r[i] ^= recv;
        any |= r[i];
    }
    if (!any) {
        return 0;
    }

    /* odd syndromes S_j = r(alpha^j); the even ones are squares */
    memset(syn, 0, sizeof(syn));
    for (i = 0; i < e; i++) {
        if (r[i / 32] & (1u << (31 - i % 32))) {
            unsigned deg = e - 1 - i;
            unsigned step = gf_mod(bch, 2 * deg);
            unsigned idx = deg;

            for (j = 0; j < 2 * bch->t; j += 2) {
                syn[j] ^= bch->exp[idx];
                idx = gf_mod(bch, idx + step);
            }
        }
    }
    for (j = 0; j < bch->t; j++) {
        syn[2 * j + 1] = gf_mul(bch, syn[j], syn[j]);
    }

    nerr = nand_bch_locator(bch, syn, lambda);
    if (nerr <= 0) {
        return -1;  /* nonzero remainder but no error locator */
    }
    nbits = 8 * len + e;    /* <= n since len <= max_data */
    if (nand_bch_chien(bch, lambda, nerr, nbits, pos) != (unsigned)nerr) {
        return -1;
    }

    for (i = 0; i < (unsigned)nerr; i++) {
        unsigned k = nbits - 1 - pos[i];    /* bit index in data | ecc */

        if (k < 8 * len) {
            data[k / 8] ^= 0x80 >> (k % 8);
        } else {
            k -= 8 * len;
            ecc[k / 8] ^= 0x80 >> (k % 8);
        }
    }
    return nerr;
}
