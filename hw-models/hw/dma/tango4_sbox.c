/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sigma Designs tango4 switch box (sbox)
 *
 * The box connects bidirectional ports: the route of each destination
 * port (a nibble in ROUTE or ROUTE2) names the source port it takes bytes
 * from. Every destination has a FIFO of fifo-depth bytes in flight: a
 * source's bytes enter the FIFOs of the destinations routed from it in
 * bursts, which arrive after a latency (fixed, or drawn per burst from a
 * seeded distribution) and at a bandwidth. Both sides are flow
 * controlled: a source waits while it has no route or a FIFO is full, a
 * destination that cannot take bytes leaves them in its FIFO and says
 * when it can take more. Changing the route of a destination while bytes
 * are in flight to it loses those bytes, as on the real chip: that is the
 * race the model is here to show. Resetting the box loses them too.
 *
 * Copyright (c) 2026 tangolab developers
 */

#include "qemu/osdep.h"
#include <math.h>
#include "qemu/log.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "hw/limited-uint64.h"
#include "hw/qdev-properties.h"
#include "hw/registerfields.h"
#include "hw/dma/tango4_sbox.h"
#include "migration/vmstate.h"
#include "qapi/qapi-events-tango4.h"
#include "system/cpus.h"
#include "system/runstate.h"
#include "trace.h"

/*
 * Registers. A RESET or RESET2 bit in HOLD_LO or HOLD_HI holds the box in
 * reset. ROUTE has the source nibble of destination ports 1..8 (port p at
 * bits 4(p-1)+3..4(p-1)), ROUTE2 of ports 9..16; writing a nibble 0 leaves
 * that route as it is, 0xf disconnects it.
 */
REG32(RESET, 0x0)
    FIELD(RESET, HOLD_LO, 0, 8)
    FIELD(RESET, HOLD_HI, 16, 8)
REG32(RESET2, 0x4)
REG32(ROUTE, 0x8)
REG32(ROUTE2, 0xc)

#define RESET_HOLD_MASK (R_RESET_HOLD_LO_MASK | R_RESET_HOLD_HI_MASK)
#define ROUTE_NIBBLE 4
#define ROUTE_DISCONNECTED 0xf

/* Bound on the rounds of one delivery run; more continue from the timer */
#define SBOX_MAX_ROUNDS 4096

static const char *const sbox_jitter_names[] = {
    [TANGO4_SBOX_JITTER_NONE] = "none",
    [TANGO4_SBOX_JITTER_UNIFORM] = "uniform",
    [TANGO4_SBOX_JITTER_EXPONENTIAL] = "exponential",
};

static bool sbox_held(Tango4SboxState *s)
{
    return (s->reset[0] | s->reset[1]) & RESET_HOLD_MASK;
}

static unsigned sbox_src_of(Tango4SboxState *s, unsigned dst)
{
    return extract32(s->route[(dst - 1) / 8], ((dst - 1) % 8) * ROUTE_NIBBLE,
                     ROUTE_NIBBLE);
}

static void sbox_set_src(Tango4SboxState *s, unsigned dst, unsigned src)
{
    s->route[(dst - 1) / 8] = deposit32(s->route[(dst - 1) / 8],
                                        ((dst - 1) % 8) * ROUTE_NIBBLE,
                                        ROUTE_NIBBLE, src);
}

static const char *sbox_dst_name(Tango4SboxState *s, unsigned port)
{
    return s->ports[port].dst_name ? s->ports[port].dst_name : "unconnected";
}

static Tango4SboxSlot *sbox_slot(Tango4SboxState *s, unsigned port,
                                 uint32_t i)
{
    Tango4SboxFifo *f = &s->fifo[port];

    return &s->slots[port * s->nslots + (f->head + i) % s->nslots];
}

/* splitmix64: small, fast and good enough to draw latencies from. */
static uint64_t sbox_rand(Tango4SboxState *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The latency of the next burst, in ns. */
static int64_t sbox_draw_latency(Tango4SboxState *s)
{
    double u;
    int64_t lat = s->latency_ns;

    if (!s->jitter_ns || s->jitter == TANGO4_SBOX_JITTER_NONE) {
        return lat;
    }
    if (s->jitter == TANGO4_SBOX_JITTER_UNIFORM) {
        lat += (int64_t)(sbox_rand(s) % (2 * s->jitter_ns + 1)) -
               (int64_t)s->jitter_ns;
        return MAX(lat, 0);
    }
    /* exponential: u in (0, 1] */
    u = ldexp((sbox_rand(s) >> 11) + 1, -53);
    lat += (int64_t)(-log(u) * s->jitter_ns);
    return MIN(lat, (int64_t)(2 * TANGO4_SBOX_MAX_LATENCY_NS));
}

static int64_t sbox_burst_ns(Tango4SboxState *s, unsigned len)
{
    if (!s->bandwidth) {
        return 0;
    }
    return DIV_ROUND_UP((uint64_t)len * NANOSECONDS_PER_SECOND, s->bandwidth);
}

/* Arm the timer for the earliest arrival a destination is waiting for. */
static void sbox_arm_timer(Tango4SboxState *s)
{
    int64_t next = INT64_MAX;
    unsigned p;

    for (p = 1; p <= TANGO4_SBOX_MAX_PORT; p++) {
        if (s->fifo[p].count && !s->fifo[p].stalled) {
            next = MIN(next, sbox_slot(s, p, 0)->arrival);
        }
    }
    if (next == INT64_MAX) {
        timer_del(s->timer);
    } else {
        timer_mod_ns(s->timer, next);
    }
}

static void sbox_kick(Tango4SboxState *s)
{
    if (s->running) {
        /* sbox_run() goes round again, or sets the timer when it ends */
        return;
    }
    timer_mod_ns(s->timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
}

/* Offer @port the bursts that have arrived; true if bytes moved. */
static bool sbox_deliver_port(Tango4SboxState *s, unsigned port, int64_t now)
{
    Tango4SboxFifo *f = &s->fifo[port];
    bool moved = false;

    while (f->count && !f->stalled) {
        Tango4SboxSlot *b = sbox_slot(s, port, 0);
        size_t want = b->len - b->done;
        size_t n;

        if (b->arrival > now) {
            break;
        }
        n = s->ports[port].receive(s->ports[port].dst_opaque,
                                   b->data + b->done, want);
        assert(n <= want);
        if (n) {
            trace_tango4_sbox_deliver(now, port, n, f->bytes - n);
            moved = true;
        }
        b->done += n;
        f->bytes -= n;
        s->bytes_moved += n;
        if (n < want) {
            f->stalled = true;
            trace_tango4_sbox_stall(port, sbox_dst_name(s, port), f->bytes);
            break;
        }
        f->head = (f->head + 1) % s->nslots;
        f->count--;
    }
    return moved;
}

static bool sbox_routed_dsts(Tango4SboxState *s, unsigned src, uint32_t *mask)
{
    unsigned dst;

    *mask = 0;
    if (sbox_held(s)) {
        return false;
    }
    for (dst = 1; dst <= TANGO4_SBOX_MAX_PORT; dst++) {
        if (sbox_src_of(s, dst) == src && s->ports[dst].receive) {
            *mask |= BIT(dst);
        }
    }
    return *mask != 0;
}

/* Bytes a push from @port would take now. */
static size_t sbox_room(Tango4SboxState *s, unsigned port)
{
    uint32_t mask, free_slots = UINT32_MAX;
    unsigned dst;

    if (!sbox_routed_dsts(s, port, &mask)) {
        return 0;
    }
    for (dst = 1; dst <= TANGO4_SBOX_MAX_PORT; dst++) {
        if (mask & BIT(dst)) {
            free_slots = MIN(free_slots, s->nslots - s->fifo[dst].count);
        }
    }
    return (size_t)free_slots * TANGO4_SBOX_BURST;
}

size_t tango4_sbox_can_push(Tango4SboxState *s, unsigned port)
{
    size_t room;

    assert(port >= 1 && port <= TANGO4_SBOX_MAX_SRC);
    room = sbox_room(s, port);
    if (!room && !s->ports[port].src_waiting) {
        s->ports[port].src_waiting = true;
        s->stalls++;
        trace_tango4_sbox_push_wait(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL),
                                    port, 0, 0);
    }
    return room;
}

/* Call back the sources that wait and may push now; true if any ran. */
static bool sbox_wake_sources(Tango4SboxState *s)
{
    bool woke = false;
    unsigned p;

    for (p = 1; p <= TANGO4_SBOX_MAX_SRC; p++) {
        Tango4SboxPort *port = &s->ports[p];

        if (port->src_waiting && sbox_room(s, p)) {
            port->src_waiting = false;
            trace_tango4_sbox_wake(p);
            if (port->ready) {
                port->ready(port->src_opaque);
            }
            woke = true;
        }
    }
    return woke;
}

/*
 * Deliver what has arrived and let waiting sources push, until nothing
 * moves any more at this virtual time.
 */
static void sbox_run(Tango4SboxState *s)
{
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    bool progress = true;
    unsigned rounds = 0;
    unsigned p;

    if (s->running) {
        return;
    }
    s->running = true;
    while (progress && rounds++ < SBOX_MAX_ROUNDS) {
        progress = false;
        for (p = 1; p <= TANGO4_SBOX_MAX_PORT; p++) {
            progress |= sbox_deliver_port(s, p, now);
        }
        progress |= sbox_wake_sources(s);
    }
    s->running = false;
    if (progress) {
        /* A busy loop of sources and sinks: go on from the timer. */
        sbox_kick(s);
    } else {
        sbox_arm_timer(s);
    }
}

static void sbox_timer_cb(void *opaque)
{
    sbox_run(opaque);
}

void tango4_sbox_catch_up(Tango4SboxState *s)
{
    sbox_run(s);
}

bool tango4_sbox_hold(Tango4SboxState *s)
{
    if (s->running) {
        return false;
    }
    s->running = true;
    return true;
}

void tango4_sbox_release(Tango4SboxState *s, bool held)
{
    if (held) {
        s->running = false;
        sbox_run(s);
    }
}

void tango4_sbox_src_wait(Tango4SboxState *s, unsigned port)
{
    assert(port >= 1 && port <= TANGO4_SBOX_MAX_SRC);
    s->ports[port].src_waiting = true;
    sbox_kick(s);
}

void tango4_sbox_dst_ready(Tango4SboxState *s, unsigned port)
{
    assert(port >= 1 && port <= TANGO4_SBOX_MAX_PORT);
    if (s->fifo[port].stalled) {
        s->fifo[port].stalled = false;
        trace_tango4_sbox_dst_ready(port, s->fifo[port].bytes);
    }
    sbox_kick(s);
}

size_t tango4_sbox_push(Tango4SboxState *s, unsigned port, const uint8_t *buf,
                        size_t len)
{
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    size_t take, off;
    uint32_t mask;
    unsigned dst;

    assert(port >= 1 && port <= TANGO4_SBOX_MAX_SRC);
    if (!len) {
        return 0;
    }
    take = MIN(len, sbox_room(s, port));
    if (take < len) {
        s->ports[port].src_waiting = true;
        s->stalls++;
        trace_tango4_sbox_push_wait(now, port, len, take);
        if (!take) {
            /* a route may have appeared meanwhile: look again at once */
            sbox_kick(s);
            return 0;
        }
    }
    sbox_routed_dsts(s, port, &mask);
    trace_tango4_sbox_push(port, take, mask);

    for (dst = 1; dst <= TANGO4_SBOX_MAX_PORT; dst++) {
        Tango4SboxFifo *f = &s->fifo[dst];

        if (!(mask & BIT(dst))) {
            continue;
        }
        for (off = 0; off < take; off += TANGO4_SBOX_BURST) {
            unsigned n = MIN(take - off, TANGO4_SBOX_BURST);
            int64_t prev = f->count ? sbox_slot(s, dst, f->count - 1)->arrival
                                    : INT64_MIN;
            Tango4SboxSlot *b;

            assert(f->count < s->nslots);
            b = sbox_slot(s, dst, f->count);
            b->arrival = MAX(prev, now + sbox_draw_latency(s)) +
                         sbox_burst_ns(s, n);
            b->len = n;
            b->done = 0;
            memcpy(b->data, buf + off, n);
            memset(b->data + n, 0, TANGO4_SBOX_BURST - n);
            f->count++;
            f->bytes += n;
            trace_tango4_sbox_burst(now, port, dst, n, f->bytes,
                                    b->arrival);
        }
    }
    if (s->running) {
        /* sbox_run() goes round again */
        return take;
    }
    sbox_arm_timer(s);
    return take;
}

unsigned tango4_sbox_route_src(Tango4SboxState *s, unsigned port)
{
    unsigned src;

    assert(port >= 1 && port <= TANGO4_SBOX_MAX_PORT);
    src = sbox_src_of(s, port);
    if (sbox_held(s) || src == ROUTE_DISCONNECTED) {
        return 0;
    }
    return src;
}

uint32_t tango4_sbox_in_flight(Tango4SboxState *s, unsigned port)
{
    assert(port >= 1 && port <= TANGO4_SBOX_MAX_PORT);
    return s->fifo[port].bytes;
}

static bool sbox_check_port(unsigned port, unsigned max, const char *name,
                            Error **errp)
{
    if (port < 1 || port > max) {
        error_setg(errp, "tango4-sbox: port %u out of range 1..%u for %s",
                   port, max, name);
        return false;
    }
    return true;
}

bool tango4_sbox_attach_dst(Tango4SboxState *s, unsigned port,
                            const char *name, Tango4SboxReceiveFn receive,
                            void *opaque, Error **errp)
{
    if (!sbox_check_port(port, TANGO4_SBOX_MAX_PORT, name, errp)) {
        return false;
    }
    if (s->ports[port].receive) {
        error_setg(errp, "tango4-sbox: port %u already delivers to %s, "
                   "cannot attach %s", port, s->ports[port].dst_name, name);
        return false;
    }
    s->ports[port].receive = receive;
    s->ports[port].dst_opaque = opaque;
    s->ports[port].dst_name = g_strdup(name);
    return true;
}

bool tango4_sbox_attach_src(Tango4SboxState *s, unsigned port,
                            const char *name, Tango4SboxReadyFn ready,
                            void *opaque, Error **errp)
{
    if (!sbox_check_port(port, TANGO4_SBOX_MAX_SRC, name, errp)) {
        return false;
    }
    if (s->ports[port].ready) {
        error_setg(errp, "tango4-sbox: port %u already has source %s, "
                   "cannot attach %s", port, s->ports[port].src_name, name);
        return false;
    }
    s->ports[port].ready = ready;
    s->ports[port].src_opaque = opaque;
    s->ports[port].src_name = g_strdup(name);
    return true;
}

/*
 * pause-on-drop: say what was lost (QMP event TANGO4_SBOX_DROP) and stop
 * the VM, as a debugger would, before the guest runs on. The vCPU that
 * wrote the route stops at the end of its current instruction.
 */
static void sbox_pause(Tango4SboxState *s, unsigned src, unsigned dst,
                       uint64_t lost, const char *why)
{
    qapi_event_send_tango4_sbox_drop(src, dst, lost, why,
                                     qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    qemu_system_vmstop_request_prepare();
    qemu_system_vmstop_request(RUN_STATE_PAUSED);
    /*
     * A vCPU's route write: that vCPU runs no further instruction before
     * the main loop pauses the VM (as vm_stop() from a vCPU thread does).
     */
    cpu_stop_current();
}

/*
 * Lose every byte in flight to @dst: its route changes or the box is
 * reset. What has arrived by now is delivered first, as far as @dst takes
 * it. Returns the number of bytes lost.
 */
static uint64_t sbox_drop_dst(Tango4SboxState *s, unsigned dst,
                              const char *why)
{
    Tango4SboxFifo *f = &s->fifo[dst];
    uint64_t lost;

    if (!s->running && f->count) {
        s->running = true;
        sbox_deliver_port(s, dst, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
        s->running = false;
    }
    lost = f->bytes;
    f->head = 0;
    f->count = 0;
    f->bytes = 0;
    f->stalled = false;
    if (!lost) {
        return 0;
    }
    s->bytes_dropped += lost;
    s->teardowns_in_flight++;
    if (s->pause_on_drop) {
        sbox_pause(s, sbox_src_of(s, dst), dst, lost, why);
    }
    trace_tango4_sbox_drop(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL),
                           sbox_src_of(s, dst), dst, lost, why);
    qemu_log_mask(LOG_GUEST_ERROR,
                  "tango4-sbox: %s of port %u (%s) with %" PRIu64
                  " bytes in flight to it: bytes lost\n",
                  why, dst, sbox_dst_name(s, dst), lost);
    return lost;
}

static void sbox_write_route(Tango4SboxState *s, unsigned idx, uint32_t val)
{
    bool changed = false;
    unsigned i;

    if (sbox_held(s)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-sbox: ROUTE%s write 0x%08" PRIx32 " while the "
                      "box is held in reset: ignored\n",
                      idx ? "2" : "", val);
        return;
    }
    for (i = 0; i < 8; i++) {
        unsigned dst = idx * 8 + i + 1;
        unsigned src = extract32(val, i * ROUTE_NIBBLE, ROUTE_NIBBLE);
        unsigned old = sbox_src_of(s, dst);

        if (src == 0 || src == old) {
            continue;
        }
        trace_tango4_sbox_route(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL),
                                dst, old, src);
        if (src != ROUTE_DISCONNECTED && !s->ports[dst].receive) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "tango4-sbox: port %u routed from port %u has "
                          "nothing attached: the source will wait\n",
                          dst, src);
        }
        sbox_drop_dst(s, dst, src == ROUTE_DISCONNECTED ? "disconnect"
                                                        : "re-route");
        sbox_set_src(s, dst, src);
        changed = true;
    }
    if (changed) {
        /* sources waiting for a route may go on */
        sbox_kick(s);
    }
}

static void sbox_write_reset(Tango4SboxState *s, unsigned idx, uint32_t val)
{
    bool was_held = sbox_held(s);
    unsigned dst;

    if (!was_held && (val & RESET_HOLD_MASK)) {
        /* entering reset: what is in flight is lost */
        for (dst = 1; dst <= TANGO4_SBOX_MAX_PORT; dst++) {
            unsigned old = sbox_src_of(s, dst);

            if (old != ROUTE_DISCONNECTED) {
                trace_tango4_sbox_route(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL),
                                        dst, old, ROUTE_DISCONNECTED);
            }
            sbox_drop_dst(s, dst, "reset");
        }
        s->route[0] = s->route[1] = UINT32_MAX;
    }
    s->reset[idx] = val;
    if (sbox_held(s) != was_held) {
        trace_tango4_sbox_reset_hold(!was_held);
        sbox_arm_timer(s);
    }
}

static uint64_t sbox_read(void *opaque, hwaddr addr, unsigned size)
{
    Tango4SboxState *s = opaque;

    switch (addr) {
    case A_RESET:
        return s->reset[0];
    case A_RESET2:
        return s->reset[1];
    case A_ROUTE:
        return s->route[0];
    case A_ROUTE2:
        return s->route[1];
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-sbox: read of unknown offset 0x%" HWADDR_PRIx
                      "\n", addr);
        return 0;
    }
}

static void sbox_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    Tango4SboxState *s = opaque;

    trace_tango4_sbox_write(addr, val);
    switch (addr) {
    case A_RESET:
        sbox_write_reset(s, 0, val);
        break;
    case A_RESET2:
        sbox_write_reset(s, 1, val);
        break;
    case A_ROUTE:
        sbox_write_route(s, 0, val);
        break;
    case A_ROUTE2:
        sbox_write_route(s, 1, val);
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-sbox: write 0x%" PRIx64 " to unknown offset 0x%"
                      HWADDR_PRIx "\n", val, addr);
        break;
    }
}

static const MemoryRegionOps sbox_ops = {
    .read = sbox_read,
    .write = sbox_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
};

/* QOM properties */

static void sbox_get_in_flight(Object *obj, Visitor *v, const char *name,
                               void *opaque, Error **errp)
{
    Tango4SboxState *s = TANGO4_SBOX(obj);
    uint64_t value = 0;
    unsigned p;

    for (p = 1; p <= TANGO4_SBOX_MAX_PORT; p++) {
        value += s->fifo[p].bytes;
    }
    visit_type_uint64(v, name, &value, errp);
}

static const LimitedUint64Prop sbox_settings[] = {
    { "latency-ns", offsetof(Tango4SboxState, latency_ns), 0,
      TANGO4_SBOX_MAX_LATENCY_NS, "ns", "1 s",
      "Mean time from a push to the arrival of each burst, in ns (at most "
      "1 s); applies to later pushes" },
    { "jitter-ns", offsetof(Tango4SboxState, jitter_ns), 0,
      TANGO4_SBOX_MAX_LATENCY_NS, "ns", "1 s",
      "Spread of the latency of each burst, in ns: the half-width "
      "(uniform) or the mean of the added delay (exponential)" },
    { "bandwidth", offsetof(Tango4SboxState, bandwidth),
      TANGO4_SBOX_MIN_BANDWIDTH, TANGO4_SBOX_MAX_BANDWIDTH, "bytes/s",
      "1 TB/s", "Bytes per second through each route, 0 = unlimited" },
};

static int sbox_get_jitter(Object *obj, Error **errp)
{
    return TANGO4_SBOX(obj)->jitter;
}

static void sbox_set_jitter(Object *obj, int value, Error **errp)
{
    TANGO4_SBOX(obj)->jitter = value;
}

static void sbox_get_seed(Object *obj, Visitor *v, const char *name,
                          void *opaque, Error **errp)
{
    visit_type_uint64(v, name, &TANGO4_SBOX(obj)->seed, errp);
}

static void sbox_set_seed(Object *obj, Visitor *v, const char *name,
                          void *opaque, Error **errp)
{
    Tango4SboxState *s = TANGO4_SBOX(obj);
    uint64_t value;

    if (!visit_type_uint64(v, name, &value, errp)) {
        return;
    }
    s->seed = value;
    s->rng = value;
}

static bool sbox_get_pause_on_drop(Object *obj, Error **errp)
{
    return TANGO4_SBOX(obj)->pause_on_drop;
}

static void sbox_set_pause_on_drop(Object *obj, bool value, Error **errp)
{
    TANGO4_SBOX(obj)->pause_on_drop = value;
}

static const QEnumLookup sbox_jitter_lookup = {
    .array = sbox_jitter_names,
    .size = TANGO4_SBOX_JITTER__MAX,
};

/* Migration */

static bool sbox_depth_matches(void *opaque, int version_id)
{
    Tango4SboxState *s = opaque;

    return s->mig_fifo_depth == s->fifo_depth;
}

static int sbox_pre_save(void *opaque)
{
    Tango4SboxState *s = opaque;

    s->mig_fifo_depth = s->fifo_depth;
    return 0;
}

static int sbox_post_load(void *opaque, int version_id)
{
    Tango4SboxState *s = opaque;
    unsigned p;
    uint32_t i;

    if (s->latency_ns > TANGO4_SBOX_MAX_LATENCY_NS ||
        s->jitter_ns > TANGO4_SBOX_MAX_LATENCY_NS ||
        s->jitter >= TANGO4_SBOX_JITTER__MAX ||
        (s->bandwidth && s->bandwidth < TANGO4_SBOX_MIN_BANDWIDTH) ||
        s->bandwidth > TANGO4_SBOX_MAX_BANDWIDTH) {
        return -EINVAL;
    }
    for (p = 0; p <= TANGO4_SBOX_MAX_PORT; p++) {
        Tango4SboxFifo *f = &s->fifo[p];
        int64_t prev = INT64_MIN;
        uint32_t bytes = 0;

        if (f->head >= s->nslots || f->count > s->nslots ||
            (f->count && (p == 0 || !s->ports[p].receive)) ||
            (f->stalled && !f->count)) {
            return -EINVAL;
        }
        for (i = 0; i < f->count; i++) {
            Tango4SboxSlot *b = sbox_slot(s, p, i);

            if (!b->len || b->len > TANGO4_SBOX_BURST || b->done >= b->len ||
                (i && b->done) || b->arrival < prev) {
                return -EINVAL;
            }
            prev = b->arrival;
            bytes += b->len - b->done;
        }
        if (bytes != f->bytes) {
            return -EINVAL;
        }
    }
    for (p = 0; p <= TANGO4_SBOX_MAX_PORT; p++) {
        if (s->ports[p].src_waiting &&
            (p == 0 || p > TANGO4_SBOX_MAX_SRC || !s->ports[p].ready)) {
            return -EINVAL;
        }
    }
    return 0;
}

static const VMStateDescription vmstate_tango4_sbox_slot = {
    .name = "tango4-sbox-slot",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_INT64(arrival, Tango4SboxSlot),
        VMSTATE_UINT8(len, Tango4SboxSlot),
        VMSTATE_UINT8(done, Tango4SboxSlot),
        VMSTATE_UINT8_ARRAY(data, Tango4SboxSlot, TANGO4_SBOX_BURST),
        VMSTATE_END_OF_LIST()
    }
};

static const VMStateDescription vmstate_tango4_sbox_fifo = {
    .name = "tango4-sbox-fifo",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(head, Tango4SboxFifo),
        VMSTATE_UINT32(count, Tango4SboxFifo),
        VMSTATE_UINT32(bytes, Tango4SboxFifo),
        VMSTATE_BOOL(stalled, Tango4SboxFifo),
        VMSTATE_END_OF_LIST()
    }
};

static const VMStateDescription vmstate_tango4_sbox_port = {
    .name = "tango4-sbox-port",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(src_waiting, Tango4SboxPort),
        VMSTATE_END_OF_LIST()
    }
};

static const VMStateDescription vmstate_tango4_sbox = {
    .name = TYPE_TANGO4_SBOX,
    .version_id = 2,
    .minimum_version_id = 2,
    .pre_save = sbox_pre_save,
    .post_load = sbox_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32_ARRAY(reset, Tango4SboxState, 2),
        VMSTATE_UINT32_ARRAY(route, Tango4SboxState, 2),
        VMSTATE_UINT64(latency_ns, Tango4SboxState),
        VMSTATE_UINT64(bandwidth, Tango4SboxState),
        VMSTATE_UINT32(jitter, Tango4SboxState),
        VMSTATE_UINT64(jitter_ns, Tango4SboxState),
        VMSTATE_UINT64(seed, Tango4SboxState),
        VMSTATE_UINT64(rng, Tango4SboxState),
        VMSTATE_UINT64(bytes_moved, Tango4SboxState),
        VMSTATE_UINT64(bytes_dropped, Tango4SboxState),
        VMSTATE_UINT64(teardowns_in_flight, Tango4SboxState),
        VMSTATE_UINT64(stalls, Tango4SboxState),
        VMSTATE_STRUCT_ARRAY(ports, Tango4SboxState, TANGO4_SBOX_MAX_PORT + 1,
                             1, vmstate_tango4_sbox_port, Tango4SboxPort),
        VMSTATE_STRUCT_ARRAY(fifo, Tango4SboxState, TANGO4_SBOX_MAX_PORT + 1,
                             1, vmstate_tango4_sbox_fifo, Tango4SboxFifo),
        VMSTATE_UINT32(mig_fifo_depth, Tango4SboxState),
        VMSTATE_VALIDATE("fifo-depth matches", sbox_depth_matches),
        VMSTATE_STRUCT_VARRAY_POINTER_UINT32(slots, Tango4SboxState,
                                             nslots_total,
                                             vmstate_tango4_sbox_slot,
                                             Tango4SboxSlot),
        VMSTATE_TIMER_PTR(timer, Tango4SboxState),
        VMSTATE_END_OF_LIST()
    }
};

/* Device */

static void sbox_clear(Tango4SboxState *s)
{
    unsigned p;

    for (p = 0; p <= TANGO4_SBOX_MAX_PORT; p++) {
        s->fifo[p] = (Tango4SboxFifo) { 0 };
        s->ports[p].src_waiting = false;
    }
}

static void sbox_reset_hold(Object *obj, ResetType type)
{
    Tango4SboxState *s = TANGO4_SBOX(obj);

    /* The machine restarts: what was in flight is gone, not "lost". */
    sbox_clear(s);
    if (s->timer) {
        timer_del(s->timer);
    }
    s->reset[0] = s->reset[1] = 0;
    s->route[0] = s->route[1] = UINT32_MAX;
    s->rng = s->seed;
}

static void sbox_init(Object *obj)
{
    Tango4SboxState *s = TANGO4_SBOX(obj);

    memory_region_init_io(&s->iomem, obj, &sbox_ops, s, TYPE_TANGO4_SBOX,
                          TANGO4_SBOX_MMIO_SIZE);
    sysbus_init_mmio(SYS_BUS_DEVICE(obj), &s->iomem);
    s->route[0] = s->route[1] = UINT32_MAX;
}

static void sbox_realize(DeviceState *dev, Error **errp)
{
    Tango4SboxState *s = TANGO4_SBOX(dev);

    if (s->fifo_depth < TANGO4_SBOX_BURST ||
        s->fifo_depth > TANGO4_SBOX_MAX_FIFO_DEPTH ||
        s->fifo_depth % TANGO4_SBOX_BURST) {
        error_setg(errp, "tango4-sbox: fifo-depth must be a multiple of %u "
                   "from %u to %u bytes, not %" PRIu32, TANGO4_SBOX_BURST,
                   TANGO4_SBOX_BURST, (unsigned int)TANGO4_SBOX_MAX_FIFO_DEPTH,
                   s->fifo_depth);
        return;
    }
    s->nslots = s->fifo_depth / TANGO4_SBOX_BURST;
    s->nslots_total = s->nslots * (TANGO4_SBOX_MAX_PORT + 1);
    s->slots = g_new0(Tango4SboxSlot, s->nslots_total);
    s->timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, sbox_timer_cb, s);
}

static void sbox_unrealize(DeviceState *dev)
{
    Tango4SboxState *s = TANGO4_SBOX(dev);

    timer_free(s->timer);
    s->timer = NULL;
    g_free(s->slots);
    s->slots = NULL;
}

static void sbox_finalize(Object *obj)
{
    Tango4SboxState *s = TANGO4_SBOX(obj);
    unsigned i;

    for (i = 0; i <= TANGO4_SBOX_MAX_PORT; i++) {
        g_free(s->ports[i].dst_name);
        g_free(s->ports[i].src_name);
    }
}

static const Property sbox_properties[] = {
    DEFINE_PROP_UINT32("fifo-depth", Tango4SboxState, fifo_depth,
                       TANGO4_SBOX_DEFAULT_FIFO_DEPTH),
};

static void sbox_class_init(ObjectClass *oc, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    ResettableClass *rc = RESETTABLE_CLASS(oc);

    dc->desc = "Sigma Designs tango4 switch box";
    /* needs its endpoints attached wired by the board */
    dc->user_creatable = false;
    dc->realize = sbox_realize;
    dc->unrealize = sbox_unrealize;
    dc->vmsd = &vmstate_tango4_sbox;
    rc->phases.hold = sbox_reset_hold;
    device_class_set_props(dc, sbox_properties);

    limited_uint64_add(oc, sbox_settings, ARRAY_SIZE(sbox_settings));
    object_class_property_add_enum(oc, "jitter", "Tango4SboxJitter",
                                   &sbox_jitter_lookup, sbox_get_jitter,
                                   sbox_set_jitter);
    object_class_property_set_description(oc, "jitter",
        "How each burst's latency is drawn: none, uniform or exponential");
    object_class_property_add(oc, "seed", "uint64", sbox_get_seed,
                              sbox_set_seed, NULL, NULL);
    object_class_property_set_description(oc, "seed",
        "Seed of the latency generator; setting it restarts the sequence");
    object_class_property_add(oc, "bytes-in-flight", "uint64",
                              sbox_get_in_flight, NULL, NULL, NULL);
    object_class_property_add_bool(oc, "pause-on-drop",
                                   sbox_get_pause_on_drop,
                                   sbox_set_pause_on_drop);
    object_class_property_set_description(oc, "pause-on-drop",
        "Pause the VM and send the QMP event TANGO4_SBOX_DROP when bytes "
        "in flight are lost");
}

static void sbox_instance_post_init(Object *obj)
{
    Tango4SboxState *s = TANGO4_SBOX(obj);

    object_property_add_uint64_ptr(obj, "bytes-moved", &s->bytes_moved,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "bytes-dropped", &s->bytes_dropped,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "teardowns-in-flight",
                                   &s->teardowns_in_flight,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stalls", &s->stalls,
                                   OBJ_PROP_FLAG_READ);
}

static const TypeInfo sbox_info = {
    .name = TYPE_TANGO4_SBOX,
    .parent = TYPE_SYS_BUS_DEVICE,
    .instance_size = sizeof(Tango4SboxState),
    .instance_init = sbox_init,
    .instance_post_init = sbox_instance_post_init,
    .instance_finalize = sbox_finalize,
    .class_init = sbox_class_init,
};

static void sbox_register_types(void)
{
    type_register_static(&sbox_info);
}

type_init(sbox_register_types)
