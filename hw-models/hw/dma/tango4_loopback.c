/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sigma Designs tango4 switch box loopback test device
 *
 * Not a block of the real SoC: a test endpoint for a second DMA client.
 * Bytes routed to its port are queued in a FIFO and sent back out of the
 * same port, in order, as soon as a destination takes bytes from that
 * port (the box calls it back when a route appears or has room). A
 * memory-to-device transfer into the port followed by a
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
#include "trace.h"

/* Bytes sent back per push */
#define LOOPBACK_CHUNK 1024

/* Send the FIFO out as far as the box takes it. */
static void tango4_loopback_send(Tango4LoopbackState *s)
{
    uint8_t buf[LOOPBACK_CHUNK];
    bool sent = false;

    while (!fifo8_is_empty(&s->fifo)) {
        uint32_t len = MIN(sizeof(buf), fifo8_num_used(&s->fifo));
        size_t n;

        len = fifo8_peek_buf(&s->fifo, buf, len);
        n = tango4_sbox_push(s->sbox, s->port, buf, len);
        if (!n) {
            break;
        }
        fifo8_drop(&s->fifo, n);
        s->bytes += n;
        sent = true;
        trace_tango4_loopback_send(n, fifo8_num_used(&s->fifo));
    }
    if (sent) {
        /* room again: bytes the box holds for us may come in */
        tango4_sbox_dst_ready(s->sbox, s->port);
    }
}

static void tango4_loopback_ready(void *opaque)
{
    tango4_loopback_send(opaque);
}

/* Bytes arriving at the port: taken as far as the FIFO has room. */
static size_t tango4_loopback_receive(void *opaque, const uint8_t *buf,
                                      size_t len)
{
    Tango4LoopbackState *s = opaque;
    size_t take = MIN(len, fifo8_num_free(&s->fifo));

    if (tango4_sbox_route_src(s->sbox, s->port) == s->port) {
        /* Sent back they would come back again, for ever: hold them. */
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tango4-loopback: port %u is routed to itself: bytes "
                      "wait in the switch box\n", s->port);
        return 0;
    }
    fifo8_push_all(&s->fifo, buf, take);
    trace_tango4_loopback_receive(take, len - take,
                                  fifo8_num_used(&s->fifo));
    /* send back from the box's wake-up, never from inside a delivery */
    if (take) {
        tango4_sbox_src_wait(s->sbox, s->port);
    }
    return take;
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
    if (!tango4_sbox_attach_dst(s->sbox, s->port, "loopback",
                                tango4_loopback_receive, s, errp)) {
        return;
    }
    tango4_sbox_attach_src(s->sbox, s->port, "loopback",
                           tango4_loopback_ready, s, errp);
}

static void tango4_loopback_reset_hold(Object *obj, ResetType type)
{
    Tango4LoopbackState *s = TANGO4_LOOPBACK(obj);

    fifo8_reset(&s->fifo);
}

static void tango4_loopback_init(Object *obj)
{
    Tango4LoopbackState *s = TANGO4_LOOPBACK(obj);

    fifo8_create(&s->fifo, TANGO4_LOOPBACK_FIFO_SIZE);

    object_property_add_uint64_ptr(obj, "bytes", &s->bytes,
                                   OBJ_PROP_FLAG_READ);
}

static void tango4_loopback_finalize(Object *obj)
{
    Tango4LoopbackState *s = TANGO4_LOOPBACK(obj);

    fifo8_destroy(&s->fifo);
}

static int tango4_loopback_post_load(void *opaque, int version_id)
{
    Tango4LoopbackState *s = opaque;

    if (s->fifo.head >= s->fifo.capacity || s->fifo.num > s->fifo.capacity) {
        return -EINVAL;
    }
    return 0;
}

static const VMStateDescription vmstate_tango4_loopback = {
    .name = TYPE_TANGO4_LOOPBACK,
    .version_id = 2,
    .minimum_version_id = 2,
    .post_load = tango4_loopback_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_FIFO8(fifo, Tango4LoopbackState),
        VMSTATE_UINT64(bytes, Tango4LoopbackState),
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
    /* needs its switch box link wired by the board */
    dc->user_creatable = false;
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
