/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sigma Designs tango4 (SMP8758) machine
 *
 * Two Cortex-A9 cores with their MPCore private peripherals, a PL310 L2
 * cache controller, a 16550 UART, the switch box (sbox) with its memory
 * channels, the NAND flash controller with up to four ONFI chips, and a
 * few virtio-mmio transports for networking. See
 * docs/system/arm/tango4.rst for the memory map.
 *
 * Copyright (c) 2026 tangolab developers
 */

#include "qemu/osdep.h"
#include "exec/address-spaces.h"
#include "qemu/units.h"
#include "qemu/error-report.h"
#include "qapi/error.h"
#include "hw/arm/boot.h"
#include "hw/boards.h"
#include "hw/char/serial-mm.h"
#include "hw/cpu/a9mpcore.h"
#include "hw/qdev-properties.h"
#include "hw/sysbus.h"
#include "hw/block/onfi_nand.h"
#include "hw/block/tango4_nfc.h"
#include "hw/dma/tango4_sbox.h"
#include "hw/dma/tango4_mchan.h"
#include "hw/dma/tango4_loopback.h"
#include "system/blockdev.h"
#include "system/block-backend.h"
#include "system/system.h"
#include "target/arm/cpu.h"

#define TANGO4_MAX_CPUS     2
#define TANGO4_NUM_SPIS     64
#define TANGO4_NUM_MCHAN    4
#define TANGO4_NUM_CS       4
#define TANGO4_NUM_VIRTIO   4
#define TANGO4_MAX_RAM      (2 * GiB)
/*
 * The SMP8758 has Cortex-A9 r3p0 cores. QEMU's cortex-a9 says r0p0, and
 * Linux refuses the A9 global timer on revisions before r2p0.
 */
#define TANGO4_CPU_MIDR     0x413fc090

enum {
    TANGO4_MAP_UART0,
    TANGO4_MAP_PBUS,
    TANGO4_MAP_NFC,
    TANGO4_MAP_NFC_MEM,
    TANGO4_MAP_SBOX,
    TANGO4_MAP_MCHAN,
    TANGO4_MAP_VIRTIO,
    TANGO4_MAP_MPCORE,
    TANGO4_MAP_L2CC,
    TANGO4_MAP_DRAM,
};

static const hwaddr tango4_memmap[] = {
    [TANGO4_MAP_UART0]   = 0x00010700,
    [TANGO4_MAP_PBUS]    = 0x00020000,
    [TANGO4_MAP_NFC]     = 0x0002c000,
    [TANGO4_MAP_NFC_MEM] = 0x0002d000,
    [TANGO4_MAP_SBOX]    = 0x00040000,
    [TANGO4_MAP_MCHAN]   = 0x00040100,  /* + n * 0x40 */
    [TANGO4_MAP_VIRTIO]  = 0x08000000,  /* + n * 0x200 */
    [TANGO4_MAP_MPCORE]  = 0x20000000,
    [TANGO4_MAP_L2CC]    = 0x20100000,
    [TANGO4_MAP_DRAM]    = 0x80000000,
};

/* GIC SPI numbers (the tango secondary interrupt controller is bypassed) */
enum {
    TANGO4_SPI_UART0  = 1,
    TANGO4_SPI_MCHAN  = 8,   /* + n */
    TANGO4_SPI_VIRTIO = 16,  /* + n */
};

#define TANGO4_UART_BAUDBASE 115200

static struct arm_boot_info tango4_binfo;

static void tango4_init_cpus(MachineState *machine, DeviceState *mpcore)
{
    unsigned int smp_cpus = machine->smp.cpus;
    SysBusDevice *busdev = SYS_BUS_DEVICE(mpcore);
    unsigned int n;

    for (n = 0; n < smp_cpus; n++) {
        Object *cpuobj = object_new(machine->cpu_type);

        object_property_add_child(OBJECT(machine), "cpu[*]", cpuobj);
        /* The real board starts CPU 1 through a firmware call: use PSCI. */
        object_property_set_int(cpuobj, "psci-conduit",
                                QEMU_PSCI_CONDUIT_SMC, &error_abort);
        object_property_set_uint(cpuobj, "midr", TANGO4_CPU_MIDR,
                                 &error_abort);
        object_property_set_int(cpuobj, "reset-cbar",
                                tango4_memmap[TANGO4_MAP_MPCORE], &error_abort);
        qdev_realize(DEVICE(cpuobj), NULL, &error_fatal);
        object_unref(cpuobj);
    }

    qdev_prop_set_uint32(mpcore, "num-cpu", smp_cpus);
    qdev_prop_set_uint32(mpcore, "num-irq", TANGO4_NUM_SPIS + GIC_INTERNAL);
    sysbus_realize_and_unref(busdev, &error_fatal);
    sysbus_mmio_map(busdev, 0, tango4_memmap[TANGO4_MAP_MPCORE]);

    for (n = 0; n < smp_cpus; n++) {
        DeviceState *cpu = DEVICE(qemu_get_cpu(n));

        sysbus_connect_irq(busdev, n, qdev_get_gpio_in(cpu, ARM_CPU_IRQ));
        sysbus_connect_irq(busdev, n + smp_cpus,
                           qdev_get_gpio_in(cpu, ARM_CPU_FIQ));
    }
}

static DeviceState *tango4_init_sbox(MachineState *machine,
                                     DeviceState *mpcore)
{
    DeviceState *sbox = qdev_new(TYPE_TANGO4_SBOX);
    DeviceState *loopback;
    unsigned int n;

    object_property_add_child(OBJECT(machine), "sbox", OBJECT(sbox));
    sysbus_realize_and_unref(SYS_BUS_DEVICE(sbox), &error_fatal);
    sysbus_mmio_map(SYS_BUS_DEVICE(sbox), 0, tango4_memmap[TANGO4_MAP_SBOX]);

    /*
     * Memory channel pairs: channel 2k moves memory to a device and
     * channel 2k + 1 a device to memory, both on sbox port k + 1.
     */
    for (n = 0; n < TANGO4_NUM_MCHAN; n++) {
        DeviceState *dev = qdev_new(TYPE_TANGO4_MCHAN);
        g_autofree char *name = g_strdup_printf("mchan%u", n);

        object_property_add_child(OBJECT(machine), name, OBJECT(dev));
        object_property_set_link(OBJECT(dev), "sbox", OBJECT(sbox),
                                 &error_abort);
        object_property_set_link(OBJECT(dev), "dma",
                                 OBJECT(get_system_memory()), &error_abort);
        qdev_prop_set_uint8(dev, "port", 1 + n / 2);
        qdev_prop_set_bit(dev, "mem-to-dev", n % 2 == 0);
        sysbus_realize_and_unref(SYS_BUS_DEVICE(dev), &error_fatal);
        sysbus_mmio_map(SYS_BUS_DEVICE(dev), 0,
                        tango4_memmap[TANGO4_MAP_MCHAN] + n * 0x40);
        sysbus_connect_irq(SYS_BUS_DEVICE(dev), 0,
                           qdev_get_gpio_in(mpcore, TANGO4_SPI_MCHAN + n));
    }

    /*
     * A test device on port 4 (its "port" default, which -global may
     * change): what arrives there goes back out.
     */
    loopback = qdev_new(TYPE_TANGO4_LOOPBACK);
    object_property_add_child(OBJECT(machine), "loopback", OBJECT(loopback));
    object_property_set_link(OBJECT(loopback), "sbox", OBJECT(sbox),
                             &error_abort);
    sysbus_realize_and_unref(SYS_BUS_DEVICE(loopback), &error_fatal);
    return sbox;
}

static void tango4_init_nand(MachineState *machine, DeviceState *sbox)
{
    DeviceState *nfc = qdev_new(TYPE_TANGO4_NFC);
    DeviceState *chips[TANGO4_NUM_CS] = { NULL };
    unsigned int cs;

    for (cs = 0; cs < TANGO4_NUM_CS; cs++) {
        DriveInfo *dinfo = drive_get(IF_MTD, 0, cs);
        g_autofree char *name = NULL;

        /* Chip select 0 always has a chip; it is RAM backed without -drive */
        if (!dinfo && cs != 0) {
            continue;
        }
        chips[cs] = qdev_new(TYPE_ONFI_NAND);
        name = g_strdup_printf("nand%u", cs);
        object_property_add_child(OBJECT(machine), name, OBJECT(chips[cs]));
        qdev_prop_set_uint8(chips[cs], "cs", cs);
        if (dinfo) {
            qdev_prop_set_drive_err(chips[cs], "drive",
                                    blk_by_legacy_dinfo(dinfo), &error_fatal);
        }
        qdev_realize_and_unref(chips[cs], NULL, &error_fatal);
    }

    object_property_add_child(OBJECT(machine), "nfc", OBJECT(nfc));
    /* on sbox port 3: its "port" default (-global may change it) */
    object_property_set_link(OBJECT(nfc), "sbox", OBJECT(sbox), &error_abort);
    for (cs = 0; cs < TANGO4_NUM_CS; cs++) {
        g_autofree char *link = g_strdup_printf("chip%u", cs);

        if (chips[cs]) {
            object_property_set_link(OBJECT(nfc), link, OBJECT(chips[cs]),
                                     &error_abort);
        }
    }
    sysbus_realize_and_unref(SYS_BUS_DEVICE(nfc), &error_fatal);
    sysbus_mmio_map(SYS_BUS_DEVICE(nfc), 0, tango4_memmap[TANGO4_MAP_NFC]);
    sysbus_mmio_map(SYS_BUS_DEVICE(nfc), 1, tango4_memmap[TANGO4_MAP_NFC_MEM]);
    sysbus_mmio_map(SYS_BUS_DEVICE(nfc), 2, tango4_memmap[TANGO4_MAP_PBUS]);
    for (cs = 0; cs < TANGO4_NUM_CS; cs++) {
        if (chips[cs]) {
            qdev_connect_gpio_out_named(chips[cs], ONFI_NAND_RB, 0,
                                        qdev_get_gpio_in(nfc, cs));
        }
    }
}

static void tango4_init(MachineState *machine)
{
    MemoryRegion *sysmem = get_system_memory();
    DeviceState *mpcore, *sbox, *dev;
    unsigned int n;

    if (machine->ram_size > TANGO4_MAX_RAM) {
        error_report("tango4: at most %" PRIu64 " MiB of RAM "
                     "(at 0x%" HWADDR_PRIx "), not %" PRIu64 " MiB",
                     TANGO4_MAX_RAM / MiB,
                     tango4_memmap[TANGO4_MAP_DRAM],
                     (uint64_t)machine->ram_size / MiB);
        exit(1);
    }
    if (machine->kernel_filename && !machine->dtb) {
        error_report("tango4: booting a kernel needs a device tree (-dtb)");
        exit(1);
    }

    memory_region_add_subregion(sysmem, tango4_memmap[TANGO4_MAP_DRAM],
                                machine->ram);

    mpcore = qdev_new(TYPE_A9MPCORE_PRIV);
    object_property_add_child(OBJECT(machine), "a9mpcore", OBJECT(mpcore));
    tango4_init_cpus(machine, mpcore);

    dev = qdev_new("l2x0");
    object_property_add_child(OBJECT(machine), "l2cc", OBJECT(dev));
    sysbus_realize_and_unref(SYS_BUS_DEVICE(dev), &error_fatal);
    sysbus_mmio_map(SYS_BUS_DEVICE(dev), 0, tango4_memmap[TANGO4_MAP_L2CC]);

    serial_mm_init(sysmem, tango4_memmap[TANGO4_MAP_UART0], 2,
                   qdev_get_gpio_in(mpcore, TANGO4_SPI_UART0),
                   TANGO4_UART_BAUDBASE, serial_hd(0), DEVICE_LITTLE_ENDIAN);

    sbox = tango4_init_sbox(machine, mpcore);
    tango4_init_nand(machine, sbox);

    for (n = 0; n < TANGO4_NUM_VIRTIO; n++) {
        sysbus_create_simple("virtio-mmio",
                             tango4_memmap[TANGO4_MAP_VIRTIO] + n * 0x200,
                             qdev_get_gpio_in(mpcore, TANGO4_SPI_VIRTIO + n));
    }

    tango4_binfo.ram_size = machine->ram_size;
    tango4_binfo.loader_start = tango4_memmap[TANGO4_MAP_DRAM];
    tango4_binfo.board_id = -1;
    tango4_binfo.psci_conduit = QEMU_PSCI_CONDUIT_SMC;
    arm_load_kernel(ARM_CPU(first_cpu), machine, &tango4_binfo);
}

static void tango4_machine_class_init(ObjectClass *oc, void *data)
{
    static const char * const valid_cpu_types[] = {
        ARM_CPU_TYPE_NAME("cortex-a9"),
        NULL
    };
    MachineClass *mc = MACHINE_CLASS(oc);

    mc->desc = "Sigma Designs tango4 SMP8758 (Cortex-A9, sbox DMA, NAND)";
    mc->init = tango4_init;
    mc->max_cpus = TANGO4_MAX_CPUS;
    mc->min_cpus = 1;
    mc->default_cpus = TANGO4_MAX_CPUS;
    mc->default_cpu_type = ARM_CPU_TYPE_NAME("cortex-a9");
    mc->valid_cpu_types = valid_cpu_types;
    mc->default_ram_size = 512 * MiB;
    mc->default_ram_id = "tango4.dram";
    mc->no_cdrom = 1;
    mc->no_floppy = 1;
    mc->no_parallel = 1;
}

static const TypeInfo tango4_machine_type = {
    .name = MACHINE_TYPE_NAME("tango4"),
    .parent = TYPE_MACHINE,
    .class_init = tango4_machine_class_init,
};

static void tango4_machine_register_types(void)
{
    type_register_static(&tango4_machine_type);
}

type_init(tango4_machine_register_types)
