/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sigma Designs tango4 (SMP8758) machine
 *
 * The tango4 SoC (hw/arm/tango4-soc.c) with its DRAM, up to four ONFI
 * NAND chips on the NAND flash controller (chip select 0 always, RAM
 * backed without -drive if=mtd), a direct kernel boot and, with
 * "sbox-loopback=on", the sbox loopback test device on port 4. See
 * docs/system/arm/tango4.rst for the memory map.
 *
 * The SoC's devices keep their QOM paths of the machine before the SoC:
 * /machine/sbox, /machine/mchan0..3, /machine/nfc and /machine/a9mpcore
 * are links to /machine/soc/...; /machine/nandN and /machine/loopback are
 * the board's.
 *
 * Copyright (c) 2026 tangolab developers
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qemu/error-report.h"
#include "qemu/guest-random.h"
#include "qapi/error.h"
#include "exec/address-spaces.h"
#include "hw/arm/boot.h"
#include "hw/arm/tango4-soc.h"
#include "hw/block/onfi_nand.h"
#include "hw/boards.h"
#include "hw/dma/tango4_loopback.h"
#include "hw/qdev-properties.h"
#include "system/blockdev.h"
#include "system/block-backend.h"
#include "system/device_tree.h"

#define TANGO4_NUM_CS       TANGO4_NFC_MAX_CS
#define TANGO4_MAX_RAM      (2 * GiB)

#define TYPE_TANGO4_MACHINE MACHINE_TYPE_NAME("tango4")
OBJECT_DECLARE_SIMPLE_TYPE(Tango4MachineState, TANGO4_MACHINE)

struct Tango4MachineState {
    MachineState parent_obj;

    Tango4SocState *soc;
    bool loopback;
};

static struct arm_boot_info tango4_binfo;

/*
 * Like a boot loader that passes entropy, give the kernel 32 random bytes
 * in /chosen/rng-seed: it seeds its random pool at once instead of
 * gathering jitter entropy for seconds of guest time first (getrandom()
 * blocks until then). The bytes come from the guest random source, which
 * -seed makes deterministic and record/replay records; arm_load_dtb()
 * draws new ones at every reset.
 */
static void tango4_modify_dtb(const struct arm_boot_info *info, void *fdt)
{
    uint8_t seed[32];

    qemu_guest_getrandom_nofail(seed, sizeof(seed));
    qemu_fdt_setprop(fdt, "/chosen", "rng-seed", seed, sizeof(seed));
}

/* The NAND chips, linked to the NFC before the SoC is realized */
static void tango4_create_nand(MachineState *machine, Tango4SocState *soc,
                               DeviceState **chips)
{
    unsigned int cs;

    for (cs = 0; cs < TANGO4_NUM_CS; cs++) {
        DriveInfo *dinfo = drive_get(IF_MTD, 0, cs);
        g_autofree char *name = NULL;
        g_autofree char *link = NULL;

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
        link = g_strdup_printf("chip%u", cs);
        object_property_set_link(OBJECT(&soc->nfc), link, OBJECT(chips[cs]),
                                 &error_abort);
    }
}

static void tango4_init(MachineState *machine)
{
    Tango4MachineState *tms = TANGO4_MACHINE(machine);
    DeviceState *chips[TANGO4_NUM_CS] = { NULL };
    Tango4SocState *soc;
    unsigned int n;

    if (machine->ram_size > TANGO4_MAX_RAM) {
        error_report("tango4: at most %" PRIu64 " MiB of RAM "
                     "(at 0x%" HWADDR_PRIx "), not %" PRIu64 " MiB",
                     TANGO4_MAX_RAM / MiB,
                     tango4_soc_memmap[TANGO4_DEV_DRAM],
                     (uint64_t)machine->ram_size / MiB);
        exit(1);
    }
    if (machine->kernel_filename && !machine->dtb) {
        error_report("tango4: booting a kernel needs a device tree (-dtb)");
        exit(1);
    }

    soc = TANGO4_SOC(object_new(TYPE_TANGO4_SOC));
    tms->soc = soc;
    object_property_add_child(OBJECT(machine), "soc", OBJECT(soc));
    object_unref(OBJECT(soc));
    qdev_prop_set_uint32(DEVICE(soc), "num-cpus", machine->smp.cpus);

    memory_region_add_subregion(get_system_memory(),
                                tango4_soc_memmap[TANGO4_DEV_DRAM],
                                machine->ram);

    tango4_create_nand(machine, soc, chips);
    sysbus_realize(SYS_BUS_DEVICE(soc), &error_fatal);
    for (n = 0; n < TANGO4_NUM_CS; n++) {
        if (chips[n]) {
            qdev_connect_gpio_out_named(chips[n], ONFI_NAND_RB, 0,
                                        qdev_get_gpio_in(DEVICE(&soc->nfc),
                                                         n));
        }
    }

    /* The QOM paths of the SoC's devices before there was a SoC */
    object_property_add_const_link(OBJECT(machine), "a9mpcore",
                                   OBJECT(&soc->mpcore));
    object_property_add_const_link(OBJECT(machine), "sbox",
                                   OBJECT(&soc->sbox));
    for (n = 0; n < TANGO4_SOC_NUM_MCHAN; n++) {
        g_autofree char *name = g_strdup_printf("mchan%u", n);

        object_property_add_const_link(OBJECT(machine), name,
                                       OBJECT(&soc->mchan[n]));
    }
    object_property_add_const_link(OBJECT(machine), "nfc",
                                   OBJECT(&soc->nfc));

    if (tms->loopback) {
        /* port 4, its "port" default: what arrives there goes back out */
        DeviceState *loopback = qdev_new(TYPE_TANGO4_LOOPBACK);

        object_property_add_child(OBJECT(machine), "loopback",
                                  OBJECT(loopback));
        object_property_set_link(OBJECT(loopback), "sbox",
                                 OBJECT(&soc->sbox), &error_abort);
        sysbus_realize_and_unref(SYS_BUS_DEVICE(loopback), &error_fatal);
    }

    tango4_binfo.ram_size = machine->ram_size;
    tango4_binfo.loader_start = tango4_soc_memmap[TANGO4_DEV_DRAM];
    tango4_binfo.board_id = -1;
    tango4_binfo.psci_conduit = QEMU_PSCI_CONDUIT_SMC;
    tango4_binfo.modify_dtb = tango4_modify_dtb;
    arm_load_kernel(&soc->cpus[0], machine, &tango4_binfo);
}

static bool tango4_get_loopback(Object *obj, Error **errp)
{
    return TANGO4_MACHINE(obj)->loopback;
}

static void tango4_set_loopback(Object *obj, bool value, Error **errp)
{
    TANGO4_MACHINE(obj)->loopback = value;
}

static void tango4_machine_instance_init(Object *obj)
{
    /* a test device, not a block of the SoC: only on request */
    TANGO4_MACHINE(obj)->loopback = false;
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
    mc->max_cpus = TANGO4_SOC_MAX_CPUS;
    mc->min_cpus = 1;
    mc->default_cpus = TANGO4_SOC_MAX_CPUS;
    mc->default_cpu_type = ARM_CPU_TYPE_NAME("cortex-a9");
    mc->valid_cpu_types = valid_cpu_types;
    mc->default_ram_size = 512 * MiB;
    mc->default_ram_id = "tango4.dram";
    mc->no_cdrom = 1;
    mc->no_floppy = 1;
    mc->no_parallel = 1;

    /* the child it adds is "loopback": the property needs another name */
    object_class_property_add_bool(oc, "sbox-loopback", tango4_get_loopback,
                                   tango4_set_loopback);
    object_class_property_set_description(oc, "sbox-loopback",
        "The sbox loopback test device on port 4, /machine/loopback "
        "(a test device; default off)");
}

static const TypeInfo tango4_machine_type = {
    .name = TYPE_TANGO4_MACHINE,
    .parent = TYPE_MACHINE,
    .instance_size = sizeof(Tango4MachineState),
    .instance_init = tango4_machine_instance_init,
    .class_init = tango4_machine_class_init,
};

static void tango4_machine_register_types(void)
{
    type_register_static(&tango4_machine_type);
}

type_init(tango4_machine_register_types)
