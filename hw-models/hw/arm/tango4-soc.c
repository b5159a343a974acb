/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sigma Designs tango4 (SMP8758) SoC
 *
 * See include/hw/arm/tango4-soc.h and docs/system/arm/tango4.rst.
 *
 * Copyright (c) 2026 tangolab developers
 */

#include "qemu/osdep.h"
#include "exec/address-spaces.h"
#include "qapi/error.h"
#include "qemu/module.h"
#include "hw/arm/tango4-soc.h"
#include "hw/char/serial-mm.h"
#include "hw/qdev-properties.h"
#include "hw/sysbus.h"
#include "system/system.h"

/*
 * The SMP8758 has Cortex-A9 r3p0 cores. QEMU's cortex-a9 says r0p0, and
 * Linux refuses the A9 global timer on revisions before r2p0.
 */
#define TANGO4_CPU_MIDR         0x413fc090
#define TANGO4_UART_BAUDBASE    115200
#define TANGO4_MCHAN_STRIDE     0x40
#define TANGO4_VIRTIO_STRIDE    0x200

const hwaddr tango4_soc_memmap[] = {
    [TANGO4_DEV_UART0]   = 0x00010700,
    [TANGO4_DEV_PBUS]    = 0x00020000,
    [TANGO4_DEV_NFC]     = 0x0002c000,
    [TANGO4_DEV_NFC_MEM] = 0x0002d000,
    [TANGO4_DEV_SBOX]    = 0x00040000,
    [TANGO4_DEV_MCHAN]   = 0x00040100,
    [TANGO4_DEV_VIRTIO]  = 0x08000000,
    [TANGO4_DEV_MPCORE]  = 0x20000000,
    [TANGO4_DEV_L2CC]    = 0x20100000,
    [TANGO4_DEV_DRAM]    = 0x80000000,
};

static void tango4_soc_init(Object *obj)
{
    Tango4SocState *s = TANGO4_SOC(obj);
    unsigned int n;

    object_initialize_child(obj, "a9mpcore", &s->mpcore,
                            TYPE_A9MPCORE_PRIV);
    object_initialize_child(obj, "sbox", &s->sbox, TYPE_TANGO4_SBOX);
    for (n = 0; n < TANGO4_SOC_NUM_MCHAN; n++) {
        g_autofree char *name = g_strdup_printf("mchan%u", n);

        object_initialize_child(obj, name, &s->mchan[n], TYPE_TANGO4_MCHAN);
    }
    object_initialize_child(obj, "nfc", &s->nfc, TYPE_TANGO4_NFC);
}

static bool tango4_soc_realize_cpus(Tango4SocState *s, Error **errp)
{
    SysBusDevice *mpcore = SYS_BUS_DEVICE(&s->mpcore);
    unsigned int n;

    for (n = 0; n < s->num_cpus; n++) {
        Object *cpu = OBJECT(&s->cpus[n]);

        object_initialize_child(OBJECT(s), "cpu[*]", &s->cpus[n],
                                ARM_CPU_TYPE_NAME("cortex-a9"));
        /* The real board starts CPU 1 through a firmware call: use PSCI. */
        object_property_set_int(cpu, "psci-conduit", QEMU_PSCI_CONDUIT_SMC,
                                &error_abort);
        object_property_set_uint(cpu, "midr", TANGO4_CPU_MIDR, &error_abort);
        object_property_set_int(cpu, "reset-cbar",
                                tango4_soc_memmap[TANGO4_DEV_MPCORE],
                                &error_abort);
        if (!qdev_realize(DEVICE(cpu), NULL, errp)) {
            return false;
        }
    }

    qdev_prop_set_uint32(DEVICE(mpcore), "num-cpu", s->num_cpus);
    qdev_prop_set_uint32(DEVICE(mpcore), "num-irq",
                         TANGO4_SOC_NUM_SPIS + GIC_INTERNAL);
    if (!sysbus_realize(mpcore, errp)) {
        return false;
    }
    sysbus_mmio_map(mpcore, 0, tango4_soc_memmap[TANGO4_DEV_MPCORE]);
    for (n = 0; n < s->num_cpus; n++) {
        DeviceState *cpu = DEVICE(&s->cpus[n]);

        sysbus_connect_irq(mpcore, n, qdev_get_gpio_in(cpu, ARM_CPU_IRQ));
        sysbus_connect_irq(mpcore, n + s->num_cpus,
                           qdev_get_gpio_in(cpu, ARM_CPU_FIQ));
    }
    return true;
}

static void tango4_soc_realize(DeviceState *dev, Error **errp)
{
    Tango4SocState *s = TANGO4_SOC(dev);
    DeviceState *mpcore = DEVICE(&s->mpcore);
    DeviceState *l2cc;
    unsigned int n;

    if (s->num_cpus < 1 || s->num_cpus > TANGO4_SOC_MAX_CPUS) {
        error_setg(errp, "tango4-soc: num-cpus must be 1..%u, not %u",
                   TANGO4_SOC_MAX_CPUS, s->num_cpus);
        return;
    }
    if (!tango4_soc_realize_cpus(s, errp)) {
        return;
    }

    l2cc = qdev_new("l2x0");
    object_property_add_child(OBJECT(s), "l2cc", OBJECT(l2cc));
    if (!sysbus_realize_and_unref(SYS_BUS_DEVICE(l2cc), errp)) {
        return;
    }
    sysbus_mmio_map(SYS_BUS_DEVICE(l2cc), 0,
                    tango4_soc_memmap[TANGO4_DEV_L2CC]);

    serial_mm_init(get_system_memory(), tango4_soc_memmap[TANGO4_DEV_UART0],
                   2, qdev_get_gpio_in(mpcore, TANGO4_GIC_SPI_UART0),
                   TANGO4_UART_BAUDBASE, serial_hd(0), DEVICE_LITTLE_ENDIAN);

    if (!sysbus_realize(SYS_BUS_DEVICE(&s->sbox), errp)) {
        return;
    }
    sysbus_mmio_map(SYS_BUS_DEVICE(&s->sbox), 0,
                    tango4_soc_memmap[TANGO4_DEV_SBOX]);

    /*
     * Memory channel pairs: channel 2k moves memory to a device and
     * channel 2k + 1 a device to memory, both on sbox port k + 1.
     */
    for (n = 0; n < TANGO4_SOC_NUM_MCHAN; n++) {
        DeviceState *ch = DEVICE(&s->mchan[n]);

        object_property_set_link(OBJECT(ch), "sbox", OBJECT(&s->sbox),
                                 &error_abort);
        object_property_set_link(OBJECT(ch), "dma",
                                 OBJECT(get_system_memory()), &error_abort);
        qdev_prop_set_uint8(ch, "port", 1 + n / 2);
        qdev_prop_set_bit(ch, "mem-to-dev", n % 2 == 0);
        if (!sysbus_realize(SYS_BUS_DEVICE(ch), errp)) {
            return;
        }
        sysbus_mmio_map(SYS_BUS_DEVICE(ch), 0,
                        tango4_soc_memmap[TANGO4_DEV_MCHAN] +
                        n * TANGO4_MCHAN_STRIDE);
        sysbus_connect_irq(SYS_BUS_DEVICE(ch), 0,
                           qdev_get_gpio_in(mpcore, TANGO4_GIC_SPI_MCHAN + n));
    }

    /* on sbox port 3: its "port" default (-global may change it) */
    object_property_set_link(OBJECT(&s->nfc), "sbox", OBJECT(&s->sbox),
                             &error_abort);
    if (!sysbus_realize(SYS_BUS_DEVICE(&s->nfc), errp)) {
        return;
    }
    sysbus_mmio_map(SYS_BUS_DEVICE(&s->nfc), 0,
                    tango4_soc_memmap[TANGO4_DEV_NFC]);
    sysbus_mmio_map(SYS_BUS_DEVICE(&s->nfc), 1,
                    tango4_soc_memmap[TANGO4_DEV_NFC_MEM]);
    sysbus_mmio_map(SYS_BUS_DEVICE(&s->nfc), 2,
                    tango4_soc_memmap[TANGO4_DEV_PBUS]);

    for (n = 0; n < TANGO4_SOC_NUM_VIRTIO; n++) {
        sysbus_create_simple("virtio-mmio",
                             tango4_soc_memmap[TANGO4_DEV_VIRTIO] +
                             n * TANGO4_VIRTIO_STRIDE,
                             qdev_get_gpio_in(mpcore,
                                              TANGO4_GIC_SPI_VIRTIO + n));
    }
}

static const Property tango4_soc_properties[] = {
    DEFINE_PROP_UINT32("num-cpus", Tango4SocState, num_cpus,
                       TANGO4_SOC_MAX_CPUS),
};

static void tango4_soc_class_init(ObjectClass *oc, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);

    dc->desc = "Sigma Designs tango4 (SMP8758) SoC";
    dc->realize = tango4_soc_realize;
    /* Reason: the board gives it DRAM, NAND chips and the boot */
    dc->user_creatable = false;
    device_class_set_props(dc, tango4_soc_properties);
}

static const TypeInfo tango4_soc_type_info = {
    .name = TYPE_TANGO4_SOC,
    /* on the system bus, so that "info qtree" lists it and its properties */
    .parent = TYPE_SYS_BUS_DEVICE,
    .instance_size = sizeof(Tango4SocState),
    .instance_init = tango4_soc_init,
    .class_init = tango4_soc_class_init,
};

static void tango4_soc_register_types(void)
{
    type_register_static(&tango4_soc_type_info);
}

type_init(tango4_soc_register_types)
