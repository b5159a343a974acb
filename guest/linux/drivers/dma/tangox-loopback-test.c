// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test client for the Sigma Designs SMP8758 (tango4) switch box DMA
 * driver: a second DMA client beside the NAND flash controller.
 *
 * Copyright (c) 2026 tangolab developers
 *
 * The device at the other end of the DMA channel sends every byte it
 * receives back out of its switch box port (the tangolab QEMU model
 * "tango4-loopback"). Writing a length to debugfs
 * tangox-loopback/run moves that many random bytes to the device
 * (memory to device), then the same number back (device to memory), and
 * compares them. The result is logged and can be read back from the same
 * file: "ok len=N" or "error=E stage=S len=N". A transfer the DMA
 * provider refuses to prepare fails with -EIO at stage "tx-prep" or
 * "rx-prep"; the provider's own message says why.
 *
 * The device cannot tell when it has received the data, so the transfer
 * to it does not use DMA_PREP_PERIPH_DONE: with data in flight and a
 * tear-down policy that does not wait, bytes are lost and the transfer
 * back times out.
 */

#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/dmaengine.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/platform_device.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

/* The loopback device holds at most this many bytes. */
#define TANGOX_LOOPBACK_MAX_LEN		8192
#define TANGOX_LOOPBACK_TIMEOUT_MS	2000
#define TANGOX_LOOPBACK_RESULT_LEN	96

struct tangox_loopback {
	struct device *dev;
	struct dma_chan *chan;
	struct dentry *debugfs;

	/* Serialises runs and protects result. */
	struct mutex lock;
	char result[TANGOX_LOOPBACK_RESULT_LEN];
};

struct tangox_loopback_xfer {
	struct completion done;
	struct dmaengine_result res;
};

static void tangox_loopback_callback(void *arg,
				     const struct dmaengine_result *res)
{
	struct tangox_loopback_xfer *xfer = arg;

	xfer->res = *res;
	complete(&xfer->done);
}

/*
 * Run one transfer of @len bytes at @addr in direction @dir and wait for
 * it. Returns 0, or a negative error with *@stage naming the step.
 */
static int tangox_loopback_one(struct tangox_loopback *lb, dma_addr_t addr,
			       size_t len, enum dma_transfer_direction dir,
			       const char **stage)
{
	bool tx = dir == DMA_MEM_TO_DEV;
	struct dma_async_tx_descriptor *desc;
	struct tangox_loopback_xfer xfer;
	unsigned long left;
	dma_cookie_t cookie;

	init_completion(&xfer.done);

	desc = dmaengine_prep_slave_single(lb->chan, addr, len, dir,
					   DMA_PREP_INTERRUPT);
	if (!desc) {
		*stage = tx ? "tx-prep" : "rx-prep";
		return -EIO;
	}
	desc->callback_result = tangox_loopback_callback;
	desc->callback_param = &xfer;

	*stage = tx ? "tx" : "rx";
	cookie = dmaengine_submit(desc);
	if (dma_submit_error(cookie))
		return cookie;
	dma_async_issue_pending(lb->chan);

	left = wait_for_completion_timeout(&xfer.done,
					   msecs_to_jiffies(TANGOX_LOOPBACK_TIMEOUT_MS));
	if (!left) {
		dmaengine_terminate_sync(lb->chan);
		return -ETIMEDOUT;
	}

	switch (xfer.res.result) {
	case DMA_TRANS_NOERROR:
		return 0;
	case DMA_TRANS_ABORTED:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

static int tangox_loopback_run(struct tangox_loopback *lb, size_t len)
{
	struct device *dma_dev = dmaengine_get_dma_device(lb->chan);
	const char *stage = "map";
	dma_addr_t tx_addr, rx_addr;
	u8 *tx_buf, *rx_buf;
	size_t bad;
	int ret;

	tx_buf = kmalloc(len, GFP_KERNEL);
	rx_buf = kzalloc(len, GFP_KERNEL);
	if (!tx_buf || !rx_buf) {
		ret = -ENOMEM;
		stage = "alloc";
		goto out_free;
	}
	get_random_bytes(tx_buf, len);

	tx_addr = dma_map_single(dma_dev, tx_buf, len, DMA_TO_DEVICE);
	if (dma_mapping_error(dma_dev, tx_addr)) {
		ret = -ENOMEM;
		goto out_free;
	}
	rx_addr = dma_map_single(dma_dev, rx_buf, len, DMA_FROM_DEVICE);
	if (dma_mapping_error(dma_dev, rx_addr)) {
		ret = -ENOMEM;
		goto out_unmap_tx;
	}

	ret = tangox_loopback_one(lb, tx_addr, len, DMA_MEM_TO_DEV, &stage);
	if (!ret)
		ret = tangox_loopback_one(lb, rx_addr, len, DMA_DEV_TO_MEM,
					  &stage);

	dma_unmap_single(dma_dev, rx_addr, len, DMA_FROM_DEVICE);
out_unmap_tx:
	dma_unmap_single(dma_dev, tx_addr, len, DMA_TO_DEVICE);

	if (!ret && memcmp(tx_buf, rx_buf, len)) {
		for (bad = 0; tx_buf[bad] == rx_buf[bad]; bad++)
			;
		stage = "compare";
		ret = -EILSEQ;
		dev_err(lb->dev, "%zu bytes: first difference at offset %zu\n",
			len, bad);
	}

out_free:
	kfree(rx_buf);
	kfree(tx_buf);

	if (ret) {
		snprintf(lb->result, sizeof(lb->result),
			 "error=%d stage=%s len=%zu\n", ret, stage, len);
		dev_err(lb->dev, "%zu bytes: %s failed (%d)\n", len, stage,
			ret);
	} else {
		snprintf(lb->result, sizeof(lb->result), "ok len=%zu\n", len);
		dev_info(lb->dev, "%zu bytes: ok\n", len);
	}

	return ret;
}

static ssize_t tangox_loopback_write(struct file *file,
				     const char __user *ubuf, size_t count,
				     loff_t *ppos)
{
	struct tangox_loopback *lb = file->private_data;
	unsigned int len;
	int ret;

	ret = kstrtouint_from_user(ubuf, count, 0, &len);
	if (ret)
		return ret;
	if (!len || len > TANGOX_LOOPBACK_MAX_LEN)
		return -EINVAL;

	mutex_lock(&lb->lock);
	ret = tangox_loopback_run(lb, len);
	mutex_unlock(&lb->lock);

	return ret ? ret : count;
}

static ssize_t tangox_loopback_read(struct file *file, char __user *ubuf,
				    size_t count, loff_t *ppos)
{
	struct tangox_loopback *lb = file->private_data;
	char buf[TANGOX_LOOPBACK_RESULT_LEN];

	mutex_lock(&lb->lock);
	strscpy(buf, lb->result, sizeof(buf));
	mutex_unlock(&lb->lock);

	return simple_read_from_buffer(ubuf, count, ppos, buf, strlen(buf));
}

static const struct file_operations tangox_loopback_run_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = tangox_loopback_read,
	.write = tangox_loopback_write,
	.llseek = default_llseek,
};

static int tangox_loopback_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct tangox_loopback *lb;

	lb = devm_kzalloc(dev, sizeof(*lb), GFP_KERNEL);
	if (!lb)
		return -ENOMEM;

	lb->dev = dev;
	mutex_init(&lb->lock);
	strscpy(lb->result, "none\n", sizeof(lb->result));

	lb->chan = dma_request_chan(dev, "rxtx");
	if (IS_ERR(lb->chan))
		return dev_err_probe(dev, PTR_ERR(lb->chan),
				     "no DMA channel\n");

	lb->debugfs = debugfs_create_dir("tangox-loopback", NULL);
	if (IS_ERR(lb->debugfs)) {
		dma_release_channel(lb->chan);
		return dev_err_probe(dev, PTR_ERR(lb->debugfs),
				     "cannot create debugfs tangox-loopback (one device only)\n");
	}
	debugfs_create_file("run", 0600, lb->debugfs, lb,
			    &tangox_loopback_run_fops);

	platform_set_drvdata(pdev, lb);
	dev_info(dev, "loopback test client on %s\n",
		 dma_chan_name(lb->chan));

	return 0;
}

static void tangox_loopback_remove(struct platform_device *pdev)
{
	struct tangox_loopback *lb = platform_get_drvdata(pdev);

	debugfs_remove(lb->debugfs);
	dma_release_channel(lb->chan);
}

static const struct of_device_id tangox_loopback_of_match[] = {
	{ .compatible = "sigma,smp8758-sbox-loopback" },
	{ }
};
MODULE_DEVICE_TABLE(of, tangox_loopback_of_match);

static struct platform_driver tangox_loopback_driver = {
	.probe = tangox_loopback_probe,
	.remove = tangox_loopback_remove,
	.driver = {
		.name = "tangox-loopback-test",
		.of_match_table = tangox_loopback_of_match,
	},
};
module_platform_driver(tangox_loopback_driver);

MODULE_AUTHOR("tangolab developers <tangolab@users.noreply.invalid>");
MODULE_DESCRIPTION("Sigma Designs SMP8758 (tango4) switch box DMA loopback test client");
MODULE_LICENSE("GPL");
