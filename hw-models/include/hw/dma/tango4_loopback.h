/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sigma Designs tango4 switch box loopback test device
 *
 * A second DMA client for the switch box: every byte arriving at its
 * port (as a destination) goes back out of the same port (as a source),
 * in order, through a FIFO. It has no registers.
 *
 * Copyright (c) 2026 tangolab developers
 */

#ifndef HW_DMA_TANGO4_LOOPBACK_H
#define HW_DMA_TANGO4_LOOPBACK_H

#include "hw/sysbus.h"
#include "qom/object.h"
#include "qemu/fifo8.h"
#include "qemu/timer.h"
#include "hw/dma/tango4_sbox.h"

#define TYPE_TANGO4_LOOPBACK "tango4-loopback"
OBJECT_DECLARE_SIMPLE_TYPE(Tango4LoopbackState, TANGO4_LOOPBACK)

/* Bytes waiting to go back out; more are dropped. */
#define TANGO4_LOOPBACK_FIFO_SIZE   8192

/*
 * While bytes wait and nothing takes bytes from the port, look for a
 * route again after 1 us, then after twice as long each time, at most
 * every millisecond.
 */
#define TANGO4_LOOPBACK_POLL_MIN_NS 1000
#define TANGO4_LOOPBACK_POLL_MAX_NS 1000000

struct Tango4LoopbackState {
    SysBusDevice parent_obj;

    Tango4SboxState *sbox;
    uint8_t port;

    /* Sends the FIFO out, or polls for a route from the port. */
    QEMUTimer *timer;
    Fifo8 fifo;
    uint64_t poll_ns;           /* next wait for a route, 0: not waiting */

    /* read-only QOM counters */
    uint64_t bytes;             /* pushed back into the box */
    uint64_t bytes_dropped;     /* FIFO overflow */
};

#endif
