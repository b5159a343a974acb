/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Binary BCH code over GF(2^m) for NAND controllers
 *
 * Bit order: data bytes are fed MSB first; parity is the remainder of
 * the generator-polynomial division, emitted MSB first in
 * ceil(m * t / 8) bytes, zero padded at the end. This is the convention
 * of Linux lib/bch.c with swap_bits = false, so that independent
 * implementations (Python bchlib) verify the same codewords.
 *
 * Copyright (c) 2026 tangolab developers
 */

#ifndef HW_BLOCK_NAND_BCH_H
#define HW_BLOCK_NAND_BCH_H

typedef struct NandBch NandBch;

/*
 * Create a code with Galois field order @m (5..15), correction
 * capability @t and primitive polynomial @prim_poly (0 = default:
 * 0x8003 for m = 15, Linux's table otherwise). Returns NULL with @errp
 * set if the parameters are not supported.
 */
NandBch *nand_bch_new(unsigned m, unsigned t, unsigned prim_poly,
                      Error **errp);
void nand_bch_free(NandBch *bch);

/* Parity bytes per codeword: ceil(m * t / 8). */
unsigned nand_bch_ecc_bytes(const NandBch *bch);
/* Largest data length in bytes this code can protect. */
unsigned nand_bch_max_data(const NandBch *bch);

/* Compute parity of @len bytes of @data into @ecc (ecc_bytes long). */
void nand_bch_encode(const NandBch *bch, const uint8_t *data, size_t len,
                     uint8_t *ecc);

/*
 * Decode and correct in place @data (@len bytes) and @ecc. Returns the
 * number of corrected bits (>= 0), or -1 if the codeword is
 * uncorrectable (data and ecc are then left unchanged).
 */
int nand_bch_correct(const NandBch *bch, uint8_t *data, size_t len,
                     uint8_t *ecc);

#endif
