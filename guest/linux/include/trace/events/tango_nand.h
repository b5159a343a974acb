/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tracepoints of the Sigma Designs tango4 NAND flash controller driver
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM tango_nand

#if !defined(_TRACE_TANGO_NAND_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_TANGO_NAND_H

#include <linux/tracepoint.h>

/* What tango_nand_wait_* waits for */
#define TANGO_NAND_WAIT_DMA		0
#define TANGO_NAND_WAIT_CMD_READY	1

#define tango_nand_show_wait(what)					\
	__print_symbolic(what,						\
			 { TANGO_NAND_WAIT_DMA, "dma" },		\
			 { TANGO_NAND_WAIT_CMD_READY, "cmd_ready" })

/*
 * The driver wrote @cmd (the FLASH_CMD register value) for @page: the
 * event is emitted right after the register write, so that it pairs with
 * the controller's own record of the command.
 */
TRACE_EVENT(tango_nand_cmd,
	    TP_PROTO(int page, u32 cmd),
	    TP_ARGS(page, cmd),
	    TP_STRUCT__entry(__field(int, page)
			     __field(u32, cmd)),
	    TP_fast_assign(__entry->page = page;
			   __entry->cmd = cmd;),
	    TP_printk("page=%d cmd=%#x", __entry->page, __entry->cmd)
);

DECLARE_EVENT_CLASS(tango_nand_wait,
		    TP_PROTO(int page, int what, int ret),
		    TP_ARGS(page, what, ret),
		    TP_STRUCT__entry(__field(int, page)
				     __field(int, what)
				     __field(int, ret)),
		    TP_fast_assign(__entry->page = page;
				   __entry->what = what;
				   __entry->ret = ret;),
		    TP_printk("page=%d what=%s ret=%d", __entry->page,
			      tango_nand_show_wait(__entry->what), __entry->ret)
);

/* The driver starts waiting for @what (@ret is 0) */
DEFINE_EVENT(tango_nand_wait, tango_nand_wait_begin,
	     TP_PROTO(int page, int what, int ret),
	     TP_ARGS(page, what, ret)
);

/* The wait for @what is over with @ret (0, -ETIMEDOUT, -EIO) */
DEFINE_EVENT(tango_nand_wait, tango_nand_wait_end,
	     TP_PROTO(int page, int what, int ret),
	     TP_ARGS(page, what, ret)
);

/* The access to @page is over with @result (0 or a negative errno) */
TRACE_EVENT(tango_nand_page_done,
	    TP_PROTO(int page, bool program, int result),
	    TP_ARGS(page, program, result),
	    TP_STRUCT__entry(__field(int, page)
			     __field(bool, program)
			     __field(int, result)),
	    TP_fast_assign(__entry->page = page;
			   __entry->program = program;
			   __entry->result = result;),
	    TP_printk("page=%d dir=%s result=%d", __entry->page,
		      __entry->program ? "program" : "read", __entry->result)
);

#endif /* _TRACE_TANGO_NAND_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
