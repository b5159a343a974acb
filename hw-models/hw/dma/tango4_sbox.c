/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sigma Designs tango4 switch box (sbox)
 *
 * The box connects bidirectional ports: the route of each destination
 * port (a nibble in ROUTE or ROUTE2) names the source port it takes bytes
 * from. Bytes pushed by a source are cut into bursts that arrive at their
 * destinations after a latency and at a bandwidth (both QOM properties).
 * Changing the route of a destination while bytes are in flight to it
 * loses those bytes, as on the real chip: that is the race the model is
 * here to show.
 *
 * Copyright (c) 2026 tangolab developers
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "hw/dma/tango4_sbox.h"
#include "migration/vmstate.h"
#include "trace.h"

#define ROUTE_DISCONNECTED 0xf

static bool sbox_held(Tango4SboxState *s)
{
    return (s->reset[0] | s->reset[1]) & TANGO4_SBOX_RESET_HOLD;
}

static unsigned sbox_src_of(Tango4SboxState *s, unsigned dst)
{
    return extract32(s->route[(dst - 1) / 8], ((dst - 1) % 8) * 4, 4);
}

static void sbox_set_src(Tango4SboxState *s, unsigned dst, unsigned src)
{
    s->route[(dst - 1) / 8] = deposit32(s->route[(dst - 1) / 8],
                                        ((dst - 1) % 8) * 4, 4, src);
}

static Tango4SboxBurst *sbox_burst(Tango4SboxState *s, uint32_t i)
{
    return &s->queue[(s->queue_head + i) % s->queue_cap];
}

static const char *sbox_port_name(Tango4SboxState *s, unsigned port)
{
    return s->ports[port].name ? s->ports[port].name : "unconnected";
}

/* Rebuild the ring as a plain array of queue_len entries (head 0). */
static void sbox_queue_linearize(Tango4SboxState *s, uint32_t new_cap)
{
    Tango4SboxBurst *q = NULL;
    uint32_t i;

    assert(new_cap >= (uint32_t)s->queue_len);
    if (new_cap) {
        q = g_new(Tango4SboxBurst, new_cap);
        for (i = 0; i < s->queue_len; i++) {
            q[i] = *sbox_burst(s, i);
        }
    }
    g_free(s->queue);
    s->queue = q;
    s->queue_cap = new_cap;
    s->queue_head = 0;
}

static void sbox_arm_timer(Tango4SboxState *s)
{
    if (s->queue_len) {
        timer_mod_ns(s->timer, sbox_burst(s, 0)->arrival);
    } else {
        timer_del(s->timer);
    }
}

static uint64_t sbox_bytes_in_flight(Tango4SboxState *s)
{
    uint64_t total = 0;
    uint32_t i;

    for (i = 0; i < s->queue_len; i++) {
        Tango4SboxBurst *b = sbox_burst(s, i);

        total += (uint64_t)b->len * ctpop32(b->dst_mask);
    }
    return total;
}

/*
 * Lose every byte in flight to @dst: the route of @dst is about to
 * change. Returns the number of bytes lost.
 */
static uint64_t sbox_drop_dst(Tango4SboxState *s, unsigned dst,
                              const char *why)
{
    uint64_t lost = 0;
    uint32_t i, kept = 0, len = s->queue_len;

    for (i = 0; i < len; i++) {
        Tango4SboxBurst *b = sbox_burst(s, i);

        if (b->dst_mask & BIT(dst)) {
            b->dst_mask &= ~BIT(dst);
            lost += b->len;
        }
    }
    if (!lost) {
        return 0;
    }

    /* Remove the bursts nobody waits for any more, keeping the order. */
    for (i = 0; i < len; i++) {
        Tango4SboxBurst *b = sbox_burst(s, i);

        if (b->dst_mask) {
            if (kept != i) {
                *sbox_burst(s, kept) = *b;
            }
            kept++;
        } else {
            s->queued_bytes -= b->len;
        }
    }
    s->queue_len = kept;

    s->bytes_dropped += lost;
    s->teardowns_in_flight++;
    trace_tango4_sbox_drop(dst, lost, why);
    qemu_log_mask(LOG_GUEST_ERROR,
                  "tango4-sbox: %s of port %u (%s) with %" PRIu64
                  " bytes in flight to it: bytes lost\n",
                  why, dst, sbox_port_name(s, dst), lost);
    sbox_arm_timer(s);
    notifier_list_notify(&s->space_notifiers, s);
    return lost;
}

static void sbox_deliver(Tango4SboxState *s, unsigned dst, const uint8_t *buf,
                         size_t len)
{
    s->bytes_moved += len;
    trace_tango4_sbox_deliver(dst, len);
    s->ports[dst].receive(s->ports[dst].opaque, buf, len);
}

static void sbox_timer_cb(void *opaque)
{
    Tango4SboxState *s = opaque;
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    bool freed = false;

    while (s->queue_len && sbox_burst(s, 0)->arrival <= now) {
        Tango4SboxBurst b = *sbox_burst(s, 0);
        unsigned dst;

        /* Take it off the queue first: the receivers see a consistent box */
        s->queue_head = (s->queue_head + 1) % s->queue_cap;
        s->queue_len--;
        s->queued_bytes -= b.len;
        freed = true;

        for (dst = 1; dst <= TANGO4_SBOX_MAX_PORT; dst++) {
            if (b.dst_mask & BIT(dst)) {
                sbox_deliver(s, dst, b.data, b.len);
            }
        }
    }
    sbox_arm_timer(s);
    if (freed) {
        notifier_list_notify(&s->space_notifiers, s);
    }
}

static int64_t sbox_burst_ns(Tango4SboxState *s, unsigned len)
{
    if (!s->bandwidth) {
        return 0;
    }
    return DIV_ROUND_UP((uint64_t)len * NANOSECONDS_PER_SECOND, s->bandwidth);
}

bool tango4_sbox_push(Tango4SboxState *s, unsigned port, const uint8_t *buf,
                      size_t len)
{
    uint32_t mask = 0;
    unsigned dst, unattached = 0;
    int64_t now, start, prev;
    size_t off;

    assert(port >= 1 && port <= TANGO4_SBOX_MAX_SRC);
    if (!len) {
        return true;
    }
    if (sbox_held(s)) {
        s->bytes_dropped += len;
        trace_tango4_sbox_push_lost(port, len, "held in reset");
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-sbox: %zu bytes pushed from port %u while the "
                      "box is held in reset: dropped\n", len, port);
        return false;
    }

    for (dst = 1; dst <= TANGO4_SBOX_MAX_PORT; dst++) {
        if (sbox_src_of(s, dst) != port) {
            continue;
        }
        if (s->ports[dst].receive) {
            mask |= BIT(dst);
        } else {
            unattached++;
            qemu_log_mask(LOG_GUEST_ERROR,
                          "tango4-sbox: port %u is routed to port %u, which "
                          "has nothing attached: %zu bytes dropped\n",
                          port, dst, len);
        }
    }
    s->bytes_dropped += (uint64_t)len * unattached;
    if (!mask) {
        if (!unattached) {
            s->bytes_dropped += len;
            qemu_log_mask(LOG_GUEST_ERROR,
                          "tango4-sbox: %zu bytes pushed from port %u, which "
                          "is routed to no destination: dropped\n",
                          len, port);
        }
        trace_tango4_sbox_push_lost(port, len, "no route");
        return false;
    }

    now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    trace_tango4_sbox_push(port, len, mask, s->latency_ns, s->bandwidth);

    if (!s->queue_len && !s->latency_ns && !s->bandwidth) {
        /* Synchronous delivery: nothing is ever in flight. */
        for (dst = 1; dst <= TANGO4_SBOX_MAX_PORT; dst++) {
            if (mask & BIT(dst)) {
                sbox_deliver(s, dst, buf, len);
            }
        }
        return true;
    }

    start = now + s->latency_ns;
    prev = s->queue_len ? sbox_burst(s, s->queue_len - 1)->arrival
                        : INT64_MIN;
    for (off = 0; off < len; off += TANGO4_SBOX_BURST) {
        unsigned n = MIN(len - off, TANGO4_SBOX_BURST);
        Tango4SboxBurst *b;

        if (s->queue_len == s->queue_cap) {
            sbox_queue_linearize(s, MAX(16, s->queue_cap * 2));
        }
        b = sbox_burst(s, s->queue_len);
        b->arrival = MAX(prev, start) + sbox_burst_ns(s, n);
        b->dst_mask = mask;
        b->src = port;
        b->len = n;
        memcpy(b->data, buf + off, n);
        memset(b->data + n, 0, TANGO4_SBOX_BURST - n);
        prev = b->arrival;
        s->queue_len++;
        s->queued_bytes += n;
    }
    sbox_arm_timer(s);
    return true;
}

bool tango4_sbox_routed_from(Tango4SboxState *s, unsigned port)
{
    unsigned dst;

    if (sbox_held(s)) {
        return false;
    }
    for (dst = 1; dst <= TANGO4_SBOX_MAX_PORT; dst++) {
        if (sbox_src_of(s, dst) == port) {
            return true;
        }
    }
    return false;
}

bool tango4_sbox_routed_to(Tango4SboxState *s, unsigned port)
{
    assert(port >= 1 && port <= TANGO4_SBOX_MAX_PORT);
    return !sbox_held(s) && sbox_src_of(s, port) != ROUTE_DISCONNECTED;
}

size_t tango4_sbox_space(Tango4SboxState *s)
{
    if (s->queued_bytes >= TANGO4_SBOX_CAPACITY) {
        return 0;
    }
    return TANGO4_SBOX_CAPACITY - s->queued_bytes;
}

void tango4_sbox_add_space_notifier(Tango4SboxState *s, Notifier *n)
{
    notifier_list_add(&s->space_notifiers, n);
}

bool tango4_sbox_attach(Tango4SboxState *s, unsigned port, const char *name,
                        Tango4SboxReceiveFn receive, void *opaque,
                        Error **errp)
{
    if (port < 1 || port > TANGO4_SBOX_MAX_PORT) {
        error_setg(errp, "tango4-sbox: port %u out of range 1..%u for %s",
                   port, TANGO4_SBOX_MAX_PORT, name);
        return false;
    }
    if (s->ports[port].receive) {
        error_setg(errp, "tango4-sbox: port %u already taken by %s, "
                   "cannot attach %s", port, s->ports[port].name, name);
        return false;
    }
    s->ports[port].receive = receive;
    s->ports[port].opaque = opaque;
    s->ports[port].name = g_strdup(name);
    return true;
}

static void sbox_write_route(Tango4SboxState *s, unsigned idx, uint32_t val)
{
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
        unsigned src = extract32(val, i * 4, 4);
        unsigned old = sbox_src_of(s, dst);

        if (src == 0 || src == old) {
            continue;
        }
        trace_tango4_sbox_route(dst, old, src);
        sbox_drop_dst(s, dst, src == ROUTE_DISCONNECTED ? "disconnect"
                                                        : "re-route");
        sbox_set_src(s, dst, src);
    }
}

static void sbox_write_reset(Tango4SboxState *s, unsigned idx, uint32_t val)
{
    bool was_held = sbox_held(s);
    unsigned dst;

    s->reset[idx] = val;
    if (sbox_held(s) == was_held) {
        return;
    }
    trace_tango4_sbox_reset_hold(!was_held);
    if (was_held) {
        return;
    }
    for (dst = 1; dst <= TANGO4_SBOX_MAX_PORT; dst++) {
        unsigned old = sbox_src_of(s, dst);

        if (old != ROUTE_DISCONNECTED) {
            trace_tango4_sbox_route(dst, old, ROUTE_DISCONNECTED);
        }
        sbox_drop_dst(s, dst, "reset");
    }
    s->route[0] = s->route[1] = UINT32_MAX;
}

static uint64_t sbox_read(void *opaque, hwaddr addr, unsigned size)
{
    Tango4SboxState *s = opaque;

    switch (addr) {
    case TANGO4_SBOX_RESET:
        return s->reset[0];
    case TANGO4_SBOX_RESET2:
        return s->reset[1];
    case TANGO4_SBOX_ROUTE:
        return s->route[0];
    case TANGO4_SBOX_ROUTE2:
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
    case TANGO4_SBOX_RESET:
        sbox_write_reset(s, 0, val);
        break;
    case TANGO4_SBOX_RESET2:
        sbox_write_reset(s, 1, val);
        break;
    case TANGO4_SBOX_ROUTE:
        sbox_write_route(s, 0, val);
        break;
    case TANGO4_SBOX_ROUTE2:
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

static void sbox_get_u64(Object *obj, Visitor *v, const char *name,
                             void *opaque, Error **errp)
{
    Tango4SboxState *s = TANGO4_SBOX(obj);
    uint64_t value;

    if (!strcmp(name, "bytes-moved")) {
        value = s->bytes_moved;
    } else if (!strcmp(name, "bytes-dropped")) {
        value = s->bytes_dropped;
    } else if (!strcmp(name, "bytes-in-flight")) {
        value = sbox_bytes_in_flight(s);
    } else if (!strcmp(name, "teardowns-in-flight")) {
        value = s->teardowns_in_flight;
    } else if (!strcmp(name, "latency-ns")) {
        value = s->latency_ns;
    } else if (!strcmp(name, "bandwidth")) {
        value = s->bandwidth;
    } else {
        g_assert_not_reached();
    }
    visit_type_uint64(v, name, &value, errp);
}

static void sbox_set_latency(Object *obj, Visitor *v, const char *name,
                             void *opaque, Error **errp)
{
    Tango4SboxState *s = TANGO4_SBOX(obj);
    uint64_t value;

    if (!visit_type_uint64(v, name, &value, errp)) {
        return;
    }
    if (value > TANGO4_SBOX_MAX_LATENCY_NS) {
        error_setg(errp, "tango4-sbox: latency-ns must be at most %llu "
                   "(1 s), not %" PRIu64, TANGO4_SBOX_MAX_LATENCY_NS, value);
        return;
    }
    s->latency_ns = value;
}

static void sbox_set_bandwidth(Object *obj, Visitor *v, const char *name,
                               void *opaque, Error **errp)
{
    Tango4SboxState *s = TANGO4_SBOX(obj);
    uint64_t value;

    if (!visit_type_uint64(v, name, &value, errp)) {
        return;
    }
    if (value && value < TANGO4_SBOX_MIN_BANDWIDTH) {
        error_setg(errp, "tango4-sbox: bandwidth must be 0 (unlimited) or at "
                   "least %llu bytes/s, not %" PRIu64,
                   TANGO4_SBOX_MIN_BANDWIDTH, value);
        return;
    }
    s->bandwidth = value;
}

/* Migration */

static int sbox_pre_save(void *opaque)
{
    Tango4SboxState *s = opaque;

    sbox_queue_linearize(s, s->queue_len);
    return 0;
}

static int sbox_pre_load(void *opaque)
{
    Tango4SboxState *s = opaque;

    g_free(s->queue);
    s->queue = NULL;
    s->queue_len = 0;
    s->queue_cap = 0;
    s->queue_head = 0;
    return 0;
}

static int sbox_post_load(void *opaque, int version_id)
{
    Tango4SboxState *s = opaque;
    int64_t prev = INT64_MIN;
    int32_t i;

    if (s->queue_len < 0 || (s->queue_len && !s->queue) ||
        s->latency_ns > TANGO4_SBOX_MAX_LATENCY_NS ||
        (s->bandwidth && s->bandwidth < TANGO4_SBOX_MIN_BANDWIDTH)) {
        return -EINVAL;
    }
    s->queue_cap = s->queue_len;
    s->queue_head = 0;
    s->queued_bytes = 0;
    for (i = 0; i < s->queue_len; i++) {
        Tango4SboxBurst *b = &s->queue[i];

        if (!b->len || b->len > TANGO4_SBOX_BURST || b->arrival < prev ||
            !b->dst_mask || (b->dst_mask & ~MAKE_64BIT_MASK(1, 16)) ||
            b->src < 1 || b->src > TANGO4_SBOX_MAX_SRC) {
            return -EINVAL;
        }
        prev = b->arrival;
        s->queued_bytes += b->len;
    }
    return 0;
}

static const VMStateDescription vmstate_tango4_sbox_burst = {
    .name = "tango4-sbox-burst",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_INT64(arrival, Tango4SboxBurst),
        VMSTATE_UINT32(dst_mask, Tango4SboxBurst),
        VMSTATE_UINT8(src, Tango4SboxBurst),
        VMSTATE_UINT8(len, Tango4SboxBurst),
        VMSTATE_UINT8_ARRAY(data, Tango4SboxBurst, TANGO4_SBOX_BURST),
        VMSTATE_END_OF_LIST()
    }
};

static const VMStateDescription vmstate_tango4_sbox = {
    .name = TYPE_TANGO4_SBOX,
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = sbox_pre_save,
    .pre_load = sbox_pre_load,
    .post_load = sbox_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32_ARRAY(reset, Tango4SboxState, 2),
        VMSTATE_UINT32_ARRAY(route, Tango4SboxState, 2),
        VMSTATE_UINT64(latency_ns, Tango4SboxState),
        VMSTATE_UINT64(bandwidth, Tango4SboxState),
        VMSTATE_UINT64(bytes_moved, Tango4SboxState),
        VMSTATE_UINT64(bytes_dropped, Tango4SboxState),
        VMSTATE_UINT64(teardowns_in_flight, Tango4SboxState),
        VMSTATE_INT32(queue_len, Tango4SboxState),
        VMSTATE_STRUCT_VARRAY_ALLOC(queue, Tango4SboxState, queue_len, 1,
                                    vmstate_tango4_sbox_burst,
                                    Tango4SboxBurst),
        VMSTATE_TIMER_PTR(timer, Tango4SboxState),
        VMSTATE_END_OF_LIST()
    }
};

/* Device */

static void sbox_reset_hold(Object *obj, ResetType type)
{
    Tango4SboxState *s = TANGO4_SBOX(obj);

    /* The machine restarts: what was in flight is gone, not "lost". */
    g_free(s->queue);
    s->queue = NULL;
    s->queue_len = 0;
    s->queue_cap = 0;
    s->queue_head = 0;
    s->queued_bytes = 0;
    timer_del(s->timer);
    s->reset[0] = s->reset[1] = 0;
    s->route[0] = s->route[1] = UINT32_MAX;
    notifier_list_notify(&s->space_notifiers, s);
}

static void sbox_init(Object *obj)
{
    Tango4SboxState *s = TANGO4_SBOX(obj);

    memory_region_init_io(&s->iomem, obj, &sbox_ops, s, TYPE_TANGO4_SBOX,
                          TANGO4_SBOX_MMIO_SIZE);
    sysbus_init_mmio(SYS_BUS_DEVICE(obj), &s->iomem);
    notifier_list_init(&s->space_notifiers);
    s->route[0] = s->route[1] = UINT32_MAX;
}

static void sbox_realize(DeviceState *dev, Error **errp)
{
    Tango4SboxState *s = TANGO4_SBOX(dev);

    s->timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, sbox_timer_cb, s);
}

static void sbox_finalize(Object *obj)
{
    Tango4SboxState *s = TANGO4_SBOX(obj);
    unsigned i;

    if (s->timer) {
        timer_free(s->timer);
    }
    g_free(s->queue);
    for (i = 0; i <= TANGO4_SBOX_MAX_PORT; i++) {
        g_free(s->ports[i].name);
    }
}

static void sbox_class_init(ObjectClass *oc, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    ResettableClass *rc = RESETTABLE_CLASS(oc);
    static const char *const counters[] = {
        "bytes-moved", "bytes-dropped", "bytes-in-flight",
        "teardowns-in-flight",
    };
    unsigned i;

    dc->desc = "Sigma Designs tango4 switch box";
    dc->realize = sbox_realize;
    dc->vmsd = &vmstate_tango4_sbox;
    rc->phases.hold = sbox_reset_hold;

    object_class_property_add(oc, "latency-ns", "uint64", sbox_get_u64,
                              sbox_set_latency, NULL, NULL);
    object_class_property_set_description(oc, "latency-ns",
        "Time from a push to the arrival of its first burst, in ns "
        "(at most 1 s); applies to later pushes");
    object_class_property_add(oc, "bandwidth", "uint64", sbox_get_u64,
                              sbox_set_bandwidth, NULL, NULL);
    object_class_property_set_description(oc, "bandwidth",
        "Bytes per second through the box, 0 = unlimited");
    for (i = 0; i < ARRAY_SIZE(counters); i++) {
        object_class_property_add(oc, counters[i], "uint64", sbox_get_u64,
                                  NULL, NULL, NULL);
    }
}

static const TypeInfo sbox_info = {
    .name = TYPE_TANGO4_SBOX,
    .parent = TYPE_SYS_BUS_DEVICE,
    .instance_size = sizeof(Tango4SboxState),
    .instance_init = sbox_init,
    .instance_finalize = sbox_finalize,
    .class_init = sbox_class_init,
};

static void sbox_register_types(void)
{
    type_register_static(&sbox_info);
}

type_init(sbox_register_types)
