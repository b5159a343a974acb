/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sigma Designs tango4 (SMP8758) NAND flash controller
 *
 * In NFC mode (PBUS PAD_MODE bit 31) the controller reads and programs
 * whole pages: it sequences the chip itself, lays the page out as
 *
 *   M | PKT_0 | ECC_0 | PKT_1 | ECC_1 | ... | N1 | BBM | N2 | ECC_N
 *
 * with a BCH code over GF(2^15) per packet, and moves the data through
 * its switch box port, flow controlled both ways: a program takes page
 * data from the box only while it waits for it (before FLASH_CMD the
 * bytes wait in the box) and programs the chip once the whole page is in
 * its input FIFO; a read sends the corrected data out as fast as its
 * route takes it, and is done when the last byte has left. A command can
 * be aborted (FLASH_CMD bit 31, or PAD_MODE back to raw). In raw mode
 * the host drives the chips' bus cycles through the PBUS windows.
 *
 * Copyright (c) 2026 tangolab developers
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qapi/error.h"
#include "hw/irq.h"
#include "hw/qdev-properties.h"
#include "hw/registerfields.h"
#include "hw/block/tango4_nfc.h"
#include "migration/vmstate.h"
#include "trace.h"

/* NFC registers */
REG32(STATUS, 0x00)
    FIELD(STATUS, FIFO_LEVEL, 0, 13)    /* bytes in the input FIFO */
    FIELD(STATUS, ABORTED, 29, 1)       /* this model's */
    FIELD(STATUS, REFUSED, 30, 1)       /* this model's */
    FIELD(STATUS, CMD_READY, 31, 1)
REG32(FLASH_CMD, 0x04)
    FIELD(FLASH_CMD, ABORT, 31, 1)      /* this model's */
REG32(DEVICE_CFG, 0x08)
REG32(TIMING1, 0x0c)
REG32(TIMING2, 0x10)
REG32(XFER_CFG, 0x14)
    FIELD(XFER_CFG, META, 0, 8)         /* metadata bytes of packet 0 */
    FIELD(XFER_CFG, STEPS, 8, 8)        /* packets */
    FIELD(XFER_CFG, PAGES, 16, 8)
    FIELD(XFER_CFG, CS, 24, 8)
REG32(PKT_0_CFG, 0x18)                  /* PKT_N_CFG: the same fields */
    FIELD(PKT_0_CFG, STRENGTH, 0, 16)
    FIELD(PKT_0_CFG, SIZE, 16, 16)
REG32(PKT_N_CFG, 0x1c)
REG32(BB_CFG, 0x20)
    FIELD(BB_CFG, SIZE, 0, 16)          /* bad block marker bytes */
    FIELD(BB_CFG, OFFSET, 16, 16)       /* and where they are */
REG32(ADDR_PAGE, 0x24)
REG32(ADDR_OFFSET, 0x28)
REG32(XFER_STATUS, 0x2c)
    FIELD(XFER_STATUS, PAGE_IS_EMPTY, 16, 1)

/* this model's STATUS bits the guest clears with its next command */
#define STATUS_STICKY       (R_STATUS_ABORTED_MASK | R_STATUS_REFUSED_MASK)
#define FLASH_CMD_READ      1
#define FLASH_CMD_WRITE     2

/* NFC memory window */
#define MEM_METADATA        0x000
#define MEM_ERROR_REPORT    0x1c0
FIELD(ERROR_REPORT, PKT0_COUNT, 0, 6)   /* bits corrected, packet 0 */
FIELD(ERROR_REPORT, PKT0_OK, 7, 1)
FIELD(ERROR_REPORT, PKTN_COUNT, 8, 6)   /* the most of packets 1.. */
FIELD(ERROR_REPORT, PKTN_OK, 15, 1)
#define REPORT_COUNT_MAX    R_ERROR_REPORT_PKT0_COUNT_MASK

/* PBUS */
#define PBUS_CS_WINDOW      0x100
#define PBUS_CMD            0x0
#define PBUS_ADDR           0x4
#define PBUS_DATA           0x8
#define PBUS_CS_CTRL        0x83c
#define PBUS_PAD_MODE       0x8f0
FIELD(CS_CTRL, IORDY, 31, 1)
FIELD(PAD_MODE, NFC, 31, 1)

/* ONFI commands the sequencer issues */
#define NAND_CMD_READ0      0x00
#define NAND_CMD_READSTART  0x30
#define NAND_CMD_SEQIN      0x80
#define NAND_CMD_PAGEPROG   0x10
#define NAND_CMD_STATUS     0x70

#define BCH_FIELD_ORDER     15

/* Sequencer states */
enum {
    NFC_IDLE,
    NFC_READ_START,     /* waiting for the chip to be ready */
    NFC_READ_WAIT,      /* waiting for tR */
    NFC_PROG_DATA,      /* waiting for the page data and a ready chip */
    NFC_PROG_WAIT,      /* waiting for tPROG */
    NFC_READ_SEND,      /* sending the page data out */
    NFC_STATE__MAX,
};

/* A page layout, decoded from XFER_CFG, PKT_0_CFG, PKT_N_CFG, BB_CFG */
typedef struct NfcLayout {
    uint32_t cs;
    uint32_t steps;
    uint32_t meta;
    uint32_t size[2];       /* packet 0, packets 1.. */
    uint32_t strength[2];
    uint32_t ecc[2];
    uint32_t bbm_off;
    uint32_t bbm_size;
    uint32_t logical;       /* bytes of packets and ECC */
    uint32_t data;          /* bytes through the sbox */
    uint32_t phys;          /* bytes of page + spare of the chip */
} NfcLayout;

static const char *tango4_nfc_cmd_name(uint32_t cmd)
{
    return cmd == FLASH_CMD_READ ? "read" : "write";
}

static NandBch *tango4_nfc_bch(Tango4NfcState *s, uint32_t t)
{
    Error *err = NULL;

    if (!s->bch[t]) {
        s->bch[t] = nand_bch_new(BCH_FIELD_ORDER, t, 0, &err);
        if (!s->bch[t]) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "tango4-nfc: BCH code of strength %u: %s\n", t,
                          error_get_pretty(err));
            error_free(err);
        }
    }
    return s->bch[t];
}

static bool tango4_nfc_packet_cfg(Tango4NfcState *s, const char *reg,
                                  uint32_t cfg, NfcLayout *l, int i)
{
    NandBch *bch;

    l->size[i] = FIELD_EX32(cfg, PKT_0_CFG, SIZE);
    l->strength[i] = FIELD_EX32(cfg, PKT_0_CFG, STRENGTH);
    if (!l->strength[i] || l->strength[i] > TANGO4_NFC_MAX_STRENGTH) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-nfc: %s: ECC strength %u, not 1..%u\n", reg,
                      l->strength[i], TANGO4_NFC_MAX_STRENGTH);
        return false;
    }
    if (!l->size[i]) {
        qemu_log_mask(LOG_GUEST_ERROR, "tango4-nfc: %s: packet size 0\n",
                      reg);
        return false;
    }
    bch = tango4_nfc_bch(s, l->strength[i]);
    if (!bch) {
        return false;
    }
    if (l->size[i] > nand_bch_max_data(bch)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-nfc: %s: packet of %u bytes, more than the %u a "
                      "BCH code of strength %u protects\n", reg, l->size[i],
                      nand_bch_max_data(bch), l->strength[i]);
        return false;
    }
    l->ecc[i] = nand_bch_ecc_bytes(bch);
    return true;
}

/* Decode and check a page layout; a guest error if it makes no sense */
static bool tango4_nfc_layout(Tango4NfcState *s, uint32_t xfer,
                              uint32_t pkt0, uint32_t pktn, uint32_t bb,
                              NfcLayout *l)
{
    OnfiNandState *chip;
    uint32_t pages = FIELD_EX32(xfer, XFER_CFG, PAGES);
    uint64_t logical, need;

    memset(l, 0, sizeof(*l));
    l->cs = FIELD_EX32(xfer, XFER_CFG, CS);
    l->steps = FIELD_EX32(xfer, XFER_CFG, STEPS);
    l->meta = FIELD_EX32(xfer, XFER_CFG, META);
    if (l->cs >= TANGO4_NFC_MAX_CS || !s->chip[l->cs]) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-nfc: XFER_CFG: no chip on chip select %u\n",
                      l->cs);
        return false;
    }
    chip = s->chip[l->cs];
    if (pages != 1) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-nfc: XFER_CFG: page count %u, only 1 is "
                      "supported\n", pages);
        return false;
    }
    if (!l->steps) {
        qemu_log_mask(LOG_GUEST_ERROR, "tango4-nfc: XFER_CFG: 0 steps\n");
        return false;
    }
    if (!tango4_nfc_packet_cfg(s, "PKT_0_CFG", pkt0, l, 0)) {
        return false;
    }
    if (l->steps > 1 && !tango4_nfc_packet_cfg(s, "PKT_N_CFG", pktn, l, 1)) {
        return false;
    }
    if (l->meta > l->size[0]) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-nfc: XFER_CFG: %u metadata bytes do not fit in "
                      "packet 0 of %u bytes\n", l->meta, l->size[0]);
        return false;
    }

    l->bbm_off = FIELD_EX32(bb, BB_CFG, OFFSET);
    l->bbm_size = FIELD_EX32(bb, BB_CFG, SIZE);
    l->phys = onfi_nand_page_size(chip) + onfi_nand_oob_size(chip);
    logical = l->size[0] + l->ecc[0] +
              (uint64_t)(l->steps - 1) * (l->size[1] + l->ecc[1]);
    need = l->bbm_off <= logical ? logical + l->bbm_size
                                 : (uint64_t)l->bbm_off + l->bbm_size;
    if (need > l->phys) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-nfc: layout of %u packets (%u + %u ECC bytes, "
                      "then %u + %u) and %u bad block marker bytes at %u "
                      "needs %" PRIu64 " bytes, more than the %u of a page "
                      "and its spare area\n", l->steps, l->size[0],
                      l->ecc[0], l->size[1], l->ecc[1], l->bbm_size,
                      l->bbm_off, need, l->phys);
        return false;
    }
    l->logical = logical;
    l->data = l->size[0] - l->meta + (l->steps - 1) * l->size[1];
    if (l->data > TANGO4_NFC_FIFO_SIZE) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-nfc: a page of %u data bytes does not fit in "
                      "the %u-byte input FIFO\n", l->data,
                      TANGO4_NFC_FIFO_SIZE);
        return false;
    }
    return true;
}

static uint32_t tango4_nfc_phys_off(const NfcLayout *l, uint32_t pos)
{
    return pos < l->bbm_off ? pos : pos + l->bbm_size;
}

static void tango4_nfc_send_addr(OnfiNandState *chip, uint32_t page)
{
    for (uint32_t i = 0; i < onfi_nand_col_cycles(chip); i++) {
        onfi_nand_addr(chip, 0);
    }
    for (uint32_t i = 0; i < onfi_nand_row_cycles(chip); i++) {
        onfi_nand_addr(chip, page >> (8 * i));
    }
}

/* Take the page data out of the FIFO and program the chip */
static void tango4_nfc_program(Tango4NfcState *s, const NfcLayout *l,
                               OnfiNandState *chip)
{
    g_autofree uint8_t *lg = g_malloc(l->logical);
    g_autofree uint8_t *phys = g_malloc(l->phys);
    uint32_t pos = 0;

    for (uint32_t i = 0; i < l->steps; i++) {
        int k = i ? 1 : 0;
        uint32_t meta = i ? 0 : l->meta;

        /* packet 0 may be all metadata (meta == size): no data from it */
        if (meta) {
            memcpy(lg + pos, s->mem + MEM_METADATA, meta);
        }
        if (l->size[k] > meta) {
            fifo8_pop_buf(&s->fifo, lg + pos + meta, l->size[k] - meta);
        }
        nand_bch_encode(s->bch[l->strength[k]], lg + pos, l->size[k],
                        lg + pos + l->size[k]);
        pos += l->size[k] + l->ecc[k];
    }
    memset(phys, 0xff, l->phys);
    for (pos = 0; pos < l->logical; pos++) {
        phys[tango4_nfc_phys_off(l, pos)] = lg[pos];
    }

    onfi_nand_cmd(chip, NAND_CMD_SEQIN);
    tango4_nfc_send_addr(chip, s->cur_page);
    onfi_nand_write_data(chip, phys, l->phys);
    onfi_nand_cmd(chip, NAND_CMD_PAGEPROG);
}

/* The chip has the page in its register: decode it and send the data */
static void tango4_nfc_read_done(Tango4NfcState *s, const NfcLayout *l,
                                 OnfiNandState *chip)
{
    g_autofree uint8_t *phys = g_malloc(l->phys);
    g_autofree uint8_t *lg = g_malloc(l->logical);
    uint8_t *out = s->obuf;
    uint32_t report, pos, n = 0;
    uint32_t count[2] = { 0, 0 };
    bool ok[2] = { true, true };
    bool empty;

    onfi_nand_read_data(chip, phys, l->phys);
    /* all bytes equal to the first, and that is 0xff */
    empty = phys[0] == 0xff && !memcmp(phys, phys + 1, l->phys - 1);

    if (empty) {
        if (l->data) {
            memset(out, 0xff, l->data);
        }
        if (l->meta) {
            memset(s->mem + MEM_METADATA, 0xff, l->meta);
        }
        s->regs[R_XFER_STATUS] = R_XFER_STATUS_PAGE_IS_EMPTY_MASK;
    } else {
        for (pos = 0; pos < l->logical; pos++) {
            lg[pos] = phys[tango4_nfc_phys_off(l, pos)];
        }
        pos = 0;
        for (uint32_t i = 0; i < l->steps; i++) {
            int k = i ? 1 : 0;
            uint32_t meta = i ? 0 : l->meta;
            int ret = nand_bch_correct(s->bch[l->strength[k]], lg + pos,
                                       l->size[k], lg + pos + l->size[k]);

            if (ret < 0) {
                ok[k] = false;
                s->ecc_failed++;
            } else {
                count[k] = MAX(count[k], ret);
                s->ecc_corrected += ret;
            }
            if (meta) {
                memcpy(s->mem + MEM_METADATA, lg + pos, meta);
            }
            if (l->size[k] > meta) {
                memcpy(out + n, lg + pos + meta, l->size[k] - meta);
                n += l->size[k] - meta;
            }
            pos += l->size[k] + l->ecc[k];
        }
        s->regs[R_XFER_STATUS] = 0;
    }
    report = FIELD_DP32(0, ERROR_REPORT, PKT0_COUNT,
                        MIN(count[0], REPORT_COUNT_MAX));
    report = FIELD_DP32(report, ERROR_REPORT, PKT0_OK, ok[0]);
    report = FIELD_DP32(report, ERROR_REPORT, PKTN_COUNT,
                        MIN(count[1], REPORT_COUNT_MAX));
    report = FIELD_DP32(report, ERROR_REPORT, PKTN_OK, ok[1]);
    stl_le_p(s->mem + MEM_ERROR_REPORT, report);
    trace_tango4_nfc_read_report(s->cur_page, report, empty);

    s->olen = l->data;
    s->opos = 0;
}

/* Run the command in progress as far as it can go; true on progress */
static bool tango4_nfc_step(Tango4NfcState *s)
{
    OnfiNandState *chip;
    NfcLayout l;
    uint8_t status;

    if (s->state == NFC_IDLE) {
        return false;
    }
    if (!tango4_nfc_layout(s, s->cur_xfer, s->cur_pkt0, s->cur_pktn,
                           s->cur_bb, &l)) {
        /* only after an inconsistent migration: give up the command */
        s->state = NFC_IDLE;
        return true;
    }
    chip = s->chip[l.cs];
    if (!FIELD_EX32(s->pad_mode, PAD_MODE, NFC)) {
        return false;
    }
    if (s->state != NFC_READ_SEND && !onfi_nand_ready(chip)) {
        return false;
    }

    switch (s->state) {
    case NFC_READ_START:
        s->state = NFC_READ_WAIT;
        onfi_nand_cmd(chip, NAND_CMD_READ0);
        tango4_nfc_send_addr(chip, s->cur_page);
        onfi_nand_cmd(chip, NAND_CMD_READSTART);
        return true;

    case NFC_READ_WAIT:
        tango4_nfc_read_done(s, &l, chip);
        if (!s->olen) {
            /* all metadata, no data to send */
            s->state = NFC_IDLE;
            trace_tango4_nfc_cmd_done(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL),
                                      "read", l.cs, s->cur_page, 0);
            return true;
        }
        s->state = NFC_READ_SEND;
        return true;

    case NFC_READ_SEND: {
        size_t n = tango4_sbox_push(s->sbox, s->port, s->obuf + s->opos,
                                    s->olen - s->opos);

        if (n) {
            trace_tango4_nfc_push(n, s->olen - s->opos - n);
        }
        s->opos += n;
        if (s->opos < s->olen) {
            /* the box calls tango4_nfc_ready() when it takes more */
            return n != 0;
        }
        s->state = NFC_IDLE;
        s->olen = s->opos = 0;
        trace_tango4_nfc_cmd_done(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL),
                                  "read", l.cs, s->cur_page, 0);
        return true;
    }

    case NFC_PROG_DATA:
        if (fifo8_num_used(&s->fifo) < l.data) {
            return false;
        }
        s->state = NFC_PROG_WAIT;
        tango4_nfc_program(s, &l, chip);
        return true;

    case NFC_PROG_WAIT:
        onfi_nand_cmd(chip, NAND_CMD_STATUS);
        onfi_nand_read_data(chip, &status, 1);
        s->state = NFC_IDLE;
        trace_tango4_nfc_cmd_done(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL),
                                  "write", l.cs, s->cur_page, status);
        return true;
    }
    return false;
}

static void tango4_nfc_sbox_ready(Tango4NfcState *s)
{
    tango4_sbox_dst_ready(s->sbox, s->port);
}

static void tango4_nfc_advance(Tango4NfcState *s)
{
    if (s->advancing) {
        /* called back from a chip or the sbox while stepping */
        s->advance_again = true;
        return;
    }
    s->advancing = true;
    do {
        s->advance_again = false;
        while (tango4_nfc_step(s)) {
            /* go on */
        }
    } while (s->advance_again);
    s->advancing = false;
}

/*
 * Abandon the command in progress (FLASH_CMD abort, or PAD_MODE back to
 * raw): page data in the FIFO or not yet sent is discarded. A program the
 * chip already has goes on inside the chip.
 */
static void tango4_nfc_abort(Tango4NfcState *s, const char *why)
{
    uint32_t flushed = fifo8_num_used(&s->fifo) + (s->olen - s->opos);

    if (s->state == NFC_IDLE && !flushed) {
        return;
    }
    trace_tango4_nfc_abort(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL),
                           why, s->state, s->cur_page, flushed);
    s->aborts++;
    s->bytes_flushed += flushed;
    fifo8_reset(&s->fifo);
    s->olen = s->opos = 0;
    s->state = NFC_IDLE;
    s->status = FIELD_DP32(s->status, STATUS, ABORTED, 1);
}

/* A FLASH_CMD write the controller does not take */
static void G_GNUC_PRINTF(3, 4) tango4_nfc_refuse(Tango4NfcState *s,
                                                  uint32_t cmd,
                                                  const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    s->refused++;
    s->status = FIELD_DP32(s->status, STATUS, REFUSED, 1);
    trace_tango4_nfc_refused(cmd, msg);
    qemu_log_mask(LOG_GUEST_ERROR, "tango4-nfc: FLASH_CMD %u: %s: refused\n",
                  cmd, msg);
}

static void tango4_nfc_flash_cmd(Tango4NfcState *s, uint32_t cmd)
{
    NfcLayout l;
    uint32_t pages;

    if (FIELD_EX32(cmd, FLASH_CMD, ABORT)) {
        tango4_nfc_abort(s, "FLASH_CMD abort");
        return;
    }
    if (s->state != NFC_IDLE) {
        tango4_nfc_refuse(s, cmd, "the %s of page %u is in progress "
                          "(CMD_READY low)", tango4_nfc_cmd_name(s->cur_cmd),
                          s->cur_page);
        return;
    }
    if (!FIELD_EX32(s->pad_mode, PAD_MODE, NFC)) {
        tango4_nfc_refuse(s, cmd, "PBUS PAD_MODE is raw");
        return;
    }
    if (cmd != FLASH_CMD_READ && cmd != FLASH_CMD_WRITE) {
        tango4_nfc_refuse(s, cmd, "not 1 (read) or 2 (write)");
        return;
    }
    if (!tango4_nfc_layout(s, s->regs[R_XFER_CFG], s->regs[R_PKT_0_CFG],
                           s->regs[R_PKT_N_CFG], s->regs[R_BB_CFG], &l)) {
        tango4_nfc_refuse(s, cmd, "bad configuration");
        return;
    }
    if (s->regs[R_ADDR_OFFSET]) {
        tango4_nfc_refuse(s, cmd, "ADDR_OFFSET %u, only 0 is supported",
                          s->regs[R_ADDR_OFFSET]);
        return;
    }
    pages = onfi_nand_blocks(s->chip[l.cs]) *
            onfi_nand_pages_per_block(s->chip[l.cs]);
    if (s->regs[R_ADDR_PAGE] >= pages) {
        tango4_nfc_refuse(s, cmd, "ADDR_PAGE %u beyond the %u pages of the "
                          "chip on cs %u", s->regs[R_ADDR_PAGE], pages, l.cs);
        return;
    }

    s->regs[R_FLASH_CMD] = cmd;
    s->regs[R_XFER_STATUS] = 0;
    s->status = 0;
    s->cur_cmd = cmd;
    s->cur_page = s->regs[R_ADDR_PAGE];
    s->cur_xfer = s->regs[R_XFER_CFG];
    s->cur_pkt0 = s->regs[R_PKT_0_CFG];
    s->cur_pktn = s->regs[R_PKT_N_CFG];
    s->cur_bb = s->regs[R_BB_CFG];
    s->state = cmd == FLASH_CMD_READ ? NFC_READ_START : NFC_PROG_DATA;
    trace_tango4_nfc_cmd(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL),
                         tango4_nfc_cmd_name(cmd), l.cs, s->cur_page,
                         l.data, fifo8_num_used(&s->fifo));
    if (cmd == FLASH_CMD_WRITE) {
        /* page data waiting in the box may come in now */
        tango4_nfc_sbox_ready(s);
    }
    tango4_nfc_advance(s);
}

/* Bytes arriving at the sbox port: taken only while a program wants them */
static size_t tango4_nfc_receive(void *opaque, const uint8_t *buf,
                                 size_t len)
{
    Tango4NfcState *s = opaque;
    NfcLayout l;
    size_t take;

    if (s->state != NFC_PROG_DATA ||
        !tango4_nfc_layout(s, s->cur_xfer, s->cur_pkt0, s->cur_pktn,
                           s->cur_bb, &l) ||
        fifo8_num_used(&s->fifo) >= l.data) {
        return 0;
    }
    take = MIN(len, l.data - fifo8_num_used(&s->fifo));
    fifo8_push_all(&s->fifo, buf, take);
    trace_tango4_nfc_fifo_in(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL),
                             take, fifo8_num_used(&s->fifo), l.data);
    tango4_nfc_advance(s);
    return take;
}

/* The box may take read data again */
static void tango4_nfc_ready(void *opaque)
{
    tango4_nfc_advance(opaque);
}

static void tango4_nfc_rb(void *opaque, int n, int level)
{
    Tango4NfcState *s = opaque;

    if (level) {
        tango4_nfc_advance(s);
    }
}

/* NFC registers */

static uint64_t tango4_nfc_reg_read(void *opaque, hwaddr addr, unsigned size)
{
    Tango4NfcState *s = opaque;
    uint32_t val;

    if (size != 4 || (addr & 3)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-nfc: %u-byte read at register offset 0x%"
                      HWADDR_PRIx ": registers are 32-bit\n", size, addr);
        return 0;
    }
    if (addr >> 2 == R_STATUS || addr >> 2 == R_XFER_STATUS) {
        /* catch up on virtual time, as a polling driver expects */
        tango4_sbox_catch_up(s->sbox);
        tango4_nfc_advance(s);
    }
    if (addr >> 2 == R_STATUS) {
        val = FIELD_DP32(s->status, STATUS, CMD_READY,
                         s->state == NFC_IDLE);
        val = FIELD_DP32(val, STATUS, FIFO_LEVEL,
                         MIN(fifo8_num_used(&s->fifo),
                             R_STATUS_FIFO_LEVEL_MASK));
    } else {
        val = s->regs[addr >> 2];
    }
    trace_tango4_nfc_reg_read(addr, val);
    return val;
}

static void tango4_nfc_reg_write(void *opaque, hwaddr addr, uint64_t value,
                                 unsigned size)
{
    Tango4NfcState *s = opaque;

    if (size != 4 || (addr & 3)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-nfc: %u-byte write at register offset 0x%"
                      HWADDR_PRIx ": registers are 32-bit\n", size, addr);
        return;
    }
    trace_tango4_nfc_reg_write(addr, value);
    switch (addr >> 2) {
    case R_STATUS:
    case R_XFER_STATUS:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-nfc: write to read-only register 0x%02"
                      HWADDR_PRIx "\n", addr);
        break;
    case R_FLASH_CMD: {
        /* bytes with no latency move within the write */
        bool held = tango4_sbox_hold(s->sbox);

        tango4_nfc_flash_cmd(s, value);
        tango4_sbox_release(s->sbox, held);
        break;
    }
    default:
        s->regs[addr >> 2] = value;
        break;
    }
}

static const MemoryRegionOps tango4_nfc_reg_ops = {
    .read = tango4_nfc_reg_read,
    .write = tango4_nfc_reg_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid.min_access_size = 1,
    .valid.max_access_size = 4,
};

/* NFC memory window */

static uint64_t tango4_nfc_mem_read(void *opaque, hwaddr addr, unsigned size)
{
    Tango4NfcState *s = opaque;

    return ldn_le_p(s->mem + addr, size);
}

static void tango4_nfc_mem_write(void *opaque, hwaddr addr, uint64_t value,
                                 unsigned size)
{
    Tango4NfcState *s = opaque;

    if (addr < MEM_ERROR_REPORT + 4 && addr + size > MEM_ERROR_REPORT) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-nfc: ERROR_REPORT is read-only\n");
        return;
    }
    stn_le_p(s->mem + addr, size, value);
}

static const MemoryRegionOps tango4_nfc_mem_ops = {
    .read = tango4_nfc_mem_read,
    .write = tango4_nfc_mem_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid.min_access_size = 1,
    .valid.max_access_size = 4,
    .impl.min_access_size = 1,
    .impl.max_access_size = 4,
};

/* PBUS */

static bool tango4_nfc_chips_ready(Tango4NfcState *s)
{
    for (int cs = 0; cs < TANGO4_NFC_MAX_CS; cs++) {
        if (s->chip[cs] && !onfi_nand_ready(s->chip[cs])) {
            return false;
        }
    }
    return true;
}

/* The chip behind a PBUS chip select window, if raw access is allowed */
static OnfiNandState *tango4_nfc_pbus_chip(Tango4NfcState *s, hwaddr addr,
                                           bool write)
{
    unsigned cs = addr / PBUS_CS_WINDOW;

    if (FIELD_EX32(s->pad_mode, PAD_MODE, NFC)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-nfc: PBUS %s at 0x%03" HWADDR_PRIx " while "
                      "PAD_MODE gives the bus to the NFC: ignored\n",
                      write ? "write" : "read", addr);
        return NULL;
    }
    if (!s->chip[cs]) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-nfc: PBUS %s at 0x%03" HWADDR_PRIx ": no chip "
                      "on chip select %u\n", write ? "write" : "read", addr,
                      cs);
        return NULL;
    }
    return s->chip[cs];
}

static uint64_t tango4_nfc_pbus_read(void *opaque, hwaddr addr,
                                     unsigned size)
{
    Tango4NfcState *s = opaque;
    OnfiNandState *chip;
    uint8_t data;

    switch (addr) {
    case PBUS_CS_CTRL:
        return FIELD_DP32(s->cs_ctrl, CS_CTRL, IORDY,
                          tango4_nfc_chips_ready(s));
    case PBUS_PAD_MODE:
        return s->pad_mode;
    }
    if (addr < TANGO4_NFC_MAX_CS * PBUS_CS_WINDOW &&
        addr % PBUS_CS_WINDOW == PBUS_DATA) {
        chip = tango4_nfc_pbus_chip(s, addr, false);
        if (!chip) {
            return 0xff;
        }
        onfi_nand_read_data(chip, &data, 1);
        trace_tango4_nfc_pbus_data_read(addr / PBUS_CS_WINDOW, data);
        return data;
    }
    qemu_log_mask(LOG_GUEST_ERROR,
                  "tango4-nfc: PBUS read at 0x%03" HWADDR_PRIx ": not a "
                  "readable register\n", addr);
    return 0;
}

static void tango4_nfc_pbus_write(void *opaque, hwaddr addr, uint64_t value,
                                  unsigned size)
{
    Tango4NfcState *s = opaque;
    OnfiNandState *chip;
    unsigned cs = addr / PBUS_CS_WINDOW;
    uint8_t byte = value;

    switch (addr) {
    case PBUS_CS_CTRL:
        s->cs_ctrl = FIELD_DP32(value, CS_CTRL, IORDY, 0);
        return;
    case PBUS_PAD_MODE:
        trace_tango4_nfc_pad_mode(value);
        if (!FIELD_EX32(value, PAD_MODE, NFC) && s->state != NFC_IDLE) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "tango4-nfc: PAD_MODE set to raw while the %s of "
                          "page %u is in progress: command aborted\n",
                          tango4_nfc_cmd_name(s->cur_cmd), s->cur_page);
            tango4_nfc_abort(s, "PAD_MODE raw");
        }
        s->pad_mode = value & R_PAD_MODE_NFC_MASK;
        tango4_nfc_advance(s);
        return;
    }
    if (addr >= TANGO4_NFC_MAX_CS * PBUS_CS_WINDOW ||
        (addr % PBUS_CS_WINDOW != PBUS_CMD &&
         addr % PBUS_CS_WINDOW != PBUS_ADDR &&
         addr % PBUS_CS_WINDOW != PBUS_DATA)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-nfc: PBUS write at 0x%03" HWADDR_PRIx ": not a "
                      "writable register\n", addr);
        return;
    }
    chip = tango4_nfc_pbus_chip(s, addr, true);
    if (!chip) {
        return;
    }
    switch (addr % PBUS_CS_WINDOW) {
    case PBUS_CMD:
        trace_tango4_nfc_pbus_cmd(cs, byte);
        onfi_nand_cmd(chip, byte);
        break;
    case PBUS_ADDR:
        trace_tango4_nfc_pbus_addr(cs, byte);
        onfi_nand_addr(chip, byte);
        break;
    default:
        trace_tango4_nfc_pbus_data_write(cs, byte);
        onfi_nand_write_data(chip, &byte, 1);
        break;
    }
}

static const MemoryRegionOps tango4_nfc_pbus_ops = {
    .read = tango4_nfc_pbus_read,
    .write = tango4_nfc_pbus_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid.min_access_size = 1,
    .valid.max_access_size = 4,
};

/* Device */

static void tango4_nfc_realize(DeviceState *dev, Error **errp)
{
    Tango4NfcState *s = TANGO4_NFC(dev);

    if (!s->sbox) {
        error_setg(errp, "tango4-nfc: the 'sbox' link is not set");
        return;
    }
    if (s->port < 1 || s->port > TANGO4_SBOX_MAX_SRC) {
        error_setg(errp, "tango4-nfc: port %u is not a source port of the "
                   "switch box (1..%u)", s->port, TANGO4_SBOX_MAX_SRC);
        return;
    }
    if (!tango4_sbox_attach_dst(s->sbox, s->port, "nfc", tango4_nfc_receive,
                                s, errp) ||
        !tango4_sbox_attach_src(s->sbox, s->port, "nfc", tango4_nfc_ready, s,
                                errp)) {
        return;
    }
}

static void tango4_nfc_reset_hold(Object *obj, ResetType type)
{
    Tango4NfcState *s = TANGO4_NFC(obj);

    memset(s->regs, 0, sizeof(s->regs));
    memset(s->mem, 0, sizeof(s->mem));
    s->cs_ctrl = 0;
    s->pad_mode = 0;
    fifo8_reset(&s->fifo);
    s->olen = s->opos = 0;
    s->status = 0;
    s->state = NFC_IDLE;
    s->cur_cmd = 0;
    s->cur_page = 0;
    s->cur_xfer = 0;
    s->cur_pkt0 = 0;
    s->cur_pktn = 0;
    s->cur_bb = 0;
}

static void tango4_nfc_init(Object *obj)
{
    Tango4NfcState *s = TANGO4_NFC(obj);
    SysBusDevice *sbd = SYS_BUS_DEVICE(obj);

    memory_region_init_io(&s->regs_mr, obj, &tango4_nfc_reg_ops, s,
                          "tango4-nfc.regs", TANGO4_NFC_REGS_SIZE);
    memory_region_init_io(&s->mem_mr, obj, &tango4_nfc_mem_ops, s,
                          "tango4-nfc.mem", TANGO4_NFC_MEM_SIZE);
    memory_region_init_io(&s->pbus_mr, obj, &tango4_nfc_pbus_ops, s,
                          "tango4-nfc.pbus", TANGO4_NFC_PBUS_SIZE);
    sysbus_init_mmio(sbd, &s->regs_mr);
    sysbus_init_mmio(sbd, &s->mem_mr);
    sysbus_init_mmio(sbd, &s->pbus_mr);
    qdev_init_gpio_in(DEVICE(obj), tango4_nfc_rb, TANGO4_NFC_MAX_CS);
    fifo8_create(&s->fifo, TANGO4_NFC_FIFO_SIZE);

    object_property_add_uint64_ptr(obj, "ecc-corrected", &s->ecc_corrected,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "ecc-failed", &s->ecc_failed,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "refused", &s->refused,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "aborts", &s->aborts,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "bytes-flushed", &s->bytes_flushed,
                                   OBJ_PROP_FLAG_READ);
}

static void tango4_nfc_finalize(Object *obj)
{
    Tango4NfcState *s = TANGO4_NFC(obj);

    fifo8_destroy(&s->fifo);
    for (int t = 0; t <= TANGO4_NFC_MAX_STRENGTH; t++) {
        if (s->bch[t]) {
            nand_bch_free(s->bch[t]);
        }
    }
}

static int tango4_nfc_post_load(void *opaque, int version_id)
{
    Tango4NfcState *s = opaque;
    OnfiNandState *chip;
    NfcLayout l;
    bool read;

    if (s->fifo.head >= s->fifo.capacity || s->fifo.num > s->fifo.capacity ||
        s->state >= NFC_STATE__MAX || s->olen > TANGO4_NFC_FIFO_SIZE ||
        s->opos > s->olen ||
        (s->state == NFC_READ_SEND) != (s->olen != 0) ||
        (s->status & ~STATUS_STICKY) ||
        (s->pad_mode & ~R_PAD_MODE_NFC_MASK) ||
        FIELD_EX32(s->cs_ctrl, CS_CTRL, IORDY)) {
        return -EINVAL;
    }
    if (s->state != NFC_PROG_DATA && fifo8_num_used(&s->fifo)) {
        return -EINVAL;
    }
    if (s->state == NFC_IDLE) {
        return 0;
    }
    /* a command in progress: its configuration must make sense */
    if (!tango4_nfc_layout(s, s->cur_xfer, s->cur_pkt0, s->cur_pktn,
                           s->cur_bb, &l) ||
        fifo8_num_used(&s->fifo) > l.data ||
        (s->state == NFC_READ_SEND && s->olen != l.data)) {
        return -EINVAL;
    }
    chip = s->chip[l.cs];
    read = s->state == NFC_READ_START || s->state == NFC_READ_WAIT ||
           s->state == NFC_READ_SEND;
    if (s->cur_cmd != (read ? FLASH_CMD_READ : FLASH_CMD_WRITE) ||
        s->cur_page >= onfi_nand_blocks(chip) *
                       onfi_nand_pages_per_block(chip)) {
        return -EINVAL;
    }
    return 0;
}

static const VMStateDescription vmstate_tango4_nfc = {
    .name = TYPE_TANGO4_NFC,
    .version_id = 2,
    .minimum_version_id = 2,
    .post_load = tango4_nfc_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32_ARRAY(regs, Tango4NfcState, TANGO4_NFC_REGS_SIZE / 4),
        VMSTATE_UINT8_ARRAY(mem, Tango4NfcState, TANGO4_NFC_MEM_SIZE),
        VMSTATE_UINT32(cs_ctrl, Tango4NfcState),
        VMSTATE_UINT32(pad_mode, Tango4NfcState),
        VMSTATE_FIFO8(fifo, Tango4NfcState),
        VMSTATE_UINT8_ARRAY(obuf, Tango4NfcState, TANGO4_NFC_FIFO_SIZE),
        VMSTATE_UINT32(olen, Tango4NfcState),
        VMSTATE_UINT32(opos, Tango4NfcState),
        VMSTATE_UINT32(status, Tango4NfcState),
        VMSTATE_UINT32(state, Tango4NfcState),
        VMSTATE_UINT32(cur_cmd, Tango4NfcState),
        VMSTATE_UINT32(cur_page, Tango4NfcState),
        VMSTATE_UINT32(cur_xfer, Tango4NfcState),
        VMSTATE_UINT32(cur_pkt0, Tango4NfcState),
        VMSTATE_UINT32(cur_pktn, Tango4NfcState),
        VMSTATE_UINT32(cur_bb, Tango4NfcState),
        VMSTATE_UINT64(ecc_corrected, Tango4NfcState),
        VMSTATE_UINT64(ecc_failed, Tango4NfcState),
        VMSTATE_UINT64(refused, Tango4NfcState),
        VMSTATE_UINT64(aborts, Tango4NfcState),
        VMSTATE_UINT64(bytes_flushed, Tango4NfcState),
        VMSTATE_END_OF_LIST()
    },
};

static const Property tango4_nfc_properties[] = {
    DEFINE_PROP_LINK("sbox", Tango4NfcState, sbox, TYPE_TANGO4_SBOX,
                     Tango4SboxState *),
    DEFINE_PROP_UINT8("port", Tango4NfcState, port, 3),
    DEFINE_PROP_LINK("chip0", Tango4NfcState, chip[0], TYPE_ONFI_NAND,
                     OnfiNandState *),
    DEFINE_PROP_LINK("chip1", Tango4NfcState, chip[1], TYPE_ONFI_NAND,
                     OnfiNandState *),
    DEFINE_PROP_LINK("chip2", Tango4NfcState, chip[2], TYPE_ONFI_NAND,
                     OnfiNandState *),
    DEFINE_PROP_LINK("chip3", Tango4NfcState, chip[3], TYPE_ONFI_NAND,
                     OnfiNandState *),
};

static void tango4_nfc_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);

    dc->desc = "Sigma Designs tango4 NAND flash controller";
    /* needs its switch box, chips and interrupt lines wired by the board */
    dc->user_creatable = false;
    dc->realize = tango4_nfc_realize;
    dc->vmsd = &vmstate_tango4_nfc;
    rc->phases.hold = tango4_nfc_reset_hold;
    device_class_set_props(dc, tango4_nfc_properties);
}

static const TypeInfo tango4_nfc_info = {
    .name = TYPE_TANGO4_NFC,
    .parent = TYPE_SYS_BUS_DEVICE,
    .instance_size = sizeof(Tango4NfcState),
    .instance_init = tango4_nfc_init,
    .instance_finalize = tango4_nfc_finalize,
    .class_init = tango4_nfc_class_init,
};

static void tango4_nfc_register_types(void)
{
    type_register_static(&tango4_nfc_info);
}

type_init(tango4_nfc_register_types)
