/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sigma Designs tango4 (SMP8758) SoC
 *
 * Two Cortex-A9 cores with their MPCore private peripherals, a PL310 L2
 * cache controller, a 16550 UART, the switch box (sbox) with its memory
 * channels, the NAND flash controller and virtio-mmio transports. The
 * board gives it the DRAM, the NAND chips (linked to the NFC as "chip0"
 * .. "chip3" before the SoC is realized, their ready/busy lines wired to
 * its GPIO inputs after) and, for tests, a loopback device on the sbox.
 *
 * Copyright (c) 2026 tangolab developers
 */

#ifndef HW_ARM_TANGO4_SOC_H
#define HW_ARM_TANGO4_SOC_H

#include "hw/block/tango4_nfc.h"
#include "hw/cpu/a9mpcore.h"
#include "hw/dma/tango4_mchan.h"
#include "hw/dma/tango4_sbox.h"
#include "hw/sysbus.h"
#include "qom/object.h"
#include "target/arm/cpu.h"

#define TYPE_TANGO4_SOC "tango4-soc"
OBJECT_DECLARE_SIMPLE_TYPE(Tango4SocState, TANGO4_SOC)

#define TANGO4_SOC_MAX_CPUS     2
#define TANGO4_SOC_NUM_MCHAN    4
#define TANGO4_SOC_NUM_VIRTIO   4
#define TANGO4_SOC_NUM_SPIS     64

/* Memory map: tango4_soc_memmap[] */
enum {
    TANGO4_DEV_UART0,
    TANGO4_DEV_PBUS,
    TANGO4_DEV_NFC,
    TANGO4_DEV_NFC_MEM,
    TANGO4_DEV_SBOX,
    TANGO4_DEV_MCHAN,       /* + n * 0x40 */
    TANGO4_DEV_VIRTIO,      /* + n * 0x200 */
    TANGO4_DEV_MPCORE,
    TANGO4_DEV_L2CC,
    TANGO4_DEV_DRAM,
};

/* GIC SPI numbers (the tango secondary interrupt controller is bypassed) */
enum {
    TANGO4_GIC_SPI_UART0  = 1,
    TANGO4_GIC_SPI_MCHAN  = 8,      /* + n */
    TANGO4_GIC_SPI_VIRTIO = 16,     /* + n */
};

extern const hwaddr tango4_soc_memmap[];

struct Tango4SocState {
    SysBusDevice parent_obj;

    uint32_t num_cpus;
    ARMCPU cpus[TANGO4_SOC_MAX_CPUS];
    A9MPPrivState mpcore;
    Tango4SboxState sbox;
    Tango4MchanState mchan[TANGO4_SOC_NUM_MCHAN];
    Tango4NfcState nfc;
};

#endif
