/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ONFI 1.0 SLC NAND flash chip
 *
 * Geometry and identification after the Micron MT29F1G08ABADA: pages of
 * 2048 + 64 bytes, 64 pages a block, up to 1024 blocks, two column and
 * two row address cycles. The chip is driven one bus cycle at a time
 * (see onfi_nand.h); array operations keep the ready/busy line low for
 * tR, tPROG or tBERS of QEMU_CLOCK_VIRTUAL.
 *
 * The array is backed by a raw image (main + spare of every page, in
 * page order, erased = 0xff) that is read on demand and written through
 * page by page (so that the image holds, at every instant, what the chip
 * would: a power cut or a QEMU that is killed loses nothing programmed),
 * or, without a drive, by a RAM block that migration sends with the guest
 * RAM, iteratively.
 *
 * Copyright (c) 2026 tangolab developers
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "block/block_int.h"
#include "hw/irq.h"
#include "hw/limited-uint64.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "hw/resettable.h"
#include "hw/block/onfi_nand.h"
#include "exec/memory.h"
#include "migration/vmstate.h"
#include "system/block-backend.h"
#include "system/reset.h"
#include "trace.h"

#define ONFI_PAGE_SIZE          2048
#define ONFI_OOB_SIZE           64
#define ONFI_PAGE_TOTAL         (ONFI_PAGE_SIZE + ONFI_OOB_SIZE)
#define ONFI_PAGES_PER_BLOCK    64
#define ONFI_MAX_BLOCKS         1024
#define ONFI_COL_CYCLES         2
#define ONFI_ROW_CYCLES         2
#define ONFI_ADDR_CYCLES        (ONFI_COL_CYCLES + ONFI_ROW_CYCLES)
#define ONFI_PARAM_SIZE         256
#define ONFI_CRC_BASE           0x4f4e

/* Busy time of RESET (ONFI tRST while idle) */
#define ONFI_T_RST_NS           5000
/* The parameter page gives times in us in 16 bits */
#define ONFI_T_MAX_NS           (65535ULL * 1000)
#define ONFI_T_MAX_MEANS \
    "65535 us, the largest time an ONFI parameter page can give"
/* Datasheet maxima advertised in the parameter page, in us */
#define ONFI_T_R_MAX_US         25
#define ONFI_T_PROG_MAX_US      600
#define ONFI_T_BERS_MAX_US      3000
#define ONFI_T_CCS_NS           500

/* Commands */
#define CMD_READ0               0x00
#define CMD_PAGEPROG            0x10
#define CMD_READSTART           0x30
#define CMD_RNDOUT              0x05
#define CMD_RNDOUTSTART         0xe0
#define CMD_ERASE1              0x60
#define CMD_STATUS              0x70
#define CMD_SEQIN               0x80
#define CMD_RNDIN               0x85
#define CMD_READID              0x90
#define CMD_ERASE2              0xd0
#define CMD_PARAM               0xec
#define CMD_RESET               0xff
#define CMD_NONE                0x100

/* What data-out cycles return */
enum {
    OUT_NONE,
    OUT_ID,
    OUT_ONFI_SIG,
    OUT_PARAM,
    OUT_PAGE,
    OUT_STATUS,
};

/* Array operation keeping the chip busy */
enum {
    OP_NONE,
    OP_READ,
    OP_PARAM,
    OP_PROGRAM,
    OP_ERASE,
    OP_RESET,
};

static const char *const onfi_op_names[] = {
    [OP_NONE] = "none",
    [OP_READ] = "read",
    [OP_PARAM] = "read-param",
    [OP_PROGRAM] = "program",
    [OP_ERASE] = "erase",
    [OP_RESET] = "reset",
};

static const uint8_t onfi_nand_id[] = { 0x2c, 0xf1, 0x80, 0x95, 0x02 };

struct OnfiNandState {
    DeviceState parent_obj;

    /* Properties */
    BlockBackend *blk;
    uint8_t cs;
    uint32_t blocks;
    uint64_t t_r_ns;
    uint64_t t_prog_ns;
    uint64_t t_bers_ns;

    qemu_irq rb;
    QEMUTimer *timer;
    uint32_t pages;
    /* Array without a drive, stored inverted so that zero = erased */
    MemoryRegion ram_mr;
    uint8_t *ram;

    /* Bus state machine */
    uint32_t cmd;               /* command waiting for addresses/confirm */
    uint8_t addr[ONFI_ADDR_CYCLES];
    uint8_t naddr;
    uint32_t out;               /* OUT_*: what data-out cycles return */
    uint32_t out_saved;         /* OUT_* to go back to after READ STATUS */
    uint32_t out_pos;           /* position in the ID/parameter stream */
    uint32_t col;
    uint32_t row;
    bool data_in;               /* program data cycles are accepted */
    bool overrun_logged;
    bool fail;                  /* status FAIL of the last program/erase */
    uint8_t page_reg[ONFI_PAGE_TOTAL];

    /* Array operation in progress */
    uint32_t busy_op;
    uint32_t busy_row;
    bool busy_fails;
    bool cut_pending;           /* the power cut happens when timer fires */
    int64_t busy_start;
    int64_t busy_end;

    /* Fault injection */
    bool dead;                  /* power was cut: busy until system reset */
    bool cut_armed;
    bool fail_next_program;
    bool fail_next_erase;
    bool dead_logged;
    char *flip_bits;
    uint32_t mark_bad;

    /* Statistics */
    uint64_t pages_programmed;
    uint64_t blocks_erased;
};

uint32_t onfi_nand_page_size(OnfiNandState *s)
{
    return ONFI_PAGE_SIZE;
}

uint32_t onfi_nand_oob_size(OnfiNandState *s)
{
    return ONFI_OOB_SIZE;
}

uint32_t onfi_nand_pages_per_block(OnfiNandState *s)
{
    return ONFI_PAGES_PER_BLOCK;
}

uint32_t onfi_nand_blocks(OnfiNandState *s)
{
    return s->blocks;
}

uint32_t onfi_nand_col_cycles(OnfiNandState *s)
{
    return ONFI_COL_CYCLES;
}

uint32_t onfi_nand_row_cycles(OnfiNandState *s)
{
    return ONFI_ROW_CYCLES;
}

static void onfi_nand_timer_cb(void *opaque);

/*
 * Finish a busy period whose end has passed in virtual time but whose
 * timer has not run yet (the main loop can lag behind a vCPU that polls
 * the ready line), so the chip is never seen busy longer than its timing.
 */
static void onfi_nand_catch_up(OnfiNandState *s)
{
    if (s->busy_op != OP_NONE && timer_pending(s->timer) &&
        qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) >=
        timer_expire_time_ns(s->timer)) {
        timer_del(s->timer);
        onfi_nand_timer_cb(s);
    }
}

bool onfi_nand_ready(OnfiNandState *s)
{
    onfi_nand_catch_up(s);
    return !s->dead && s->busy_op == OP_NONE;
}

/* Array access */

static void onfi_nand_load(OnfiNandState *s, uint32_t page, uint8_t *buf)
{
    int64_t off = (int64_t)page * ONFI_PAGE_TOTAL;
    int ret;

    if (!s->blk) {
        for (unsigned i = 0; i < ONFI_PAGE_TOTAL; i++) {
            buf[i] = ~s->ram[off + i];
        }
        return;
    }
    ret = blk_pread(s->blk, off, ONFI_PAGE_TOTAL, buf, 0);
    if (ret < 0) {
        error_report("nand%u: reading page %u from the image failed: %s",
                     s->cs, page, strerror(-ret));
        memset(buf, 0xff, ONFI_PAGE_TOTAL);
    }
}

static void onfi_nand_store(OnfiNandState *s, uint32_t page,
                            const uint8_t *buf, uint32_t npages)
{
    int64_t off = (int64_t)page * ONFI_PAGE_TOTAL;
    int64_t len = (int64_t)npages * ONFI_PAGE_TOTAL;
    int ret;

    if (!s->blk) {
        for (int64_t i = 0; i < len; i++) {
            s->ram[off + i] = ~buf[i];
        }
        /* a migration in progress sends these bytes again */
        memory_region_set_dirty(&s->ram_mr, off, len);
        return;
    }
    ret = blk_pwrite(s->blk, off, len, buf, 0);
    if (ret < 0) {
        error_report("nand%u: writing page %u to the image failed: %s",
                     s->cs, page, strerror(-ret));
    }
}

/* Program the first @len bytes of the page register into @page */
static void onfi_nand_program_prefix(OnfiNandState *s, uint32_t page,
                                     uint32_t len)
{
    uint8_t buf[ONFI_PAGE_TOTAL];

    onfi_nand_load(s, page, buf);
    for (uint32_t i = 0; i < len; i++) {
        buf[i] &= s->page_reg[i];
    }
    onfi_nand_store(s, page, buf, 1);
}

/* Erase @npages pages from the first page of @block */
static void onfi_nand_erase_pages(OnfiNandState *s, uint32_t block,
                                  uint32_t npages)
{
    g_autofree uint8_t *buf = NULL;

    if (!npages) {
        return;
    }
    buf = g_malloc(npages * ONFI_PAGE_TOTAL);
    memset(buf, 0xff, npages * ONFI_PAGE_TOTAL);
    onfi_nand_store(s, block * ONFI_PAGES_PER_BLOCK, buf, npages);
}

/* Parameter page */

static uint16_t onfi_crc16(uint16_t crc, const uint8_t *p, size_t len)
{
    while (len--) {
        crc ^= *p++ << 8;
        for (int i = 0; i < 8; i++) {
            crc = (crc << 1) ^ ((crc & 0x8000) ? 0x8005 : 0);
        }
    }
    return crc;
}

static uint16_t onfi_time_us(uint64_t ns, uint16_t datasheet_us)
{
    uint64_t us = DIV_ROUND_UP(ns, 1000);

    return MIN(MAX(us, (uint64_t)datasheet_us), 65535);
}

static void onfi_nand_param_page(OnfiNandState *s, uint8_t *p)
{
    memset(p, 0, ONFI_PARAM_SIZE);

    /* Revision information and features */
    memcpy(p, "ONFI", 4);
    stw_le_p(p + 4, 1 << 1);            /* ONFI 1.0 */
    stw_le_p(p + 6, 0);                 /* 8-bit bus, no optional features */
    stw_le_p(p + 8, 0);                 /* no optional commands */

    /* Manufacturer information */
    memcpy(p + 32, "MICRON      ", 12);
    memcpy(p + 44, "MT29F1G08ABADAWP    ", 20);
    p[64] = onfi_nand_id[0];

    /* Memory organisation */
    stl_le_p(p + 80, ONFI_PAGE_SIZE);
    stw_le_p(p + 84, ONFI_OOB_SIZE);
    stl_le_p(p + 86, 512);              /* partial page: 512 + 16 */
    stw_le_p(p + 90, 16);
    stl_le_p(p + 92, ONFI_PAGES_PER_BLOCK);
    stl_le_p(p + 96, s->blocks);
    p[100] = 1;                         /* LUNs */
    p[101] = ONFI_COL_CYCLES << 4 | ONFI_ROW_CYCLES;
    p[102] = 1;                         /* bits per cell */
    stw_le_p(p + 103, DIV_ROUND_UP(s->blocks * 20, ONFI_MAX_BLOCKS));
    p[105] = 1;                         /* endurance 1 * 10^5 cycles */
    p[106] = 5;
    p[107] = 1;                         /* block 0 guaranteed good */
    p[108] = 1;                         /* ... for 1 * 10^3 cycles */
    p[109] = 3;
    p[110] = 4;                         /* programs per page */
    p[112] = 1;                         /* ECC bits required per 512 bytes */

    /* Electrical parameters */
    p[128] = 10;                        /* I/O pin capacitance, pF */
    stw_le_p(p + 129, 0x001f);          /* SDR timing modes 0..4 */
    stw_le_p(p + 133, onfi_time_us(s->t_prog_ns, ONFI_T_PROG_MAX_US));
    stw_le_p(p + 135, onfi_time_us(s->t_bers_ns, ONFI_T_BERS_MAX_US));
    stw_le_p(p + 137, onfi_time_us(s->t_r_ns, ONFI_T_R_MAX_US));
    stw_le_p(p + 139, ONFI_T_CCS_NS);

    /* Vendor block */
    stw_le_p(p + 164, 1);

    stw_le_p(p + 254, onfi_crc16(ONFI_CRC_BASE, p, 254));
}

/* Busy periods */

static void onfi_nand_set_busy(OnfiNandState *s, uint32_t op, uint32_t row,
                               uint64_t ns)
{
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);

    s->busy_op = op;
    s->busy_row = row;
    s->busy_start = now;
    s->busy_end = now + ns;
    s->cut_pending = false;
    if (s->cut_armed && (op == OP_PROGRAM || op == OP_ERASE)) {
        /* An armed power cut strikes halfway through the operation */
        s->cut_armed = false;
        s->cut_pending = true;
        timer_mod(s->timer, now + ns / 2);
    } else {
        timer_mod(s->timer, s->busy_end);
    }
    trace_onfi_nand_busy(now, s->cs, onfi_op_names[op], row, ns);
    qemu_set_irq(s->rb, 0);
}

/*
 * Stop the program or erase in progress at @now, leaving the part of the
 * work done so far: a prefix of the page, or the first pages of the
 * block, in proportion to the elapsed time.
 */
static void onfi_nand_abort_op(OnfiNandState *s, int64_t now)
{
    int64_t total = s->busy_end - s->busy_start;
    int64_t done = MIN(MAX(now - s->busy_start, 0), total);
    uint32_t units = 0;

    if (s->busy_fails) {
        /* an operation meant to fail never changes the array */
    } else if (s->busy_op == OP_PROGRAM) {
        units = total ? ONFI_PAGE_TOTAL * done / total : ONFI_PAGE_TOTAL;
        onfi_nand_program_prefix(s, s->busy_row, units);
    } else if (s->busy_op == OP_ERASE) {
        units = total ? ONFI_PAGES_PER_BLOCK * done / total
                      : ONFI_PAGES_PER_BLOCK;
        onfi_nand_erase_pages(s, s->busy_row / ONFI_PAGES_PER_BLOCK, units);
    }
    trace_onfi_nand_abort(s->cs, onfi_op_names[s->busy_op], s->busy_row,
                          units);
    timer_del(s->timer);
    if (s->busy_op == OP_PROGRAM || s->busy_op == OP_ERASE) {
        s->fail = true;
    }
    s->busy_op = OP_NONE;
    s->cut_pending = false;
}

static void onfi_nand_power_cut(OnfiNandState *s)
{
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);

    if (s->busy_op != OP_NONE) {
        onfi_nand_abort_op(s, now);
    }
    trace_onfi_nand_power_cut(s->cs);
    s->dead = true;
    s->dead_logged = false;
    s->cmd = CMD_NONE;
    s->out = OUT_NONE;
    qemu_set_irq(s->rb, 0);
}

static void onfi_nand_timer_cb(void *opaque)
{
    OnfiNandState *s = opaque;
    uint32_t op = s->busy_op;

    if (s->cut_pending) {
        onfi_nand_power_cut(s);
        return;
    }

    switch (op) {
    case OP_READ:
        onfi_nand_load(s, s->busy_row, s->page_reg);
        if (s->out == OUT_STATUS) {
            s->out_saved = OUT_PAGE;
        } else {
            s->out = OUT_PAGE;
        }
        break;
    case OP_PARAM:
        s->out_pos = 0;
        if (s->out == OUT_STATUS) {
            s->out_saved = OUT_PARAM;
        } else {
            s->out = OUT_PARAM;
        }
        break;
    case OP_PROGRAM:
        s->fail = s->busy_fails;
        if (!s->busy_fails) {
            onfi_nand_program_prefix(s, s->busy_row, ONFI_PAGE_TOTAL);
            s->pages_programmed++;
        }
        break;
    case OP_ERASE:
        s->fail = s->busy_fails;
        if (!s->busy_fails) {
            onfi_nand_erase_pages(s, s->busy_row / ONFI_PAGES_PER_BLOCK,
                                  ONFI_PAGES_PER_BLOCK);
            s->blocks_erased++;
        }
        break;
    default:
        break;
    }
    trace_onfi_nand_done(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL),
                         s->cs, onfi_op_names[op], s->busy_row, s->fail);
    s->busy_op = OP_NONE;
    s->busy_fails = false;
    qemu_set_irq(s->rb, 1);
}

/* Bus cycles */

static bool onfi_nand_alive(OnfiNandState *s, const char *what)
{
    if (!s->dead) {
        return true;
    }
    if (!s->dead_logged) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "nand%u: %s ignored: the chip lost power (power-cut) "
                      "and stays off until a system reset\n", s->cs, what);
        s->dead_logged = true;
    }
    return false;
}

static uint32_t onfi_nand_col(OnfiNandState *s)
{
    return s->addr[0] | s->addr[1] << 8;
}

static uint32_t onfi_nand_row(OnfiNandState *s)
{
    return s->addr[ONFI_COL_CYCLES] | s->addr[ONFI_COL_CYCLES + 1] << 8;
}

static void onfi_nand_reset_cmd(OnfiNandState *s)
{
    if (s->cut_pending) {
        /* the armed power cut waits for the next program or erase */
        s->cut_armed = true;
    }
    if (s->busy_op == OP_PROGRAM || s->busy_op == OP_ERASE) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "nand%u: RESET aborts the %s of row %u\n",
                      s->cs, onfi_op_names[s->busy_op], s->busy_row);
        onfi_nand_abort_op(s, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    } else if (s->busy_op != OP_NONE) {
        timer_del(s->timer);
        s->busy_op = OP_NONE;
    }
    s->cmd = CMD_NONE;
    s->naddr = 0;
    s->out = OUT_NONE;
    s->out_saved = OUT_NONE;
    s->data_in = false;
    s->fail = false;
    s->busy_fails = false;
    onfi_nand_set_busy(s, OP_RESET, 0, ONFI_T_RST_NS);
}

void onfi_nand_cmd(OnfiNandState *s, uint8_t cmd)
{
    onfi_nand_catch_up(s);
    trace_onfi_nand_cmd(s->cs, cmd);
    if (!onfi_nand_alive(s, "command cycle")) {
        return;
    }
    if (s->busy_op != OP_NONE && cmd != CMD_STATUS && cmd != CMD_RESET) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "nand%u: command 0x%02x while busy (%s): ignored\n",
                      s->cs, cmd, onfi_op_names[s->busy_op]);
        return;
    }

    switch (cmd) {
    case CMD_RESET:
        onfi_nand_reset_cmd(s);
        return;

    case CMD_STATUS:
        if (s->out != OUT_STATUS) {
            s->out_saved = s->out;
            s->out = OUT_STATUS;
        }
        return;

    case CMD_READ0:
        /* Also ends READ STATUS, back to the data being read */
        if (s->out == OUT_STATUS) {
            s->out = s->out_saved;
        }
        s->cmd = cmd;
        s->naddr = 0;
        return;

    case CMD_READSTART:
        if (s->cmd != CMD_READ0 || s->naddr != ONFI_ADDR_CYCLES) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "nand%u: READ confirm (0x30) without READ (0x00) "
                          "and %u address cycles: ignored\n",
                          s->cs, ONFI_ADDR_CYCLES);
            break;
        }
        s->col = onfi_nand_col(s);
        s->row = onfi_nand_row(s);
        if (s->row >= s->pages) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "nand%u: READ of page %u beyond the %u pages of "
                          "the chip: ignored\n", s->cs, s->row, s->pages);
            break;
        }
        s->out = OUT_NONE;
        s->overrun_logged = false;
        onfi_nand_set_busy(s, OP_READ, s->row, s->t_r_ns);
        break;

    case CMD_RNDOUT:
        if (s->out == OUT_STATUS) {
            s->out = s->out_saved;
        }
        s->cmd = cmd;
        s->naddr = 0;
        return;

    case CMD_RNDOUTSTART:
        if (s->cmd != CMD_RNDOUT || s->naddr != ONFI_COL_CYCLES) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "nand%u: CHANGE READ COLUMN confirm (0xe0) without "
                          "0x05 and %u address cycles: ignored\n",
                          s->cs, ONFI_COL_CYCLES);
            break;
        }
        if (s->out == OUT_PAGE) {
            s->col = onfi_nand_col(s);
            s->overrun_logged = false;
        } else if (s->out == OUT_PARAM) {
            s->out_pos = onfi_nand_col(s);
        } else {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "nand%u: CHANGE READ COLUMN without a page or "
                          "parameter page being read: ignored\n", s->cs);
        }
        break;

    case CMD_SEQIN:
        s->cmd = cmd;
        s->naddr = 0;
        s->out = OUT_NONE;
        s->data_in = false;
        s->overrun_logged = false;
        memset(s->page_reg, 0xff, sizeof(s->page_reg));
        return;

    case CMD_RNDIN:
        if ((s->cmd != CMD_SEQIN && s->cmd != CMD_RNDIN) || !s->data_in) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "nand%u: CHANGE WRITE COLUMN (0x85) outside a "
                          "PROGRAM data input: ignored\n", s->cs);
            break;
        }
        s->cmd = cmd;
        s->naddr = 0;
        s->data_in = false;
        return;

    case CMD_PAGEPROG:
        if ((s->cmd != CMD_SEQIN && s->cmd != CMD_RNDIN) || !s->data_in) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "nand%u: PROGRAM confirm (0x10) without PROGRAM "
                          "(0x80) and %u address cycles: ignored\n",
                          s->cs, ONFI_ADDR_CYCLES);
            break;
        }
        if (s->row >= s->pages) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "nand%u: PROGRAM of page %u beyond the %u pages of "
                          "the chip: FAIL\n", s->cs, s->row, s->pages);
            s->fail = true;
            break;
        }
        s->busy_fails = s->fail_next_program;
        s->fail_next_program = false;
        onfi_nand_set_busy(s, OP_PROGRAM, s->row, s->t_prog_ns);
        break;

    case CMD_ERASE1:
        s->cmd = cmd;
        s->naddr = 0;
        s->out = OUT_NONE;
        return;

    case CMD_ERASE2:
        if (s->cmd != CMD_ERASE1 || s->naddr != ONFI_ROW_CYCLES) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "nand%u: ERASE confirm (0xd0) without ERASE (0x60) "
                          "and %u address cycles: ignored\n",
                          s->cs, ONFI_ROW_CYCLES);
            break;
        }
        s->row = s->addr[0] | s->addr[1] << 8;
        if (s->row >= s->pages) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "nand%u: ERASE of block %u beyond the %u blocks of "
                          "the chip: FAIL\n", s->cs,
                          s->row / ONFI_PAGES_PER_BLOCK, s->blocks);
            s->fail = true;
            break;
        }
        s->busy_fails = s->fail_next_erase;
        s->fail_next_erase = false;
        onfi_nand_set_busy(s, OP_ERASE, s->row, s->t_bers_ns);
        break;

    case CMD_READID:
    case CMD_PARAM:
        s->cmd = cmd;
        s->naddr = 0;
        s->out = OUT_NONE;
        return;

    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "nand%u: unsupported command 0x%02x: ignored\n",
                      s->cs, cmd);
        break;
    }
    s->cmd = CMD_NONE;
    s->naddr = 0;
}

void onfi_nand_addr(OnfiNandState *s, uint8_t addr)
{
    unsigned max;

    onfi_nand_catch_up(s);
    trace_onfi_nand_addr(s->cs, addr);
    if (!onfi_nand_alive(s, "address cycle")) {
        return;
    }
    if (s->busy_op != OP_NONE) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "nand%u: address cycle while busy: ignored\n", s->cs);
        return;
    }

    switch (s->cmd) {
    case CMD_READ0:
    case CMD_SEQIN:
    case CMD_RNDIN:
        max = ONFI_ADDR_CYCLES;
        break;
    case CMD_RNDOUT:
        max = ONFI_COL_CYCLES;
        break;
    case CMD_ERASE1:
        max = ONFI_ROW_CYCLES;
        break;
    case CMD_READID:
    case CMD_PARAM:
        max = 1;
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "nand%u: address cycle 0x%02x without a command "
                      "taking addresses: ignored\n", s->cs, addr);
        return;
    }
    if (s->naddr >= max) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "nand%u: address cycle %u for command 0x%02x, which "
                      "takes %u: ignored\n", s->cs, s->naddr + 1, s->cmd, max);
        return;
    }
    s->addr[s->naddr++] = addr;

    switch (s->cmd) {
    case CMD_READ0:
        /* A new read begins: data-out is undefined until it completes */
        s->out = OUT_NONE;
        break;
    case CMD_SEQIN:
        if (s->naddr == ONFI_ADDR_CYCLES) {
            s->col = onfi_nand_col(s);
            s->row = onfi_nand_row(s);
            s->data_in = true;
        }
        break;
    case CMD_RNDIN:
        /* two cycles change the column; four change the row as well */
        if (s->naddr == ONFI_COL_CYCLES) {
            s->col = onfi_nand_col(s);
            s->data_in = true;
            s->overrun_logged = false;
        } else if (s->naddr == ONFI_ADDR_CYCLES) {
            s->row = onfi_nand_row(s);
            s->data_in = true;
        } else {
            s->data_in = false;
        }
        break;
    case CMD_READID:
        s->out_pos = 0;
        if (addr == 0x00) {
            s->out = OUT_ID;
        } else if (addr == 0x20) {
            s->out = OUT_ONFI_SIG;
        } else {
            qemu_log_mask(LOG_UNIMP,
                          "nand%u: READ ID at address 0x%02x: only 0x00 and "
                          "0x20 are implemented\n", s->cs, addr);
            s->out = OUT_NONE;
        }
        s->cmd = CMD_NONE;
        break;
    case CMD_PARAM:
        if (addr != 0x00) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "nand%u: READ PARAMETER PAGE at address 0x%02x: "
                          "only 0x00 exists, ignored\n", s->cs, addr);
        } else {
            onfi_nand_set_busy(s, OP_PARAM, 0, s->t_r_ns);
        }
        s->cmd = CMD_NONE;
        break;
    default:
        break;
    }
}

void onfi_nand_write_data(OnfiNandState *s, const uint8_t *buf, size_t len)
{
    onfi_nand_catch_up(s);
    if (!len || !onfi_nand_alive(s, "data input")) {
        return;
    }
    if (s->busy_op != OP_NONE) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "nand%u: %zu data input bytes while busy: ignored\n",
                      s->cs, len);
        return;
    }
    if ((s->cmd != CMD_SEQIN && s->cmd != CMD_RNDIN) || !s->data_in) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "nand%u: %zu data input bytes outside a PROGRAM: "
                      "ignored\n", s->cs, len);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (s->col < ONFI_PAGE_TOTAL) {
            s->page_reg[s->col++] = buf[i];
        } else if (!s->overrun_logged) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "nand%u: data input beyond the %u bytes of a page: "
                          "dropped\n", s->cs, ONFI_PAGE_TOTAL);
            s->overrun_logged = true;
        }
    }
}

static uint8_t onfi_nand_status(OnfiNandState *s)
{
    uint8_t st = ONFI_NAND_STATUS_WP_N;

    if (s->busy_op == OP_NONE) {
        st |= ONFI_NAND_STATUS_RDY | ONFI_NAND_STATUS_ARDY;
    }
    if (s->fail) {
        st |= ONFI_NAND_STATUS_FAIL;
    }
    return st;
}

void onfi_nand_read_data(OnfiNandState *s, uint8_t *buf, size_t len)
{
    uint8_t param[ONFI_PARAM_SIZE];

    onfi_nand_catch_up(s);
    if (!len) {
        return;
    }
    if (!onfi_nand_alive(s, "data output")) {
        memset(buf, 0, len);
        return;
    }
    if (s->busy_op != OP_NONE && s->out != OUT_STATUS) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "nand%u: data output while busy (%s): undefined\n",
                      s->cs, onfi_op_names[s->busy_op]);
        memset(buf, 0, len);
        return;
    }

    switch (s->out) {
    case OUT_ID:
        for (size_t i = 0; i < len; i++, s->out_pos++) {
            buf[i] = s->out_pos < sizeof(onfi_nand_id) ?
                     onfi_nand_id[s->out_pos] : 0;
        }
        break;
    case OUT_ONFI_SIG:
        for (size_t i = 0; i < len; i++, s->out_pos++) {
            buf[i] = s->out_pos < 4 ? "ONFI"[s->out_pos] : 0;
        }
        break;
    case OUT_PARAM:
        /* The copies of the parameter page repeat endlessly */
        onfi_nand_param_page(s, param);
        for (size_t i = 0; i < len; i++, s->out_pos++) {
            buf[i] = param[s->out_pos % ONFI_PARAM_SIZE];
        }
        break;
    case OUT_PAGE:
        for (size_t i = 0; i < len; i++) {
            if (s->col < ONFI_PAGE_TOTAL) {
                buf[i] = s->page_reg[s->col++];
                continue;
            }
            if (!s->overrun_logged) {
                qemu_log_mask(LOG_GUEST_ERROR,
                              "nand%u: data output beyond the %u bytes of a "
                              "page: undefined\n", s->cs, ONFI_PAGE_TOTAL);
                s->overrun_logged = true;
            }
            buf[i] = 0;
        }
        break;
    case OUT_STATUS:
        memset(buf, onfi_nand_status(s), len);
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "nand%u: data output with nothing to output: "
                      "undefined\n", s->cs);
        memset(buf, 0, len);
        break;
    }
}

/* QOM properties */

/* Busy times: applied from the next busy period */
static const LimitedUint64Prop onfi_nand_times[] = {
    { "t-r-ns", offsetof(OnfiNandState, t_r_ns), 0, ONFI_T_MAX_NS, "ns",
      ONFI_T_MAX_MEANS, "Page read busy time (tR) in ns" },
    { "t-prog-ns", offsetof(OnfiNandState, t_prog_ns), 0, ONFI_T_MAX_NS, "ns",
      ONFI_T_MAX_MEANS, "Page program busy time (tPROG) in ns" },
    { "t-bers-ns", offsetof(OnfiNandState, t_bers_ns), 0, ONFI_T_MAX_NS,
      "ns", ONFI_T_MAX_MEANS, "Block erase busy time (tBERS) in ns" },
};

static bool onfi_nand_parse_uint(const char *str, const char **end,
                                 unsigned *value)
{
    return qemu_strtoui(str, end, 0, value) == 0 && *end != str;
}

static char *onfi_nand_get_flip_bits(Object *obj, Error **errp)
{
    OnfiNandState *s = ONFI_NAND(obj);

    return g_strdup(s->flip_bits ? s->flip_bits : "");
}

static void onfi_nand_set_flip_bits(Object *obj, const char *value,
                                    Error **errp)
{
    OnfiNandState *s = ONFI_NAND(obj);
    g_autofree uint32_t *offsets = NULL;
    g_autofree uint8_t *bits = NULL;
    uint8_t buf[ONFI_PAGE_TOTAL];
    const char *p = value;
    unsigned page, off, bit, n = 0;
    size_t max = strlen(value) / 2 + 1;

    if (!onfi_nand_parse_uint(p, &p, &page) || *p != ':') {
        error_setg(errp, "flip-bits: expected PAGE:OFFSET.BIT[,OFFSET.BIT...]"
                   ", got '%s'", value);
        return;
    }
    if (page >= s->pages) {
        error_setg(errp, "flip-bits: page %u is beyond the %u pages of nand%u",
                   page, s->pages, s->cs);
        return;
    }
    offsets = g_new(uint32_t, max);
    bits = g_new(uint8_t, max);
    do {
        p++;
        if (!onfi_nand_parse_uint(p, &p, &off) || *p != '.' ||
            !onfi_nand_parse_uint(p + 1, &p, &bit) ||
            (*p != ',' && *p != '\0')) {
            error_setg(errp, "flip-bits: expected PAGE:OFFSET.BIT[,OFFSET.BIT"
                       "...], got '%s'", value);
            return;
        }
        if (off >= ONFI_PAGE_TOTAL) {
            error_setg(errp, "flip-bits: offset %u is beyond the %u bytes of "
                       "a page (main + spare)", off, ONFI_PAGE_TOTAL);
            return;
        }
        if (bit > 7) {
            error_setg(errp, "flip-bits: bit %u is not a bit of a byte (0..7)",
                       bit);
            return;
        }
        offsets[n] = off;
        bits[n] = bit;
        n++;
    } while (*p == ',' && n < max);

    onfi_nand_load(s, page, buf);
    for (unsigned i = 0; i < n; i++) {
        buf[offsets[i]] ^= 1 << bits[i];
    }
    onfi_nand_store(s, page, buf, 1);
    trace_onfi_nand_flip_bits(s->cs, page, n);
    g_free(s->flip_bits);
    s->flip_bits = g_strdup(value);
}

static void onfi_nand_get_mark_bad(Object *obj, Visitor *v, const char *name,
                                   void *opaque, Error **errp)
{
    OnfiNandState *s = ONFI_NAND(obj);

    visit_type_uint32(v, name, &s->mark_bad, errp);
}

static void onfi_nand_set_mark_bad(Object *obj, Visitor *v, const char *name,
                                   void *opaque, Error **errp)
{
    OnfiNandState *s = ONFI_NAND(obj);
    uint8_t buf[ONFI_PAGE_TOTAL];
    uint32_t block;

    if (!visit_type_uint32(v, name, &block, errp)) {
        return;
    }
    if (block >= s->blocks) {
        error_setg(errp, "mark-bad: block %u is beyond the %u blocks of "
                   "nand%u", block, s->blocks, s->cs);
        return;
    }
    if (!s->pages) {
        error_setg(errp, "mark-bad: nand%u is not realized", s->cs);
        return;
    }
    onfi_nand_load(s, block * ONFI_PAGES_PER_BLOCK, buf);
    buf[ONFI_PAGE_SIZE] = 0x00;
    onfi_nand_store(s, block * ONFI_PAGES_PER_BLOCK, buf, 1);
    trace_onfi_nand_mark_bad(s->cs, block);
    s->mark_bad = block;
}

static bool onfi_nand_get_fail_next_program(Object *obj, Error **errp)
{
    return ONFI_NAND(obj)->fail_next_program;
}

static void onfi_nand_set_fail_next_program(Object *obj, bool value,
                                            Error **errp)
{
    ONFI_NAND(obj)->fail_next_program = value;
}

static bool onfi_nand_get_fail_next_erase(Object *obj, Error **errp)
{
    return ONFI_NAND(obj)->fail_next_erase;
}

static void onfi_nand_set_fail_next_erase(Object *obj, bool value,
                                          Error **errp)
{
    ONFI_NAND(obj)->fail_next_erase = value;
}

static bool onfi_nand_get_power_cut(Object *obj, Error **errp)
{
    OnfiNandState *s = ONFI_NAND(obj);

    return s->dead || s->cut_armed || s->cut_pending;
}

static void onfi_nand_set_power_cut(Object *obj, bool value, Error **errp)
{
    OnfiNandState *s = ONFI_NAND(obj);

    if (!value) {
        if (s->dead) {
            error_setg(errp, "power-cut: nand%u lost power and stays off "
                       "until a system reset", s->cs);
            return;
        }
        s->cut_armed = false;
        if (s->cut_pending) {
            /* disarm the cut due halfway: finish the operation normally */
            s->cut_pending = false;
            timer_mod(s->timer, s->busy_end);
        }
        return;
    }
    if (s->dead || s->cut_armed || s->cut_pending) {
        return;
    }
    if (!DEVICE(s)->realized) {
        error_setg(errp, "power-cut: nand%u is not realized", s->cs);
        return;
    }
    if (s->busy_op != OP_NONE) {
        onfi_nand_power_cut(s);
    } else {
        s->cut_armed = true;
    }
}

/* Device */

/*
 * The block layer gives a drive's length rounded up to 512-byte sectors,
 * so an image file up to 511 bytes short would pass the size check and be
 * grown by the first program at its end. When the drive is a whole
 * regular file (the "file" protocol, under format layers that map it
 * one to one, such as raw), its exact length is the file's size.
 */
static int64_t onfi_nand_exact_length(BlockBackend *blk, int64_t len)
{
    BlockDriverState *bs;
    struct stat st;

    GRAPH_RDLOCK_GUARD_MAINLOOP();
    bs = blk_bs(blk) ? bdrv_skip_filters(blk_bs(blk)) : NULL;
    while (bs && bs->drv && !bs->drv->protocol_name) {
        bs = bdrv_primary_bs(bs);
        if (bs && bdrv_getlength(bs) != len) {
            return len;     /* not one to one (e.g. raw with an offset) */
        }
    }
    if (!bs || !bs->drv || strcmp(bs->drv->protocol_name, "file") ||
        stat(bs->filename, &st) || !S_ISREG(st.st_mode) ||
        ROUND_UP(st.st_size, BDRV_SECTOR_SIZE) != len) {
        return len;
    }
    return st.st_size;
}

static void onfi_nand_realize(DeviceState *dev, Error **errp)
{
    OnfiNandState *s = ONFI_NAND(dev);
    uint64_t size;
    int64_t len;

    if (!s->blocks || s->blocks > ONFI_MAX_BLOCKS ||
        !is_power_of_2(s->blocks)) {
        error_setg(errp, "nand%u: blocks must be a power of 2 from 1 to %u, "
                   "not %u", s->cs, ONFI_MAX_BLOCKS, s->blocks);
        return;
    }
    s->pages = s->blocks * ONFI_PAGES_PER_BLOCK;
    size = (uint64_t)s->pages * ONFI_PAGE_TOTAL;

    if (s->blk) {
        if (!blk_supports_write_perm(s->blk)) {
            error_setg(errp, "nand%u: drive '%s' is read-only; a NAND chip "
                       "needs a writable image", s->cs, blk_name(s->blk));
            return;
        }
        if (blk_set_perm(s->blk, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                         BLK_PERM_ALL, errp) < 0) {
            return;
        }
        len = blk_getlength(s->blk);
        if (len < 0) {
            error_setg_errno(errp, -len, "nand%u: cannot get the size of "
                             "drive '%s'", s->cs, blk_name(s->blk));
            return;
        }
        len = onfi_nand_exact_length(s->blk, len);
        if (len != size) {
            error_setg(errp, "nand%u: drive '%s' is %" PRId64 " bytes; the "
                       "chip needs an image of exactly %" PRIu64 " bytes (%u "
                       "blocks of %u pages of %u+%u bytes)", s->cs,
                       blk_name(s->blk), len, size, s->blocks,
                       ONFI_PAGES_PER_BLOCK, ONFI_PAGE_SIZE, ONFI_OOB_SIZE);
            return;
        }
    } else {
        /*
         * zero-filled = erased: untouched host pages stay unallocated. A
         * RAM block of its own, "nandCS.array", migrates with the RAM.
         */
        g_autofree char *name = g_strdup_printf("nand%u.array", s->cs);

        if (!memory_region_init_ram(&s->ram_mr, OBJECT(s), name, size,
                                    errp)) {
            return;
        }
        s->ram = memory_region_get_ram_ptr(&s->ram_mr);
    }
    s->timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, onfi_nand_timer_cb, s);
    /* Not on a bus: register for system reset ourselves */
    qemu_register_resettable(OBJECT(s));
}

static void onfi_nand_unrealize(DeviceState *dev)
{
    OnfiNandState *s = ONFI_NAND(dev);

    qemu_unregister_resettable(OBJECT(s));
    timer_free(s->timer);
    s->ram = NULL;
}

static void onfi_nand_reset_hold(Object *obj, ResetType type)
{
    OnfiNandState *s = ONFI_NAND(obj);

    if (s->timer) {
        timer_del(s->timer);
    }
    s->cmd = CMD_NONE;
    s->naddr = 0;
    s->out = OUT_NONE;
    s->out_saved = OUT_NONE;
    s->out_pos = 0;
    s->col = 0;
    s->row = 0;
    s->data_in = false;
    s->overrun_logged = false;
    s->fail = false;
    s->busy_op = OP_NONE;
    s->busy_fails = false;
    s->cut_pending = false;
    s->dead = false;
    s->dead_logged = false;
    memset(s->page_reg, 0xff, sizeof(s->page_reg));
}

static void onfi_nand_reset_exit(Object *obj, ResetType type)
{
    qemu_set_irq(ONFI_NAND(obj)->rb, 1);
}

static void onfi_nand_init(Object *obj)
{
    OnfiNandState *s = ONFI_NAND(obj);

    s->t_r_ns = 25000;
    s->t_prog_ns = 200000;
    s->t_bers_ns = 700000;
    s->mark_bad = UINT32_MAX;
    s->cmd = CMD_NONE;
    memset(s->page_reg, 0xff, sizeof(s->page_reg));
    qdev_init_gpio_out_named(DEVICE(obj), &s->rb, ONFI_NAND_RB, 1);
    object_property_add_uint64_ptr(obj, "pages-programmed",
                                   &s->pages_programmed, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "blocks-erased",
                                   &s->blocks_erased, OBJ_PROP_FLAG_READ);
}

static void onfi_nand_finalize(Object *obj)
{
    g_free(ONFI_NAND(obj)->flip_bits);
}

static int onfi_nand_post_load(void *opaque, int version_id)
{
    OnfiNandState *s = opaque;

    /*
     * col and row hold what the guest's address cycles said, in range or
     * not: every use checks them, so any value is a state the chip can be in.
     */
    if (s->cmd > CMD_NONE || s->naddr > ONFI_ADDR_CYCLES ||
        s->out > OUT_STATUS || s->out_saved > OUT_STATUS ||
        s->busy_op > OP_RESET || s->busy_row >= s->pages ||
        s->t_r_ns > ONFI_T_MAX_NS || s->t_prog_ns > ONFI_T_MAX_NS ||
        s->t_bers_ns > ONFI_T_MAX_NS || s->busy_start < 0 ||
        s->busy_start > s->busy_end) {
        return -EINVAL;
    }
    return 0;
}

static const VMStateDescription vmstate_onfi_nand = {
    .name = TYPE_ONFI_NAND,
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = onfi_nand_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(cmd, OnfiNandState),
        VMSTATE_UINT8_ARRAY(addr, OnfiNandState, ONFI_ADDR_CYCLES),
        VMSTATE_UINT8(naddr, OnfiNandState),
        VMSTATE_UINT32(out, OnfiNandState),
        VMSTATE_UINT32(out_saved, OnfiNandState),
        VMSTATE_UINT32(out_pos, OnfiNandState),
        VMSTATE_UINT32(col, OnfiNandState),
        VMSTATE_UINT32(row, OnfiNandState),
        VMSTATE_BOOL(data_in, OnfiNandState),
        VMSTATE_BOOL(overrun_logged, OnfiNandState),
        VMSTATE_BOOL(fail, OnfiNandState),
        VMSTATE_UINT8_ARRAY(page_reg, OnfiNandState, ONFI_PAGE_TOTAL),
        VMSTATE_UINT32(busy_op, OnfiNandState),
        VMSTATE_UINT32(busy_row, OnfiNandState),
        VMSTATE_BOOL(busy_fails, OnfiNandState),
        VMSTATE_BOOL(cut_pending, OnfiNandState),
        VMSTATE_INT64(busy_start, OnfiNandState),
        VMSTATE_INT64(busy_end, OnfiNandState),
        VMSTATE_TIMER_PTR(timer, OnfiNandState),
        VMSTATE_BOOL(dead, OnfiNandState),
        VMSTATE_BOOL(cut_armed, OnfiNandState),
        VMSTATE_BOOL(fail_next_program, OnfiNandState),
        VMSTATE_BOOL(fail_next_erase, OnfiNandState),
        VMSTATE_UINT64(t_r_ns, OnfiNandState),
        VMSTATE_UINT64(t_prog_ns, OnfiNandState),
        VMSTATE_UINT64(t_bers_ns, OnfiNandState),
        VMSTATE_UINT64(pages_programmed, OnfiNandState),
        VMSTATE_UINT64(blocks_erased, OnfiNandState),
        VMSTATE_END_OF_LIST()
    },
};

static const Property onfi_nand_properties[] = {
    DEFINE_PROP_DRIVE("drive", OnfiNandState, blk),
    DEFINE_PROP_UINT8("cs", OnfiNandState, cs, 0),
    DEFINE_PROP_UINT32("blocks", OnfiNandState, blocks, ONFI_MAX_BLOCKS),
};

static void onfi_nand_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);

    dc->desc = "ONFI 1.0 SLC NAND flash chip";
    /* not on a bus: only a board can create it and link it to a controller */
    dc->user_creatable = false;
    dc->realize = onfi_nand_realize;
    dc->unrealize = onfi_nand_unrealize;
    dc->vmsd = &vmstate_onfi_nand;
    rc->phases.hold = onfi_nand_reset_hold;
    rc->phases.exit = onfi_nand_reset_exit;
    device_class_set_props(dc, onfi_nand_properties);
    set_bit(DEVICE_CATEGORY_STORAGE, dc->categories);

    limited_uint64_add(klass, onfi_nand_times, ARRAY_SIZE(onfi_nand_times));
    object_class_property_add_str(klass, "flip-bits",
                                  onfi_nand_get_flip_bits,
                                  onfi_nand_set_flip_bits);
    object_class_property_set_description(klass, "flip-bits",
        "Flip stored bits: PAGE:OFFSET.BIT[,OFFSET.BIT...]");
    object_class_property_add(klass, "mark-bad", "uint32",
                              onfi_nand_get_mark_bad, onfi_nand_set_mark_bad,
                              NULL, NULL);
    object_class_property_set_description(klass, "mark-bad",
        "Mark a block bad (clear byte 0 of the spare area of its first "
        "page); reads the last block marked");
    object_class_property_add_bool(klass, "fail-next-program",
                                   onfi_nand_get_fail_next_program,
                                   onfi_nand_set_fail_next_program);
    object_class_property_add_bool(klass, "fail-next-erase",
                                   onfi_nand_get_fail_next_erase,
                                   onfi_nand_set_fail_next_erase);
    object_class_property_add_bool(klass, "power-cut",
                                   onfi_nand_get_power_cut,
                                   onfi_nand_set_power_cut);
    object_class_property_set_description(klass, "power-cut",
        "Cut the power: aborts the program/erase in progress, or the next "
        "one halfway through; the chip stays off until a system reset");
}

static const TypeInfo onfi_nand_info = {
    .name = TYPE_ONFI_NAND,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(OnfiNandState),
    .instance_init = onfi_nand_init,
    .instance_finalize = onfi_nand_finalize,
    .class_init = onfi_nand_class_init,
};

static void onfi_nand_register_types(void)
{
    type_register_static(&onfi_nand_info);
}

type_init(onfi_nand_register_types)
