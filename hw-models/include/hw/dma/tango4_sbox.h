/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sigma Designs tango4 switch box (sbox)
 *
 * The sbox connects memory channels and devices. Each port is
 * bidirectional: as a source it emits bytes, as a destination it takes
 * them in. The route of a destination port names the source port it
 * takes bytes from. Each destination has a FIFO of bytes in flight:
 * bytes pushed into a route arrive after a latency (fixed, or drawn from
 * a seeded distribution) and at a bandwidth. Sources and destinations are
 * flow controlled: a source waits while its port has no route or the
 * FIFO is full, a destination that cannot take bytes leaves them in the
 * FIFO. Bytes are lost only when the route of a destination changes while
 * bytes are in flight to it, or when the box is reset.
 *
 * Copyright (c) 2026 tangolab developers
 */

#ifndef HW_DMA_TANGO4_SBOX_H
#define HW_DMA_TANGO4_SBOX_H

#include "hw/sysbus.h"
#include "qom/object.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "exec/memory.h"

#define TYPE_TANGO4_SBOX "tango4-sbox"
OBJECT_DECLARE_SIMPLE_TYPE(Tango4SboxState, TANGO4_SBOX)

/* Ports are numbered 1..TANGO4_SBOX_MAX_PORT; 0 is not a port. */
#define TANGO4_SBOX_MAX_PORT 16
/* The largest source port a route nibble can name (0xf disconnects). */
#define TANGO4_SBOX_MAX_SRC  14

/* Bytes move through a route in bursts of at most this many bytes. */
#define TANGO4_SBOX_BURST    64

/* FIFO depth of each route, in bytes (a multiple of the burst size). */
#define TANGO4_SBOX_DEFAULT_FIFO_DEPTH 512
#define TANGO4_SBOX_MAX_FIFO_DEPTH     (64 * KiB)

/* Registers: RESET, RESET2, ROUTE, ROUTE2 (see tango4_sbox.c) */
#define TANGO4_SBOX_MMIO_SIZE 0x10

/* Largest latency-ns or jitter-ns accepted (1 s), smallest bandwidth. */
#define TANGO4_SBOX_MAX_LATENCY_NS   1000000000ULL
#define TANGO4_SBOX_MIN_BANDWIDTH    1024ULL
/* ... and largest (1 TB/s: a negative QMP value does not wrap past it) */
#define TANGO4_SBOX_MAX_BANDWIDTH    1000000000000ULL

/* How the latency of each burst is drawn (the "jitter" property). */
typedef enum Tango4SboxJitter {
    TANGO4_SBOX_JITTER_NONE,        /* every burst: latency-ns */
    TANGO4_SBOX_JITTER_UNIFORM,     /* latency-ns +- jitter-ns, uniform */
    TANGO4_SBOX_JITTER_EXPONENTIAL, /* latency-ns + Exp(mean jitter-ns) */
    TANGO4_SBOX_JITTER__MAX,
} Tango4SboxJitter;

/*
 * A destination takes bytes arriving at its port: it returns how many it
 * took, from 0 to @len. When it took fewer, the rest stays in the route's
 * FIFO and is offered again only after the destination has called
 * tango4_sbox_dst_ready(), which it must not call from inside this
 * callback. Never called from inside tango4_sbox_push().
 */
typedef size_t (*Tango4SboxReceiveFn)(void *opaque, const uint8_t *buf,
                                      size_t len);

/*
 * A source whose push was refused (or took fewer bytes than offered) is
 * called back when its port may take bytes again: a route appeared or a
 * FIFO routed from it has room. Called from the box's timer or from
 * tango4_sbox_catch_up(), never from inside tango4_sbox_push().
 */
typedef void (*Tango4SboxReadyFn)(void *opaque);

/* One burst in a route's FIFO. */
typedef struct Tango4SboxSlot {
    int64_t arrival;        /* QEMU_CLOCK_VIRTUAL, ns */
    uint8_t len;            /* bytes in the burst, 1..TANGO4_SBOX_BURST */
    uint8_t done;           /* bytes of it the destination already took */
    uint8_t data[TANGO4_SBOX_BURST];
} Tango4SboxSlot;

/* The FIFO of one destination port: a ring of slots. */
typedef struct Tango4SboxFifo {
    uint32_t head;          /* first slot, 0..nslots - 1 */
    uint32_t count;         /* slots in use */
    uint32_t bytes;         /* bytes in flight (not yet taken) */
    bool stalled;           /* the destination refused; waits for ready */
} Tango4SboxFifo;

typedef struct Tango4SboxPort {
    /* destination side */
    Tango4SboxReceiveFn receive;
    void *dst_opaque;
    char *dst_name;
    /* source side */
    Tango4SboxReadyFn ready;
    void *src_opaque;
    char *src_name;
    bool src_waiting;       /* a push from it was refused, not yet called */
} Tango4SboxPort;

struct Tango4SboxState {
    SysBusDevice parent_obj;

    MemoryRegion iomem;
    QEMUTimer *timer;           /* next arrival, or a wake-up at once */
    Tango4SboxPort ports[TANGO4_SBOX_MAX_PORT + 1];

    uint32_t reset[2];
    uint32_t route[2];

    /* device property (realize time) */
    uint32_t fifo_depth;        /* bytes per destination FIFO */

    /* run-time settable QOM properties */
    uint64_t latency_ns;
    uint64_t bandwidth;         /* bytes per second, 0 = unlimited */
    uint32_t jitter;            /* Tango4SboxJitter */
    uint64_t jitter_ns;
    uint64_t seed;              /* setting it restarts the generator */
    uint64_t rng;               /* generator state (splitmix64) */

    /* read-only QOM counters */
    uint64_t bytes_moved;
    uint64_t bytes_dropped;
    uint64_t teardowns_in_flight;
    uint64_t stalls;            /* pushes refused for want of route/room */

    /* FIFOs of bytes in flight, one per destination port */
    Tango4SboxFifo fifo[TANGO4_SBOX_MAX_PORT + 1];
    Tango4SboxSlot *slots;      /* nslots per port, port p at p * nslots */
    uint32_t nslots;
    uint32_t nslots_total;
    uint32_t mig_fifo_depth;    /* fifo_depth as found in a stream */

    /* not migrated */
    bool running;               /* inside the timer or a catch-up */
    bool pause_on_drop;         /* stop the VM when bytes are lost */
};

/**
 * tango4_sbox_attach_dst: attach an endpoint's destination side to @port
 * @s: the switch box
 * @port: port number, 1..TANGO4_SBOX_MAX_PORT
 * @name: endpoint name for traces and errors
 * @receive: called with bytes arriving at @port
 * @opaque: passed to @receive
 *
 * Done once at realize time. Fails (with @errp set) if @port is out of
 * range or its destination side is already attached.
 */
bool tango4_sbox_attach_dst(Tango4SboxState *s, unsigned port,
                            const char *name, Tango4SboxReceiveFn receive,
                            void *opaque, Error **errp);

/**
 * tango4_sbox_attach_src: attach an endpoint's source side to @port
 * @s: the switch box
 * @port: port number, 1..TANGO4_SBOX_MAX_SRC
 * @name: endpoint name for traces and errors
 * @ready: called when a refused source may push again
 * @opaque: passed to @ready
 */
bool tango4_sbox_attach_src(Tango4SboxState *s, unsigned port,
                            const char *name, Tango4SboxReadyFn ready,
                            void *opaque, Error **errp);

/**
 * tango4_sbox_push: send bytes out of source @port
 *
 * The bytes enter the FIFO of every destination routed from @port and
 * arrive there after the route latency. Returns how many bytes were
 * taken: 0 when no attached destination is routed from @port, when the
 * box is held in reset or when a FIFO is full. When fewer than @len
 * were taken, the source's ready callback runs once the port may take
 * bytes again. Nothing is ever dropped here.
 */
size_t tango4_sbox_push(Tango4SboxState *s, unsigned port,
                        const uint8_t *buf, size_t len);

/*
 * Bytes a push from @port would take now. When it is 0, the source has
 * to wait: its ready callback runs once the port may take bytes again.
 */
size_t tango4_sbox_can_push(Tango4SboxState *s, unsigned port);

/*
 * Ask for the ready callback of source @port to run as soon as the port
 * may take bytes (from the box's timer, possibly at the current time).
 */
void tango4_sbox_src_wait(Tango4SboxState *s, unsigned port);

/*
 * A destination that refused bytes can take some again: offer them (from
 * the box's timer, at the current virtual time).
 */
void tango4_sbox_dst_ready(Tango4SboxState *s, unsigned port);

/*
 * Deliver every burst whose arrival time has passed, and call back the
 * sources that may push again. For device register reads that must see
 * the current virtual time even when the box's timer has not run yet.
 * Does nothing when called from inside the box.
 */
void tango4_sbox_catch_up(Tango4SboxState *s);

/*
 * For a device register write that starts moving bytes: between
 * tango4_sbox_hold() and tango4_sbox_release() the box's timer is left
 * alone, and the release delivers at once, at the current virtual time,
 * what has arrived (as tango4_sbox_catch_up()) and arms the timer for
 * what has not. Bytes with no latency thus move within the write instead
 * of from the timer a moment later at the same virtual time, without a
 * main-loop wake-up. Pass what tango4_sbox_hold() returned to the release;
 * inside the box (a callback) the hold does nothing.
 */
bool tango4_sbox_hold(Tango4SboxState *s);
void tango4_sbox_release(Tango4SboxState *s, bool held);

/* The source port routed to destination @port, 0 if none (or held). */
unsigned tango4_sbox_route_src(Tango4SboxState *s, unsigned port);

/* Bytes in flight to destination @port. */
uint32_t tango4_sbox_in_flight(Tango4SboxState *s, unsigned port);

#endif
