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
 * capability @t (1..64, with m * t < 2^m - 1) and primitive polynomial
 * @prim_poly (0 = default: 0x8003 for m = 15, Linux's table otherwise).
 * Returns NULL with @errp set if the parameters are not supported (or
 * the polynomial is not primitive of degree @m).
 */
NandBch *nand_bch_new(unsigned m, unsigned t, unsigned prim_poly,
                      Error **errp);
void nand_bch_free(NandBch *bch);

/* Parity bytes per codeword: ceil(m * t / 8). */
unsigned nand_bch_ecc_bytes(const NandBch *bch);
/*
 * Largest data length in bytes this code can protect:
 * (2^m - 1 - deg(generator)) / 8, e.g. 4069 for m = 15, t = 14.
 */
unsigned nand_bch_max_data(const NandBch *bch);

/*
 * Compute parity of @len bytes of @data into @ecc (ecc_bytes long). With
 * @len > nand_bch_max_data() the result is the same polynomial remainder,
 * but no longer a codeword that nand_bch_correct() accepts.
 */
void nand_bch_encode(const NandBch *bch, const uint8_t *data, size_t len,
                     uint8_t *ecc);

/*
 * Decode and correct in place @data (@len bytes) and @ecc. Returns the
 * number of corrected bits (>= 0), or -1 if the codeword is
 * uncorrectable or @len > nand_bch_max_data() (data and ecc are then left
 * unchanged). The pad bits at the end of @ecc are not part of the code:
 * they are neither checked nor corrected.
 */
int nand_bch_correct(const NandBch *bch, uint8_t *data, size_t len,
                     uint8_t *ecc);

#endif
