/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sigma Designs tango4 memory channel
 *
 * One instance per memory channel. A memory-to-device ("read") channel
 * reads its buffer from guest memory and pushes it out of its sbox port
 * as fast as the route takes it (it waits while the port has no route or
 * the route's FIFO is full); a device-to-memory ("write") channel takes
 * the bytes arriving at its port while it has a command, and writes them
 * to guest memory (without a command, bytes wait in the switch box).
 * Either way the interrupt is pulsed when the memory side is done: for a
 * read channel, when its last byte has entered the route, while bytes may
 * still be in flight in the switch box.
 *
 * Copyright (c) 2026 tangolab developers
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "hw/irq.h"
#include "hw/limited-uint64.h"
#include "hw/registerfields.h"
#include "hw/qdev-properties.h"
#include "hw/dma/tango4_mchan.h"
#include "system/dma.h"
#include "migration/vmstate.h"
#include "trace.h"

/*
 * Registers. CMD takes mode << 1 | last to start a command, or STOP
 * alone; read, it gives the last command (LAST and MODE) and the status.
 */
REG32(ADDR, 0x0)
REG32(COUNT, 0x4)                   /* single mode: all 32 bits */
    FIELD(COUNT, X, 0, 16)          /* bytes of buffer 1, or of a line */
    FIELD(COUNT, Y, 16, 16)         /* bytes of buffer 2, or lines */
REG32(ADDR2, 0x8)                   /* STRIDE in rectangle mode */
REG32(CMD, 0xc)
    FIELD(CMD, LAST, 0, 1)
    FIELD(CMD, MODE, 1, 3)
    FIELD(CMD, STOP, 4, 1)          /* written alone */
    FIELD(CMD, REFUSED, 27, 1)      /* status bits, read only */
    FIELD(CMD, STOPPED, 28, 1)
    FIELD(CMD, LAST_DONE, 29, 1)
    FIELD(CMD, ERROR, 30, 1)
    FIELD(CMD, BUSY, 31, 1)

/* the command bits CMD keeps */
#define CMD_BITS (R_CMD_LAST_MASK | R_CMD_MODE_MASK)

enum {
    MODE_SINGLE = 1,
    MODE_DOUBLE = 2,
    MODE_RECT = 3,
};

static unsigned mchan_mode(uint32_t cmd)
{
    return FIELD_EX32(cmd, CMD, MODE);
}

/* Number of buffers (double) or lines (rectangle) of the command. */
static uint32_t mchan_nseg(Tango4MchanState *s)
{
    switch (mchan_mode(s->cmd)) {
    case MODE_DOUBLE:
        return FIELD_EX32(s->cmd_count, COUNT, Y) ? 2 : 1;
    case MODE_RECT:
        return FIELD_EX32(s->cmd_count, COUNT, Y);
    default:
        return 1;
    }
}

static void mchan_seg(Tango4MchanState *s, uint32_t i, uint64_t *base,
                      uint32_t *len)
{
    switch (mchan_mode(s->cmd)) {
    case MODE_DOUBLE:
        *base = i ? s->cmd_addr2 : s->cmd_addr;
        *len = i ? FIELD_EX32(s->cmd_count, COUNT, Y)
                 : FIELD_EX32(s->cmd_count, COUNT, X);
        break;
    case MODE_RECT:
        *base = s->cmd_addr + (uint64_t)i * s->cmd_addr2;
        *len = FIELD_EX32(s->cmd_count, COUNT, X);
        break;
    default:
        *base = s->cmd_addr;
        *len = s->cmd_count;
        break;
    }
}

static uint32_t mchan_total(Tango4MchanState *s)
{
    uint32_t x = FIELD_EX32(s->cmd_count, COUNT, X);
    uint32_t y = FIELD_EX32(s->cmd_count, COUNT, Y);

    switch (mchan_mode(s->cmd)) {
    case MODE_DOUBLE:
        return x + y;
    case MODE_RECT:
        return x * y;
    default:
        return s->cmd_count;
    }
}

/* A guest mistake: log it, count it, flag it in the status. */
static void G_GNUC_PRINTF(2, 3) mchan_error(Tango4MchanState *s,
                                            const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    s->errors++;
    s->status = FIELD_DP32(s->status, CMD, ERROR, 1);
    trace_tango4_mchan_error(s->name, msg);
    qemu_log_mask(LOG_GUEST_ERROR, "tango4-mchan %s: %s\n", s->name, msg);
}

/*
 * True if [addr, addr + len) of the channel's address space is RAM (and
 * writable if @is_write): a buffer somewhere else is a guest mistake the
 * channel refuses before it moves anything.
 */
static bool mchan_range_is_ram(Tango4MchanState *s, uint64_t addr,
                               uint64_t len, bool is_write)
{
    if (addr + len > 4 * GiB) {
        return false;
    }
    RCU_READ_LOCK_GUARD();
    while (len) {
        hwaddr xlat, size = len;
        MemoryRegion *mr = address_space_translate(&s->dma_as, addr, &xlat,
                                                   &size, is_write,
                                                   MEMTXATTRS_UNSPECIFIED);

        if (!size || size > len ||
            !memory_access_is_direct(mr, is_write, MEMTXATTRS_UNSPECIFIED)) {
            return false;
        }
        addr += size;
        len -= size;
    }
    return true;
}

/* Check a command before it starts; log the first mistake found. */
static bool mchan_check(Tango4MchanState *s, uint32_t cmd)
{
    unsigned mode = mchan_mode(cmd);
    uint32_t x = FIELD_EX32(s->cmd_count, COUNT, X);
    uint32_t y = FIELD_EX32(s->cmd_count, COUNT, Y);
    uint32_t i, n;

    if (cmd & ~CMD_BITS) {
        mchan_error(s, "CMD 0x%" PRIx32 " has reserved bits set", cmd);
        return false;
    }
    switch (mode) {
    case MODE_SINGLE:
        if (!s->cmd_count) {
            mchan_error(s, "single transfer with COUNT 0");
            return false;
        }
        if (s->cmd_count > TANGO4_MCHAN_MAX_X) {
            mchan_error(s, "single transfer COUNT 0x%" PRIx32 " beyond the "
                        "13-bit limit", s->cmd_count);
            return false;
        }
        break;
    case MODE_DOUBLE:
        if (!x) {
            mchan_error(s, "double transfer with a first buffer of 0 bytes");
            return false;
        }
        if (x > TANGO4_MCHAN_MAX_X || y > TANGO4_MCHAN_MAX_X) {
            mchan_error(s, "double transfer COUNT 0x%" PRIx32 ": a length "
                        "beyond the 13-bit limit", s->cmd_count);
            return false;
        }
        break;
    case MODE_RECT:
        if (!x || !y) {
            mchan_error(s, "rectangle transfer COUNT 0x%" PRIx32 " with no "
                        "bytes (width %" PRIu32 ", lines %" PRIu32 ")",
                        s->cmd_count, x, y);
            return false;
        }
        if (x > TANGO4_MCHAN_MAX_X || y > TANGO4_MCHAN_MAX_Y) {
            mchan_error(s, "rectangle transfer COUNT 0x%" PRIx32 " beyond "
                        "the limits (width 13 bits, lines 14 bits)",
                        s->cmd_count);
            return false;
        }
        break;
    default:
        mchan_error(s, "CMD 0x%" PRIx32 ": bad mode %u", cmd, mode);
        return false;
    }

    n = mchan_nseg(s);
    for (i = 0; i < n; i++) {
        uint64_t base;
        uint32_t len;

        mchan_seg(s, i, &base, &len);
        if (!mchan_range_is_ram(s, base, len, !s->mem_to_dev)) {
            mchan_error(s, "buffer 0x%" PRIx64 "+0x%" PRIx32 " (%s %" PRIu32
                        ") is not entirely in %sRAM", base, len,
                        mode == MODE_RECT ? "line" : "buffer",
                        i, s->mem_to_dev ? "" : "writable ");
            return false;
        }
    }
    return true;
}

/* The memory side is done (or gave up): pulse after irq-delay-ns. */
static void mchan_mem_done(Tango4MchanState *s)
{
    s->active = false;
    s->waiting = false;
    trace_tango4_mchan_mem_done(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL),
                                s->name, s->count, s->cmd_failed);
    timer_mod_ns(s->irq_timer,
                 qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + s->irq_delay_ns);
}

static void mchan_abort(Tango4MchanState *s)
{
    s->cmd_failed = true;
    mchan_mem_done(s);
}

static void mchan_advance(Tango4MchanState *s, uint32_t n)
{
    s->addr += n;
    s->count -= n;
    s->seg_left -= n;
    s->bytes += n;
    if (!s->seg_left && s->count) {
        uint64_t base;

        s->seg++;
        mchan_seg(s, s->seg, &base, &s->seg_left);
        s->addr = base;
    }
}

static void mchan_read_step(Tango4MchanState *s)
{
    while (s->active && s->count) {
        size_t room = tango4_sbox_can_push(s->sbox, s->port);
        uint32_t n;
        size_t taken;
        MemTxResult res;

        if (!room) {
            /* the box calls mchan_ready() when the route takes bytes */
            s->waiting = true;
            trace_tango4_mchan_wait(s->name, s->count);
            return;
        }
        n = MIN(MIN(s->seg_left, room), TANGO4_MCHAN_CHUNK);
        res = dma_memory_read(&s->dma_as, s->addr, s->bounce, n,
                              MEMTXATTRS_UNSPECIFIED);
        if (res != MEMTX_OK) {
            mchan_error(s, "reading 0x%" PRIx32 "+0x%" PRIx32 " failed",
                        s->addr, n);
            mchan_abort(s);
            return;
        }
        taken = tango4_sbox_push(s->sbox, s->port, s->bounce, n);
        mchan_advance(s, taken);
        if (taken < n) {
            s->waiting = true;
            trace_tango4_mchan_wait(s->name, s->count);
            return;
        }
    }
    if (s->active) {
        /* the last byte has entered the route */
        mchan_mem_done(s);
    }
}

/* Read channel: the sbox may take bytes again. */
static void mchan_ready(void *opaque)
{
    Tango4MchanState *s = opaque;

    if (s->waiting && s->active) {
        s->waiting = false;
        mchan_read_step(s);
    }
}

/* Write channel: bytes arriving at the port; returns how many it took. */
static size_t mchan_receive(void *opaque, const uint8_t *buf, size_t len)
{
    Tango4MchanState *s = opaque;
    size_t done = 0;

    while (s->active && done < len) {
        uint32_t n = MIN(len - done, s->seg_left);
        MemTxResult res;

        res = dma_memory_write(&s->dma_as, s->addr, buf + done, n,
                               MEMTXATTRS_UNSPECIFIED);
        if (res != MEMTX_OK) {
            mchan_error(s, "writing 0x%" PRIx32 "+0x%" PRIx32 " failed",
                        s->addr, n);
            mchan_abort(s);
            break;
        }
        mchan_advance(s, n);
        done += n;
        if (!s->count) {
            mchan_mem_done(s);
        }
    }
    if (done) {
        trace_tango4_mchan_receive(s->name, done, len - done);
    }
    return done;
}

static void mchan_irq_cb(void *opaque)
{
    Tango4MchanState *s = opaque;

    s->status = FIELD_DP32(s->status, CMD, BUSY, 0);
    if (!s->cmd_failed) {
        s->transfers++;
        if (FIELD_EX32(s->cmd, CMD, LAST)) {
            s->status = FIELD_DP32(s->status, CMD, LAST_DONE, 1);
        }
    }
    trace_tango4_mchan_irq(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL),
                           s->name, s->status);
    qemu_irq_pulse(s->irq);
}

/* A register write to a busy channel: refused, the transfer goes on. */
static void mchan_refuse(Tango4MchanState *s, const char *reg, uint64_t val)
{
    s->refused++;
    s->status = FIELD_DP32(s->status, CMD, REFUSED, 1);
    trace_tango4_mchan_refused(s->name, reg, val);
    qemu_log_mask(LOG_GUEST_ERROR, "tango4-mchan %s: %s write 0x%" PRIx64
                  " while busy: refused\n", s->name, reg, val);
}

/* STOP: end the command in progress where it is, without an interrupt. */
static void mchan_stop(Tango4MchanState *s)
{
    if (!FIELD_EX32(s->status, CMD, BUSY)) {
        return;
    }
    trace_tango4_mchan_stop(s->name, s->count, s->active);
    s->stops++;
    s->active = false;
    s->waiting = false;
    s->cmd_failed = true;
    timer_del(s->irq_timer);
    s->status = FIELD_DP32(s->status, CMD, BUSY, 0);
    s->status = FIELD_DP32(s->status, CMD, STOPPED, 1);
}

static void mchan_command(Tango4MchanState *s, uint32_t val)
{
    uint64_t base;

    if (val == R_CMD_STOP_MASK) {
        mchan_stop(s);
        return;
    }
    if (FIELD_EX32(s->status, CMD, BUSY)) {
        mchan_refuse(s, "CMD", val);
        return;
    }
    s->cmd = val & CMD_BITS;
    s->cmd_addr = s->addr;
    s->cmd_count = s->count;
    s->cmd_addr2 = s->addr2;
    s->status = FIELD_DP32(s->cmd, CMD, BUSY, 1);
    s->cmd_failed = false;
    trace_tango4_mchan_start(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL),
                             s->name, val, s->addr, s->count, s->addr2);

    if (!mchan_check(s, val)) {
        /* Nothing moves; the interrupt still comes, so no driver hangs. */
        mchan_abort(s);
        return;
    }

    s->active = true;
    s->seg = 0;
    mchan_seg(s, 0, &base, &s->seg_left);
    s->addr = base;
    s->count = mchan_total(s);
    if (s->mem_to_dev) {
        mchan_read_step(s);
    } else {
        /* bytes waiting in the box for this channel may come now */
        tango4_sbox_dst_ready(s->sbox, s->port);
    }
}

static uint64_t mchan_read(void *opaque, hwaddr addr, unsigned size)
{
    Tango4MchanState *s = opaque;
    uint64_t val;

    switch (addr) {
    case A_ADDR:
        val = s->addr;
        break;
    case A_COUNT:
        val = s->count;
        break;
    case A_ADDR2:
        val = s->addr2;
        break;
    case A_CMD:
        val = s->status;
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-mchan %s: read of unknown offset 0x%"
                      HWADDR_PRIx "\n", s->name, addr);
        val = 0;
        break;
    }
    trace_tango4_mchan_read(s->name, addr, val);
    return val;
}

static void mchan_write(void *opaque, hwaddr addr, uint64_t val,
                        unsigned size)
{
    Tango4MchanState *s = opaque;
    static const char *const names[] = { "ADDR", "COUNT", "ADDR2" };

    trace_tango4_mchan_write(s->name, addr, val);
    switch (addr) {
    case A_ADDR:
    case A_COUNT:
    case A_ADDR2:
        if (FIELD_EX32(s->status, CMD, BUSY)) {
            mchan_refuse(s, names[addr / 4], val);
            return;
        }
        if (addr == A_ADDR) {
            s->addr = val;
        } else if (addr == A_COUNT) {
            s->count = val;
        } else {
            s->addr2 = val;
        }
        break;
    case A_CMD: {
        /* bytes with no latency move within the write */
        bool held = tango4_sbox_hold(s->sbox);

        mchan_command(s, val);
        tango4_sbox_release(s->sbox, held);
        break;
    }
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-mchan %s: write 0x%" PRIx64 " to unknown offset "
                      "0x%" HWADDR_PRIx "\n", s->name, val, addr);
        break;
    }
}

static const MemoryRegionOps mchan_ops = {
    .read = mchan_read,
    .write = mchan_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
};

/* QOM properties */

static const LimitedUint64Prop mchan_irq_delay = {
    "irq-delay-ns", offsetof(Tango4MchanState, irq_delay_ns), 0,
    TANGO4_MCHAN_MAX_IRQ_DELAY_NS, "ns", "1 s",
    "Time from the end of the memory side to the interrupt pulse, in ns "
    "(at most 1 s)"
};

/* Migration */

static int mchan_post_load(void *opaque, int version_id)
{
    Tango4MchanState *s = opaque;
    uint64_t base;
    uint32_t len;

    if (s->irq_delay_ns > TANGO4_MCHAN_MAX_IRQ_DELAY_NS ||
        (s->waiting && (!s->active || !s->mem_to_dev)) ||
        (s->active && !FIELD_EX32(s->status, CMD, BUSY))) {
        return -EINVAL;
    }
    if (s->active) {
        unsigned mode = mchan_mode(s->cmd);

        if (mode < MODE_SINGLE || mode > MODE_RECT ||
            s->seg >= mchan_nseg(s) || !s->count || s->count > mchan_total(s)) {
            return -EINVAL;
        }
        mchan_seg(s, s->seg, &base, &len);
        if (!s->seg_left || s->seg_left > len || s->seg_left > s->count) {
            return -EINVAL;
        }
    }
    return 0;
}

static const VMStateDescription vmstate_tango4_mchan = {
    .name = TYPE_TANGO4_MCHAN,
    .version_id = 2,
    .minimum_version_id = 2,
    .post_load = mchan_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(irq_delay_ns, Tango4MchanState),
        VMSTATE_UINT32(addr, Tango4MchanState),
        VMSTATE_UINT32(count, Tango4MchanState),
        VMSTATE_UINT32(addr2, Tango4MchanState),
        VMSTATE_UINT32(status, Tango4MchanState),
        VMSTATE_BOOL(active, Tango4MchanState),
        VMSTATE_BOOL(waiting, Tango4MchanState),
        VMSTATE_BOOL(cmd_failed, Tango4MchanState),
        VMSTATE_UINT32(cmd, Tango4MchanState),
        VMSTATE_UINT32(cmd_addr, Tango4MchanState),
        VMSTATE_UINT32(cmd_count, Tango4MchanState),
        VMSTATE_UINT32(cmd_addr2, Tango4MchanState),
        VMSTATE_UINT32(seg, Tango4MchanState),
        VMSTATE_UINT32(seg_left, Tango4MchanState),
        VMSTATE_UINT64(bytes, Tango4MchanState),
        VMSTATE_UINT64(transfers, Tango4MchanState),
        VMSTATE_UINT64(errors, Tango4MchanState),
        VMSTATE_UINT64(refused, Tango4MchanState),
        VMSTATE_UINT64(stops, Tango4MchanState),
        VMSTATE_TIMER_PTR(irq_timer, Tango4MchanState),
        VMSTATE_END_OF_LIST()
    }
};

/* Device */

static void mchan_reset_hold(Object *obj, ResetType type)
{
    Tango4MchanState *s = TANGO4_MCHAN(obj);

    if (s->irq_timer) {
        timer_del(s->irq_timer);
    }
    s->addr = 0;
    s->count = 0;
    s->addr2 = 0;
    s->status = 0;
    s->active = false;
    s->waiting = false;
    s->cmd_failed = false;
    s->cmd = 0;
    s->cmd_addr = 0;
    s->cmd_count = 0;
    s->cmd_addr2 = 0;
    s->seg = 0;
    s->seg_left = 0;
}

static void mchan_init(Object *obj)
{
    Tango4MchanState *s = TANGO4_MCHAN(obj);
    SysBusDevice *sbd = SYS_BUS_DEVICE(obj);

    memory_region_init_io(&s->iomem, obj, &mchan_ops, s, TYPE_TANGO4_MCHAN,
                          TANGO4_MCHAN_MMIO_SIZE);
    sysbus_init_mmio(sbd, &s->iomem);
    sysbus_init_irq(sbd, &s->irq);

    /* read-only counters */
    object_property_add_uint64_ptr(obj, "bytes", &s->bytes,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "transfers", &s->transfers,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "errors", &s->errors,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "refused", &s->refused,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stops", &s->stops,
                                   OBJ_PROP_FLAG_READ);
}

static void mchan_realize(DeviceState *dev, Error **errp)
{
    Tango4MchanState *s = TANGO4_MCHAN(dev);
    unsigned max_port = s->mem_to_dev ? TANGO4_SBOX_MAX_SRC
                                      : TANGO4_SBOX_MAX_PORT;
    const char *component = object_get_canonical_path_component(OBJECT(dev));

    if (!s->sbox) {
        error_setg(errp, "tango4-mchan: the 'sbox' link must be set");
        return;
    }
    if (!s->dma_mr) {
        error_setg(errp, "tango4-mchan: the 'dma' link must be set");
        return;
    }
    if (s->port < 1 || s->port > max_port) {
        error_setg(errp, "tango4-mchan: 'port' must be 1..%u for a %s "
                   "channel, not %u", max_port,
                   s->mem_to_dev ? "memory-to-device" : "device-to-memory",
                   s->port);
        return;
    }
    if (component) {
        s->name = g_strdup(component);
    } else {
        s->name = g_strdup_printf("%s@port%u", s->mem_to_dev ? "read" : "write",
                                  s->port);
    }

    if (s->mem_to_dev ?
        !tango4_sbox_attach_src(s->sbox, s->port, s->name, mchan_ready, s,
                                errp) :
        !tango4_sbox_attach_dst(s->sbox, s->port, s->name, mchan_receive, s,
                                errp)) {
        g_free(s->name);
        s->name = NULL;
        return;
    }
    address_space_init(&s->dma_as, s->dma_mr, "tango4-mchan-dma");
    s->irq_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, mchan_irq_cb, s);
}

static void mchan_unrealize(DeviceState *dev)
{
    Tango4MchanState *s = TANGO4_MCHAN(dev);

    address_space_destroy(&s->dma_as);
}

static void mchan_finalize(Object *obj)
{
    Tango4MchanState *s = TANGO4_MCHAN(obj);

    if (s->irq_timer) {
        timer_free(s->irq_timer);
    }
    g_free(s->name);
}

static const Property mchan_properties[] = {
    DEFINE_PROP_LINK("sbox", Tango4MchanState, sbox, TYPE_TANGO4_SBOX,
                     Tango4SboxState *),
    DEFINE_PROP_LINK("dma", Tango4MchanState, dma_mr, TYPE_MEMORY_REGION,
                     MemoryRegion *),
    DEFINE_PROP_UINT8("port", Tango4MchanState, port, 0),
    DEFINE_PROP_BOOL("mem-to-dev", Tango4MchanState, mem_to_dev, false),
};

static void mchan_class_init(ObjectClass *oc, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    ResettableClass *rc = RESETTABLE_CLASS(oc);

    dc->desc = "Sigma Designs tango4 memory channel";
    /* needs its switch box port and interrupt wired by the board */
    dc->user_creatable = false;
    dc->realize = mchan_realize;
    dc->unrealize = mchan_unrealize;
    dc->vmsd = &vmstate_tango4_mchan;
    rc->phases.hold = mchan_reset_hold;
    device_class_set_props(dc, mchan_properties);

    limited_uint64_add(oc, &mchan_irq_delay, 1);
}

static const TypeInfo mchan_info = {
    .name = TYPE_TANGO4_MCHAN,
    .parent = TYPE_SYS_BUS_DEVICE,
    .instance_size = sizeof(Tango4MchanState),
    .instance_init = mchan_init,
    .instance_finalize = mchan_finalize,
    .class_init = mchan_class_init,
};

static void mchan_register_types(void)
{
    type_register_static(&mchan_info);
}

type_init(mchan_register_types)
