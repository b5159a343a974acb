# SPDX-License-Identifier: GPL-2.0-or-later
# Devices for a tangolab build of qemu-system-arm, used with
# --without-default-devices --with-devices-arm=tango4: the tango4 machine,
# and virt for comparison benchmarks.
CONFIG_TANGO4=y
CONFIG_ARM_VIRT=y
CONFIG_VIRTIO_NET=y
CONFIG_VIRTIO_RNG=y
