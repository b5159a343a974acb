/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ONFI 1.0 SLC NAND flash chip
 *
 * The chip is driven by bus cycles, as on a real NAND bus: command
 * cycles, address cycles and data cycles. A controller (raw PBUS access
 * or an NFC sequencer) calls the functions below; the chip's ready/busy
 * line is the GPIO output "rb" (1 = ready).
 *
 * Copyright (c) 2026 tangolab developers
 */

#ifndef HW_BLOCK_ONFI_NAND_H
#define HW_BLOCK_ONFI_NAND_H

#include "hw/qdev-core.h"
#include "qom/object.h"

#define TYPE_ONFI_NAND "onfi-nand"
OBJECT_DECLARE_SIMPLE_TYPE(OnfiNandState, ONFI_NAND)

/* Name of the ready/busy GPIO output (one line, 1 = ready). */
#define ONFI_NAND_RB "rb"

/* Status register bits (READ STATUS, 0x70) */
#define ONFI_NAND_STATUS_FAIL   0x01
#define ONFI_NAND_STATUS_RDY    0x40
#define ONFI_NAND_STATUS_ARDY   0x20
#define ONFI_NAND_STATUS_WP_N   0x80

/* One command cycle (CLE high). */
void onfi_nand_cmd(OnfiNandState *s, uint8_t cmd);
/* One address cycle (ALE high). */
void onfi_nand_addr(OnfiNandState *s, uint8_t addr);
/* Data cycles: bytes in (program data) and out (read data, ID, status). */
void onfi_nand_write_data(OnfiNandState *s, const uint8_t *buf, size_t len);
void onfi_nand_read_data(OnfiNandState *s, uint8_t *buf, size_t len);
/* Level of the ready/busy line. */
bool onfi_nand_ready(OnfiNandState *s);

/* Geometry, for a controller that sequences whole pages itself. */
uint32_t onfi_nand_page_size(OnfiNandState *s);     /* main area bytes */
uint32_t onfi_nand_oob_size(OnfiNandState *s);      /* spare bytes */
uint32_t onfi_nand_pages_per_block(OnfiNandState *s);
uint32_t onfi_nand_blocks(OnfiNandState *s);
uint32_t onfi_nand_col_cycles(OnfiNandState *s);    /* column address cycles */
uint32_t onfi_nand_row_cycles(OnfiNandState *s);    /* row address cycles */

#endif
