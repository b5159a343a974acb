/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sigma Designs tango4 switch box loopback test device
 *
 * Not a block of the real SoC: a test endpoint for a second DMA client.
 * Bytes routed to its port are queued in a FIFO and sent back out of the
 * same port, in order, as soon as a destination takes bytes from that
 * port. A memory-to-device transfer into the port followed by a
 * device-to-memory transfer out of it thus copies a buffer through the
 * switch box, even when the second transfer is set up only after the
 * first one has ended.
 *
 * Copyright (c) 2026 tangolab developers
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "hw/dma/tango4_loopback.h"
#include "migration/vmstate.h"

/* Bytes sent back per push */
#define LOOPBACK_CHUNK 1024

static void tango4_loopback_send(Tango4LoopbackState *s)
{
    uint8_t buf[LOOPBACK_CHUNK];
    uint32_t len;

    while (!fifo8_is_empty(&s->fifo)) {
        len = fifo8_pop_buf(&s->fifo, buf,
                            MIN(sizeof(buf), fifo8_num_used(&s->fifo)));
        s->bytes += len;
        tango4_sbox_push(s->sbox, s->port, buf, len);
    }
}

/* The source port routed to destination @port */
static unsigned tango4_loopback_src_of(Tango4SboxState *sbox, unsigned port)
{
    return extract32(sbox->route[(port - 1) / 8], ((port - 1) % 8) * 4, 4);
}

static void tango4_loopback_timer(void *opaque)
{
    Tango4LoopbackState *s = opaque;
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);

    if (fifo8_is_empty(&s->fifo)) {
        s->poll_ns = 0;
        return;
    }
    if (!tango4_sbox_routed_from(s->sbox, s->port)) {
        /* Wait for a destination to take bytes from the port. */
        s->poll_ns = s->poll_ns ? MIN(s->poll_ns * 2,
                                      TANGO4_LOOPBACK_POLL_MAX_NS)
                                : TANGO4_LOOPBACK_POLL_MIN_NS;
        timer_mod(s->timer, now + s->poll_ns);
        return;
    }
    s->poll_ns = 0;
    tango4_loopback_send(s);
}

/*
 * Bytes arriving at the port. They are sent back from the timer, never
 * from inside the delivery, which may itself run inside a push.
 */
static void tango4_loopback_receive(void *opaque, const uint8_t *buf,
                                    size_t len)
{
    Tango4LoopbackState *s = opaque;
    size_t take = MIN(len, fifo8_num_free(&s->fifo));

    if (tango4_loopback_src_of(s->sbox, s->port) == s->port) {
        /* Sent back they would come back again, for ever. */
        s->bytes_dropped += len;
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-loopback: port %u is routed to itself: %zu "
                      "bytes dropped\n", s->port, len);
        return;
    }
    fifo8_push_all(&s->fifo, buf, take);
    if (take < len) {
        s->bytes_dropped += len - take;
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-loopback: FIFO full (%u bytes) and nothing "
                      "takes bytes from port %u: %zu bytes dropped\n",
                      TANGO4_LOOPBACK_FIFO_SIZE, s->port, len - take);
    }
    if (take) {
        s->poll_ns = 0;
        timer_mod(s->timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    }
}

static void tango4_loopback_realize(DeviceState *dev, Error **errp)
{
    Tango4LoopbackState *s = TANGO4_LOOPBACK(dev);

    if (!s->sbox) {
        error_setg(errp, "tango4-loopback: the 'sbox' link is not set");
        return;
    }
    if (s->port < 1 || s->port > TANGO4_SBOX_MAX_SRC) {
        error_setg(errp, "tango4-loopback: port %u is not a source port "
                   "(1..%u)", s->port, TANGO4_SBOX_MAX_SRC);
        return;
    }
    tango4_sbox_attach(s->sbox, s->port, "loopback", tango4_loopback_receive,
                       s, errp);
}

static void tango4_loopback_reset_hold(Object *obj, ResetType type)
{
    Tango4LoopbackState *s = TANGO4_LOOPBACK(obj);

    timer_del(s->timer);
    fifo8_reset(&s->fifo);
    s->poll_ns = 0;
}

static void tango4_loopback_init(Object *obj)
{
    Tango4LoopbackState *s = TANGO4_LOOPBACK(obj);

    s->timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, tango4_loopback_timer, s);
    fifo8_create(&s->fifo, TANGO4_LOOPBACK_FIFO_SIZE);

    object_property_add_uint64_ptr(obj, "bytes", &s->bytes,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "bytes-dropped", &s->bytes_dropped,
                                   OBJ_PROP_FLAG_READ);
}

static void tango4_loopback_finalize(Object *obj)
{
    Tango4LoopbackState *s = TANGO4_LOOPBACK(obj);

    timer_free(s->timer);
    fifo8_destroy(&s->fifo);
}

static int tango4_loopback_post_load(void *opaque, int version_id)
{
    Tango4LoopbackState *s = opaque;

    if (s->poll_ns > TANGO4_LOOPBACK_POLL_MAX_NS) {
        return -EINVAL;
    }
    return 0;
}

static const VMStateDescription vmstate_tango4_loopback = {
    .name = TYPE_TANGO4_LOOPBACK,
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = tango4_loopback_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_FIFO8(fifo, Tango4LoopbackState),
        VMSTATE_TIMER_PTR(timer, Tango4LoopbackState),
        VMSTATE_UINT64(poll_ns, Tango4LoopbackState),
        VMSTATE_UINT64(bytes, Tango4LoopbackState),
        VMSTATE_UINT64(bytes_dropped, Tango4LoopbackState),
        VMSTATE_END_OF_LIST()
    },
};

static const Property tango4_loopback_properties[] = {
    DEFINE_PROP_LINK("sbox", Tango4LoopbackState, sbox, TYPE_TANGO4_SBOX,
                     Tango4SboxState *),
    DEFINE_PROP_UINT8("port", Tango4LoopbackState, port, 4),
};

static void tango4_loopback_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);

    dc->desc = "Sigma Designs tango4 sbox loopback test device";
    dc->realize = tango4_loopback_realize;
    dc->vmsd = &vmstate_tango4_loopback;
    rc->phases.hold = tango4_loopback_reset_hold;
    device_class_set_props(dc, tango4_loopback_properties);
}

static const TypeInfo tango4_loopback_info = {
    .name = TYPE_TANGO4_LOOPBACK,
    .parent = TYPE_SYS_BUS_DEVICE,
    .instance_size = sizeof(Tango4LoopbackState),
    .instance_init = tango4_loopback_init,
    .instance_finalize = tango4_loopback_finalize,
    .class_init = tango4_loopback_class_init,
};

static void tango4_loopback_register_types(void)
{
    type_register_static(&tango4_loopback_info);
}

type_init(tango4_loopback_register_types)
