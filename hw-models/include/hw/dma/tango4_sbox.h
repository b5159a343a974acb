/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sigma Designs tango4 switch box (sbox)
 *
 * The sbox connects memory channels and devices. Each port is
 * bidirectional: as a source it emits bytes, as a destination it takes
 * them in. The route of a destination port names the source port it
 * takes bytes from. Bytes pushed into a route arrive after a latency and
 * at a bandwidth; changing the route while they are in flight loses them.
 *
 * Copyright (c) 2026 tangolab developers
 */

#ifndef HW_DMA_TANGO4_SBOX_H
#define HW_DMA_TANGO4_SBOX_H

#include "hw/sysbus.h"
#include "qom/object.h"
#include "qemu/queue.h"
#include "qemu/timer.h"

#define TYPE_TANGO4_SBOX "tango4-sbox"
OBJECT_DECLARE_SIMPLE_TYPE(Tango4SboxState, TANGO4_SBOX)

/* Ports are numbered 1..TANGO4_SBOX_MAX_PORT; 0 is not a port. */
#define TANGO4_SBOX_MAX_PORT 16
/* The largest source port a route nibble can name (0xf disconnects). */
#define TANGO4_SBOX_MAX_SRC  14

#define TANGO4_SBOX_BURST    64

/*
 * Called when bytes routed to a destination port arrive there. The
 * receiver must take all @len bytes (it may drop them itself and count
 * that). Called from MMIO context when delivery is synchronous, from a
 * timer otherwise.
 */
typedef void (*Tango4SboxReceiveFn)(void *opaque, const uint8_t *buf,
                                    size_t len);

/**
 * tango4_sbox_attach: connect an endpoint's destination side to @port
 * @s: the switch box
 * @port: port number, 1..TANGO4_SBOX_MAX_PORT
 * @name: endpoint name for traces and errors
 * @receive: called with bytes arriving at @port
 * @opaque: passed to @receive
 *
 * Done once at realize time by the board or the endpoint. Fails (with
 * @errp set) if @port is out of range or already attached.
 */
bool tango4_sbox_attach(Tango4SboxState *s, unsigned port, const char *name,
                        Tango4SboxReceiveFn receive, void *opaque,
                        Error **errp);

/**
 * tango4_sbox_push: send bytes out of source @port
 *
 * The bytes go to every destination routed from @port, and arrive there
 * after the route latency. Returns false if no destination is routed from
 * @port or the box is held in reset: the bytes are then dropped and
 * counted, and a guest error is logged.
 */
bool tango4_sbox_push(Tango4SboxState *s, unsigned port, const uint8_t *buf,
                      size_t len);

/* True if at least one destination takes bytes from source @port. */
bool tango4_sbox_routed_from(Tango4SboxState *s, unsigned port);

/* True if destination @port has a source routed to it. */
bool tango4_sbox_routed_to(Tango4SboxState *s, unsigned port);

#endif
