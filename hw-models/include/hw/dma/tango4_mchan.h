/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sigma Designs tango4 memory channel
 *
 * A memory channel moves bytes between guest memory and its port of the
 * switch box: a memory-to-device ("read") channel reads a buffer and
 * pushes it out of its port, a device-to-memory ("write") channel writes
 * the bytes arriving at its port into a buffer. Its interrupt means "the
 * memory side is done", not "the device has the data".
 *
 * Copyright (c) 2026 tangolab developers
 */

#ifndef HW_DMA_TANGO4_MCHAN_H
#define HW_DMA_TANGO4_MCHAN_H

#include "exec/memory.h"
#include "hw/sysbus.h"
#include "qom/object.h"
#include "qemu/timer.h"
#include "hw/dma/tango4_sbox.h"

#define TYPE_TANGO4_MCHAN "tango4-mchan"
OBJECT_DECLARE_SIMPLE_TYPE(Tango4MchanState, TANGO4_MCHAN)

/* Registers: ADDR, COUNT, ADDR2 (STRIDE), CMD (see tango4_mchan.c) */
#define TANGO4_MCHAN_MMIO_SIZE  0x10

#define TANGO4_MCHAN_MAX_X      0x1fff  /* 13 bits */
#define TANGO4_MCHAN_MAX_Y      0x3fff  /* 14 bits */

/* A read channel reads at most this much from memory in one step. */
#define TANGO4_MCHAN_CHUNK      4096

#define TANGO4_MCHAN_MAX_IRQ_DELAY_NS 1000000000ULL

struct Tango4MchanState {
    SysBusDevice parent_obj;

    MemoryRegion iomem;
    AddressSpace dma_as;        /* over dma_mr */
    qemu_irq irq;
    QEMUTimer *irq_timer;       /* pulses the interrupt, ends the command */
    char *name;

    /* properties */
    Tango4SboxState *sbox;
    MemoryRegion *dma_mr;       /* what the channel reads and writes */
    uint8_t port;
    bool mem_to_dev;
    uint64_t irq_delay_ns;

    /* registers */
    uint32_t addr;              /* advances as the memory side moves */
    uint32_t count;             /* bytes of the command still to move */
    uint32_t addr2;
    uint32_t status;            /* as read from CMD */

    /* the command being moved */
    bool active;                /* memory side not done yet */
    bool waiting;               /* read channel: waits for its route */
    bool cmd_failed;            /* the command was refused or aborted */
    uint32_t cmd;
    uint32_t cmd_addr;
    uint32_t cmd_count;
    uint32_t cmd_addr2;
    uint32_t seg;               /* buffer (double) or line (rectangle) */
    uint32_t seg_left;          /* bytes left in it */

    /* read-only QOM counters */
    uint64_t bytes;
    uint64_t transfers;
    uint64_t errors;
    uint64_t refused;
    uint64_t stops;

    uint8_t bounce[TANGO4_MCHAN_CHUNK];
};

#endif
