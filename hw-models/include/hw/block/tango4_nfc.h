/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sigma Designs tango4 (SMP8758) NAND flash controller
 *
 * Three MMIO regions, in this order: 0 = NFC registers (0x30),
 * 1 = NFC memory window (0x800), 2 = peripheral bus, PBUS (0x1000).
 * Page data moves through a switch box port ("sbox" link, "port"); up to
 * four ONFI chips are linked as "chip0".."chip3" and their ready/busy
 * lines go to GPIO inputs 0..3.
 *
 * Copyright (c) 2026 tangolab developers
 */

#ifndef HW_BLOCK_TANGO4_NFC_H
#define HW_BLOCK_TANGO4_NFC_H

#include "hw/sysbus.h"
#include "hw/block/nand_bch.h"
#include "hw/block/onfi_nand.h"
#include "hw/dma/tango4_sbox.h"
#include "qemu/fifo8.h"
#include "qom/object.h"

#define TYPE_TANGO4_NFC "tango4-nfc"
OBJECT_DECLARE_SIMPLE_TYPE(Tango4NfcState, TANGO4_NFC)

#define TANGO4_NFC_MAX_CS       4
#define TANGO4_NFC_REGS_SIZE    0x30
#define TANGO4_NFC_MEM_SIZE     0x800
#define TANGO4_NFC_PBUS_SIZE    0x1000
/* Page input FIFO: two 2 KiB pages */
#define TANGO4_NFC_FIFO_SIZE    4096
/*
 * Registers: see tango4_nfc.c. STATUS has CMD_READY (bit 31) and the
 * input FIFO level (bits 12:0); FLASH_CMD takes 1 (read) or 2 (program),
 * or bit 31 to abort the command in progress; this model's STATUS bits
 * 30 and 29 say the last FLASH_CMD was refused, or a command aborted.
 */
/* BCH strengths 1..TANGO4_NFC_MAX_STRENGTH */
#define TANGO4_NFC_MAX_STRENGTH 32

struct Tango4NfcState {
    SysBusDevice parent_obj;

    MemoryRegion regs_mr;
    MemoryRegion mem_mr;
    MemoryRegion pbus_mr;

    /* Properties */
    Tango4SboxState *sbox;
    uint8_t port;
    OnfiNandState *chip[TANGO4_NFC_MAX_CS];

    /* Registers */
    uint32_t regs[TANGO4_NFC_REGS_SIZE / 4];
    uint8_t mem[TANGO4_NFC_MEM_SIZE];
    uint32_t cs_ctrl;
    uint32_t pad_mode;

    /* Page data arriving from the sbox (programs) */
    Fifo8 fifo;
    /* Page data waiting to leave through the sbox (reads) */
    uint8_t obuf[TANGO4_NFC_FIFO_SIZE];
    uint32_t olen;
    uint32_t opos;
    /* STATUS bits other than CMD_READY: refused, aborted */
    uint32_t status;

    /* Command in progress, with the configuration it started with */
    uint32_t state;
    uint32_t cur_cmd;
    uint32_t cur_page;
    uint32_t cur_xfer;
    uint32_t cur_pkt0;
    uint32_t cur_pktn;
    uint32_t cur_bb;

    /* Statistics (read-only QOM properties) */
    uint64_t ecc_corrected;
    uint64_t ecc_failed;
    uint64_t refused;
    uint64_t aborts;
    uint64_t bytes_flushed;     /* page data discarded by an abort */

    /* Not migrated */
    bool advancing;
    bool advance_again;
    NandBch *bch[TANGO4_NFC_MAX_STRENGTH + 1];
};

#endif
