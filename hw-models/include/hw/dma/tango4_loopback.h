/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sigma Designs tango4 switch box loopback test device
 *
 * A second DMA client for the switch box: every byte arriving at its
 * port (as a destination) goes back out of the same port (as a source),
 * in order, through a FIFO. It has no registers. Flow controlled both
 * ways: it takes bytes only while its FIFO has room, and sends them only
 * as fast as a route from its port takes them.
 *
 * Copyright (c) 2026 tangolab developers
 */

#ifndef HW_DMA_TANGO4_LOOPBACK_H
#define HW_DMA_TANGO4_LOOPBACK_H

#include "hw/sysbus.h"
#include "qom/object.h"
#include "qemu/fifo8.h"
#include "hw/dma/tango4_sbox.h"

#define TYPE_TANGO4_LOOPBACK "tango4-loopback"
OBJECT_DECLARE_SIMPLE_TYPE(Tango4LoopbackState, TANGO4_LOOPBACK)

/* Bytes waiting to go back out; while it is full the box holds the rest. */
#define TANGO4_LOOPBACK_FIFO_SIZE   8192

struct Tango4LoopbackState {
    SysBusDevice parent_obj;

    Tango4SboxState *sbox;
    uint8_t port;

    Fifo8 fifo;

    /* read-only QOM counters */
    uint64_t bytes;             /* pushed back into the box */
};

#endif
