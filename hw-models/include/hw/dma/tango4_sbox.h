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
#include "qemu/notify.h"
#include "qemu/units.h"
#include "exec/memory.h"

#define TYPE_TANGO4_SBOX "tango4-sbox"
OBJECT_DECLARE_SIMPLE_TYPE(Tango4SboxState, TANGO4_SBOX)

/* Ports are numbered 1..TANGO4_SBOX_MAX_PORT; 0 is not a port. */
#define TANGO4_SBOX_MAX_PORT 16
/* The largest source port a route nibble can name (0xf disconnects). */
#define TANGO4_SBOX_MAX_SRC  14

#define TANGO4_SBOX_BURST    64

/*
 * Bytes the box holds in flight before a source that asks (a memory
 * channel) has to wait: tango4_sbox_space() and the space notifiers.
 */
#define TANGO4_SBOX_CAPACITY (64 * KiB)

/* Register offsets */
#define TANGO4_SBOX_RESET    0x0
#define TANGO4_SBOX_RESET2   0x4
#define TANGO4_SBOX_ROUTE    0x8
#define TANGO4_SBOX_ROUTE2   0xc
#define TANGO4_SBOX_MMIO_SIZE 0x10

/* A RESET/RESET2 bit in this mask holds the box in reset. */
#define TANGO4_SBOX_RESET_HOLD 0x00ff00ffu

/* Largest latency-ns accepted (1 s) and smallest non-zero bandwidth. */
#define TANGO4_SBOX_MAX_LATENCY_NS   1000000000ULL
#define TANGO4_SBOX_MIN_BANDWIDTH    1024ULL

/*
 * Called when bytes routed to a destination port arrive there. The
 * receiver must take all @len bytes (it may drop them itself and count
 * that). Called from MMIO context when delivery is synchronous, from a
 * timer otherwise.
 */
typedef void (*Tango4SboxReceiveFn)(void *opaque, const uint8_t *buf,
                                    size_t len);

/* One burst of at most TANGO4_SBOX_BURST bytes in flight. */
typedef struct Tango4SboxBurst {
    int64_t arrival;        /* QEMU_CLOCK_VIRTUAL, ns */
    uint32_t dst_mask;      /* bit d: still to be delivered to port d */
    uint8_t src;
    uint8_t len;
    uint8_t data[TANGO4_SBOX_BURST];
} Tango4SboxBurst;

typedef struct Tango4SboxPort {
    Tango4SboxReceiveFn receive;
    void *opaque;
    char *name;
} Tango4SboxPort;

struct Tango4SboxState {
    SysBusDevice parent_obj;

    MemoryRegion iomem;
    QEMUTimer *timer;           /* fires at the arrival of the queue head */
    Tango4SboxPort ports[TANGO4_SBOX_MAX_PORT + 1];
    NotifierList space_notifiers;

    uint32_t reset[2];
    uint32_t route[2];

    /* run-time settable QOM properties */
    uint64_t latency_ns;
    uint64_t bandwidth;         /* bytes per second, 0 = unlimited */

    /* read-only QOM counters */
    uint64_t bytes_moved;
    uint64_t bytes_dropped;
    uint64_t teardowns_in_flight;

    /*
     * Bursts in flight, in order of arrival: a ring of queue_cap entries
     * starting at queue_head. pre_save makes it linear (queue_head 0).
     */
    Tango4SboxBurst *queue;
    int32_t queue_len;
    uint32_t queue_head;
    uint32_t queue_cap;
    uint32_t queued_bytes;      /* sum of the bursts' lengths */
};

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

/*
 * Bytes that may be pushed before the box holds TANGO4_SBOX_CAPACITY
 * bytes in flight (0: full). A source that respects it waits for a space
 * notifier before pushing more. Pushes beyond it are still accepted.
 */
size_t tango4_sbox_space(Tango4SboxState *s);

/*
 * @n is called (from timer or MMIO context, never from inside a push)
 * whenever bytes leave the box, by delivery or by being dropped.
 */
void tango4_sbox_add_space_notifier(Tango4SboxState *s, Notifier *n);

#endif
